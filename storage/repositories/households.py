"""Pairing with households (结对帮扶): the households a branch helps, who visits, the visit log.

    hid = await add_household(db, branch_id=3, name="王某户（三组）", needs=("tech",),
                              created_by=2, now=now)
    await assign(db, household_id=hid, member_id=7, assigned_by=2, now=now)
    visit = await record_visit(db, household_id=hid, member_id=7, kind="visit",
                               entered_by=None, now=now)
    await set_note(db, visit, "帮他联系了收购商")
    due = await due_pairings(db, gap_started_before=now - 30 * 86400)   # reads only what is due
    await mark_reminded(db, [(row.pairing_id, row.gap_start) for row in due])

A household row is the branch's record (户主 name and village group, never an
ID number), not a member's personal data: /forget of a member keeps it and
erases only that member's visit notes and pairings (storage.repositories.erasure).

Any visit restarts the reminder clock (gap_start) of every member paired with
the household: the household was visited, so nobody is nagged about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import transaction

__all__ = [
    "Assigned",
    "DuePairing",
    "Household",
    "Visit",
    "add_household",
    "assign",
    "assigned_members",
    "branch_households",
    "branch_visits",
    "due_pairings",
    "forget_members",
    "get_household",
    "get_visit",
    "households_of_members",
    "is_assigned",
    "mark_reminded",
    "record_visit",
    "set_needs",
    "set_note",
    "unassign",
]


@dataclass(frozen=True, slots=True)
class Household:
    """A household a branch helps, with when it was last visited (by anyone)."""

    id: int
    branch_id: int
    name: str
    needs: tuple[str, ...]
    created_at: int
    last_visit_at: int | None = None


@dataclass(frozen=True, slots=True)
class Assigned:
    """A member currently paired with a household."""

    household_id: int
    member_id: int
    person_id: int
    name: str | None
    telegram_id: int | None
    last_visit_at: int | None  # this member's latest visit to the household


@dataclass(frozen=True, slots=True)
class Visit:
    """One logged visit or help, with who it counts for and who entered it."""

    id: int
    household_id: int
    household: str
    member_id: int
    member_name: str | None
    at: int
    kind: str
    note: str | None
    entered_by: int | None
    entered_by_name: str | None


@dataclass(frozen=True, slots=True)
class DuePairing:
    """A pairing whose stretch without a visit began before the asked time, not yet reminded."""

    pairing_id: int
    household_id: int
    household: str
    branch_id: int
    member_id: int
    person_id: int
    telegram_id: int | None
    language: str | None
    timezone: str | None  # the person's, else the branch's
    category: str
    is_reachable: bool
    gap_start: int
    is_open: bool  # the membership is active and the household still helped


def _needs(text: str) -> tuple[str, ...]:
    return tuple(need for need in text.split(",") if need)


_HOUSEHOLD = (
    "SELECT h.id, h.branch_id, h.name, h.needs, h.created_at,"
    " (SELECT MAX(v.at) FROM household_visits v WHERE v.household_id = h.id)"
    " FROM households h"
)


def _household(row: Sequence[object]) -> Household:
    return Household(row[0], row[1], row[2], _needs(row[3]), row[4], row[5])  # type: ignore[arg-type]


async def add_household(
    db: aiosqlite.Connection, *, branch_id: int, name: str, needs: Iterable[str],
    created_by: int | None, now: int,
) -> int:
    """Store a household the branch helps; return its id."""
    cursor = await db.execute(
        "INSERT INTO households (branch_id, name, needs, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (branch_id, name, ",".join(needs), created_by, now),
    )
    return int(cursor.lastrowid)


async def get_household(db: aiosqlite.Connection, household_id: int) -> Household | None:
    """Return the open household with this id, or None."""
    async with db.execute(
        _HOUSEHOLD + " WHERE h.id = ? AND h.closed_at IS NULL", (household_id,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _household(row)


async def set_needs(db: aiosqlite.Connection, household_id: int, needs: Iterable[str]) -> None:
    """Replace a household's needs."""
    await db.execute(
        "UPDATE households SET needs = ? WHERE id = ?", (",".join(needs), household_id)
    )


async def branch_households(db: aiosqlite.Connection, branch_id: int) -> list[Household]:
    """Return the branch's open households, in the order they were registered."""
    async with db.execute(
        _HOUSEHOLD + " WHERE h.branch_id = ? AND h.closed_at IS NULL ORDER BY h.id", (branch_id,)
    ) as cur:
        rows = await cur.fetchall()
    return [_household(row) for row in rows]


async def households_of_members(
    db: aiosqlite.Connection, member_ids: Sequence[int]
) -> list[tuple[int, Household]]:
    """Return (member id, household) for each open household these members are paired with."""
    if not member_ids:
        return []
    marks = ",".join("?" * len(member_ids))
    async with db.execute(
        "SELECT hm.member_id, h.id, h.branch_id, h.name, h.needs, h.created_at,"
        " (SELECT MAX(v.at) FROM household_visits v WHERE v.household_id = h.id)"
        " FROM household_members hm JOIN households h ON h.id = hm.household_id"
        f" WHERE hm.member_id IN ({marks}) AND hm.removed_at IS NULL AND h.closed_at IS NULL"
        " ORDER BY hm.member_id, h.id",
        list(member_ids),
    ) as cur:
        rows = await cur.fetchall()
    return [(row[0], _household(row[1:])) for row in rows]


async def assign(
    db: aiosqlite.Connection, *, household_id: int, member_id: int, assigned_by: int | None,
    now: int,
) -> bool:
    """Pair a member with a household (the reminder clock starts now); False if already paired."""
    cursor = await db.execute(
        "INSERT INTO household_members (household_id, member_id, assigned_by, assigned_at,"
        " gap_start) SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM household_members"
        " WHERE household_id = ? AND member_id = ? AND removed_at IS NULL)",
        (household_id, member_id, assigned_by, now, now, household_id, member_id),
    )
    return cursor.rowcount == 1


async def unassign(
    db: aiosqlite.Connection, *, household_id: int, member_id: int, now: int
) -> bool:
    """End a pairing (the row stays as history); False if there was none."""
    cursor = await db.execute(
        "UPDATE household_members SET removed_at = ?"
        " WHERE household_id = ? AND member_id = ? AND removed_at IS NULL",
        (now, household_id, member_id),
    )
    return cursor.rowcount == 1


async def assigned_members(
    db: aiosqlite.Connection, household_ids: Sequence[int]
) -> list[Assigned]:
    """Return the active members currently paired with these households, by household and name."""
    if not household_ids:
        return []
    marks = ",".join("?" * len(household_ids))
    async with db.execute(
        "SELECT hm.household_id, m.id, p.id, p.name, p.telegram_id,"
        " (SELECT MAX(v.at) FROM household_visits v"
        "  WHERE v.household_id = hm.household_id AND v.member_id = m.id)"
        " FROM household_members hm JOIN members m ON m.id = hm.member_id"
        " JOIN people p ON p.id = m.person_id"
        f" WHERE hm.household_id IN ({marks}) AND hm.removed_at IS NULL AND m.status = 'active'"
        " ORDER BY hm.household_id, p.name COLLATE NOCASE, m.id",
        list(household_ids),
    ) as cur:
        rows = await cur.fetchall()
    return [Assigned(*row) for row in rows]


async def is_assigned(db: aiosqlite.Connection, household_id: int, member_id: int) -> bool:
    """Tell whether the member is currently paired with the household."""
    async with db.execute(
        "SELECT 1 FROM household_members"
        " WHERE household_id = ? AND member_id = ? AND removed_at IS NULL",
        (household_id, member_id),
    ) as cur:
        return await cur.fetchone() is not None


async def record_visit(
    db: aiosqlite.Connection, *, household_id: int, member_id: int, kind: str,
    entered_by: int | None, now: int,
) -> int:
    """Log a visit or help and restart the household's reminder clock; return the visit id."""
    async with transaction(db):
        cursor = await db.execute(
            "INSERT INTO household_visits (household_id, member_id, at, kind, entered_by)"
            " VALUES (?, ?, ?, ?, ?)",
            (household_id, member_id, now, kind, entered_by),
        )
        await db.execute(
            "UPDATE household_members SET gap_start = MAX(gap_start, ?)"
            " WHERE household_id = ? AND removed_at IS NULL",
            (now, household_id),
        )
    return int(cursor.lastrowid)


async def get_visit(db: aiosqlite.Connection, visit_id: int) -> Visit | None:
    """Return one logged visit, or None."""
    rows = await _visits(db, "v.id = ?", [visit_id])
    return rows[0] if rows else None


async def set_note(db: aiosqlite.Connection, visit_id: int, note: str | None) -> None:
    """Store (or clear) the optional line of a visit."""
    await db.execute("UPDATE household_visits SET note = ? WHERE id = ?", (note, visit_id))


async def _visits(db: aiosqlite.Connection, where: str, params: list[object]) -> list[Visit]:
    async with db.execute(
        "SELECT v.id, v.household_id, h.name, v.member_id, p.name, v.at, v.kind, v.note,"
        " v.entered_by, e.name"
        " FROM household_visits v JOIN households h ON h.id = v.household_id"
        " JOIN members m ON m.id = v.member_id JOIN people p ON p.id = m.person_id"
        " LEFT JOIN people e ON e.id = v.entered_by"
        f" WHERE {where} ORDER BY v.at, v.id",
        params,
    ) as cur:
        rows = await cur.fetchall()
    return [Visit(*row) for row in rows]


async def branch_visits(
    db: aiosqlite.Connection, branch_id: int, *, since: int | None = None,
    until: int | None = None,
) -> list[Visit]:
    """Return the branch's logged visits (between `since` and `until`, when given), oldest first."""
    where, params = "h.branch_id = ?", [branch_id]
    if since is not None:
        where += " AND v.at >= ?"
        params.append(since)
    if until is not None:
        where += " AND v.at < ?"
        params.append(until)
    return await _visits(db, where, params)


async def due_pairings(
    db: aiosqlite.Connection, *, gap_started_before: int, limit: int = 1000
) -> list[DuePairing]:
    """Return pairings without a visit since before the given time and not reminded for it.

    The WHERE repeats household_members_due's own condition, so SQLite reads
    that partial index: the cost follows the pairings that may be due.
    """
    async with db.execute(
        "SELECT hm.id, h.id, h.name, h.branch_id, m.id, p.id, p.telegram_id, p.language,"
        " COALESCE(p.timezone, u.timezone), m.category, p.is_reachable, hm.gap_start,"
        " m.status = 'active' AND h.closed_at IS NULL"
        " FROM household_members hm JOIN households h ON h.id = hm.household_id"
        " JOIN members m ON m.id = hm.member_id JOIN people p ON p.id = m.person_id"
        " JOIN units u ON u.id = h.branch_id"
        " WHERE hm.removed_at IS NULL AND hm.reminded_gap IS NOT hm.gap_start"
        " AND hm.gap_start <= ? ORDER BY hm.gap_start, hm.id LIMIT ?",
        (gap_started_before, limit),
    ) as cur:
        rows = await cur.fetchall()
    return [
        DuePairing(*row[:10], is_reachable=bool(row[10]), gap_start=row[11],  # type: ignore[misc]
                   is_open=bool(row[12]))
        for row in rows
    ]


async def mark_reminded(
    db: aiosqlite.Connection, pairings: Sequence[tuple[int, int]]
) -> None:
    """Note that each (pairing id, gap start) needs no reminder again for that stretch."""
    if pairings:
        await db.executemany(
            "UPDATE household_members SET reminded_gap = ? WHERE id = ? AND gap_start = ?",
            [(gap, pairing, gap) for pairing, gap in pairings],
        )


async def forget_members(db: aiosqlite.Connection, member_ids: Sequence[int], now: int) -> None:
    """Erase the lines on these (forgotten) members' visits and end their pairings.

    The visits' dates and kinds stay, anonymous with the member; the
    households stay too: they are the branch's record, not the member's.
    """
    if member_ids:
        marks = ",".join("?" * len(member_ids))
        await db.execute(
            f"UPDATE household_visits SET note = NULL WHERE member_id IN ({marks})",
            list(member_ids),
        )
        await db.execute(
            f"UPDATE household_members SET removed_at = ? WHERE member_id IN ({marks})"
            " AND removed_at IS NULL",
            [now, *member_ids],
        )
