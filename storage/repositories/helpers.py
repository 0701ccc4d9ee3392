"""Helpers who act for a member: 帮学人 (members, secretaries) and 联系人 (relatives, neighbours).

    await add_helper(db, member_id=5, helper_person_id=9, kind="helper", added_by=2, now=now)
    rows = await helpers_of(db, 5)                 # current helpers, by name
    mine = await members_helped_by(db, 9)          # active members person 9 helps
    await remove_helper(db, member_id=5, helper_person_id=9, now=now)
    link = await new_link(db, code="abc", member_id=5, created_by=2, now=now, expires_at=...)

A 联系人 is a people row with no membership: the member_helpers row (kind
'contact') is their only tie to the bot, and holds their consent.  Removing a
helper stamps removed_at; /forget deletes the rows (storage.repositories.erasure).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

__all__ = [
    "CONTACT",
    "HELPER",
    "Entry",
    "HelpedMember",
    "Helper",
    "HelperLink",
    "add_helper",
    "entries_on_behalf",
    "get_link",
    "helpers_of",
    "is_helper_of",
    "members_helped_by",
    "new_link",
    "remove_helper",
    "use_link",
]

HELPER = "helper"
CONTACT = "contact"


@dataclass(frozen=True, slots=True)
class Helper:
    """A current helper of one member."""

    person_id: int
    name: str | None
    telegram_id: int | None
    language: str | None
    kind: str
    added_at: int


@dataclass(frozen=True, slots=True)
class HelpedMember:
    """An active member someone helps, with the facts a helper's menu needs."""

    member_id: int
    person_id: int
    branch_id: int
    name: str | None
    category: str
    kind: str


@dataclass(frozen=True, slots=True)
class HelperLink:
    """A one-time link a secretary made so that a 联系人 can register for a member."""

    id: int
    code: str
    member_id: int
    created_by: int | None
    expires_at: int
    used_at: int | None


async def add_helper(
    db: aiosqlite.Connection,
    *,
    member_id: int,
    helper_person_id: int,
    kind: str,
    added_by: int | None,
    now: int,
    consent_at: int | None = None,
) -> bool:
    """Make the person a current helper of the member; False if they already are one."""
    cursor = await db.execute(
        "INSERT OR IGNORE INTO member_helpers"
        " (member_id, helper_person_id, kind, added_by, added_at, consent_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (member_id, helper_person_id, kind, added_by, now, consent_at),
    )
    return cursor.rowcount == 1


async def remove_helper(
    db: aiosqlite.Connection, *, member_id: int, helper_person_id: int, now: int
) -> bool:
    """End a helper's tie to a member (kept as history); False if there was none."""
    cursor = await db.execute(
        "UPDATE member_helpers SET removed_at = ?"
        " WHERE member_id = ? AND helper_person_id = ? AND removed_at IS NULL",
        (now, member_id, helper_person_id),
    )
    return cursor.rowcount > 0


async def helpers_of(db: aiosqlite.Connection, member_id: int) -> list[Helper]:
    """Return the member's current helpers and 联系人, by name."""
    async with db.execute(
        "SELECT p.id, p.name, p.telegram_id, p.language, h.kind, h.added_at"
        " FROM member_helpers h JOIN people p ON p.id = h.helper_person_id"
        " WHERE h.member_id = ? AND h.removed_at IS NULL AND p.forgotten_at IS NULL"
        " ORDER BY p.name COLLATE NOCASE, p.id",
        (member_id,),
    ) as cur:
        return [Helper(*row) for row in await cur.fetchall()]


async def members_helped_by(db: aiosqlite.Connection, person_id: int) -> list[HelpedMember]:
    """Return the active members this person currently helps, by name."""
    async with db.execute(
        "SELECT m.id, m.person_id, m.branch_id, p.name, m.category, h.kind"
        " FROM member_helpers h JOIN members m ON m.id = h.member_id"
        " JOIN people p ON p.id = m.person_id"
        " WHERE h.helper_person_id = ? AND h.removed_at IS NULL AND m.status = 'active'"
        " ORDER BY p.name COLLATE NOCASE, m.id",
        (person_id,),
    ) as cur:
        return [HelpedMember(*row) for row in await cur.fetchall()]


async def is_helper_of(db: aiosqlite.Connection, person_id: int, member_id: int) -> bool:
    """Tell whether the person currently helps this member."""
    async with db.execute(
        "SELECT 1 FROM member_helpers WHERE helper_person_id = ? AND member_id = ?"
        " AND removed_at IS NULL",
        (person_id, member_id),
    ) as cur:
        return await cur.fetchone() is not None


# ---------------------------------------------------------------- helper links


async def new_link(
    db: aiosqlite.Connection,
    *,
    code: str,
    member_id: int,
    created_by: int | None,
    now: int,
    expires_at: int,
) -> HelperLink:
    """Store a one-time helper link for a member."""
    cursor = await db.execute(
        "INSERT INTO helper_links (code, member_id, created_by, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (code, member_id, created_by, now, expires_at),
    )
    return HelperLink(cursor.lastrowid, code, member_id, created_by, expires_at, None)


async def get_link(db: aiosqlite.Connection, code: str) -> HelperLink | None:
    """Return the helper link with this code, or None."""
    async with db.execute(
        "SELECT id, code, member_id, created_by, expires_at, used_at FROM helper_links"
        " WHERE code = ?",
        (code,),
    ) as cur:
        row = await cur.fetchone()
    return HelperLink(*row) if row else None


async def use_link(db: aiosqlite.Connection, link_id: int, person_id: int, now: int) -> bool:
    """Mark a link used by this person; False if it was used already."""
    cursor = await db.execute(
        "UPDATE helper_links SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL",
        (now, person_id, link_id),
    )
    return cursor.rowcount == 1


# ---------------------------------------------------------------- what was entered for whom


@dataclass(frozen=True, slots=True)
class Entry:
    """One record someone entered on a member's behalf (代为登记), for the digest and ledger."""

    at: int
    member_name: str | None
    by_name: str | None
    by_kind: str | None  # 'helper' | 'contact' if they help the member, else None (a leader)
    kind: str  # 'study' | 'pledge' | 'report' | 'rating' | 'whereabouts' | 'post' (履岗)
    detail: str | None  # the study title, pledge text, report month, rating, place
    value: str | None  # done/excused, the progress status, the rating, the whereabouts kind


_ENTRIES = """
    SELECT a.answered_at AS at, a.member_id AS member_id, a.entered_by AS entered_by,
           'study' AS kind, i.title AS detail, a.status AS value
      FROM study_answers a JOIN study_items i ON i.id = a.item_id
     WHERE a.on_behalf = 1 AND a.entered_by IS NOT NULL
    UNION ALL
    SELECT created_at, member_id, entered_by, 'pledge', text, status FROM pledges
     WHERE entered_by IS NOT NULL
    UNION ALL
    SELECT r.reported_at, p.member_id, r.entered_by, 'report', CAST(r.month AS TEXT), r.status
      FROM pledge_reports r JOIN pledges p ON p.id = r.pledge_id WHERE r.entered_by IS NOT NULL
    UNION ALL
    SELECT self_rated_at, member_id, self_rated_by, 'rating', text, self_rating FROM pledges
     WHERE self_rated_by IS NOT NULL
    UNION ALL
    SELECT at, member_id, entered_by, 'whereabouts', place, kind FROM whereabouts_log
     WHERE entered_by IS NOT NULL
    UNION ALL
    SELECT r.reported_at, h.member_id, r.entered_by, 'post', CAST(r.month AS TEXT), r.status
      FROM post_reports r JOIN post_holders h ON h.id = r.holder_id
     WHERE r.entered_by IS NOT NULL
"""


async def entries_on_behalf(
    db: aiosqlite.Connection, branch_id: int, *, start: int = 0, end: int | None = None
) -> list[Entry]:
    """Return what was entered for the branch's members by someone else, oldest first."""
    async with db.execute(
        "SELECT e.at, mp.name, bp.name, (SELECT h.kind FROM member_helpers h"
        "  WHERE h.member_id = e.member_id AND h.helper_person_id = e.entered_by"
        "  ORDER BY h.removed_at IS NOT NULL, h.id DESC LIMIT 1), e.kind, e.detail, e.value"
        f" FROM ({_ENTRIES}) AS e"
        " JOIN members m ON m.id = e.member_id JOIN people mp ON mp.id = m.person_id"
        " LEFT JOIN people bp ON bp.id = e.entered_by"
        " WHERE m.branch_id = ? AND e.at >= ? AND e.at < ? ORDER BY e.at, e.kind",
        (branch_id, start, end if end is not None else 2**62),
    ) as cur:
        return [Entry(*row) for row in await cur.fetchall()]
