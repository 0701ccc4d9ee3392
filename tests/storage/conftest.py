"""Fixtures for repository tests: a migrated empty database per test.

SQLite in memory by default; a fresh PostgreSQL schema when
BRANCHBOT_TEST_DATABASE (or --database) names a server (tests/pg.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosqlite
import pytest_asyncio

from storage.db import open_database
from storage.migrate import migrate
from tests.pg import fresh_schema, server_url


@pytest_asyncio.fixture
async def db() -> AsyncIterator[aiosqlite.Connection]:
    """Yield a fresh database with every migration applied."""
    server = server_url()
    if server is None:
        connection = await open_database(":memory:")
        await migrate(connection)
        try:
            yield connection
        finally:
            await connection.close()
        return
    async with fresh_schema(server) as url:
        connection = await open_database(url)
        await migrate(connection)
        try:
            yield connection
        finally:
            await connection.close()
