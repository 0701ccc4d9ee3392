"""A PostgreSQL connection the server dropped is opened again by the next statement.

Without it a planner or delivery worker whose database restarted would stay
up and fail every statement until someone restarted it (issue 15: kill any
one process, or restart the database, and the others carry on).
"""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest

from storage.db import open_database
from tests.pg import fresh_schema, server_url

pytestmark = pytest.mark.skipif(
    server_url() is None, reason="needs BRANCHBOT_TEST_DATABASE (a PostgreSQL server)"
)


async def test_a_dropped_connection_fails_one_statement_then_reconnects():
    async with fresh_schema(server_url()) as url:
        db = await open_database(url)
        try:
            await db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            await db.execute("INSERT INTO notes (body) VALUES (?)", ("before",))
            admin = await asyncpg.connect(server_url())
            try:
                pid = db._conn.get_server_pid()
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
                # Termination is asynchronous: wait until the server has ended it.
                for _ in range(200):
                    if await admin.fetchval(
                        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", pid
                    ):
                        break
                    await asyncio.sleep(0.05)
            finally:
                await admin.close()
            # The statement that meets the dead connection may fail, as a
            # database error the callers already handle (or asyncpg may have
            # noticed first, and it reconnects at once) ...
            lost = 0
            for body in ("lost", "after"):
                try:
                    await db.execute("INSERT INTO notes (body) VALUES (?)", (body,))
                except sqlite3.OperationalError:
                    lost += 1
            # ... and at most that one: the next runs on a new connection, same schema.
            assert lost <= 1
            async with db.execute("SELECT body FROM notes ORDER BY id") as cursor:
                bodies = [row[0] for row in await cursor.fetchall()]
            assert bodies[0] == "before" and bodies[-1] == "after" and len(bodies) == 3 - lost
        finally:
            await db.close()
