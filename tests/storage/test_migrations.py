"""Migrations apply once, in order, all or nothing, and refuse a newer database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

import storage.db
import storage.migrate
from storage.db import open_database
from storage.migrate import Migration, SchemaTooNew, available_migrations, current_version, migrate

TABLES = {"units", "people", "roles", "members", "invites", "registration_drafts", "audit"}


async def table_names(db: aiosqlite.Connection) -> set[str]:
    return set(await storage.db.table_names(db)) | {"schema_version"}


async def pragma(db: aiosqlite.Connection, name: str) -> object:
    async with db.execute(f"PRAGMA {name}") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def test_empty_file_database_gets_every_migration(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "bot.sqlite3")
    try:
        newest = available_migrations()[-1].version
        assert await migrate(db) == list(range(1, newest + 1))
        assert await current_version(db) == newest
        assert TABLES <= await table_names(db)
        assert await pragma(db, "journal_mode") == "wal"
        assert await pragma(db, "foreign_keys") == 1
    finally:
        await db.close()


async def test_rerunning_applies_nothing(db: aiosqlite.Connection) -> None:
    version = await current_version(db)
    assert await migrate(db) == []
    assert await current_version(db) == version


async def test_foreign_keys_are_enforced(db: aiosqlite.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute(
            "INSERT INTO units (key, parent_id, level, name, kind, created_at, updated_at)"
            " VALUES ('orphan', 999, 'branch', 'x', 'industry', 0, 0)"
        )


async def test_newer_database_is_refused(db: aiosqlite.Connection) -> None:
    await db.execute("INSERT INTO schema_version (version, description) VALUES (999, 'future')")
    with pytest.raises(SchemaTooNew, match="version 999"):
        await migrate(db)


async def test_a_failing_migration_leaves_nothing_behind(
    db: aiosqlite.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = available_migrations()
    broken = Migration(
        real[-1].version + 1,
        "broken",
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO half_done (id) VALUES (1);\n"
        "INSERT INTO no_such_table (id) VALUES (1);\n",
    )
    monkeypatch.setattr(storage.migrate, "available_migrations", lambda: [*real, broken])
    before = await current_version(db)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        await migrate(db)
    assert "half_done" not in await table_names(db)
    assert await current_version(db) == before
    # The connection is usable afterwards: no transaction was left open.
    assert not db.in_transaction


async def test_semicolons_in_comments_and_literals_do_not_split(
    db: aiosqlite.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = available_migrations()
    tricky = Migration(
        real[-1].version + 1,
        "tricky",
        "-- a note; with a semicolon\n"
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT DEFAULT 'a;b'); -- trailing; too\n"
        "INSERT INTO notes (id) VALUES (1);\n"
        "-- the end; nothing follows\n",
    )
    monkeypatch.setattr(storage.migrate, "available_migrations", lambda: [*real, tricky])
    assert await migrate(db) == [tricky.version]
    async with db.execute("SELECT body FROM notes") as cursor:
        assert [row[0] for row in await cursor.fetchall()] == ["a;b"]
