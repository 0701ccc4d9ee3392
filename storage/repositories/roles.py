"""Roles: secretaries and committee members of units."""

from __future__ import annotations

import aiosqlite

__all__ = [
    "appoint",
    "claim_role",
    "create_claimable_role",
    "leaders_of",
    "led_unit_ids",
    "nearest_leaders",
]


async def led_unit_ids(db: aiosqlite.Connection, person_id: int) -> frozenset[int]:
    """Return the units the person is secretary or committee member of."""
    async with db.execute(
        "SELECT unit_id FROM roles WHERE person_id = ?", (person_id,)
    ) as cur:
        return frozenset(row[0] for row in await cur.fetchall())


async def leaders_of(
    db: aiosqlite.Connection, unit_id: int, roles: tuple[str, ...] = ("secretary",)
) -> list[tuple[int, int, str | None]]:
    """Return (person_id, telegram_id, language) of the unit's reachable leaders."""
    marks = ",".join("?" * len(roles))
    async with db.execute(
        "SELECT p.id, p.telegram_id, p.language FROM roles r JOIN people p ON p.id = r.person_id"
        f" WHERE r.unit_id = ? AND r.role IN ({marks}) AND p.telegram_id IS NOT NULL"
        " ORDER BY r.id",
        (unit_id, *roles),
    ) as cur:
        return [(row[0], row[1], row[2]) for row in await cur.fetchall()]


async def appoint(
    db: aiosqlite.Connection,
    *,
    unit_id: int,
    person_id: int,
    role: str,
    appointed_by: int | None,
    now: int,
) -> None:
    """Make the person secretary (replacing an unclaimed placeholder) or committee member."""
    if role == "secretary":
        # A unit has one secretary: a new appointment replaces the old one.
        await db.execute(
            "DELETE FROM roles WHERE unit_id = ? AND role = 'secretary'", (unit_id,)
        )
    await db.execute(
        "INSERT INTO roles (person_id, unit_id, role, appointed_by, appointed_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (person_id, unit_id, role, appointed_by, now),
    )


async def create_claimable_role(
    db: aiosqlite.Connection, *, unit_id: int, role: str, code: str, appointed_by: int | None,
    now: int,
) -> None:
    """Store a role the first person to open the secretary invite `code` will take."""
    await db.execute(
        "INSERT INTO roles (person_id, unit_id, role, claim_code, appointed_by, appointed_at)"
        " VALUES (NULL, ?, ?, ?, ?, ?)",
        (unit_id, role, code, appointed_by, now),
    )


async def claim_role(
    db: aiosqlite.Connection, *, code: str, person_id: int, now: int
) -> tuple[int, str] | None:
    """Give the unclaimed role behind `code` to the person; return (unit_id, role) or None."""
    async with db.execute(
        "SELECT id, unit_id, role FROM roles WHERE claim_code = ? AND person_id IS NULL", (code,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    if row["role"] == "secretary":
        await db.execute(
            "DELETE FROM roles WHERE unit_id = ? AND role = 'secretary' AND id != ?",
            (row["unit_id"], row["id"]),
        )
    await db.execute(
        "UPDATE roles SET person_id = ?, claim_code = NULL, appointed_at = ? WHERE id = ?",
        (person_id, now, row["id"]),
    )
    return row["unit_id"], row["role"]


__all__ += ["remove_person_roles"]


async def remove_person_roles(db: aiosqlite.Connection, person_id: int) -> list[int]:
    """Drop every role the person holds (they asked to be forgotten); return the unit ids."""
    async with db.execute("SELECT unit_id FROM roles WHERE person_id = ?", (person_id,)) as cur:
        unit_ids = [row[0] for row in await cur.fetchall()]
    await db.execute("DELETE FROM roles WHERE person_id = ?", (person_id,))
    return unit_ids


def _leaders_sql(count: int) -> str:
    # CROSS JOIN fixes the order (the few ancestors, then roles by the
    # (unit_id, role) index, then people by key): with a large county's
    # statistics SQLite otherwise chose to scan people (issue 14).
    return (
        "WITH RECURSIVE up(id, parent_id, depth) AS ("
        " SELECT id, parent_id, 0 FROM units WHERE id = ?"
        " UNION ALL SELECT u.id, u.parent_id, up.depth + 1"
        " FROM up CROSS JOIN units u ON u.id = up.parent_id)"
        " SELECT p.id, p.telegram_id, p.language, up.depth FROM up"
        " CROSS JOIN roles r ON r.unit_id = up.id CROSS JOIN people p ON p.id = r.person_id"
        f" WHERE r.role IN ({','.join('?' * count)}) AND p.telegram_id IS NOT NULL"
        " ORDER BY up.depth, r.id"
    )


async def leaders_query_plan(db: aiosqlite.Connection) -> list[str]:
    """Return SQLite's plan for `nearest_leaders` (a test asserts it stays indexed)."""
    async with db.execute("EXPLAIN QUERY PLAN " + _leaders_sql(1), (1, "secretary")) as cur:
        return [row[3] for row in await cur.fetchall()]


async def nearest_leaders(
    db: aiosqlite.Connection, unit_id: int, roles: tuple[str, ...] = ("secretary",)
) -> list[tuple[int, int, str | None]]:
    """Return (person_id, telegram_id, language) of the unit's leaders, else the nearest above."""
    # Walk up the tree in SQL: the unit, its parent, … each with its depth; the
    # first depth that has a leader on Telegram wins.
    async with db.execute(_leaders_sql(len(roles)), (unit_id, *roles)) as cur:
        rows = await cur.fetchall()
    if not rows:
        return []
    nearest = rows[0][3]
    return [(row[0], row[1], row[2]) for row in rows if row[3] == nearest]
