"""The organisation tree in the database: import, look-ups and counts.

    specs = parse_org_file(path, known=await unit_keys(db))
    result = await upsert_units(db, specs, now=now, actor="cli")
    units = await list_units(db)

An import is idempotent by unit key and runs in one transaction: the same file
twice changes nothing the second time (no updated_at bump, no audit row), and
a failure leaves nothing half-imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.domain.models import Level, Unit
from bot.errors import NotFound
from bot.org_file import UnitSpec
from storage.db import transaction
from storage.repositories import audit, people, roles

__all__ = [
    "ImportResult",
    "active_member_counts",
    "committee_counts",
    "get_unit",
    "get_unit_by_key",
    "list_units",
    "unit_keys",
    "units_with_secretary",
    "upsert_units",
    "with_ancestors",
]

_UNIT_COLUMNS = "id, key, parent_id, level, name, kind, timezone"
# A parent always sits one or two levels higher, so importing level by level
# (stable, keeping file order among siblings) creates every parent before its children.
_LEVEL_ORDER = {Level.COMMITTEE: 0, Level.GENERAL_BRANCH: 1, Level.BRANCH: 2}


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The keys an import created, updated and left unchanged."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


def _unit(row: Any) -> Unit:
    return Unit(
        id=row["id"],
        key=row["key"],
        parent_id=row["parent_id"],
        level=Level(row["level"]),
        name=row["name"],
        kind=row["kind"],
        timezone=row["timezone"],
    )


async def list_units(db: aiosqlite.Connection) -> list[Unit]:
    """Return every unit in insertion (file) order."""
    async with db.execute(f"SELECT {_UNIT_COLUMNS} FROM units ORDER BY id") as cursor:
        return [_unit(row) for row in await cursor.fetchall()]


async def with_ancestors(db: aiosqlite.Connection, unit_ids: Sequence[int]) -> list[Unit]:
    """Return the units `unit_ids` and every unit above them, in id order.

    For settings a unit inherits from above (its zone): a planner reads the
    few ancestors of the branches it is planning for, not the whole tree
    (issue 14: 55,000 units of a province took 0.5 s a tick on PostgreSQL).
    """
    ids = sorted(set(unit_ids))
    if not ids:
        return []
    sql = (
        "WITH RECURSIVE up(id) AS ("
        f" SELECT id FROM units WHERE id IN ({','.join('?' * len(ids))})"
        " UNION SELECT u.parent_id FROM up CROSS JOIN units u ON u.id = up.id"
        " WHERE u.parent_id IS NOT NULL)"
        f" SELECT {_UNIT_COLUMNS} FROM units WHERE id IN (SELECT id FROM up) ORDER BY id"
    )
    async with db.execute(sql, ids) as cursor:
        return [_unit(row) for row in await cursor.fetchall()]


async def get_unit(db: aiosqlite.Connection, unit_id: int) -> Unit | None:
    """Return the unit with this id, or None."""
    async with db.execute(f"SELECT {_UNIT_COLUMNS} FROM units WHERE id = ?", (unit_id,)) as cur:
        row = await cur.fetchone()
    return _unit(row) if row else None


async def get_unit_by_key(db: aiosqlite.Connection, key: str) -> Unit | None:
    """Return the unit with this org-file key, or None."""
    async with db.execute(f"SELECT {_UNIT_COLUMNS} FROM units WHERE key = ?", (key,)) as cur:
        row = await cur.fetchone()
    return _unit(row) if row else None


async def unit_keys(db: aiosqlite.Connection) -> dict[str, Level]:
    """Return every unit key with its level (what an org file may refer to)."""
    async with db.execute("SELECT key, level FROM units") as cursor:
        return {row["key"]: Level(row["level"]) for row in await cursor.fetchall()}


async def active_member_counts(db: aiosqlite.Connection) -> dict[int, int]:
    """Return active members per branch id (branches without any are absent)."""
    async with db.execute(
        "SELECT branch_id, COUNT(*) FROM members WHERE status = 'active' GROUP BY branch_id"
    ) as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def committee_counts(db: aiosqlite.Connection) -> dict[int, int]:
    """Return committee-member roles per unit id (units without any are absent)."""
    async with db.execute(
        "SELECT unit_id, COUNT(*) FROM roles WHERE role = 'committee' GROUP BY unit_id"
    ) as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def units_with_secretary(db: aiosqlite.Connection) -> set[int]:
    """Return the ids of units with a secretary role, claimed on Telegram or not."""
    async with db.execute("SELECT DISTINCT unit_id FROM roles WHERE role = 'secretary'") as cur:
        return {row[0] for row in await cur.fetchall()}


async def upsert_units(
    db: aiosqlite.Connection, specs: Sequence[UnitSpec], *, now: int, actor: str
) -> ImportResult:
    """Create or update units by key in one transaction; see the module docstring.

    `specs` are expected to have passed parse_org_file against unit_keys(db);
    a parent key found neither in `specs` nor in the database raises NotFound
    and rolls the whole import back.
    """
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    async with transaction(db):
        existing = {unit.key: unit for unit in await list_units(db)}
        keys_by_id = {unit.id: unit.key for unit in existing.values()}
        ids = {key: unit.id for key, unit in existing.items()}
        for spec in sorted(specs, key=lambda s: _LEVEL_ORDER[s.level]):
            parent_id = None
            if spec.parent_key is not None:
                if spec.parent_key not in ids:
                    raise NotFound(f'parent "{spec.parent_key}" of unit "{spec.key}"')
                parent_id = ids[spec.parent_key]
            old = existing.get(spec.key)
            if old is None:
                unit_id = ids[spec.key] = await _insert_unit(db, spec, parent_id, now)
                changes: dict[str, Any] = {
                    "parent": spec.parent_key, "level": str(spec.level), "name": spec.name,
                    "kind": spec.kind, "timezone": spec.timezone,
                }
            else:
                unit_id = old.id
                old_parent = keys_by_id[old.parent_id] if old.parent_id is not None else None
                changes = _unit_changes(old, spec, old_parent)
            secretary = await _sync_secretary(db, unit_id, spec, now)
            if secretary:
                changes["secretary"] = secretary
            if old is None:
                created.append(spec.key)
            elif changes:
                await db.execute(
                    "UPDATE units SET parent_id = ?, name = ?, kind = ?, timezone = ?,"
                    " updated_at = ? WHERE id = ?",
                    (parent_id, spec.name, spec.kind, spec.timezone, now, unit_id),
                )
                updated.append(spec.key)
            else:
                unchanged.append(spec.key)
                continue
            await audit.record(
                db, at=now, actor=actor,
                action="org.unit.create" if old is None else "org.unit.update",
                subject=spec.key, detail=changes,
            )
    return ImportResult(tuple(created), tuple(updated), tuple(unchanged))


async def _insert_unit(
    db: aiosqlite.Connection, spec: UnitSpec, parent_id: int | None, now: int
) -> int:
    cursor = await db.execute(
        "INSERT INTO units (key, parent_id, level, name, kind, timezone, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (spec.key, parent_id, str(spec.level), spec.name, spec.kind, spec.timezone, now, now),
    )
    await cursor.close()
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _unit_changes(old: Unit, spec: UnitSpec, old_parent_key: str | None) -> dict[str, Any]:
    """Return {field: [old, new]} for every field the file changes."""
    pairs = {
        "parent": (old_parent_key, spec.parent_key),
        "name": (old.name, spec.name),
        "kind": (old.kind, spec.kind),
        "timezone": (old.timezone, spec.timezone),
    }
    return {name: [before, after] for name, (before, after) in pairs.items() if before != after}


async def _sync_secretary(
    db: aiosqlite.Connection, unit_id: int, spec: UnitSpec, now: int
) -> dict[str, Any] | None:
    """Make the unit's secretary role match the file; return what changed, if anything.

    A Telegram id in the file appoints that person (replacing whoever held the
    role).  A bare name only fills or renames an unclaimed placeholder: it
    never overrides a secretary who is already linked to a Telegram account.
    """
    if spec.secretary_name is None and spec.secretary_telegram_id is None:
        return None
    changed = {"name": spec.secretary_name, "telegram_id": spec.secretary_telegram_id}
    async with db.execute(
        "SELECT id, person_id, name_hint FROM roles WHERE unit_id = ? AND role = 'secretary'"
        " ORDER BY id LIMIT 1",
        (unit_id,),
    ) as cursor:
        role = await cursor.fetchone()
    if spec.secretary_telegram_id is not None:
        person_id = await _person_for(db, spec.secretary_telegram_id, spec.secretary_name, now)
        if role is not None and role["person_id"] == person_id:
            return None
        await roles.appoint(
            db, unit_id=unit_id, person_id=person_id, role="secretary", appointed_by=None, now=now
        )
        return changed
    if role is None:
        await db.execute(
            "INSERT INTO roles (person_id, unit_id, role, name_hint, appointed_at)"
            " VALUES (NULL, ?, 'secretary', ?, ?)",
            (unit_id, spec.secretary_name, now),
        )
        return changed
    if role["person_id"] is None and role["name_hint"] != spec.secretary_name:
        await db.execute(
            "UPDATE roles SET name_hint = ? WHERE id = ?", (spec.secretary_name, role["id"])
        )
        return changed
    return None


async def _person_for(
    db: aiosqlite.Connection, telegram_id: int, name: str | None, now: int
) -> int:
    """Return the people id for a Telegram user, creating the row if new."""
    person = await people.get_person_by_telegram(db, telegram_id)
    if person is not None:
        # The person may have set their own name already; the file does not overwrite it.
        return person.id
    # Not people.ensure_person: that stamps last_contact_at, and this person
    # has not been in contact with the bot yet.
    cursor = await db.execute(
        "INSERT INTO people (telegram_id, name, created_at) VALUES (?, ?, ?)",
        (telegram_id, name, now),
    )
    await cursor.close()
    assert cursor.lastrowid is not None
    return cursor.lastrowid
