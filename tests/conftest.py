"""Suite-wide options: --database=postgresql://… runs the storage tests on PostgreSQL."""

from __future__ import annotations

import os

import pytest

from tests.pg import ENV


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        default=None,
        help=f"a postgresql:// server for the tests (same as {ENV}); default SQLite",
    )


def pytest_configure(config: pytest.Config) -> None:
    url = config.getoption("--database")
    if url:
        os.environ[ENV] = url
