"""Bench-only writes: what bench/scale.py needs to make one branch's work fall due.

    await add_due_study_item(db, branch_key="b0", now=now, tag=1)

Kept in storage/ so the benchmarks hold no SQL; nothing in the bot calls it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiosqlite

__all__ = ["add_due_study_item", "outbox_rows"]


async def add_due_study_item(
    db: aiosqlite.Connection, *, branch_key: str, now: int, tag: int
) -> int:
    """Publish a study item to one branch, due today with its reminder at now; return its id."""
    day = datetime.fromtimestamp(now, UTC).date().isoformat()
    hhmm = datetime.fromtimestamp(now, UTC).strftime("%H:%M")
    cursor = await db.execute(
        "INSERT INTO study_items (branch_id, kind, title, body, due_date, remind_at,"
        " created_at, updated_at)"
        " SELECT id, 'item', ?, '', ?, ?, ?, ? FROM units WHERE key = ?",
        (f"bench {tag}", day, hhmm, now, now, branch_key),
    )
    await db.commit()
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def outbox_rows(db: aiosqlite.Connection) -> int:
    """Return how many rows the outbox holds (what the ticks queued)."""
    async with db.execute("SELECT count(*) FROM outbox") as cur:
        row = await cur.fetchone()
    return 0 if row is None else row[0]
