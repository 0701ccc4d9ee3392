"""How study buttons answer: alerts saying why nothing happened, outcomes on the pressed message."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.i18n import t
from handlers.study.render import already_text
from storage.repositories.study import AnswerRecord

__all__ = ["append_line", "finish", "refuse", "replace_buttons", "stale", "tell_already"]

log = logging.getLogger(__name__)


async def refuse(update: Update, language: str, key: str) -> None:
    """Answer a button with an alert saying why nothing happened."""
    await update.callback_query.answer(t(language, key), show_alert=True)


async def stale(update: Update, language: str) -> None:
    """Answer a button from an earlier question, or one that no longer applies."""
    await refuse(update, language, "errors.stale_button")


async def tell_already(update: Update, language: str, existing: AnswerRecord) -> None:
    """Answer a second answer with what was recorded first."""
    await update.callback_query.answer(already_text(language, existing), show_alert=True)


async def finish(update: Update, language: str, key: str, **params: Any) -> None:
    """Acknowledge the button and replace its message (and buttons) with catalogue text."""
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(t(language, key, **params))


async def replace_buttons(
    update: Update, markup: InlineKeyboardMarkup | None, toast: str | None = None
) -> None:
    """Acknowledge the button (with an optional toast) and swap its message's buttons."""
    await update.callback_query.answer(toast)
    await update.callback_query.edit_message_reply_markup(markup)


async def append_line(query: Any, line: str) -> None:
    """Show the outcome under the reminder and take its buttons away."""
    try:
        await query.edit_message_text(f"{query.message.text_html}\n\n{line}", reply_markup=None)
    except BadRequest:
        # The message is too old to edit, or already shows this line: the answer
        # itself is recorded, which is what matters.
        log.info("could not edit a study reminder", exc_info=True)
