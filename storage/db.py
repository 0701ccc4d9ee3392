"""Open the SQLite database the way branchbot needs it.

    db = await open_database("branchbot.sqlite3")
    async with transaction(db):
        await db.execute("INSERT ...", params)
    await db.close()

WAL mode lets the bot read while a backup or a second process writes;
foreign keys are off by default in SQLite, so every connection turns them on.

Writes wait their turn; "database is locked" never reaches a user.  SQLite
has one writer at a time (the delivery engine's marks connection, a backup,
an operator's sqlite3 shell) and gives up in two ways: after `busy_timeout`,
and at once, without calling its busy handler, when a connection whose read
snapshot is stale tries to write (WAL's SQLITE_BUSY_SNAPSHOT -- on the shared
connection that happens whenever another task's SELECT is still being read
when a handler writes).  So every statement run outside an explicit
transaction, every BEGIN IMMEDIATE and every COMMIT is retried on SQLITE_BUSY
or SQLITE_LOCKED, with asyncio sleeps between tries (other tasks' reads go on
meanwhile; SQLite's own wait would hold the connection's one worker thread),
for up to WRITE_WAIT_SECONDS in all.  Such a statement had no effect when it
failed, so repeating it is safe; `executemany` outside a transaction runs in
one IMMEDIATE transaction of its own, so it too lands whole or not at all.  A
statement inside a transaction is not retried (the transaction must be run
again): `transaction()` takes the write lock at BEGIN, so its statements
never meet a busy database.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

from bot.config import is_postgres_url
from bot.errors import BranchbotError
from storage.dialect import connect_postgres

__all__ = [
    "BUSY_TIMEOUT_MS",
    "WRITE_WAIT_SECONDS",
    "Database",
    "backup_database",
    "is_busy",
    "open_database",
    "table_names",
    "transaction",
]

# SQLite's own wait for the write lock, per try.  Short: it blocks the
# connection's worker thread, so every other task's query waits with it.
BUSY_TIMEOUT_MS = 200
# How long a statement keeps trying a locked database in all before the error
# is raised (longer than any write another process should hold).
WRITE_WAIT_SECONDS = 90.0
_FIRST_PAUSE = 0.01  # seconds between tries, doubling up to _MAX_PAUSE
_MAX_PAUSE = 0.25
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def is_busy(exc: BaseException) -> bool:
    """Tell whether an error is SQLite's "database is locked/busy" (worth waiting out)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc)
    return "database is locked" in text or "database is busy" in text


def _opens_or_closes(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head.startswith(("BEGIN", "COMMIT", "END"))


class Database(aiosqlite.Connection):
    """An aiosqlite connection whose statements wait their turn for the write lock."""

    @contextmanager
    async def execute(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> aiosqlite.Cursor:
        """Run one statement, retrying a locked database (see the module docstring)."""
        params = [] if parameters is None else parameters
        cursor = await self._patiently(sql, lambda: self._conn.execute(sql, params))
        return aiosqlite.Cursor(self, cursor)

    @contextmanager
    async def executemany(
        self, sql: str, parameters: Iterable[Iterable[Any]]
    ) -> aiosqlite.Cursor:
        """Run a statement per parameter set, all or none, retrying a locked database."""
        rows = list(parameters)  # a generator could not be replayed by a retry
        cursor = await self._patiently(sql, lambda: self._executemany_whole(sql, rows))
        return aiosqlite.Cursor(self, cursor)

    def _executemany_whole(self, sql: str, rows: list[Iterable[Any]]) -> sqlite3.Cursor:
        # Runs on the worker thread, so no other task's statement comes between.
        conn = self._conn
        if conn.in_transaction:
            return conn.executemany(sql, rows)
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return cursor

    async def _patiently(self, sql: str, run: Callable[[], sqlite3.Cursor]) -> sqlite3.Cursor:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        pause = _FIRST_PAUSE
        while True:
            try:
                return await self._execute(run)
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or (self.in_transaction and not _opens_or_closes(sql)):
                    raise
                now = loop.time()
                if deadline is None:
                    deadline = now + WRITE_WAIT_SECONDS
                if now >= deadline:
                    raise
                await asyncio.sleep(min(pause, deadline - now))
                pause = min(pause * 2, _MAX_PAUSE)


async def open_database(path: str | Path) -> Database:
    """Connect with row access by name, foreign keys on and WAL journaling.

    A postgresql:// URL opens PostgreSQL instead, behind the same API
    (storage/dialect.py); every caller and repository works on either.
    """
    location = str(path)
    if is_postgres_url(location):
        return await connect_postgres(location)  # type: ignore[return-value]
    db = Database(lambda: sqlite3.connect(location, isolation_level=None), 64)
    await db
    try:
        db.row_factory = sqlite3.Row
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA foreign_keys = ON")
        if location != ":memory:":
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        await db.close()  # its worker thread would keep the process alive
        raise
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
    """Run the block in one IMMEDIATE transaction: all of it lands, or none.

    On PostgreSQL it is a plain BEGIN (READ COMMITTED): rows are locked as
    they are written, so there is no file-wide write lock to take first.
    """
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


async def table_names(db: aiosqlite.Connection) -> list[str]:
    """Return the names of the schema's tables (schema_version included), sorted."""
    if getattr(db, "engine", "sqlite") == "postgresql":
        sql = (
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    async with db.execute(sql) as cursor:
        return sorted(row[0] for row in await cursor.fetchall())


async def backup_database(db: aiosqlite.Connection, target: str | Path) -> None:
    """Copy the live database to `target` with SQLite's online backup API."""
    if getattr(db, "engine", "sqlite") == "postgresql":
        raise BranchbotError("a PostgreSQL store is backed up with pg_dump (docs/deploy.md)")
    destination = await aiosqlite.connect(str(target))
    try:
        await db.backup(destination)
    finally:
        await destination.close()
