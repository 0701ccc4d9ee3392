"""The questions typed text answers (rows in `pending_inputs`, kinds "study.*") and asking them.

A question keeps the stamp it was first asked at through all its steps; its
buttons carry that stamp, so a button from an earlier question is stale.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain.permissions import Actor
from bot.errors import InvalidInput
from bot.services import Services, get_services
from handlers.awaiting import TypedAnswer
from handlers.common import load_actor, reply
from handlers.study.lookups import actor_today
from handlers.study.messaging import finish, stale
from handlers.study.render import cancel_keyboard, due_example, due_keyboard
from storage.repositories import pending_inputs
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "DRAFT",
    "EDIT",
    "INPUT_TTL_SECONDS",
    "NOTE",
    "TextStep",
    "as_typed_answer",
    "ask",
    "ask_due",
    "await_input",
    "drop_question",
    "pending_for",
    "question_data",
]

# A secretary may take a while to compose an item; an unanswered question
# lapses after this, and later text goes to the catch-all as usual.
INPUT_TTL_SECONDS = 24 * 3600
DRAFT = "study.draft"  # {"step": target|title|body|due|confirm, "unit", "title", "body", "due"}
EDIT = "study.edit"  # {"batch", "field": title|body|due}
NOTE = "study.note"  # {"item", "member"}: the optional note of an 'other' excuse

# A step that takes typed text: (update, context, actor, the open question, the text).
TextStep = Callable[
    [Update, ContextTypes.DEFAULT_TYPE, Actor, PendingInput, str], Awaitable[None]
]


def as_typed_answer(step: TextStep) -> TypedAnswer:
    """Return `step` run for the sender, explaining the input it refuses."""

    async def take(
        update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
    ) -> None:
        actor = await load_actor(update, context)
        try:
            await step(update, context, actor, pending, text)
        except InvalidInput as problem:
            await reply(update, actor.language, problem.key, **problem.params)

    return take


def question_data(pending: PendingInput) -> dict[str, Any]:
    """Return what an open question is about."""
    return json.loads(pending.data or "{}")


async def await_input(
    services: Services, telegram_id: int, kind: str, started_at: int, data: dict[str, Any],
    *, subject: int | None = None,
) -> None:
    """Take the user's next text as the answer to `kind` (asked at `started_at`), about `data`."""
    await pending_inputs.set_pending(
        services.db,
        PendingInput(telegram_id, kind, started_at, json.dumps(data, ensure_ascii=False), subject),
    )


async def pending_for(
    update: Update, context: ContextTypes.DEFAULT_TYPE, stamp: str, kinds: tuple[str, ...]
) -> PendingInput | None:
    """Return the user's study question a button belongs to, or None (stale button)."""
    services = get_services(context)
    pending = await pending_inputs.get_pending(services.db, update.effective_user.id)
    if pending is None or pending.kind not in kinds or str(pending.started_at) != stamp:
        return None
    return pending


async def ask(update: Update, language: str, key: str, stamp: int) -> None:
    """Ask for typed text, with a ✖ cancel button."""
    await reply(update, language, key, reply_markup=cancel_keyboard(language, stamp))


async def ask_due(
    update: Update, services: Services, actor: Actor, key: str, stamp: int
) -> None:
    """Ask for a due date: preset buttons, or type one (the example is a week ahead)."""
    today = await actor_today(services, actor)
    await reply(
        update, actor.language, key, example=due_example(today),
        reply_markup=due_keyboard(actor.language, today, stamp),
    )


async def drop_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, stamp: str, kinds: tuple[str, ...],
    done_key: str,
) -> None:
    """Drop the question a ✖ button belongs to and say `done_key`; an older one's ✖ is stale."""
    actor = await load_actor(update, context)
    pending = await pending_for(update, context, stamp, kinds)
    if pending is None:
        await stale(update, actor.language)
        return
    await pending_inputs.clear_pending(get_services(context).db, actor.telegram_id, pending.kind)
    await finish(update, actor.language, done_key)
