"""Importing the organisation tree is idempotent, audited and all-or-nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import aiosqlite
import pytest

from bot import cli
from bot.config import Settings, StorageSettings
from bot.domain.models import Level
from bot.errors import NotFound
from bot.org_file import UnitSpec, parse_org_file
from storage.db import open_database
from storage.migrate import migrate
from storage.repositories import audit
from storage.repositories.units import (
    active_member_counts,
    committee_counts,
    get_unit,
    get_unit_by_key,
    list_units,
    unit_keys,
    units_with_secretary,
    upsert_units,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
C, G, B = Level.COMMITTEE, Level.GENERAL_BRANCH, Level.BRANCH

SPECS = [
    UnitSpec("xianshui", None, C, "咸水乡党委", "township", "Asia/Shanghai", "黄志强", 910001),
    UnitSpec("renhe", "xianshui", G, "人和村党总支部", "village", secretary_name="李建国"),
    UnitSpec("pigs", "renhe", B, "生猪养殖党支部", "industry"),
    UnitSpec("agri", "xianshui", B, "农业党支部", "department"),
]


async def rows(
    db: aiosqlite.Connection, sql: str, params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    async with db.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def test_first_import_creates_every_unit_with_audit(db: aiosqlite.Connection) -> None:
    result = await upsert_units(db, SPECS, now=1000, actor="cli")
    assert result.created == ("xianshui", "renhe", "pigs", "agri")
    assert result.updated == result.unchanged == ()
    units = await list_units(db)
    by_key = {u.key: u for u in units}
    assert [u.key for u in units] == ["xianshui", "renhe", "pigs", "agri"]
    assert by_key["pigs"].parent_id == by_key["renhe"].id
    assert by_key["agri"].parent_id == by_key["xianshui"].id
    assert by_key["xianshui"].timezone == "Asia/Shanghai"
    entries = await audit.recent(db)
    assert {(e.action, e.subject, e.actor, e.at) for e in entries} == {
        ("org.unit.create", key, "cli", 1000) for key in by_key
    }
    created = json.loads(next(e.detail for e in entries if e.subject == "pigs") or "")
    assert created["name"] == "生猪养殖党支部" and created["parent"] == "renhe"


async def test_children_listed_before_parents_still_import(db: aiosqlite.Connection) -> None:
    result = await upsert_units(db, list(reversed(SPECS)), now=1000, actor="cli")
    assert len(result.created) == 4
    by_key = {u.key: u for u in await list_units(db)}
    assert by_key["pigs"].parent_id == by_key["renhe"].id
    assert by_key["renhe"].parent_id == by_key["xianshui"].id


async def test_importing_twice_changes_nothing(db: aiosqlite.Connection) -> None:
    await upsert_units(db, SPECS, now=1000, actor="cli")
    audit_before = await rows(db, "SELECT * FROM audit")
    units_before = await rows(db, "SELECT * FROM units")
    roles_before = await rows(db, "SELECT * FROM roles")
    result = await upsert_units(db, SPECS, now=2000, actor="cli")
    assert result.created == result.updated == ()
    assert result.unchanged == ("xianshui", "renhe", "pigs", "agri")
    assert await rows(db, "SELECT * FROM audit") == audit_before
    assert await rows(db, "SELECT * FROM units") == units_before  # no updated_at bump
    assert await rows(db, "SELECT * FROM roles") == roles_before


async def test_a_rename_updates_in_place(db: aiosqlite.Connection) -> None:
    await upsert_units(db, SPECS, now=1000, actor="cli")
    before = await get_unit_by_key(db, "pigs")
    renamed = [replace(s, name="人和村生猪养殖党支部") if s.key == "pigs" else s for s in SPECS]
    result = await upsert_units(db, renamed, now=2000, actor="tg:1")
    assert result.updated == ("pigs",)
    after = await get_unit_by_key(db, "pigs")
    assert after is not None and before is not None
    assert after.id == before.id and after.name == "人和村生猪养殖党支部"
    assert len(await list_units(db)) == 4
    assert await rows(db, "SELECT updated_at FROM units WHERE key = 'pigs'") == [(2000,)]
    latest = (await audit.recent(db, limit=1))[0]
    assert (latest.action, latest.subject, latest.actor) == ("org.unit.update", "pigs", "tg:1")
    assert json.loads(latest.detail or "") == {"name": ["生猪养殖党支部", "人和村生猪养殖党支部"]}


async def test_a_move_updates_the_parent(db: aiosqlite.Connection) -> None:
    await upsert_units(db, SPECS, now=1000, actor="cli")
    moved = [replace(s, parent_key="xianshui") if s.key == "pigs" else s for s in SPECS]
    await upsert_units(db, moved, now=2000, actor="cli")
    pigs, committee = await get_unit_by_key(db, "pigs"), await get_unit_by_key(db, "xianshui")
    assert pigs is not None and committee is not None and pigs.parent_id == committee.id
    latest = (await audit.recent(db, limit=1))[0]
    assert json.loads(latest.detail or "") == {"parent": ["renhe", "xianshui"]}


async def test_secretaries_from_the_file(db: aiosqlite.Connection) -> None:
    await upsert_units(db, SPECS, now=1000, actor="cli")
    ids = {u.key: u.id for u in await list_units(db)}
    assert await units_with_secretary(db) == {ids["xianshui"], ids["renhe"]}
    linked = await rows(
        db,
        "SELECT p.telegram_id, p.name FROM roles r JOIN people p ON p.id = r.person_id"
        " WHERE r.unit_id = ? AND r.role = 'secretary'",
        (ids["xianshui"],),
    )
    assert linked == [(910001, "黄志强")]
    placeholder = await rows(
        db, "SELECT person_id, name_hint FROM roles WHERE unit_id = ?", (ids["renhe"],)
    )
    assert placeholder == [(None, "李建国")]


async def test_a_telegram_id_links_the_placeholder_once(db: aiosqlite.Connection) -> None:
    await upsert_units(db, SPECS, now=1000, actor="cli")
    linked = [replace(s, secretary_telegram_id=910002) if s.key == "renhe" else s for s in SPECS]
    result = await upsert_units(db, linked, now=2000, actor="cli")
    assert result.updated == ("renhe",)
    renhe = await get_unit_by_key(db, "renhe")
    assert renhe is not None
    assert await rows(
        db,
        "SELECT p.telegram_id, p.name FROM roles r JOIN people p ON p.id = r.person_id"
        " WHERE r.unit_id = ? AND r.role = 'secretary'",
        (renhe.id,),
    ) == [(910002, "李建国")]
    again = await upsert_units(db, linked, now=3000, actor="cli")
    assert again.updated == ()


async def test_a_bare_name_never_overrides_a_linked_secretary(db: aiosqlite.Connection) -> None:
    await upsert_units(db, SPECS, now=1000, actor="cli")
    renamed = [
        replace(s, secretary_name="别人", secretary_telegram_id=None) if s.key == "xianshui" else s
        for s in SPECS
    ]
    result = await upsert_units(db, renamed, now=2000, actor="cli")
    assert "xianshui" in result.unchanged


async def test_a_failure_midway_rolls_everything_back(db: aiosqlite.Connection) -> None:
    bad = [*SPECS[:3], UnitSpec("lost", "nowhere", B, "无主党支部", "industry")]
    with pytest.raises(NotFound):
        await upsert_units(db, bad, now=1000, actor="cli")
    assert await list_units(db) == []
    assert await audit.recent(db) == []
    assert await rows(db, "SELECT * FROM people") == []


async def test_lookups_and_counts(db: aiosqlite.Connection) -> None:
    await upsert_units(db, SPECS, now=1000, actor="cli")
    pigs = await get_unit_by_key(db, "pigs")
    assert pigs is not None
    assert await get_unit(db, pigs.id) == pigs
    assert await get_unit(db, 9999) is None
    assert await get_unit_by_key(db, "nope") is None
    assert await unit_keys(db) == {"xianshui": C, "renhe": G, "pigs": B, "agri": B}
    for n, status in enumerate(["active", "active", "pending", "left"]):
        cursor = await db.execute(
            "INSERT INTO people (telegram_id, name, created_at) VALUES (?, ?, 0)", (n + 1, f"m{n}")
        )
        await db.execute(
            "INSERT INTO members (person_id, branch_id, category, status, requested_at)"
            " VALUES (?, ?, 'regular', ?, 0)",
            (cursor.lastrowid, pigs.id, status),
        )
    await db.execute(
        "INSERT INTO roles (unit_id, role, appointed_at) VALUES (?, 'committee', 0)", (pigs.id,)
    )
    assert await active_member_counts(db) == {pigs.id: 2}
    assert await committee_counts(db) == {pigs.id: 1}


async def test_csv_and_toml_build_the_same_tree(tmp_path: Path) -> None:
    trees = []
    for name in ("org.example.toml", "org.example.csv"):
        db = await open_database(tmp_path / f"{name}.sqlite3")
        try:
            await migrate(db)
            await upsert_units(db, parse_org_file(DOCS / name), now=1000, actor="cli")
            trees.append((
                await list_units(db),
                await rows(db, "SELECT unit_id, person_id, name_hint FROM roles ORDER BY id"),
                await rows(db, "SELECT telegram_id, name FROM people ORDER BY id"),
            ))
        finally:
            await db.close()
    assert trees[0] == trees[1]
    assert len(trees[0][0]) == 5


async def test_a_bad_line_in_the_middle_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "bot.sqlite3"
    settings = Settings(storage=StorageSettings(database=str(database)))
    org = tmp_path / "org.csv"
    org.write_text(
        "key,parent,level,name,kind\n"
        "xianshui,,committee,咸水乡党委,township\n"
        "renhe,xianshui,general_branch,人和村党总支部,village\n"
        "pigs,renhe2,branch,生猪养殖党支部,industry\n"
        "agri,xianshui,branch,农业党支部,department\n",
        encoding="utf-8",
    )
    assert await cli.org_import(settings, org) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f'branchbot: {org}:4: unit "pigs" names parent "renhe2", '
        "which is not in the file or the database"
    )
    db = await open_database(database)
    try:
        assert await list_units(db) == []
        assert await audit.recent(db) == []
    finally:
        await db.close()
