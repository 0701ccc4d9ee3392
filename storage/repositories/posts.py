"""Posts with duties (设岗定责): posts, their targets, holders, monthly 履岗 reports and counts.

post_id = await create_post(db, branch_id=3, year=2026, name="柑桔种植技术服务岗",
                            duties="…", targets=[("技术指导", 12.0, "户次")], by=1, now=now)
holder = await ask_holder(db, post_id, member_id, now=now)     # consent asked
await decide_holder(db, holder.id, accept=True, now=now)
await save_report(db, holder.id, 202603, "done", note=None, now=now, entered_by=None)
await add_count(db, holder.id, target_id, 202603, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import transaction

__all__ = [
    "ActiveHolder",
    "Holder",
    "Post",
    "PostReport",
    "PostTarget",
    "add_count",
    "ask_holder",
    "branch_posts",
    "counts_for",
    "create_post",
    "decide_holder",
    "forget_notes",
    "get_holder",
    "get_post",
    "holders_of",
    "member_holders",
    "planned_holders",
    "rate_holder",
    "reports_for",
    "save_report",
    "targets_of",
]


@dataclass(frozen=True, slots=True)
class PostTarget:
    """One assessment target of a post: a label, and a number with a unit when it has one."""

    id: int
    post_id: int
    label: str
    target: float | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class Post:
    """A branch's post for a year, with its duties."""

    id: int
    branch_id: int
    year: int
    name: str
    duties: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Holder:
    """A member asked to hold a post, with their consent and the year-end assessment."""

    id: int
    post_id: int
    member_id: int
    status: str  # asked | accepted | declined
    asked_at: int
    decided_at: int | None
    rating: str | None
    name: str | None = None
    person_id: int | None = None
    telegram_id: int | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ActiveHolder:
    """A consenting holder of an active membership, with what a planner needs to message them."""

    holder_id: int
    post_id: int
    post_name: str
    year: int
    branch_id: int
    member_id: int
    category: str
    away_until: str | None
    person_id: int
    telegram_id: int | None
    name: str | None
    language: str | None
    timezone: str | None
    decided_at: int
    rating: str | None


@dataclass(frozen=True, slots=True)
class PostReport:
    """One holder's 履岗 report for one month."""

    holder_id: int
    month: int
    status: str  # done | missed
    note: str | None
    reported_at: int
    entered_by: int | None


def _post(row: aiosqlite.Row) -> Post:
    return Post(row[0], row[1], row[2], row[3], row[4], row[5])


_HOLDER = (
    "SELECT h.id, h.post_id, h.member_id, h.status, h.asked_at, h.decided_at, h.rating,"
    " p.name, p.id, p.telegram_id, p.language"
    " FROM post_holders h JOIN members m ON m.id = h.member_id JOIN people p ON p.id = m.person_id"
)


def _holder(row: aiosqlite.Row) -> Holder:
    return Holder(*row)


async def create_post(
    db: aiosqlite.Connection,
    *,
    branch_id: int,
    year: int,
    name: str,
    duties: str,
    targets: Sequence[tuple[str, float | None, str | None]],
    by: int | None,
    now: int,
) -> int:
    """Store a post with its targets and return its id."""
    async with transaction(db):
        cursor = await db.execute(
            "INSERT INTO posts (branch_id, year, name, duties, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (branch_id, year, name, duties, by, now),
        )
        post_id = cursor.lastrowid
        await db.executemany(
            "INSERT INTO post_targets (post_id, label, target, unit) VALUES (?, ?, ?, ?)",
            [(post_id, label, target, unit) for label, target, unit in targets],
        )
    assert post_id is not None
    return post_id


async def get_post(db: aiosqlite.Connection, post_id: int) -> Post | None:
    """Return one post, or None."""
    async with db.execute(
        "SELECT id, branch_id, year, name, duties, created_at FROM posts WHERE id = ?", (post_id,)
    ) as cur:
        row = await cur.fetchone()
    return _post(row) if row else None


async def branch_posts(db: aiosqlite.Connection, branch_id: int, year: int) -> list[Post]:
    """Return a branch's posts of a year, oldest first."""
    async with db.execute(
        "SELECT id, branch_id, year, name, duties, created_at FROM posts"
        " WHERE branch_id = ? AND year = ? ORDER BY id",
        (branch_id, year),
    ) as cur:
        return [_post(row) for row in await cur.fetchall()]


async def targets_of(db: aiosqlite.Connection, post_ids: Sequence[int]) -> list[PostTarget]:
    """Return the targets of the given posts, in the order they were typed."""
    if not post_ids:
        return []
    marks = ",".join("?" * len(post_ids))
    async with db.execute(
        f"SELECT id, post_id, label, target, unit FROM post_targets WHERE post_id IN ({marks})"
        " ORDER BY post_id, id",
        tuple(post_ids),
    ) as cur:
        return [PostTarget(*row) for row in await cur.fetchall()]


async def ask_holder(db: aiosqlite.Connection, post_id: int, member_id: int, *, now: int) -> Holder:
    """Ask a member to hold a post (again, if they declined); return the holder row."""
    await db.execute(
        "INSERT INTO post_holders (post_id, member_id, status, asked_at) VALUES (?, ?, 'asked', ?)"
        " ON CONFLICT (post_id, member_id) DO UPDATE SET status = 'asked',"
        " asked_at = excluded.asked_at,"
        " decided_at = NULL WHERE post_holders.status = 'declined'",
        (post_id, member_id, now),
    )
    async with db.execute(
        f"{_HOLDER} WHERE h.post_id = ? AND h.member_id = ?", (post_id, member_id)
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _holder(row)


async def get_holder(db: aiosqlite.Connection, holder_id: int) -> Holder | None:
    """Return one holder row with the member's name and chat, or None."""
    async with db.execute(f"{_HOLDER} WHERE h.id = ?", (holder_id,)) as cur:
        row = await cur.fetchone()
    return _holder(row) if row else None


async def decide_holder(
    db: aiosqlite.Connection, holder_id: int, *, accept: bool, now: int
) -> bool:
    """Record the member's consent (or refusal); False if it was no longer asked."""
    cursor = await db.execute(
        "UPDATE post_holders SET status = ?, decided_at = ? WHERE id = ? AND status = 'asked'",
        ("accepted" if accept else "declined", now, holder_id),
    )
    return cursor.rowcount == 1


async def holders_of(db: aiosqlite.Connection, post_ids: Sequence[int]) -> list[Holder]:
    """Return the holders (any status) of the given posts, by post then name."""
    if not post_ids:
        return []
    marks = ",".join("?" * len(post_ids))
    async with db.execute(
        f"{_HOLDER} WHERE h.post_id IN ({marks}) ORDER BY h.post_id, p.name COLLATE NOCASE, h.id",
        tuple(post_ids),
    ) as cur:
        return [_holder(row) for row in await cur.fetchall()]


async def member_holders(db: aiosqlite.Connection, member_id: int) -> list[Holder]:
    """Return the posts a member holds or was asked to hold."""
    async with db.execute(
        f"{_HOLDER} WHERE h.member_id = ? ORDER BY h.post_id", (member_id,)
    ) as cur:
        return [_holder(row) for row in await cur.fetchall()]


# CROSS JOIN keeps the holders as the outer loop: with plain joins SQLite chose
# to scan every member of the county for each tick (issue 14), though holders
# are a few per branch.
_HOLDERS_SQL = (
    "SELECT h.id, h.post_id, po.name, po.year, m.branch_id, m.id, m.category, m.away_until,"
    " p.id, p.telegram_id, p.name, p.language, COALESCE(p.timezone, u.timezone),"
    " h.decided_at, h.rating"
    " FROM post_holders h CROSS JOIN posts po ON po.id = h.post_id"
    " CROSS JOIN members m ON m.id = h.member_id JOIN people p ON p.id = m.person_id"
    " JOIN units u ON u.id = m.branch_id"
    " WHERE h.status = 'accepted' AND m.status = 'active'"
)


async def holders_query_plan(db: aiosqlite.Connection) -> list[str]:
    """Return SQLite's plan for the posts planner's holders query (tests: no scan of members)."""
    async with db.execute(
        "EXPLAIN QUERY PLAN " + _HOLDERS_SQL + " AND po.year IN (?, ?) ORDER BY po.id, h.id",
        (2025, 2026),
    ) as cur:
        return [row[3] for row in await cur.fetchall()]


async def planned_holders(
    db: aiosqlite.Connection, years: Sequence[int], branch_id: int | None = None
) -> list[ActiveHolder]:
    """Return the consenting holders of active memberships, for posts of the given years."""
    marks = ",".join("?" * len(years))
    where = " AND m.branch_id = ?" if branch_id is not None else ""
    async with db.execute(
        _HOLDERS_SQL + f" AND po.year IN ({marks}){where} ORDER BY po.id, h.id",
        (*years, *((branch_id,) if branch_id is not None else ())),
    ) as cur:
        return [ActiveHolder(*row) for row in await cur.fetchall()]


async def save_report(
    db: aiosqlite.Connection,
    holder_id: int,
    month: int,
    status: str,
    *,
    note: str | None,
    now: int,
    entered_by: int | None,
) -> None:
    """Record (or replace) a holder's report for a month."""
    await db.execute(
        "INSERT INTO post_reports (holder_id, month, status, note, reported_at, entered_by)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (holder_id, month) DO UPDATE SET"
        " status = excluded.status, note = COALESCE(excluded.note, post_reports.note),"
        " reported_at = excluded.reported_at, entered_by = excluded.entered_by",
        (holder_id, month, status, note, now, entered_by),
    )


async def reports_for(
    db: aiosqlite.Connection, holder_ids: Sequence[int], month: int | None = None
) -> list[PostReport]:
    """Return the holders' reports (of one month, when given), oldest first."""
    if not holder_ids:
        return []
    marks = ",".join("?" * len(holder_ids))
    month_sql = " AND month = ?" if month is not None else ""
    async with db.execute(
        "SELECT holder_id, month, status, note, reported_at, entered_by FROM post_reports"
        f" WHERE holder_id IN ({marks}){month_sql} ORDER BY holder_id, month",
        (*holder_ids, *((month,) if month is not None else ())),
    ) as cur:
        return [PostReport(*row) for row in await cur.fetchall()]


async def add_count(
    db: aiosqlite.Connection, holder_id: int, target_id: int, month: int, amount: float
) -> float:
    """Add to a holder's count on a target for a month; return the year's total so far."""
    await db.execute(
        "INSERT INTO post_counts (holder_id, target_id, month, amount) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (holder_id, target_id, month)"
        " DO UPDATE SET amount = post_counts.amount + excluded.amount",
        (holder_id, target_id, month, amount),
    )
    async with db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM post_counts WHERE holder_id = ? AND target_id = ?"
        " AND month / 100 = ?",
        (holder_id, target_id, month // 100),
    ) as cur:
        row = await cur.fetchone()
    return float(row[0]) if row else 0.0


async def counts_for(
    db: aiosqlite.Connection, holder_ids: Sequence[int]
) -> dict[tuple[int, int], float]:
    """Return {(holder, target): total counted} over all months."""
    if not holder_ids:
        return {}
    marks = ",".join("?" * len(holder_ids))
    async with db.execute(
        "SELECT holder_id, target_id, SUM(amount) FROM post_counts"
        f" WHERE holder_id IN ({marks}) GROUP BY holder_id, target_id",
        tuple(holder_ids),
    ) as cur:
        return {(row[0], row[1]): float(row[2]) for row in await cur.fetchall()}


async def rate_holder(
    db: aiosqlite.Connection, holder_id: int, rating: str, *, by: int | None, now: int
) -> None:
    """Record the secretary's year-end assessment of a holder (replacing an earlier one)."""
    await db.execute(
        "UPDATE post_holders SET rating = ?, rated_by = ?, rated_at = ? WHERE id = ?",
        (rating, by, now, holder_id),
    )


async def forget_notes(db: aiosqlite.Connection, member_ids: Sequence[int]) -> None:
    """Erase the free text the members' 履岗 reports hold (/forget); the facts stay, anonymous."""
    if not member_ids:
        return
    marks = ",".join("?" * len(member_ids))
    await db.execute(
        "UPDATE post_reports SET note = NULL WHERE holder_id IN"
        f" (SELECT id FROM post_holders WHERE member_id IN ({marks}))",
        tuple(member_ids),
    )
