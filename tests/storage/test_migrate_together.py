"""Several processes starting on one PostgreSQL schema at once all come up.

Two delivery workers and a planner are started together (docs/scaling.md);
each migrates on start.  Without a turn for each, they ran the same CREATE at
once, and even on a current schema CREATE OR REPLACE FUNCTION failed with
"tuple concurrently updated": CI saw a delivery worker die before "ready".
Each connection here is its own server backend, as each process's is.

PostgreSQL only: one SQLite file accepts one process (storage/lock.py).
"""

from __future__ import annotations

import asyncio

import pytest

from storage.db import open_database
from storage.migrate import available_migrations, current_version, migrate
from tests.pg import fresh_schema, server_url

pytestmark = pytest.mark.skipif(
    server_url() is None,
    reason="PostgreSQL only: one SQLite file accepts one process (storage/lock.py); "
    "set BRANCHBOT_TEST_DATABASE to run it",
)

PROCESSES = 4


async def start_one(url: str) -> list[int]:
    db = await open_database(url)
    try:
        return await migrate(db)
    finally:
        await db.close()


async def test_processes_starting_together_on_a_new_schema_migrate_it_once():
    newest = available_migrations()[-1].version
    async with fresh_schema(server_url()) as url:
        applied = await asyncio.gather(*(start_one(url) for _ in range(PROCESSES)))
        # One of them applied every migration; the others found the schema current.
        migrating = [versions for versions in applied if versions]
        assert len(migrating) == 1
        assert migrating[0][0] == 1 and migrating[0][-1] == newest
        db = await open_database(url)
        try:
            assert await current_version(db) == newest
        finally:
            await db.close()


async def test_processes_starting_together_on_a_current_schema_all_come_up():
    async with fresh_schema(server_url()) as url:
        await start_one(url)
        for _ in range(10):
            applied = await asyncio.gather(*(start_one(url) for _ in range(PROCESSES)))
            assert applied == [[]] * PROCESSES
