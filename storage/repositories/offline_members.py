"""Members without Telegram: registered by a secretary, claimed later with a personal link.

    member = await register_offline(db, name="王秀英", branch_id=7, category=Category.ELDERLY,
                                    place=None, timezone="Asia/Shanghai", note="由女儿代为联系",
                                    registered_by=secretary_person_id, now=now)
    claim = await new_claim(db, person_id=member.person_id, code=code, created_by=..., now=now,
                            expires_at=now + 30 * 86400)       # older codes are revoked
    found = await get_claim(db, code)                            # None: bogus
    ok = await use_claim(db, claim.id, telegram_id=42, language="zh", now=now)

A person is "offline" while registered_at is set, telegram_id is NULL and
forgotten_at is NULL (see 0010_offline_members.sql).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.domain.models import Category, Member
from storage.repositories import members

__all__ = [
    "Claim",
    "OfflineMember",
    "detach_telegram",
    "get_claim",
    "list_offline",
    "new_claim",
    "offline_member",
    "register_offline",
    "registration_of",
    "study_history",
    "use_claim",
]

OFFLINE_SQL = "p.telegram_id IS NULL AND p.forgotten_at IS NULL AND p.registered_at IS NOT NULL"


@dataclass(frozen=True, slots=True)
class OfflineMember:
    """An active member registered without Telegram, with who registered them."""

    member: Member
    name: str | None
    note: str | None
    registered_by: str | None  # the registrar's name (None: forgotten since)
    registered_at: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A one-time personal claim code for a person registered without Telegram."""

    id: int
    code: str
    person_id: int
    created_by: int | None
    created_at: int
    expires_at: int
    used_at: int | None
    revoked_at: int | None


async def register_offline(
    db: aiosqlite.Connection,
    *,
    name: str,
    branch_id: int,
    category: Category,
    place: str | None,
    timezone: str | None,
    note: str | None,
    registered_by: int | None,
    language: str | None,
    now: int,
) -> Member:
    """Create the person (no Telegram id) and their active membership, decided by the registrar."""
    cursor = await db.execute(
        # last_contact_at stays NULL: contact means the member answered the bot.
        "INSERT INTO people (telegram_id, name, language, timezone, phone_note, created_at,"
        " registered_by, registered_at) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?)",
        (name, language, timezone, note, now, registered_by, now),
    )
    person_id = cursor.lastrowid
    # Active at once: the secretary who registers them is the one who would approve them.
    # consent_at stays NULL until the member claims the record and agrees themselves.
    cursor = await db.execute(
        "INSERT INTO members (person_id, branch_id, category, status, place, requested_at,"
        " decided_by, decided_at) VALUES (?, ?, ?, 'active', ?, ?, ?, ?)",
        (person_id, branch_id, category.value, place, now, registered_by, now),
    )
    member = await members.get_member(db, cursor.lastrowid or 0)
    assert member is not None
    return member


_OFFLINE_COLUMNS = (
    "m.id, p.name, p.phone_note, r.name AS by_name, p.registered_at"
    " FROM members m JOIN people p ON p.id = m.person_id"
    " LEFT JOIN people r ON r.id = p.registered_by"
)


async def _offline(db: aiosqlite.Connection, row: aiosqlite.Row) -> OfflineMember:
    member = await members.get_member(db, row["id"])
    assert member is not None
    return OfflineMember(member, row["name"], row["phone_note"], row["by_name"],
                         row["registered_at"])


async def list_offline(db: aiosqlite.Connection, branch_ids: list[int]) -> list[OfflineMember]:
    """Return the active members without Telegram of these branches, by name."""
    if not branch_ids:
        return []
    marks = ",".join("?" * len(branch_ids))
    async with db.execute(
        f"SELECT {_OFFLINE_COLUMNS} WHERE m.branch_id IN ({marks}) AND m.status = 'active'"
        f" AND {OFFLINE_SQL} ORDER BY p.name COLLATE NOCASE, m.id",
        tuple(branch_ids),
    ) as cur:
        rows = await cur.fetchall()
    return [await _offline(db, row) for row in rows]


async def offline_member(db: aiosqlite.Connection, member_id: int) -> OfflineMember | None:
    """Return the membership if it is active and its person has no Telegram, else None."""
    async with db.execute(
        f"SELECT {_OFFLINE_COLUMNS} WHERE m.id = ? AND m.status = 'active' AND {OFFLINE_SQL}",
        (member_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else await _offline(db, row)


async def registration_of(
    db: aiosqlite.Connection, person_id: int
) -> tuple[str | None, int, int | None] | None:
    """Return (registrar's name, registered_at, claimed_at) if someone else registered them."""
    async with db.execute(
        "SELECT r.name, p.registered_at, p.claimed_at FROM people p"
        " LEFT JOIN people r ON r.id = p.registered_by"
        " WHERE p.id = ? AND p.registered_at IS NOT NULL",
        (person_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else (row[0], row[1], row[2])


async def study_history(db: aiosqlite.Connection, person_id: int) -> tuple[int, int, int]:
    """Return (studied, excused, entered by someone else) over all the person's memberships."""
    async with db.execute(
        "SELECT COALESCE(SUM(a.status = 'done'), 0), COALESCE(SUM(a.status = 'excused'), 0),"
        " COALESCE(SUM(a.on_behalf), 0)"
        " FROM members m JOIN study_answers a ON a.member_id = m.id WHERE m.person_id = ?",
        (person_id,),
    ) as cur:
        row = await cur.fetchone()
    return (row[0], row[1], row[2]) if row else (0, 0, 0)


# ---------------------------------------------------------------- claim codes

_CLAIM_COLUMNS = "id, code, person_id, created_by, created_at, expires_at, used_at, revoked_at"


async def new_claim(
    db: aiosqlite.Connection, *, person_id: int, code: str, created_by: int | None, now: int,
    expires_at: int,
) -> Claim:
    """Store a fresh claim code for the person; their older unused codes are revoked."""
    await db.execute(
        "UPDATE member_claims SET revoked_at = ? WHERE person_id = ? AND used_at IS NULL"
        " AND revoked_at IS NULL",
        (now, person_id),
    )
    cursor = await db.execute(
        "INSERT INTO member_claims (code, person_id, created_by, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (code, person_id, created_by, now, expires_at),
    )
    return Claim(cursor.lastrowid or 0, code, person_id, created_by, now, expires_at, None, None)


async def get_claim(db: aiosqlite.Connection, code: str) -> Claim | None:
    """Return the claim with this code, or None."""
    async with db.execute(
        f"SELECT {_CLAIM_COLUMNS} FROM member_claims WHERE code = ?", (code,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else Claim(*row)


async def detach_telegram(db: aiosqlite.Connection, telegram_id: int) -> None:
    """Free a Telegram id held by a bare profile (no membership, no role) for a claim."""
    await db.execute("UPDATE people SET telegram_id = NULL WHERE telegram_id = ?", (telegram_id,))


async def use_claim(
    db: aiosqlite.Connection, claim: Claim, *, telegram_id: int, language: str, now: int
) -> bool:
    """Attach the Telegram id to the claimed person, once; False if the code or person moved on."""
    cursor = await db.execute(
        "UPDATE member_claims SET used_at = ? WHERE id = ? AND used_at IS NULL"
        " AND revoked_at IS NULL AND expires_at > ?",
        (now, claim.id, now),
    )
    if cursor.rowcount != 1:
        return False
    cursor = await db.execute(
        "UPDATE people SET telegram_id = ?, language = ?, claimed_at = ?, last_contact_at = ?,"
        " is_reachable = 1, unreachable_reason = NULL WHERE id = ? AND telegram_id IS NULL"
        " AND forgotten_at IS NULL",
        (telegram_id, language, now, now, claim.person_id),
    )
    if cursor.rowcount != 1:
        return False
    # The member agrees to the data kept when they claim it (the registrar could not).
    await db.execute(
        "UPDATE members SET consent_at = ? WHERE person_id = ? AND status = 'active'",
        (now, claim.person_id),
    )
    return True
