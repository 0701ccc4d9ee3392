"""Per-member next-due moments, so a planner reads only the members that are due.

    ids = await schedule.due_members(db, "pledges", now)      # indexed on (kind, next_due_at)
    ... plan for those members, work out each one's next moment ...
    await schedule.set_next(db, "pledges", {member_id: next_at, ...})

Rows are created and reset to 0 ("look now") by migration 0017's triggers
whenever a member, their person row, their pledges, reports, whereabouts or
any leader or branch zone changes; a planner only ever moves them forward.
A planner's rules (its settings, its code) are stored as a fingerprint per
kind (migration 0021's schedule_rules): only when they differ from the last
run's are all its rows made due again, so a restart, a second process or a
planner-lease takeover does not re-read the whole county.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiosqlite

__all__ = ["NEVER", "due_members", "reset_if_rules_changed", "reset_kind", "set_next"]

# Beyond any date a planner computes: "only a change of facts brings this member back".
NEVER = 1 << 62

_DUE_SQL = (
    "SELECT member_id FROM member_schedule WHERE kind = ? AND next_due_at <= ?"
    " ORDER BY next_due_at LIMIT ?"
)


async def due_members(
    db: aiosqlite.Connection, kind: str, now: int, limit: int = 20_000
) -> list[int]:
    """Return up to `limit` members whose `kind` schedule is due by `now`, most overdue first."""
    async with db.execute(_DUE_SQL, (kind, now, limit)) as cur:
        return [row[0] for row in await cur.fetchall()]


async def set_next(db: aiosqlite.Connection, kind: str, moments: Mapping[int, int]) -> None:
    """Store each member's next moment (only if no change reset it meanwhile: same tick)."""
    await db.executemany(
        "UPDATE member_schedule SET next_due_at = ? WHERE member_id = ? AND kind = ?",
        [(at, member_id, kind) for member_id, at in moments.items()],
    )


async def reset_kind(db: aiosqlite.Connection, kind: str) -> None:
    """Make every member of `kind` due now (settings may have changed since the last start)."""
    await db.execute("UPDATE member_schedule SET next_due_at = 0 WHERE kind = ?", (kind,))


async def reset_if_rules_changed(db: aiosqlite.Connection, kind: str, fingerprint: str) -> bool:
    """Make every member of `kind` due now if its rules' fingerprint changed; tell whether.

    Moments computed under other settings or code may be wrong, so those are
    recomputed once; under the same rules they stand (issue 14: a restart must
    not cost the whole county).  The reset and the new fingerprint commit together.
    """
    async with db.execute("SELECT fingerprint FROM schedule_rules WHERE kind = ?", (kind,)) as cur:
        row = await cur.fetchone()
    if row is not None and row[0] == fingerprint:
        return False
    await reset_kind(db, kind)
    await db.execute(
        "INSERT INTO schedule_rules (kind, fingerprint) VALUES (?, ?)"
        " ON CONFLICT (kind) DO UPDATE SET fingerprint = excluded.fingerprint",
        (kind, fingerprint),
    )
    return True


async def query_plans(db: aiosqlite.Connection) -> dict[str, list[str]]:
    """Return SQLite's plan for the due-members query (tests assert it stays indexed)."""
    async with db.execute("EXPLAIN QUERY PLAN " + _DUE_SQL, ("pledges", 0, 1)) as cur:
        return {"due_members": [row[3] for row in await cur.fetchall()]}
