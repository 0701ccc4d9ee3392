"""The global error handler: log the trace, give the user a short apology."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.i18n import language_from_telegram, t
from bot.services import get_services
from storage.repositories import people

__all__ = ["register"]

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception with its trace and tell the user something went wrong."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    language = await _language(update, context)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await update.effective_chat.send_message(t(language, "errors.generic"))
    except TelegramError:
        # The apology itself failed (user blocked us, network down): nothing more to do.
        log.warning("could not send the apology for a failed update")


async def _language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Return the user's chosen language, falling back to Telegram's when the lookup fails."""
    user = update.effective_user
    fallback = language_from_telegram(user.language_code if user else None)
    if user is None:
        return fallback
    try:
        person = await people.get_person_by_telegram(get_services(context).db, user.id)
    except Exception:
        # The failure being reported may be the database itself.
        return fallback
    return (person.language if person else None) or fallback


def register(app: Application) -> None:
    """Install the error handler."""
    app.add_error_handler(on_error)
