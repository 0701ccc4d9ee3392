"""Mobile members' whereabouts: the register of answers and what the planner reads.

await record_answer(db, member_id=7, kind="moved", place="马德里", timezone="Europe/Madrid",
                    now=now)
for row in await mobile_members(db):
    row.confirmed_at   # latest answer, None if never
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

__all__ = ["MobileMember", "last_answer_at", "mobile_members", "record_answer"]


@dataclass(frozen=True, slots=True)
class MobileMember:
    """An active mobile member with their place, zone, contact and last answer."""

    member_id: int
    branch_id: int
    person_id: int
    telegram_id: int | None
    name: str | None
    language: str | None
    timezone: str | None  # the person's, else the branch's; None: the default zone
    place: str | None
    approved_at: int | None
    last_contact_at: int | None
    confirmed_at: int | None
    is_reachable: bool


async def record_answer(
    db: aiosqlite.Connection,
    *,
    member_id: int,
    kind: str,
    place: str | None,
    timezone: str | None,
    now: int,
    entered_by: int | None = None,
) -> None:
    """Log a mobile member's answer: confirmed, moved or home (entered_by: a helper's)."""
    await db.execute(
        "INSERT INTO whereabouts_log (member_id, at, kind, place, timezone, entered_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (member_id, now, kind, place, timezone, entered_by),
    )


async def last_answer_at(db: aiosqlite.Connection, member_id: int) -> int | None:
    """Return when the member last answered where they are, or None."""
    async with db.execute(
        "SELECT MAX(at) FROM whereabouts_log WHERE member_id = ?", (member_id,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else row[0]


async def mobile_members(
    db: aiosqlite.Connection,
    branch_ids: Sequence[int] | None = None,
    *,
    member_ids: Sequence[int] | None = None,
) -> list[MobileMember]:
    """Return the active mobile members (of some branches, or some ids), in member order."""
    if member_ids is not None:
        found: list[MobileMember] = []
        for start in range(0, len(member_ids), 500):
            chunk = member_ids[start : start + 500]
            found += await _mobile_members(
                db, f" AND m.id IN ({','.join('?' * len(chunk))})", list(chunk)
            )
        return found
    if branch_ids is None:
        return await _mobile_members(db, "", [])
    if not branch_ids:
        return []
    return await _mobile_members(
        db, f" AND m.branch_id IN ({','.join('?' * len(branch_ids))})", list(branch_ids)
    )


async def _mobile_members(
    db: aiosqlite.Connection, where: str, params: list[int]
) -> list[MobileMember]:
    sql = (
        "SELECT m.id, m.branch_id, p.id, p.telegram_id, p.name, p.language,"
        " COALESCE(p.timezone, u.timezone), m.place, m.decided_at, p.last_contact_at,"
        " (SELECT MAX(w.at) FROM whereabouts_log w WHERE w.member_id = m.id), p.is_reachable"
        " FROM members m JOIN people p ON p.id = m.person_id JOIN units u ON u.id = m.branch_id"
        " WHERE m.status = 'active' AND m.category = 'mobile'"
    ) + where
    async with db.execute(sql + " ORDER BY m.id", params) as cur:
        rows = await cur.fetchall()
    return [MobileMember(*row[:11], is_reachable=bool(row[11])) for row in rows]
