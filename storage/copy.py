"""Move a county's SQLite file into PostgreSQL, verified by row counts.

    counts = await copy_database(sqlite_db, pg_db)   # {table: rows}, equal on both

Both sides are migrated to the same version first (storage.migrate), so the
tables match.  The target must hold no rows yet: a copy never merges.  All
rows go over in one PostgreSQL transaction with COPY (fast for a county's
hundreds of thousands of outbox rows); tables are filled parents first
(foreign keys are checked as rows arrive) and the schedule triggers are off
while the rows, schedule included, are copied as they are.  Before COMMIT
every table's count is compared with the source; any difference rolls the
whole copy back.  The identity sequences then continue after the highest id.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

from bot.errors import BranchbotError
from storage.db import table_names, transaction
from storage.dialect import PgDatabase, _coerce, resync_identities
from storage.migrate import current_version, migrate

__all__ = ["CopyRefused", "copy_database"]

_SKIP = {"schema_version"}  # each side keeps its own record of its migrations


class CopyRefused(BranchbotError):
    """The copy cannot go ahead (target not empty, schemas differ, counts differ).

    `reason` names the case and `details` its figures, so the command line
    can say it in the operator's language; the text is the English fallback.
    """

    def __init__(self, text: str, reason: str = "other", **details: object) -> None:
        super().__init__(text)
        self.reason = reason
        self.details = details


async def _count(db: Any, table: str) -> int:
    async with db.execute(f'SELECT COUNT(*) FROM "{table}"') as cursor:
        row = await cursor.fetchone()
    return int(row[0])


async def _parents_first(source: aiosqlite.Connection, tables: list[str]) -> list[str]:
    """Order tables so each comes after the tables its foreign keys point to."""
    needs: dict[str, set[str]] = {}
    for table in tables:
        async with source.execute(f'PRAGMA foreign_key_list("{table}")') as cursor:
            needs[table] = {row[2] for row in await cursor.fetchall()} - {table}
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, parents in needs.items() if not parents & needs.keys())
        if not ready:
            raise CopyRefused(f"foreign keys form a cycle among {sorted(needs)}")
        for table in ready:
            ordered.append(table)
            del needs[table]
    return ordered


async def _read(source: aiosqlite.Connection, table: str) -> tuple[list[str], list[Any]]:
    """Read a table in insertion order (a row referring to an earlier one of its kind)."""
    try:
        cursor = await source.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
    except sqlite3.OperationalError:  # a WITHOUT ROWID table: its key order will do
        cursor = await source.execute(f'SELECT * FROM "{table}"')
    async with cursor:
        return [d[0] for d in cursor.description], list(await cursor.fetchall())


async def copy_database(source: aiosqlite.Connection, target: PgDatabase) -> dict[str, int]:
    """Copy every row of `source` (SQLite) into the empty `target`; return rows per table."""
    await migrate(source)
    await migrate(target)
    if await current_version(source) != await current_version(target):
        raise CopyRefused("the two databases are at different schema versions")
    tables = [t for t in await table_names(source) if t not in _SKIP]
    missing = sorted(set(tables) - set(await table_names(target)))
    if missing:
        raise CopyRefused(f"tables missing in the target: {', '.join(missing)}")
    for table in tables:
        if await _count(target, table):
            raise CopyRefused(
                f"the target already has rows in {table}; copy into an empty one",
                "not_empty", table=table,
            )
    conn = target._conn
    counts: dict[str, int] = {}
    async with transaction(target):
        for table in tables:
            await conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        for table in await _parents_first(source, tables):
            types = dict(
                await conn.fetch(
                    "SELECT column_name, udt_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = $1",
                    table,
                )
            )
            columns, rows = await _read(source, table)
            records = [
                tuple(_coerce(value, types[c]) for c, value in zip(columns, row, strict=True))
                for row in rows
            ]
            if records:
                await conn.copy_records_to_table(table, records=records, columns=columns)
            counts[table] = len(records)
        for table in tables:
            await conn.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        for table in tables:
            found = await _count(target, table)
            if found != counts[table] or found != await _count(source, table):
                expected = await _count(source, table)
                raise CopyRefused(
                    f"{table}: {expected} rows in the source, {found} arrived;"
                    " nothing was copied",
                    "counts_differ", table=table, expected=expected, found=found,
                )
        await resync_identities(target)
    # Fresh statistics for the planner: autovacuum would take its time, and
    # the first ticks on the new server read every table the copy filled.
    await conn.execute("ANALYZE")
    return counts
