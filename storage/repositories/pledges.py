"""Pledges, their monthly reports and ratings; plus what the pledge planner reads.

pledge = await add_pledge(db, member_id=7, year=2026, parsed=parsed, now=now)
await submit_pledges(db, member_id=7, year=2026, now=now)
await decide_pledge(db, pledge.id, approve=False, by=secretary_id, comment="…", now=now)
await save_report_status(db, pledge.id, 202603, "ongoing", now=now)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.domain.pledges import ParsedPledge, Pledge, PledgeReport

__all__ = [
    "ActiveMember",
    "BranchPledgeRow",
    "active_members",
    "add_pledge",
    "approved_pledges",
    "branch_pledges",
    "count_pledges",
    "decide_pledge",
    "delete_pledge",
    "get_pledge",
    "get_report",
    "member_pledges",
    "members_with_pledges",
    "reports_for",
    "save_report_amount",
    "save_report_note",
    "save_report_status",
    "set_secretary_comment",
    "set_secretary_rating",
    "set_self_rating",
    "submit_pledges",
    "update_pledge_text",
]

_COLUMNS = (
    "pl.id, pl.member_id, pl.year, pl.text, pl.target, pl.unit, pl.status, pl.return_comment,"
    " pl.created_at, pl.submitted_at, pl.decided_at, pl.self_rating, pl.secretary_rating,"
    " pl.secretary_comment"
)
_REPORT_COLUMNS = "pledge_id, month, status, amount, note, reported_at"
# SQLite's default limit on bound parameters is 999 in older builds.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ActiveMember:
    """An active member with what planners need to message them."""

    member_id: int
    branch_id: int
    category: str
    approved_at: int | None
    away_until: str | None
    person_id: int
    telegram_id: int
    name: str | None
    language: str | None
    timezone: str | None  # the person's, else the branch's; None: the default zone


@dataclass(frozen=True, slots=True)
class BranchPledgeRow:
    """A branch member (active) with their pledges of one year."""

    member_id: int
    name: str | None
    category: str
    timezone: str | None
    pledges: tuple[Pledge, ...]


def _pledge(row: aiosqlite.Row) -> Pledge:
    return Pledge(**{key: row[key] for key in row.keys()})


def _report(row: aiosqlite.Row) -> PledgeReport:
    return PledgeReport(**{key: row[key] for key in row.keys()})


async def add_pledge(
    db: aiosqlite.Connection,
    *,
    member_id: int,
    year: int,
    parsed: ParsedPledge,
    now: int,
    entered_by: int | None = None,
) -> Pledge:
    """Store a draft pledge and return it (entered_by: a helper entering it for the member)."""
    cursor = await db.execute(
        "INSERT INTO pledges (member_id, year, text, target, unit, status, created_at, updated_at,"
        " entered_by) VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?)",
        (member_id, year, parsed.text, parsed.target, parsed.unit, now, now, entered_by),
    )
    pledge = await get_pledge(db, cursor.lastrowid or 0)
    assert pledge is not None
    return pledge


async def get_pledge(db: aiosqlite.Connection, pledge_id: int) -> Pledge | None:
    """Return the pledge with this id, or None."""
    async with db.execute(f"SELECT {_COLUMNS} FROM pledges pl WHERE pl.id = ?", (pledge_id,)) as c:
        row = await c.fetchone()
    return None if row is None else _pledge(row)


async def member_pledges(db: aiosqlite.Connection, member_id: int, year: int) -> list[Pledge]:
    """Return a member's pledges of a year in the order they were written."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM pledges pl WHERE pl.member_id = ? AND pl.year = ? ORDER BY pl.id",
        (member_id, year),
    ) as cur:
        return [_pledge(row) for row in await cur.fetchall()]


async def count_pledges(db: aiosqlite.Connection, member_id: int, year: int) -> int:
    """Return how many pledges (any status) a member has for a year."""
    async with db.execute(
        "SELECT COUNT(*) FROM pledges WHERE member_id = ? AND year = ?", (member_id, year)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0])


async def update_pledge_text(
    db: aiosqlite.Connection, pledge_id: int, parsed: ParsedPledge, now: int
) -> bool:
    """Replace an editable pledge's text and target; False if it is no longer editable."""
    cursor = await db.execute(
        "UPDATE pledges SET text = ?, target = ?, unit = ?, updated_at = ?"
        " WHERE id = ? AND status IN ('draft', 'returned')",
        (parsed.text, parsed.target, parsed.unit, now, pledge_id),
    )
    return cursor.rowcount == 1


async def delete_pledge(db: aiosqlite.Connection, pledge_id: int) -> bool:
    """Delete an editable pledge; False if it is no longer editable."""
    cursor = await db.execute(
        "DELETE FROM pledges WHERE id = ? AND status IN ('draft', 'returned')", (pledge_id,)
    )
    return cursor.rowcount == 1


async def submit_pledges(
    db: aiosqlite.Connection, *, member_id: int, year: int, now: int
) -> list[int]:
    """Send a member's draft and returned pledges of a year for approval; return their ids."""
    async with db.execute(
        "SELECT id FROM pledges WHERE member_id = ? AND year = ?"
        " AND status IN ('draft', 'returned') ORDER BY id",
        (member_id, year),
    ) as cur:
        ids = [row[0] for row in await cur.fetchall()]
    if ids:
        marks = ",".join("?" * len(ids))
        await db.execute(
            "UPDATE pledges SET status = 'submitted', submitted_at = ?, updated_at = ?,"
            f" return_comment = NULL WHERE id IN ({marks})",
            (now, now, *ids),
        )
    return ids


async def decide_pledge(
    db: aiosqlite.Connection,
    pledge_id: int,
    *,
    approve: bool,
    by: int | None,
    now: int,
    comment: str | None = None,
) -> bool:
    """Approve or return a submitted pledge; False if it was not awaiting a decision."""
    cursor = await db.execute(
        "UPDATE pledges SET status = ?, return_comment = ?, decided_at = ?, decided_by = ?,"
        " updated_at = ? WHERE id = ? AND status = 'submitted'",
        ("approved" if approve else "returned", comment, now, by, now, pledge_id),
    )
    return cursor.rowcount == 1


async def set_self_rating(
    db: aiosqlite.Connection, pledge_id: int, rating: str, now: int,
    *, entered_by: int | None = None,
) -> bool:
    """Store the member's rating of an approved pledge; False once the secretary has rated."""
    cursor = await db.execute(
        "UPDATE pledges SET self_rating = ?, self_rated_at = ?, self_rated_by = ? WHERE id = ?"
        " AND status = 'approved' AND secretary_rating IS NULL",
        (rating, now, entered_by, pledge_id),
    )
    return cursor.rowcount == 1


async def set_secretary_rating(
    db: aiosqlite.Connection, pledge_id: int, rating: str, *, by: int | None, now: int
) -> bool:
    """Store the secretary's rating of an approved pledge; False if it is not approved."""
    cursor = await db.execute(
        "UPDATE pledges SET secretary_rating = ?, secretary_rated_at = ?, rated_by = ?"
        " WHERE id = ? AND status = 'approved'",
        (rating, now, by, pledge_id),
    )
    return cursor.rowcount == 1


async def set_secretary_comment(
    db: aiosqlite.Connection, pledge_id: int, comment: str | None
) -> None:
    """Store the secretary's comment on their rating."""
    await db.execute("UPDATE pledges SET secretary_comment = ? WHERE id = ?", (comment, pledge_id))


# --- monthly reports ----------------------------------------------------------


async def save_report_status(
    db: aiosqlite.Connection, pledge_id: int, month: int, status: str, *, now: int,
    entered_by: int | None = None,
) -> None:
    """Record (or change) a pledge's progress status for a month, keeping number and note."""
    await db.execute(
        "INSERT INTO pledge_reports (pledge_id, month, status, reported_at, entered_by)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (pledge_id, month) DO UPDATE SET"
        " status = excluded.status, reported_at = excluded.reported_at,"
        " entered_by = excluded.entered_by",
        (pledge_id, month, status, now, entered_by),
    )


async def save_report_amount(
    db: aiosqlite.Connection, pledge_id: int, month: int, amount: float | None
) -> None:
    """Record the number reached in a month's report."""
    await db.execute(
        "UPDATE pledge_reports SET amount = ? WHERE pledge_id = ? AND month = ?",
        (amount, pledge_id, month),
    )


async def save_report_note(
    db: aiosqlite.Connection, pledge_id: int, month: int, note: str | None
) -> None:
    """Record the note of a month's report."""
    await db.execute(
        "UPDATE pledge_reports SET note = ? WHERE pledge_id = ? AND month = ?",
        (note, pledge_id, month),
    )


async def get_report(db: aiosqlite.Connection, pledge_id: int, month: int) -> PledgeReport | None:
    """Return one month's report on a pledge, or None."""
    async with db.execute(
        f"SELECT {_REPORT_COLUMNS} FROM pledge_reports WHERE pledge_id = ? AND month = ?",
        (pledge_id, month),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _report(row)


async def reports_for(
    db: aiosqlite.Connection, pledge_ids: Iterable[int], month: int | None = None
) -> list[PledgeReport]:
    """Return the reports on these pledges (of one month, when given), oldest month first."""
    found: list[PledgeReport] = []
    ids = list(pledge_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT {_REPORT_COLUMNS} FROM pledge_reports WHERE pledge_id IN ({marks})"
        params: list[int] = list(chunk)
        if month is not None:
            sql += " AND month = ?"
            params.append(month)
        async with db.execute(sql + " ORDER BY month, pledge_id", params) as cur:
            found.extend(_report(row) for row in await cur.fetchall())
    return found


# --- what planners and lists read ---------------------------------------------


async def active_members(
    db: aiosqlite.Connection,
    *,
    category: str | None = None,
    member_ids: Sequence[int] | None = None,
) -> list[ActiveMember]:
    """Return every active, reachable member with a chat (of one category, of some ids)."""
    if member_ids is not None:
        return [
            found
            for start in range(0, len(member_ids), _CHUNK)
            for found in await _active_members(
                db, category, member_ids[start : start + _CHUNK]
            )
        ]
    return await _active_members(db, category, None)


async def _active_members(
    db: aiosqlite.Connection, category: str | None, member_ids: Sequence[int] | None
) -> list[ActiveMember]:
    sql = (
        "SELECT m.id, m.branch_id, m.category, m.decided_at, m.away_until, p.id, p.telegram_id,"
        " p.name, p.language, COALESCE(p.timezone, u.timezone)"
        " FROM members m JOIN people p ON p.id = m.person_id JOIN units u ON u.id = m.branch_id"
        " WHERE m.status = 'active' AND p.telegram_id IS NOT NULL AND p.is_reachable = 1"
    )
    params: list[str | int] = []
    if category is not None:
        sql += " AND m.category = ?"
        params.append(category)
    if member_ids is not None:
        sql += f" AND m.id IN ({','.join('?' * len(member_ids))})"
        params.extend(member_ids)
    async with db.execute(sql + " ORDER BY m.id", params) as cur:
        return [ActiveMember(*row) for row in await cur.fetchall()]


async def approved_pledges(
    db: aiosqlite.Connection, years: Sequence[int], member_ids: Sequence[int] | None = None
) -> list[Pledge]:
    """Return the approved pledges of the given years (of some members, when given)."""
    marks = ",".join("?" * len(years))
    sql = f"SELECT {_COLUMNS} FROM pledges pl WHERE pl.year IN ({marks}) AND pl.status = 'approved'"
    if member_ids is None:
        async with db.execute(sql + " ORDER BY pl.member_id, pl.id", tuple(years)) as cur:
            return [_pledge(row) for row in await cur.fetchall()]
    found: list[Pledge] = []
    for start in range(0, len(member_ids), _CHUNK):
        chunk = member_ids[start : start + _CHUNK]
        async with db.execute(
            sql + f" AND pl.member_id IN ({','.join('?' * len(chunk))})"
            " ORDER BY pl.member_id, pl.id",
            (*years, *chunk),
        ) as cur:
            found.extend(_pledge(row) for row in await cur.fetchall())
    return found


async def members_with_pledges(
    db: aiosqlite.Connection,
    year: int,
    statuses: Sequence[str] = ("submitted", "approved"),
    member_ids: Sequence[int] | None = None,
) -> set[int]:
    """Return the ids of members (of some, when given) with pledges of a year in these statuses."""
    marks = ",".join("?" * len(statuses))
    sql = f"SELECT DISTINCT member_id FROM pledges WHERE year = ? AND status IN ({marks})"
    if member_ids is None:
        async with db.execute(sql, (year, *statuses)) as cur:
            return {row[0] for row in await cur.fetchall()}
    found: set[int] = set()
    for start in range(0, len(member_ids), _CHUNK):
        chunk = member_ids[start : start + _CHUNK]
        async with db.execute(
            sql + f" AND member_id IN ({','.join('?' * len(chunk))})", (year, *statuses, *chunk)
        ) as cur:
            found.update(row[0] for row in await cur.fetchall())
    return found


async def branch_pledges(
    db: aiosqlite.Connection, branch_id: int, year: int
) -> list[BranchPledgeRow]:
    """Return the branch's active members by name, each with their pledges of the year."""
    async with db.execute(
        "SELECT m.id, p.name, m.category, COALESCE(p.timezone, u.timezone)"
        " FROM members m JOIN people p ON p.id = m.person_id JOIN units u ON u.id = m.branch_id"
        " WHERE m.branch_id = ? AND m.status = 'active' ORDER BY p.name COLLATE NOCASE, m.id",
        (branch_id,),
    ) as cur:
        members = await cur.fetchall()
    async with db.execute(
        f"SELECT {_COLUMNS} FROM pledges pl JOIN members m ON m.id = pl.member_id"
        " WHERE m.branch_id = ? AND m.status = 'active' AND pl.year = ? ORDER BY pl.id",
        (branch_id, year),
    ) as cur:
        by_member: dict[int, list[Pledge]] = {}
        for row in await cur.fetchall():
            pledge = _pledge(row)
            by_member.setdefault(pledge.member_id, []).append(pledge)
    return [
        BranchPledgeRow(row[0], row[1], row[2], row[3], tuple(by_member.get(row[0], ())))
        for row in members
    ]
