"""The questions typed text answers (rows in `pending_inputs`, kinds "pledge.*")."""

from __future__ import annotations

import json
from typing import Any

from telegram import Update

from bot.services import Services
from handlers import awaiting
from handlers.common import reply
from handlers.pledges.acting import Me, language_of
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "ADDING",
    "AMOUNT",
    "EDITING",
    "INPUT_TTL",
    "NOTE",
    "RATE_COMMENT",
    "RETURNING",
    "answer_data",
    "await_answer",
    "expired",
    "open_question",
]

# A question typed text answers stays open a day: long enough to draft
# pledges over an evening, short enough that text sent days later is not
# mistaken for an old answer (awaiting's default is an hour).
INPUT_TTL = 24 * 3600

ADDING = "pledge.add"  # {"y": year}
EDITING = "pledge.edit"  # {"p": pledge}
AMOUNT = "pledge.amount"  # {"p": pledge, "m": yyyymm}
NOTE = "pledge.note"  # {"p": pledge, "m": yyyymm}
RETURNING = "pledge.return"  # {"p": pledge, "c": chat, "mid": approval message}
RATE_COMMENT = "pledge.rcomment"  # {"p": pledge}


async def await_answer(
    services: Services, telegram_id: int, kind: str, *, subject: int | None = None, **data: Any
) -> None:
    """Take the user's next text as the answer to `kind`, about `data` (for member `subject`)."""
    await awaiting.expect(services, telegram_id, kind, json.dumps(data), subject=subject)


def answer_data(pending: PendingInput) -> dict[str, Any]:
    """Return what an open question is about."""
    return json.loads(pending.data or "{}")


async def open_question(
    services: Services, telegram_id: int, kind: str, **about: str
) -> PendingInput | None:
    """Return the user's open question of `kind` if it is about `about` (a button's args)."""
    pending = await awaiting.current(services, telegram_id, kind, INPUT_TTL)
    if pending is None:
        return None
    data = answer_data(pending)
    return pending if all(str(data.get(k)) == v for k, v in about.items()) else None


async def expired(update: Update, services: Services, me: Me | None, kind: str) -> None:
    """Close a member's question that no longer applies, and say so."""
    await awaiting.done(services, update.effective_user.id, kind)
    await reply(
        update, language_of(update, services, me.person if me else None), "pledges.input_expired"
    )
