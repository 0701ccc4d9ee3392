"""Every message or button press from a known person counts as contact."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.services import get_services
from storage.repositories import people

__all__ = ["register"]


async def record_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stamp the sender's last contact (mobile members' silence is measured from it)."""
    user = update.effective_user
    if user is None:
        return
    services = get_services(context)
    await people.touch_contact(services.db, user.id, services.now_ts())


def register(app: Application) -> None:
    """Run before every other handler (group -1), never stopping them."""
    app.add_handler(TypeHandler(Update, record_contact), group=-1)
