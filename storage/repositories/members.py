"""Memberships: who belongs (or asked to belong) to which branch."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.domain.models import Category, Member, MemberStatus

__all__ = [
    "MemberRow",
    "add_member",
    "current_membership",
    "decide_member",
    "get_member",
    "list_branch_members",
    "set_away",
    "set_place",
    "set_status",
]

_COLUMNS = (
    "m.id, m.person_id, m.branch_id, m.category, m.status, m.place, m.away_until,"
    " m.requested_at, m.decided_at"
)


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A membership joined with the person's name and contact facts, for lists."""

    member: Member
    name: str | None
    telegram_id: int | None
    timezone: str | None
    language: str | None
    is_reachable: bool
    last_contact_at: int | None
    # Registered by a secretary and without Telegram (see 0008_offline_members.sql):
    # not "unreachable", and shown with who registered them.
    offline: bool = False
    registered_by: str | None = None


def _member(row: aiosqlite.Row) -> Member:
    return Member(
        id=row["id"],
        person_id=row["person_id"],
        branch_id=row["branch_id"],
        category=Category(row["category"]),
        status=MemberStatus(row["status"]),
        place=row["place"],
        away_until=row["away_until"],
        requested_at=row["requested_at"],
        decided_at=row["decided_at"],
    )


async def add_member(
    db: aiosqlite.Connection,
    *,
    person_id: int,
    branch_id: int,
    category: Category,
    place: str | None,
    invite_id: int | None,
    now: int,
) -> Member:
    """Record a pending join request and return it."""
    cursor = await db.execute(
        "INSERT INTO members (person_id, branch_id, category, status, place, invite_id,"
        " requested_at, consent_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)",
        (person_id, branch_id, category.value, place, invite_id, now, now),
    )
    member = await get_member(db, cursor.lastrowid or 0)
    assert member is not None
    return member


async def get_member(db: aiosqlite.Connection, member_id: int) -> Member | None:
    """Return the membership with this id, or None."""
    async with db.execute(f"SELECT {_COLUMNS} FROM members m WHERE m.id = ?", (member_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _member(row)


async def current_membership(db: aiosqlite.Connection, person_id: int) -> Member | None:
    """Return the person's active or pending membership, if any."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM members m WHERE m.person_id = ?"
        " AND m.status IN ('active', 'pending') ORDER BY m.id DESC LIMIT 1",
        (person_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _member(row)


async def decide_member(
    db: aiosqlite.Connection, member_id: int, *, approve: bool, decided_by: int | None, now: int
) -> bool:
    """Approve or reject a pending request; False if it was no longer pending."""
    cursor = await db.execute(
        "UPDATE members SET status = ?, decided_by = ?, decided_at = ?"
        " WHERE id = ? AND status = 'pending'",
        ("active" if approve else "rejected", decided_by, now, member_id),
    )
    return cursor.rowcount == 1


async def set_status(
    db: aiosqlite.Connection, member_id: int, status: MemberStatus, now: int
) -> None:
    """Move a membership to `status` (left, removed)."""
    await db.execute(
        "UPDATE members SET status = ?, decided_at = ? WHERE id = ?",
        (status.value, now, member_id),
    )


async def set_place(db: aiosqlite.Connection, member_id: int, place: str | None) -> None:
    """Store where a mobile member is now."""
    await db.execute("UPDATE members SET place = ? WHERE id = ?", (place, member_id))


async def set_away(db: aiosqlite.Connection, member_id: int, until: str | None) -> None:
    """Store the local date until which the member is away (None: back)."""
    await db.execute("UPDATE members SET away_until = ? WHERE id = ?", (until, member_id))


_ROW_COLUMNS = (
    f"{_COLUMNS}, p.name, p.telegram_id, p.timezone, p.language, p.is_reachable,"
    " p.last_contact_at, p.registered_at, p.forgotten_at,"
    " (SELECT r.name FROM people r WHERE r.id = p.registered_by) AS registered_by_name"
    " FROM members m JOIN people p ON p.id = m.person_id"
)


def _member_row(row: aiosqlite.Row) -> MemberRow:
    return MemberRow(
        member=_member(row),
        name=row["name"],
        telegram_id=row["telegram_id"],
        timezone=row["timezone"],
        language=row["language"],
        is_reachable=bool(row["is_reachable"]),
        last_contact_at=row["last_contact_at"],
        offline=row["telegram_id"] is None and row["registered_at"] is not None
        and row["forgotten_at"] is None,
        registered_by=row["registered_by_name"],
    )


async def list_branch_members(
    db: aiosqlite.Connection, branch_id: int, statuses: tuple[str, ...] = ("active", "pending")
) -> list[MemberRow]:
    """Return the branch's memberships in the given statuses, by name."""
    marks = ",".join("?" * len(statuses))
    async with db.execute(
        f"SELECT {_ROW_COLUMNS} WHERE m.branch_id = ? AND m.status IN ({marks})"
        " ORDER BY m.status, p.name COLLATE NOCASE, m.id",
        (branch_id, *statuses),
    ) as cur:
        rows = await cur.fetchall()
    return [_member_row(row) for row in rows]


# ---------------------------------------------------------------- self-service and secretaries

__all__ += ["end_membership", "list_members_in"]


async def end_membership(
    db: aiosqlite.Connection, member_id: int, status: MemberStatus, now: int
) -> bool:
    """End an active or pending membership (left, removed); False if it had already ended."""
    cursor = await db.execute(
        "UPDATE members SET status = ?, decided_at = ?, away_until = NULL"
        " WHERE id = ? AND status IN ('active', 'pending')",
        (status.value, now, member_id),
    )
    return cursor.rowcount == 1


async def list_members_in(
    db: aiosqlite.Connection, branch_ids: list[int], statuses: tuple[str, ...]
) -> list[MemberRow]:
    """Return the memberships in the given statuses of several branches, oldest request first."""
    if not branch_ids:
        return []
    branch_marks = ",".join("?" * len(branch_ids))
    status_marks = ",".join("?" * len(statuses))
    async with db.execute(
        f"SELECT {_ROW_COLUMNS} WHERE m.branch_id IN ({branch_marks})"
        f" AND m.status IN ({status_marks})"
        " ORDER BY m.requested_at, m.id",
        (*branch_ids, *statuses),
    ) as cur:
        rows = await cur.fetchall()
    return [_member_row(row) for row in rows]
