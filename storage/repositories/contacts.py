"""Contact attempts: every call, visit, meeting or helper's answer about a member.

    async with transaction(db):
        attempt_id = await record_attempt(db, member_id=7, by_person_id=2, method="phone",
                                          outcome="reached", place=None, now=now)
    rows = await branch_attempts(db, branch_id, since=week_start, until=week_end)
    found = await helpers_by_member(db, [7, 8])    # {7: [ContactHelper…]}

A reached attempt stamps the member's people.last_contact_at, the one clock
mobile members' silence is measured by (whereabouts, digest, ledger), so a
phone call counts exactly as a reply to the bot does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from bot.domain.contact_ladder import Attempt
from storage.db import transaction

__all__ = [
    "AttemptRow",
    "ContactHelper",
    "Target",
    "attempts_since",
    "branch_attempts",
    "forget_attempts",
    "get_attempt",
    "get_target",
    "helpers_by_member",
    "record_attempt",
    "set_attempt_place",
]


@dataclass(frozen=True, slots=True)
class Target:
    """A member someone may record contact for, with what the record keyboard shows."""

    member_id: int
    branch_id: int
    person_id: int
    name: str | None
    category: str
    place: str | None
    timezone: str | None
    last_contact_at: int | None
    approved_at: int | None


@dataclass(frozen=True, slots=True)
class ContactHelper:
    """A current helper or 联系人 of a member, as the ladder's question needs them."""

    person_id: int
    telegram_id: int | None
    name: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One stored attempt: enough to check who may add its place."""

    id: int
    member_id: int
    by_person_id: int | None
    outcome: str


async def get_target(db: aiosqlite.Connection, member_id: int) -> Target | None:
    """Return the active member with this id, or None."""
    async with db.execute(
        "SELECT m.id, m.branch_id, p.id, p.name, m.category, m.place,"
        " COALESCE(p.timezone, u.timezone), p.last_contact_at, m.decided_at"
        " FROM members m JOIN people p ON p.id = m.person_id JOIN units u ON u.id = m.branch_id"
        " WHERE m.id = ? AND m.status = 'active'",
        (member_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else Target(*row)


async def record_attempt(
    db: aiosqlite.Connection,
    *,
    member_id: int,
    by_person_id: int | None,
    method: str,
    outcome: str,
    place: str | None,
    now: int,
) -> int:
    """Store an attempt; a reached one restarts the member's silence. Return its id."""
    async with transaction(db):
        cur = await db.execute(
            "INSERT INTO contact_attempts (member_id, at, by_person_id, method, outcome, place)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (member_id, now, by_person_id, method, outcome, place),
        )
        if outcome == "reached":
            # MAX: a contact recorded late never moves the clock backwards.
            await db.execute(
                "UPDATE people SET last_contact_at = MAX(COALESCE(last_contact_at, 0), ?)"
                " WHERE id = (SELECT person_id FROM members WHERE id = ?)",
                (now, member_id),
            )
    return int(cur.lastrowid)


async def get_attempt(db: aiosqlite.Connection, attempt_id: int) -> AttemptRow | None:
    """Return the attempt with this id, or None."""
    async with db.execute(
        "SELECT id, member_id, by_person_id, outcome FROM contact_attempts WHERE id = ?",
        (attempt_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else AttemptRow(*row)


async def set_attempt_place(db: aiosqlite.Connection, attempt_id: int, place: str) -> None:
    """Note where the member was found on this attempt."""
    await db.execute("UPDATE contact_attempts SET place = ? WHERE id = ?", (place, attempt_id))


_ATTEMPT = (
    "SELECT a.member_id, mp.name, a.at, bp.name, a.method, a.outcome, a.place"
    " FROM contact_attempts a JOIN members m ON m.id = a.member_id"
    " JOIN people mp ON mp.id = m.person_id LEFT JOIN people bp ON bp.id = a.by_person_id"
)


async def attempts_since(
    db: aiosqlite.Connection, member_ids: Sequence[int], since: int
) -> dict[int, list[Attempt]]:
    """Return each member's attempts at or after `since`, oldest first."""
    if not member_ids:
        return {}
    found: dict[int, list[Attempt]] = {}
    marks = ",".join("?" * len(member_ids))
    async with db.execute(
        f"{_ATTEMPT} WHERE a.member_id IN ({marks}) AND a.at >= ? ORDER BY a.at, a.id",
        (*member_ids, since),
    ) as cur:
        for row in await cur.fetchall():
            found.setdefault(row[0], []).append(Attempt(*row))
    return found


async def branch_attempts(
    db: aiosqlite.Connection, branch_id: int, *, since: int | None = None,
    until: int | None = None,
) -> list[Attempt]:
    """Return the attempts about a branch's members in [since, until), oldest first."""
    sql = f"{_ATTEMPT} WHERE m.branch_id = ?"
    params: list[int] = [branch_id]
    if since is not None:
        sql += " AND a.at >= ?"
        params.append(since)
    if until is not None:
        sql += " AND a.at < ?"
        params.append(until)
    async with db.execute(sql + " ORDER BY a.at, a.id", params) as cur:
        return [Attempt(*row) for row in await cur.fetchall()]


async def helpers_by_member(
    db: aiosqlite.Connection, member_ids: Sequence[int]
) -> dict[int, list[ContactHelper]]:
    """Return each member's current helpers and 联系人 (storage.repositories.helpers' rows)."""
    if not member_ids:
        return {}
    marks = ",".join("?" * len(member_ids))
    found: dict[int, list[ContactHelper]] = {}
    async with db.execute(
        "SELECT h.member_id, p.id, p.telegram_id, p.name, p.language"
        " FROM member_helpers h JOIN people p ON p.id = h.helper_person_id"
        f" WHERE h.member_id IN ({marks}) AND h.removed_at IS NULL AND p.forgotten_at IS NULL"
        " ORDER BY h.member_id, p.id",
        list(member_ids),
    ) as cur:
        for row in await cur.fetchall():
            found.setdefault(row[0], []).append(ContactHelper(*row[1:]))
    return found


async def forget_attempts(db: aiosqlite.Connection, member_ids: Sequence[int]) -> None:
    """Erase the places and notes of a forgotten member's attempts (dates and methods stay)."""
    if not member_ids:
        return
    marks = ",".join("?" * len(member_ids))
    await db.execute(
        f"UPDATE contact_attempts SET place = NULL, note = NULL WHERE member_id IN ({marks})",
        list(member_ids),
    )
