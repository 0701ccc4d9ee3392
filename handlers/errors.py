"""The global error handler: log the trace, give the user a short apology."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.i18n import language_from_telegram, t

__all__ = ["register"]

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception with its trace and tell the user something went wrong."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    language = language_from_telegram(user.language_code if user else None)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await update.effective_chat.send_message(t(language, "errors.generic"))
    except TelegramError:
        # The apology itself failed (user blocked us, network down): nothing more to do.
        log.warning("could not send the apology for a failed update")


def register(app: Application) -> None:
    """Install the error handler."""
    app.add_error_handler(on_error)
