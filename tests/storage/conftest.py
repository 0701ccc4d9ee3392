"""Fixtures for repository tests: a migrated in-memory database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosqlite
import pytest_asyncio

from storage.db import open_database
from storage.migrate import migrate


@pytest_asyncio.fixture
async def db() -> AsyncIterator[aiosqlite.Connection]:
    """Yield a fresh in-memory database with every migration applied."""
    connection = await open_database(":memory:")
    await migrate(connection)
    try:
        yield connection
    finally:
        await connection.close()
