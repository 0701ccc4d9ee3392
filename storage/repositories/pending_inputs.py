"""Pending inputs: a typed answer the bot awaits from a user, kept across restarts.

    await set_pending(db, PendingInput(telegram_id=42, kind="timezone", started_at=now))
    pending = await get_pending(db, 42)        # None when nothing is awaited
    await clear_pending(db, 42, kind="timezone")
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

__all__ = ["PendingInput", "clear_pending", "get_pending", "set_pending"]


@dataclass(frozen=True, slots=True)
class PendingInput:
    """What a user's next typed message is taken as, and since when."""

    telegram_id: int
    kind: str
    started_at: int
    data: str | None = None
    # The member a helper's press opened this question for: the typed answer
    # records for them (handlers.acting_for); None for the user's own.
    subject_member_id: int | None = None


async def get_pending(db: aiosqlite.Connection, telegram_id: int) -> PendingInput | None:
    """Return the input this user's next text answers, or None."""
    async with db.execute(
        "SELECT telegram_id, kind, started_at, data, subject_member_id FROM pending_inputs"
        " WHERE telegram_id = ?",
        (telegram_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else PendingInput(*row)


async def set_pending(db: aiosqlite.Connection, pending: PendingInput) -> None:
    """Await an input from the user, replacing whatever was awaited before."""
    await db.execute(
        # An upsert both engines speak (PostgreSQL has no INSERT OR REPLACE).
        "INSERT INTO pending_inputs"
        " (telegram_id, kind, started_at, data, subject_member_id) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (telegram_id) DO UPDATE SET kind = excluded.kind,"
        " started_at = excluded.started_at, data = excluded.data,"
        " subject_member_id = excluded.subject_member_id",
        (pending.telegram_id, pending.kind, pending.started_at, pending.data,
         pending.subject_member_id),
    )


async def clear_pending(
    db: aiosqlite.Connection, telegram_id: int, kind: str | None = None
) -> None:
    """Stop awaiting input from the user (only of `kind`, when given)."""
    if kind is None:
        await db.execute("DELETE FROM pending_inputs WHERE telegram_id = ?", (telegram_id,))
    else:
        await db.execute(
            "DELETE FROM pending_inputs WHERE telegram_id = ? AND kind = ?", (telegram_id, kind)
        )
