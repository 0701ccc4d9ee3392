"""Contact and reachability: every message or button from a person counts as
contact; blocking or unblocking the bot changes whether we can reach them."""

from __future__ import annotations

import logging
import sqlite3

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ChatMemberHandler,
    ContextTypes,
    TypeHandler,
)

from bot.services import get_services
from storage.db import is_busy
from storage.repositories import people

__all__ = ["register"]

log = logging.getLogger(__name__)
# A member belongs to the bot they first write to (several `[[bots]]`); a
# person made by this very update is adopted in this late group.
ADOPT_GROUP = 90


async def ignore_group_chats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop updates from group chats: the bot talks to each person privately only, so a
    command in a group must not post their data (or a branch's roster) there."""
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        if update.callback_query is not None:
            # Every button press gets an answer, or the client's button spins.
            try:
                await update.callback_query.answer()
            except TelegramError:
                log.info("could not answer a button pressed in a group", exc_info=True)
        raise ApplicationHandlerStop


async def record_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stamp the sender's last contact (mobile members' silence is measured from it)."""
    user = update.effective_user
    # Blocking the bot arrives as an update too, but it is the opposite of contact.
    if user is None or update.my_chat_member is not None:
        return
    services = get_services(context)
    try:
        await people.touch_contact(services.db, user.id, services.now_ts())
        if services.bot_name:
            await people.adopt(services.db, user.id, services.bot_name)
    except sqlite3.OperationalError as exc:
        # Still locked after storage's long wait: the stamp is bookkeeping, the
        # next update writes it again, and the user's own action must go on.
        if not is_busy(exc):
            raise
        log.warning("could not stamp contact (database busy); the user's update goes on")


async def adopt_after_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Give someone who became a person during this update (registered, claimed) this bot."""
    user = update.effective_user
    services = get_services(context)
    if user is None or not services.bot_name or update.my_chat_member is not None:
        return
    await people.adopt(services.db, user.id, services.bot_name)


async def record_block(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Mark a person unreachable when they block the bot, reachable when they unblock it."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    services = get_services(context)
    person = await people.get_person_by_telegram(services.db, change.from_user.id)
    if person is None:
        return
    if change.new_chat_member.status == ChatMember.BANNED:
        await people.mark_unreachable(services.db, person.id, "blocked", services.now_ts())
    elif change.new_chat_member.status == ChatMember.MEMBER:
        await people.mark_reachable(services.db, person.id)


def register(app: Application) -> None:
    """Ignore group chats (group -3), record contact before every other handler (group -1);
    track blocks in group 0."""
    app.add_handler(TypeHandler(Update, ignore_group_chats), group=-3)
    app.add_handler(TypeHandler(Update, record_contact), group=-1)
    # After every feature's group: the person row a /start made exists now.
    app.add_handler(TypeHandler(Update, adopt_after_update), group=ADOPT_GROUP)
    # Group 0: in group -1 the catch-all TypeHandler above would take these updates.
    app.add_handler(ChatMemberHandler(record_block, ChatMemberHandler.MY_CHAT_MEMBER))
