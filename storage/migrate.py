"""Apply the numbered migrations in storage/migrations/ in order.

    applied = await migrate(db)   # list of versions applied now

Each file NNNN_description.sql runs in one transaction that also records its
version; an applied file is never re-run (so never edit one: add a new file).
A database newer than this code is refused rather than guessed at.

The files are written for SQLite and applied to PostgreSQL too: the dialect
layer (storage/dialect.py) translates them statement by statement.  Where a
translation cannot work, migrations/postgresql/NNNN_description.sql (same
name) replaces the file on PostgreSQL only.  After each step on PostgreSQL
the identity sequences are moved past the highest id, since a table rebuilt
by `INSERT … SELECT id, …` (0007, 0015) does not advance them.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

import aiosqlite

from bot.errors import BranchbotError
from storage.db import transaction
from storage.dialect import install_compat, migration_lock, resync_identities

__all__ = ["Migration", "SchemaTooNew", "available_migrations", "current_version", "migrate"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class SchemaTooNew(BranchbotError):
    """The database was written by a newer branchbot."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step."""

    version: int
    description: str
    sql: str


def for_engine(migrations: list[Migration], engine: str) -> list[Migration]:
    """Swap in migrations/<engine>/NNNN_*.sql where a file cannot be translated."""
    if engine == "sqlite":
        return migrations
    folder = resources.files("storage").joinpath("migrations").joinpath(engine)
    overrides = {}
    if folder.is_dir():
        for entry in folder.iterdir():
            match = _NAME.match(entry.name)
            if match:
                overrides[int(match[1])] = entry.read_text("utf-8")
    return [
        Migration(m.version, m.description, overrides.get(m.version, m.sql)) for m in migrations
    ]


def available_migrations() -> list[Migration]:
    """Return the packaged migrations sorted by version."""
    found = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(
                Migration(int(match[1]), match[2].replace("_", " "), entry.read_text("utf-8"))
            )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise BranchbotError(f"migration numbers must run 1..n without gaps, found {versions}")
    return found


async def current_version(db: aiosqlite.Connection) -> int:
    """Return the highest applied version, 0 for an empty database."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
    )
    async with db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0])


def _statements(sql: str) -> list[str]:
    """Split a migration file into statements; a ';' in a comment or literal stays put."""
    # sqlite3.complete_statement knows SQLite's comments and quoting, which a
    # plain split on ';' does not (a comment like "-- kept; survives" broke it).
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements


async def migrate(db: aiosqlite.Connection) -> list[int]:
    """Bring the schema up to date and return the versions applied by this call.

    On PostgreSQL several processes may start at once: they take turns
    (`migration_lock`), and the later ones find the schema current.  SQLite
    needs no such turn: one file accepts one process (storage/lock.py).
    """
    if getattr(db, "engine", "sqlite") == "postgresql":
        import asyncpg

        try:
            async with migration_lock(db):  # type: ignore[arg-type]
                return await _migrate(db, "postgresql")
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The driver's own errors (the lock and the compat functions talk to
            # it directly) reach callers as the sqlite3 errors they handle.
            raise sqlite3.OperationalError(_postgres_hint(exc)) from exc
    return await _migrate(db, "sqlite")


def _postgres_hint(exc: Exception) -> str:
    """Say what a PostgreSQL refusal at migration most likely needs from the operator."""
    import asyncpg

    if isinstance(exc, asyncpg.InvalidSchemaNameError):
        return f"{exc}: the schema in the URL's search_path must exist (CREATE SCHEMA …)"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return f"{exc}: this user must be allowed to create in the schema (GRANT CREATE ON …)"
    return str(exc)


async def _migrate(db: aiosqlite.Connection, engine: str) -> list[int]:
    if engine == "postgresql":
        await install_compat(db)  # type: ignore[arg-type]
    migrations = for_engine(available_migrations(), engine)
    version = await current_version(db)
    newest = migrations[-1].version if migrations else 0
    if version > newest:
        raise SchemaTooNew(
            f"database schema is version {version}, this branchbot knows up to {newest}"
        )
    applied = []
    for migration in migrations:
        if migration.version <= version:
            continue
        async with transaction(db):
            for statement in _statements(migration.sql):
                await db.execute(statement)
            await db.execute(
                "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                (migration.version, migration.description),
            )
            if engine == "postgresql":
                await resync_identities(db)
        applied.append(migration.version)
    return applied
