"""Four big buttons under the chat, so the elderly never type a command (issue 11, item 5).

    📖 今日学习 · 📝 我的承诺
    📞 找书记  · ❓ 帮助

A persistent reply keyboard: pressing a button sends its text, which
`on_text` maps (in both languages) to the action.  Elderly members get it on
approval and whenever their category changes (`send_keyboard`); anyone may
turn it on or off with /buttons (people.big_buttons: NULL follows the
category).  Callback data:

    big:ack:<member id>    the secretary's "✅ 我来联系" under a 找书记 message

找书记 is sent straight away, not through the outbox: it is one message the
member just asked for, like a join request, and a queue would only delay it.
Repeated presses within CALL_PAUSE are answered "already told", so a shaky
hand cannot flood the secretary.
"""

from __future__ import annotations

import html
import logging
from datetime import date
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.callback_data import INT, decode, pack, pattern
from bot.domain.localtime import local_date, zone
from bot.domain.models import Category, Member, Person
from bot.domain.permissions import can_manage_branch
from bot.domain.study import NextKind
from bot.i18n import LANGUAGES, t
from bot.routing import send_to_person
from bot.services import Services, get_services
from handlers.common import clear_buttons, load_actor, load_units, reply, user_language
from handlers.pledges.acting import approved, is_due_in, load_me, open_month
from handlers.pledges.render import number_of, progress_keyboard, report_ask
from handlers.pledges.views import my_pledges
from handlers.study.render import answer_keyboard, item_text
from storage.repositories import life_changes, members, people, roles, study, units
from storage.repositories import pledges as pledge_repo

__all__ = ["ACTIONS", "keyboard", "register", "send_keyboard", "wants_keyboard"]

log = logging.getLogger(__name__)

FEATURE = "big"
ACTIONS = ("study", "pledges", "call", "help")
# A second 找书记 within this many seconds is not sent again.
CALL_PAUSE = 3600
_LAST_CALL = "branchbot.big.last_call"  # bot_data: person id -> when 找书记 was last sent


def keyboard(language: str) -> ReplyKeyboardMarkup:
    """Return the four big buttons, two to a row, kept under the chat."""
    labels = [t(language, f"bigbuttons.{action}") for action in ACTIONS]
    return ReplyKeyboardMarkup(
        [[KeyboardButton(labels[0]), KeyboardButton(labels[1])],
         [KeyboardButton(labels[2]), KeyboardButton(labels[3])]],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=html.unescape(t(language, "bigbuttons.placeholder")),
    )


def _label_actions() -> dict[str, str]:
    """Return every language's button text → its action."""
    return {
        html.unescape(t(language, f"bigbuttons.{action}")): action
        for language in LANGUAGES
        for action in ACTIONS
    }


def wants_keyboard(choice: bool | None, category: str | None) -> bool:
    """Tell whether a member gets the big buttons: their choice, else elderly by default."""
    return choice if choice is not None else category == Category.ELDERLY


async def send_keyboard(
    context: Any, services: Services, person: Person, category: str, *, was: str | None = None
) -> None:
    """Show (or take away) the big buttons after approval or a change of category."""
    if person.telegram_id is None:
        return
    language = person.language or services.settings.general.default_language
    choice = await life_changes.big_buttons(services.db, person.id)
    if wants_keyboard(choice, category):
        text, markup = t(language, "bigbuttons.help_text"), keyboard(language)
    elif was is not None and wants_keyboard(choice, was):
        text, markup = t(language, "bigbuttons.off"), ReplyKeyboardRemove()
    else:
        return
    try:
        # Through the person's own bot: a secretary on another bot may have approved them.
        await send_to_person(context, person.telegram_id, text, reply_markup=markup)
    except TelegramError:
        log.warning("could not send the big buttons to person %s", person.id, exc_info=True)


# ---------------------------------------------------------------- the four actions


async def _today_study(update: Update, services: Services, person: Person, member: Member,
                       language: str) -> None:
    """Send each study item still open for me today, with its ✅ / ⏰ / 🙋 buttons."""
    branch = await units.get_unit(services.db, member.branch_id)
    tz_name = person.timezone or (branch.timezone if branch else None)
    today = local_date(
        services.now_ts(), zone(tz_name, services.settings.general.default_timezone))
    items = await study.open_items(services.db, [member.branch_id], min_due=today.isoformat())
    shown = 0
    for item in reversed(items):  # oldest due first: what is most urgent on top
        if item.occurrence_date and date.fromisoformat(item.occurrence_date) > today:
            continue  # a study day still to come
        if await study.get_answer(services.db, item.id, member.id) is not None:
            continue
        await update.effective_chat.send_message(
            item_text(language, item, NextKind.REMINDER, 0, member.category == Category.ELDERLY),
            reply_markup=answer_keyboard(language, item.id),
        )
        shown += 1
    if not shown:
        await reply(update, language, "bigbuttons.study_none")


async def _my_pledges(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show my pledges, then the report buttons of the month if a report is due."""
    services = get_services(context)
    await my_pledges(update, context)
    me = await load_me(update, services)
    if me is None:
        return
    month = open_month(me, services)
    numbering = await approved(services, me.member.id, month // 100)
    due = [p for p in numbering if is_due_in(p, month, me, services)]
    done = {r.pledge_id for r in await pledge_repo.reports_for(
        services.db, [p.id for p in due], month)}
    for pledge in (p for p in due if p.id not in done):
        await update.effective_chat.send_message(
            report_ask(me.language, month, number_of(numbering, pledge.id), pledge),
            reply_markup=progress_keyboard(me.language, pledge.id, month),
        )


async def _call_secretary(update: Update, context: ContextTypes.DEFAULT_TYPE, person: Person,
                          member: Member, language: str) -> None:
    """Send the branch's secretary "X 想找您" with a ✅ button, at most once an hour."""
    services = get_services(context)
    now = services.now_ts()
    last: dict[int, int] = context.bot_data.setdefault(_LAST_CALL, {})
    if now - last.get(person.id, -CALL_PAUSE) < CALL_PAUSE:
        await reply(update, language, "bigbuttons.call_again")
        return
    leaders = await roles.nearest_leaders(services.db, member.branch_id)
    branch = await units.get_unit(services.db, member.branch_id)
    sent = 0
    for _, telegram_id, leader_language in leaders:
        lang = leader_language or services.settings.general.default_language
        text = t(lang, "bigbuttons.call_secretary", id=person.telegram_id,
                 name=person.name or "—", branch=branch.name if branch else "")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            html.unescape(t(lang, "bigbuttons.btn_call_ack")),
            callback_data=pack(FEATURE, "ack", member.id))]])
        try:
            await send_to_person(context, telegram_id, text, reply_markup=markup)
            sent += 1
        except TelegramError:
            log.warning("找书记 could not reach a leader of branch %s", member.branch_id,
                        exc_info=True)
    if not sent:
        await reply(update, language, "bigbuttons.call_no_leader")
        return
    last[person.id] = now
    await reply(update, language, "bigbuttons.call_sent")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Do what the pressed big button says (its text arrives as a message)."""
    services = get_services(context)
    action = _label_actions().get((update.effective_message.text or "").strip())
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    language = user_language(update, services, person.language if person else None)
    member = await members.current_membership(services.db, person.id) if person else None
    if action == "help":
        await reply(update, language, "bigbuttons.help_text")
        return
    if person is None or member is None or member.status != "active":
        await reply(update, language, "errors.not_member")
        return
    if action == "study":
        await _today_study(update, services, person, member, language)
    elif action == "pledges":
        await _my_pledges(update, context)
    elif action == "call":
        await _call_secretary(update, context, person, member, language)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A secretary's "✅ 我来联系": tell the member someone will be in touch."""
    pressed = decode(update.callback_query.data, FEATURE, {"ack": (INT,)})
    member_id = int(pressed.values[0])
    services = get_services(context)
    actor = await load_actor(update, context)
    member = await members.get_member(services.db, member_id)
    # Permission first, one answer whether the member exists or not.
    if member is None or not can_manage_branch(actor, member.branch_id, await load_units(context)):
        await update.callback_query.answer(t(actor.language, "errors.button_not_allowed"),
                                           show_alert=True)
        return
    person = await people.get_person(services.db, member.person_id)
    await update.callback_query.answer()
    await clear_buttons(update)
    await reply(update, actor.language, "bigbuttons.call_acked",
                name=(person.name if person else None) or "—")
    if person is not None and person.telegram_id is not None:
        language = person.language or services.settings.general.default_language
        try:
            await send_to_person(
                context, person.telegram_id,
                t(language, "bigbuttons.call_acked_member", who=actor.name or "—"),
            )
        except TelegramError:
            log.warning("could not tell member %s the secretary will call", member_id,
                        exc_info=True)


async def toggle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/buttons: turn the big buttons on, or off if they are on."""
    services = get_services(context)
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    language = user_language(update, services, person.language if person else None)
    member = await members.current_membership(services.db, person.id) if person else None
    if person is None or member is None or member.status != "active":
        await reply(update, language, "errors.not_member")
        return
    on = not wants_keyboard(await life_changes.big_buttons(services.db, person.id),
                            member.category)
    await life_changes.set_big_buttons(services.db, person.id, on)
    if on:
        await reply(update, language, "bigbuttons.on", reply_markup=keyboard(language))
    else:
        await reply(update, language, "bigbuttons.off", reply_markup=ReplyKeyboardRemove())


def register(app: Application) -> None:
    """Add /buttons, the big buttons' texts and the secretary's ✅ under 找书记.

    Register after every feature's awaited-input handlers (group 0 takes the
    first match): a button text typed while a question is open is that
    question's answer; and before onboarding's catch-all, which would answer
    "I don't understand".
    """
    labels = sorted(_label_actions())
    app.add_handler(CommandHandler("buttons", toggle))
    app.add_handler(MessageHandler(
        filters.TEXT & ~filters.COMMAND & filters.Text(labels), on_text))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
