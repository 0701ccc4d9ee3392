"""The global error handler, and the answer to buttons that no feature takes.

A button's callback data comes from the client and may be anything: a feature
reads it with bot.callback_data.decode, whose MalformedButton ends here as a
"this button no longer works" answer, not an apology; data that no feature's
pattern matches reaches `on_unknown_button`, registered last.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.callback_data import MalformedButton
from bot.errors import PermissionDenied
from bot.i18n import language_from_telegram, t
from bot.services import get_services
from storage.repositories import people

__all__ = ["on_unknown_button", "register", "register_unknown_buttons"]

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception with its trace and tell the user something went wrong."""
    if isinstance(context.error, MalformedButton) and isinstance(update, Update):
        # Not a fault of the bot: a client sent data no button of ours carries.
        log.info("malformed callback data %r", context.error.args[0] if context.error.args else "")
        await on_unknown_button(update, context)
        return
    if isinstance(context.error, PermissionDenied) and isinstance(update, Update):
        # A press (or typed answer) naming a member the presser may not act for
        # (handlers.acting_for): the one refusal, whatever the id names.
        await _not_allowed(update, context)
        return
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


async def _not_allowed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer errors.button_not_allowed: an alert on a press, a message on typed text."""
    text = t(await _language(update, context), "errors.button_not_allowed")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat is not None:
            await update.effective_chat.send_message(text)
    except TelegramError:
        log.info("could not answer a refused press", exc_info=True)


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button the bot cannot read with "this button no longer works", never a spinner."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(t(await _language(update, context), "errors.stale_button"),
                           show_alert=True)
    except TelegramError:
        # Too old to answer (Telegram allows a few minutes) or already answered.
        log.info("could not answer an unreadable button", exc_info=True)


def register(app: Application) -> None:
    """Install the error handler."""
    app.add_error_handler(on_error)


def register_unknown_buttons(app: Application) -> None:
    """Answer every callback query no feature's pattern took (register it last in group 0)."""
    app.add_handler(CallbackQueryHandler(on_unknown_button))
