"""storage.db: statements wait out a locked database instead of failing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from storage import db as storage_db
from storage.db import open_database, transaction


async def make(path: Path):
    db = await open_database(path)
    await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    await db.executemany("INSERT INTO t (n) VALUES (?)", [(n,) for n in range(5)])
    return db


async def test_a_write_behind_another_connections_lock_waits_past_busy_timeout(tmp_path):
    db = await make(tmp_path / "a.sqlite3")
    other = sqlite3.connect(tmp_path / "a.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(1.0, other.execute, "COMMIT")
        await db.execute("INSERT INTO t (n) VALUES (10)")  # 1 s > BUSY_TIMEOUT_MS
        async with transaction(db):
            await db.execute("INSERT INTO t (n) VALUES (11)")
        async with db.execute("SELECT COUNT(*) FROM t") as cur:
            assert (await cur.fetchone())[0] == 7
    finally:
        other.close()
        await db.close()


async def test_a_write_meeting_a_stale_snapshot_is_retried(tmp_path):
    """Another task's unfinished SELECT pins an old snapshot: SQLite refuses the write at once."""
    db = await make(tmp_path / "b.sqlite3")
    other = sqlite3.connect(tmp_path / "b.sqlite3", isolation_level=None)
    try:
        reading = await db.execute("SELECT n FROM t")  # stepped once: a read is open
        other.execute("INSERT INTO t (n) VALUES (20)")  # a newer commit than that read

        async def finish_reading() -> None:
            await asyncio.sleep(0.2)
            await reading.close()

        closer = asyncio.create_task(finish_reading())
        await db.execute("INSERT INTO t (n) VALUES (21)")
        await closer
        async with db.execute("SELECT COUNT(*) FROM t") as cur:
            assert (await cur.fetchone())[0] == 7
    finally:
        other.close()
        await db.close()


async def test_gives_up_after_the_wait_and_leaves_no_trace(tmp_path, monkeypatch):
    monkeypatch.setattr(storage_db, "WRITE_WAIT_SECONDS", 0.5)
    db = await make(tmp_path / "c.sqlite3")
    other = sqlite3.connect(tmp_path / "c.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await db.executemany("INSERT INTO t (n) VALUES (?)", [(30,), (31,)])
        other.execute("COMMIT")
        async with db.execute("SELECT COUNT(*) FROM t") as cur:
            assert (await cur.fetchone())[0] == 5
    finally:
        other.close()
        await db.close()


async def test_executemany_outside_a_transaction_lands_whole_or_not_at_all(tmp_path):
    db = await make(tmp_path / "d.sqlite3")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            await db.executemany("INSERT INTO t (n) VALUES (?)", [(40,), (41,), (1,)])
        async with db.execute("SELECT COUNT(*) FROM t") as cur:
            assert (await cur.fetchone())[0] == 5
        assert not db.in_transaction
    finally:
        await db.close()


async def test_a_failed_set_up_closes_the_connection(tmp_path):
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    before = threading.active_count()
    with pytest.raises(sqlite3.OperationalError):
        await open_database(folder)
    for _ in range(100):  # the worker thread ends once its stop is processed
        if threading.active_count() <= before:
            break
        await asyncio.sleep(0.01)
    assert threading.active_count() <= before
