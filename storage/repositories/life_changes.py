"""Lives that change: coming home, leaving for work, turning elderly, moving branch.

    change = await create(db, person_id=7, member_id=42, kind="home", from_branch=3,
                          from_category="mobile", to_category="regular", requested_by=7, now=now)
    await decide_side(db, change.id, "from", by=12, now=now)   # one secretary's ✅
    await apply_category(db, 42, "regular", place=None)
    await finish(db, change.id, "done", now)
    rows = await done_between(db, branch_id=3, start=monday, end=next_monday)

A transfer moves the membership row itself (`move_branch`), so every record
keyed by the member id (study answers, pledges, whereabouts) follows the
person; only the old branch's still-open study reminders are dropped.
See storage/migrations/0010_life_changes.sql.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

__all__ = [
    "ChangeLine",
    "LifeChange",
    "apply_category",
    "big_buttons",
    "create",
    "decide_side",
    "done_between",
    "finish",
    "forget_places",
    "get",
    "history",
    "move_branch",
    "pending_for",
    "set_big_buttons",
]

_COLUMNS = (
    "id, person_id, member_id, kind, from_branch, to_branch, from_category, to_category,"
    " place, requested_by, requested_at, from_decided_by, from_decided_at, to_decided_by,"
    " to_decided_at, status, decided_at"
)


@dataclass(frozen=True, slots=True)
class LifeChange:
    """One requested or recorded change of a member's category or branch."""

    id: int
    person_id: int | None
    member_id: int | None
    kind: str  # home | leaving | elderly | transfer
    from_branch: int | None
    to_branch: int | None
    from_category: str | None
    to_category: str | None
    place: str | None
    requested_by: int | None
    requested_at: int
    from_decided_by: int | None
    from_decided_at: int | None
    to_decided_by: int | None
    to_decided_at: int | None
    status: str  # pending | done | refused
    decided_at: int | None

    @property
    def is_pending(self) -> bool:
        """Tell whether the change still waits for a confirmation."""
        return self.status == "pending"


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """A recorded change with the names a digest line or ledger row shows."""

    change: LifeChange
    name: str | None
    from_name: str | None
    to_name: str | None


async def create(
    db: aiosqlite.Connection,
    *,
    person_id: int,
    member_id: int,
    kind: str,
    from_branch: int,
    now: int,
    to_branch: int | None = None,
    from_category: str | None = None,
    to_category: str | None = None,
    place: str | None = None,
    requested_by: int | None = None,
    status: str = "pending",
) -> LifeChange:
    """Store a change (pending, or already done when no one need confirm) and return it."""
    cursor = await db.execute(
        "INSERT INTO life_changes (person_id, member_id, kind, from_branch, to_branch,"
        " from_category, to_category, place, requested_by, requested_at, status, decided_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (person_id, member_id, kind, from_branch, to_branch, from_category, to_category, place,
         requested_by, now, status, None if status == "pending" else now),
    )
    await cursor.close()
    assert cursor.lastrowid is not None
    change = await get(db, cursor.lastrowid)
    assert change is not None
    return change


async def get(db: aiosqlite.Connection, change_id: int) -> LifeChange | None:
    """Return one change, or None."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM life_changes WHERE id = ?", (change_id,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else LifeChange(*row)


async def pending_for(db: aiosqlite.Connection, member_id: int, kind: str) -> LifeChange | None:
    """Return the member's open request of `kind`, or None."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM life_changes WHERE member_id = ? AND kind = ?"
        " AND status = 'pending' ORDER BY id DESC LIMIT 1",
        (member_id, kind),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else LifeChange(*row)


async def decide_side(
    db: aiosqlite.Connection, change_id: int, side: str, *, by: int | None, now: int
) -> bool:
    """Record one side's ✅ ('from' or 'to'); False if already recorded or no longer pending."""
    column = {"from": "from", "to": "to"}[side]  # never user text in SQL
    cursor = await db.execute(
        f"UPDATE life_changes SET {column}_decided_by = ?, {column}_decided_at = ?"
        f" WHERE id = ? AND status = 'pending' AND {column}_decided_at IS NULL",
        (by, now, change_id),
    )
    return cursor.rowcount == 1


async def finish(db: aiosqlite.Connection, change_id: int, status: str, now: int) -> bool:
    """Close a pending change as 'done' or 'refused'; False if it was closed already."""
    cursor = await db.execute(
        "UPDATE life_changes SET status = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
        (status, now, change_id),
    )
    return cursor.rowcount == 1


async def apply_category(
    db: aiosqlite.Connection, member_id: int, category: str, *, place: str | None
) -> None:
    """Set an active membership's category and place (a local member has none)."""
    await db.execute(
        "UPDATE members SET category = ?, place = ? WHERE id = ?", (category, place, member_id)
    )


async def move_branch(db: aiosqlite.Connection, member_id: int, to_branch: int) -> None:
    """Move the membership to another branch, dropping only the old branch's open reminders."""
    await db.execute(
        "DELETE FROM study_targets WHERE member_id = ? AND item_id IN"
        " (SELECT t.item_id FROM study_targets t JOIN study_items i ON i.id = t.item_id"
        "  WHERE t.member_id = ? AND i.branch_id <> ?)"
        " AND item_id NOT IN (SELECT item_id FROM study_answers WHERE member_id = ?)",
        (member_id, member_id, to_branch, member_id),
    )
    await db.execute("UPDATE members SET branch_id = ? WHERE id = ?", (to_branch, member_id))


_LINE_SQL = (
    "SELECT c.id, c.person_id, c.member_id, c.kind, c.from_branch, c.to_branch,"
    " c.from_category, c.to_category, c.place, c.requested_by, c.requested_at,"
    " c.from_decided_by, c.from_decided_at, c.to_decided_by, c.to_decided_at, c.status,"
    " c.decided_at, p.name, fu.name, tu.name"
    " FROM life_changes c LEFT JOIN people p ON p.id = c.person_id"
    " LEFT JOIN units fu ON fu.id = c.from_branch LEFT JOIN units tu ON tu.id = c.to_branch"
)


def _line(row: Sequence[object]) -> ChangeLine:
    return ChangeLine(LifeChange(*row[:17]), *row[17:])  # type: ignore[arg-type]


async def done_between(
    db: aiosqlite.Connection, branch_id: int, start: int, end: int
) -> list[ChangeLine]:
    """Return the changes recorded in [start, end) that concern the branch, oldest first."""
    async with db.execute(
        _LINE_SQL + " WHERE c.status = 'done' AND c.decided_at >= ? AND c.decided_at < ?"
        " AND (c.from_branch = ? OR c.to_branch = ?) ORDER BY c.decided_at, c.id",
        (start, end, branch_id, branch_id),
    ) as cur:
        return [_line(row) for row in await cur.fetchall()]


async def history(db: aiosqlite.Connection, branch_id: int) -> list[ChangeLine]:
    """Return every change that concerns the branch, any status, oldest first (the ledger)."""
    async with db.execute(
        _LINE_SQL + " WHERE c.from_branch = ? OR c.to_branch = ? ORDER BY c.requested_at, c.id",
        (branch_id, branch_id),
    ) as cur:
        return [_line(row) for row in await cur.fetchall()]


async def forget_places(db: aiosqlite.Connection, person_id: int) -> None:
    """Erase the places a forgotten person's changes named (the rest stays, anonymous)."""
    await db.execute("UPDATE life_changes SET place = NULL WHERE person_id = ?", (person_id,))


async def big_buttons(db: aiosqlite.Connection, person_id: int) -> bool | None:
    """Return the person's big-buttons choice: None follows the category."""
    async with db.execute("SELECT big_buttons FROM people WHERE id = ?", (person_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None or row[0] is None else bool(row[0])


async def set_big_buttons(db: aiosqlite.Connection, person_id: int, on: bool) -> None:
    """Store the person's choice to have (or not) the big-buttons keyboard."""
    await db.execute("UPDATE people SET big_buttons = ? WHERE id = ?", (int(on), person_id))
