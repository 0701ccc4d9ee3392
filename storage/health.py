"""Open the database only if it is sound, and never leave a connection behind on failure.

    db = await open_checked_database("branchbot.sqlite3", migrated=True)

Every entry point (the bot, `db …`, `org …`) opens the database through here:
- `PRAGMA quick_check` runs first, so a damaged file is refused at start
  with how to restore a backup, not found later when a member's /me fails;
- a file that is not a database, a directory that cannot be written and a
  schema newer than the code each end in one BranchbotError line;
- whatever fails, the aiosqlite connection is closed: its worker thread
  would otherwise keep the process alive after the error was printed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import sqlite3
from pathlib import Path

import aiosqlite
import asyncpg

from bot.config import is_postgres_url
from bot.errors import BranchbotError
from storage.db import open_database
from storage.migrate import migrate

__all__ = ["DatabaseUnusable", "check_database", "migrate_checked", "open_checked_database"]

log = logging.getLogger(__name__)


class DatabaseUnusable(BranchbotError):
    """The database file cannot be opened, is damaged, or is newer than this code."""


def _without_password(location: str) -> str:
    """Return a location fit for a message: a URL's password is replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@/]*@", r"\1***@", location)


def _restore_hint(path: str) -> str:
    return (
        f"restore the last backup made with `branchbot db backup`: stop the bot, copy the "
        f"backup over {path}, delete {path}-wal and {path}-shm if present, start again "
        "(docs/deploy.md#restore)"
    )


async def check_database(path: str | Path) -> None:
    """Raise DatabaseUnusable unless `path` is missing (a new database) or passes quick_check."""
    name = str(path)
    if is_postgres_url(name):
        return  # the server keeps its own files sound; a bad connection fails at open
    if name == ":memory:" or not await asyncio.to_thread(Path(name).exists):
        return
    try:
        db = await aiosqlite.connect(name)
    except sqlite3.Error as exc:
        raise DatabaseUnusable(f"cannot open database {name}: {exc}") from None
    try:
        async with db.execute("PRAGMA quick_check") as cursor:
            rows = [str(row[0]) for row in await cursor.fetchall()]
    except sqlite3.OperationalError as exc:
        # Cannot read or create beside it (permissions, a read-only file system).
        raise DatabaseUnusable(
            f"cannot open database {name}: {exc}; the file and its directory must be "
            "readable and writable by this user"
        ) from None
    except sqlite3.DatabaseError as exc:
        # "file is not a database", "database disk image is malformed".
        raise DatabaseUnusable(
            f"database {name} is damaged ({exc}); {_restore_hint(name)}"
        ) from None
    finally:
        await db.close()
    if rows != ["ok"]:
        raise DatabaseUnusable(
            f"database {name} is damaged ({rows[0] if rows else 'no answer'}); "
            f"{_restore_hint(name)}"
        )


async def open_checked_database(path: str | Path, *, migrated: bool) -> aiosqlite.Connection:
    """Check, open and (if asked) migrate the database; on any failure close it and raise."""
    name = str(path)
    await check_database(name)
    failure = None
    try:
        db = await open_database(name)
    except sqlite3.Error as exc:
        failure = f"cannot open database {name}: {exc}"
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        failure = f"cannot connect to {_without_password(name)}: {exc}"
    if failure is not None:
        # open_database cannot close a connection whose set-up failed; once the
        # traceback holding it is gone, collecting runs its finaliser, which
        # stops the worker thread that would keep the process alive.
        gc.collect()
        raise DatabaseUnusable(failure)
    try:
        if migrated:
            applied = await migrate_checked(db, name)
            if applied:
                log.info("applied migrations %s", applied)
    except BaseException:
        # DatabaseUnusable or SchemaTooNew (one line already) or a cancelled start.
        await db.close()
        raise
    return db


async def migrate_checked(db: aiosqlite.Connection, name: str) -> list[int]:
    """Migrate; a database that refuses (no schema, no right to create) is DatabaseUnusable."""
    try:
        return await migrate(db)
    except sqlite3.Error as exc:
        raise DatabaseUnusable(
            f"cannot use database {_without_password(name)}: {exc}"
        ) from None
