"""Small helpers every handler shares: who is acting, in which language, replying.

    actor = await load_actor(update, context)
    await reply(update, actor.language, "help.member")
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.domain.models import Unit
from bot.domain.permissions import Actor
from bot.i18n import language_from_telegram, t
from bot.services import Services, get_services
from storage.repositories import members, people, roles, units

__all__ = ["clear_buttons", "load_actor", "load_units", "reply", "user_language"]

log = logging.getLogger(__name__)


def user_language(update: Update, services: Services, stored: str | None = None) -> str:
    """Return the language to answer in: stored choice, else Telegram's, else the default."""
    if stored:
        return stored
    user = update.effective_user
    default = services.settings.general.default_language
    return language_from_telegram(user.language_code if user else None, default)


async def load_actor(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Actor:
    """Return the Actor behind the update, with roles and memberships from the database."""
    services = get_services(context)
    user = update.effective_user
    assert user is not None
    person = await people.get_person_by_telegram(services.db, user.id)
    led: frozenset[int] = frozenset()
    branches: frozenset[int] = frozenset()
    if person is not None:
        led = await roles.led_unit_ids(services.db, person.id)
        membership = await members.current_membership(services.db, person.id)
        if membership is not None and membership.status == "active":
            branches = frozenset({membership.branch_id})
    return Actor(
        telegram_id=user.id,
        person_id=person.id if person else None,
        is_admin=services.settings.is_admin(user.id),
        led_unit_ids=led,
        member_branch_ids=branches,
        language=user_language(update, services, person.language if person else None),
        name=person.name if person else None,
    )


async def load_units(context: ContextTypes.DEFAULT_TYPE) -> list[Unit]:
    """Return the whole organisation tree (small: a county has hundreds of units)."""
    return await units.list_units(get_services(context).db)


async def reply(
    update: Update,
    language: str,
    key: str,
    /,
    *,
    reply_markup: InlineKeyboardMarkup | Any | None = None,
    **params: Any,
) -> None:
    """Answer the update's chat with catalogue text `key`."""
    # Positional-only, like t(): a catalogue parameter may itself be called `key`.
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(t(language, key, **params), reply_markup=reply_markup)


async def clear_buttons(update: Update) -> None:
    """Take the buttons off the pressed message, so it cannot be answered twice."""
    try:
        await update.callback_query.edit_message_reply_markup(None)
    except BadRequest:
        # Already without buttons (pressed twice) or too old to edit: nothing to take off.
        log.info("a pressed message's buttons could not be cleared")
