"""Open the SQLite database the way branchbot needs it.

    db = await open_database("branchbot.sqlite3")
    async with transaction(db):
        await db.execute("INSERT ...", params)
    await db.close()

WAL mode lets the bot read while a backup or a second process writes;
foreign keys are off by default in SQLite, so every connection turns them on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

__all__ = ["backup_database", "open_database", "transaction"]


async def open_database(path: str | Path) -> aiosqlite.Connection:
    """Connect with row access by name, foreign keys on and WAL journaling."""
    db = await aiosqlite.connect(str(path), isolation_level=None)
    db.row_factory = sqlite3.Row
    await db.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
    await db.execute("PRAGMA busy_timeout = 5000")
    return db


# One connection serves every handler and job, and updates are handled
# concurrently: a per-connection lock keeps two transactions from interleaving
# (SQLite cannot nest BEGIN).  A transaction opened inside another one in the
# same task joins it instead of deadlocking.
_LOCKS: weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
_OWNERS: weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Task[object]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """Run the block in one IMMEDIATE transaction: all of it lands, or none."""
    task = asyncio.current_task()
    if task is not None and _OWNERS.get(db) is task:
        yield db
        return
    lock = _LOCKS.setdefault(db, asyncio.Lock())
    async with lock:
        if task is not None:
            _OWNERS[db] = task
        try:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            else:
                await db.execute("COMMIT")
        finally:
            _OWNERS.pop(db, None)


async def backup_database(db: aiosqlite.Connection, target: str | Path) -> None:
    """Copy the live database to `target` with SQLite's online backup API."""
    destination = await aiosqlite.connect(str(target))
    try:
        await db.backup(destination)
    finally:
        await destination.close()
