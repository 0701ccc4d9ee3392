"""Typed answers a feature awaits outside registration, kept in `pending_inputs`.

    awaiting.register(app)                                   # once; idempotent
    app.add_handler(AwaitedInputHandler(app, "timezone", filters.TEXT & ~filters.COMMAND, on_city))
    app.add_handler(awaiting.typed_answers(app, {"pledge.note": typed_note}))  # text by kind
    pending = await awaiting.expect(services, user_id, "timezone")   # the question is asked
    pending = await awaiting.current(services, user_id, "timezone")  # still open? (buttons)
    await awaiting.done(services, user_id, "timezone")               # the answer is taken

Why a handler class rather than a filter: PTB runs the first handler of a group
whose (synchronous) check matches, so "does this user owe feature X an answer?"
cannot query the database inside the check.  A handler in LOAD_GROUP (before
contact's -1, never stopping anything) reads the sender's row once per message
into bot_data; AwaitedInputHandler then matches only when that row is of its
kind and not older than its ttl.  Text nobody awaits falls through to the
handlers after it and, in the end, to onboarding's catch-all, so features
registered later keep getting their text.  The row lives in the database, so a
question survives a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, TypeHandler, filters
from telegram.ext.filters import BaseFilter

from bot.domain.free_text import clean_text
from bot.services import SERVICES_KEY, Services, get_services
from storage.repositories import pending_inputs
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "LOAD_GROUP",
    "AwaitedInputHandler",
    "TypedAnswer",
    "current",
    "done",
    "expect",
    "register",
    "typed_answers",
]

LOAD_GROUP = -2
# An unanswered question lapses after an hour, so text typed much later is
# not mistaken for its answer.
DEFAULT_TTL_SECONDS = 3600
_AWAITED = "branchbot.awaited"  # bot_data: telegram id -> PendingInput, as of the latest message

# Takes typed text as the answer to an open question: (update, context, the question, the text).
TypedAnswer = Callable[[Update, ContextTypes.DEFAULT_TYPE, PendingInput, str], Awaitable[None]]


def _is_fresh(pending: PendingInput, kinds: Collection[str], now: int, ttl: int) -> bool:
    return pending.kind in kinds and now - pending.started_at <= ttl


async def current(
    services: Services, telegram_id: int, kind: str, ttl: int = DEFAULT_TTL_SECONDS
) -> PendingInput | None:
    """Return the user's open question of `kind`, or None (none, another kind, or lapsed)."""
    pending = await pending_inputs.get_pending(services.db, telegram_id)
    if pending is None or not _is_fresh(pending, (kind,), services.now_ts(), ttl):
        return None
    return pending


async def expect(
    services: Services, telegram_id: int, kind: str, data: str | None = None,
    *, subject: int | None = None,
) -> PendingInput:
    """Await the user's next input for `kind` (for member `subject`, when a helper acts)."""
    pending = PendingInput(telegram_id, kind, services.now_ts(), data, subject)
    await pending_inputs.set_pending(services.db, pending)
    return pending


async def done(services: Services, telegram_id: int, kind: str) -> None:
    """Stop awaiting input of `kind` from the user."""
    await pending_inputs.clear_pending(services.db, telegram_id, kind)


async def _load(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Read the sender's pending input, so this message's handler checks can see it."""
    user = update.effective_user
    if update.message is None or user is None:
        return
    awaited: dict[int, PendingInput] = context.bot_data.setdefault(_AWAITED, {})
    pending = await pending_inputs.get_pending(get_services(context).db, user.id)
    if pending is None:
        awaited.pop(user.id, None)
    else:
        awaited[user.id] = pending


class AwaitedInputHandler(MessageHandler):
    """A MessageHandler for senders whose open pending input is of `kind` (or one of `kinds`)."""

    def __init__(
        self,
        application: Application,
        kind: str | Collection[str],
        filters: BaseFilter,
        callback: Callable[..., Any],
        *,
        ttl: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        super().__init__(filters, callback)
        self.kinds = frozenset({kind} if isinstance(kind, str) else kind)
        self.ttl = ttl
        self._application = application

    def check_update(self, update: object) -> bool | dict[str, list[Any]] | None:
        """Match the filters, and only when the sender owes this kind of input."""
        if not isinstance(update, Update) or update.effective_user is None:
            return None
        bot_data = self._application.bot_data
        pending = bot_data.get(_AWAITED, {}).get(update.effective_user.id)
        services: Services | None = bot_data.get(SERVICES_KEY)
        if pending is None or services is None:
            return None
        if not _is_fresh(pending, self.kinds, services.now_ts(), self.ttl):
            return None
        return super().check_update(update)


def register(app: Application) -> None:
    """Add the per-message loader once, however many features call this."""
    if any(getattr(h, "callback", None) is _load for h in app.handlers.get(LOAD_GROUP, [])):
        return
    app.add_handler(TypeHandler(Update, _load), group=LOAD_GROUP)


def typed_answers(
    application: Application,
    steps: Mapping[str, TypedAnswer],
    *,
    ttl: int = DEFAULT_TTL_SECONDS,
) -> AwaitedInputHandler:
    """Return a handler giving typed text to the step of the sender's open question's kind."""

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        services = get_services(context)
        pending = await pending_inputs.get_pending(services.db, update.effective_user.id)
        step = steps.get(pending.kind) if pending is not None else None
        text = update.effective_message.text
        if step is None or text is None:
            return
        # Every typed answer passes the one text rule before any step sees it,
        # so no feature can store or echo invisible characters by forgetting to.
        await step(update, context, pending, clean_text(text, multiline=True))

    return AwaitedInputHandler(
        application, steps, filters.TEXT & ~filters.COMMAND, on_text, ttl=ttl
    )
