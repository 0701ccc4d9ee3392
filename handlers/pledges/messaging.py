"""How pledge handlers answer: edit the pressed message, alert on stale buttons, tell others."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.domain.models import Person
from bot.errors import InvalidInput
from bot.i18n import t
from bot.routing import send_to_person
from bot.services import Services
from handlers.common import clear_buttons, reply
from storage.repositories import roles

__all__ = [
    "Render",
    "clear_buttons",
    "edit",
    "parse_or_explain",
    "send",
    "stale",
    "tell_leaders",
    "tell_person",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
# A message rendered in the recipient's language: its text and buttons.
Render = Callable[[str], tuple[str, InlineKeyboardMarkup | None]]


async def send(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send to another user now; a chat that refuses is logged, not fatal to the sender."""
    try:
        await send_to_person(context, chat_id, text, reply_markup=markup)
    except TelegramError:
        log.warning("could not send a pledge message to chat %s", chat_id, exc_info=True)


async def tell_person(
    context: ContextTypes.DEFAULT_TYPE, services: Services, person: Person | None, render: Render
) -> None:
    """Send a message in the person's own language, if they have a chat with the bot."""
    if person is None or person.telegram_id is None:
        return
    text, markup = render(person.language or services.settings.general.default_language)
    await send(context, person.telegram_id, text, markup)


async def tell_leaders(
    context: ContextTypes.DEFAULT_TYPE, services: Services, branch_id: int, render: Render
) -> None:
    """Send a message to the leaders nearest the branch, each in their own language."""
    default = services.settings.general.default_language
    for _, telegram_id, language in await roles.nearest_leaders(services.db, branch_id):
        text, markup = render(language or default)
        await send(context, telegram_id, text, markup)


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the pressed message's text and buttons."""
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        # Pressing a button twice renders the same text; Telegram refuses that.
        if "not modified" not in str(exc).lower():
            raise


async def stale(
    update: Update, language: str, key: str = "errors.stale_button", **params: Any
) -> None:
    """Answer a button that no longer applies with an alert saying why."""
    await update.callback_query.answer(t(language, key, **params), show_alert=True)


async def parse_or_explain(
    update: Update, language: str, parse: Callable[..., T], *args: Any, **extra: Any
) -> T | None:
    """Return parse(*args), or explain what it refused (catalogue params plus `extra`): None."""
    try:
        return parse(*args)
    except InvalidInput as problem:
        await reply(update, language, problem.key, **extra, **problem.params)
        return None
