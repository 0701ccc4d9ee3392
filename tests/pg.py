"""Run tests against PostgreSQL when BRANCHBOT_TEST_DATABASE names a server.

    BRANCHBOT_TEST_DATABASE=postgresql://branchbot@127.0.0.1:5432/postgres pytest tests/storage
    pytest --database=postgresql://… tests/storage

Each test gets a schema of its own (created fresh, dropped afterwards), so
tests never see each other's rows; the URL handed to open_database carries
it as the connection's search_path.  Without the variable every test uses
SQLite, as before.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

ENV = "BRANCHBOT_TEST_DATABASE"


def sqlite_only(reason: str):
    """Mark a test that reads something only SQLite has (its query plans, its files)."""
    import pytest

    return pytest.mark.skipif(server_url() is not None, reason=f"SQLite only: {reason}")


def server_url() -> str | None:
    """Return the PostgreSQL URL the tests should use, or None for SQLite."""
    return os.environ.get(ENV) or None


@asynccontextmanager
async def fresh_schema(server: str) -> AsyncIterator[str]:
    """Create an empty schema on `server`; yield a URL whose connections use it."""
    import asyncpg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
    finally:
        await admin.close()
    joiner = "&" if "?" in server else "?"
    try:
        yield f"{server}{joiner}search_path={schema}"
    finally:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await admin.close()
