"""What the repositories rely on behaves alike on SQLite and PostgreSQL (storage/dialect.py).

Runs on whichever engine the suite runs on (BRANCHBOT_TEST_DATABASE).
"""

from __future__ import annotations

import sqlite3

import pytest

from storage.db import transaction


async def _rows(db, sql, *params):
    async with db.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def _unit(db, key: str, name: str) -> int:
    cursor = await db.execute(
        "INSERT INTO units (key, level, name, kind, created_at, updated_at)"
        " VALUES (?, 'branch', ?, 'mobile', 0, 0)",
        (key, name),
    )
    return cursor.lastrowid


async def test_lastrowid_rowcount_and_total_changes(db):
    first = await _unit(db, "b1", "alpha")
    second = await _unit(db, "b2", "Beta")
    assert second == first + 1
    before = db.total_changes
    cursor = await db.execute("UPDATE units SET name = name WHERE id IN (?, ?)", (first, second))
    assert cursor.rowcount == 2
    assert db.total_changes - before == 2


async def test_ignore_is_nocase_like_and_boolean_sums(db):
    await _unit(db, "b1", "alpha")
    await _unit(db, "b2", "Beta")
    await _unit(db, "b3", "gamma")
    cursor = await db.execute(
        "INSERT OR IGNORE INTO units (key, level, name, kind, created_at, updated_at)"
        " VALUES ('b1', 'branch', 'again', 'mobile', 0, 0)"
    )
    assert cursor.rowcount == 0
    assert await _rows(db, "SELECT name FROM units ORDER BY name COLLATE NOCASE") == [
        ("alpha",), ("Beta",), ("gamma",)
    ]
    assert await _rows(db, "SELECT key FROM units WHERE name LIKE ?", "beta") == [("b2",)]
    assert await _rows(db, "SELECT key FROM units WHERE ?1 IS name OR key = ?1", "gamma") == [
        ("b3",)
    ]
    assert await _rows(
        db, "SELECT SUM(name = 'alpha'), SUM(kind = 'mobile'), instr(?, 'b') FROM units", "abc"
    ) == [(1, 3, 2)]
    assert await _rows(db, "SELECT SUM(name = 'zeta') FROM units WHERE 0 = 1") == [(None,)]


async def test_a_failed_transaction_leaves_nothing_and_says_integrity(db):
    await _unit(db, "b1", "alpha")
    with pytest.raises(sqlite3.IntegrityError):
        async with transaction(db):
            await _unit(db, "b2", "beta")
            await _unit(db, "b1", "duplicate key")
    assert await _rows(db, "SELECT key FROM units ORDER BY key") == [("b1",)]
    row = await (await db.execute("SELECT id, key FROM units")).fetchone()
    assert row["key"] == row[1] == "b1"
    assert list(row.keys()) == ["id", "key"]


async def test_executemany_counts_what_it_wrote_and_lands_whole_or_not_at_all(db):
    """PostgreSQL sends every row in one exchange; the counts and the all-or-none stay SQLite's."""
    first = await _unit(db, "b1", "alpha")
    rows = [(f"k{n}", f"name{n}") for n in range(50)] + [("b1", "again")]
    before = db.total_changes
    cursor = await db.executemany(
        "INSERT OR IGNORE INTO units (key, level, name, kind, created_at, updated_at)"
        " VALUES (?, 'branch', ?, 'mobile', 0, 0)",
        rows,
    )
    # The conflicting key is ignored, and counts as nothing written.
    assert cursor.rowcount == 50 and db.total_changes - before == 50
    cursor = await db.executemany(
        "UPDATE units SET name = ? WHERE key = ?", [("renamed", "k1"), ("renamed", "k2"),
                                                     ("nobody", "missing")]
    )
    assert cursor.rowcount == 2
    # Mixed value types in one place (a NULL among integers) go too.
    cursor = await db.executemany(
        "UPDATE units SET timezone = ?, parent_id = ? WHERE key = ?",
        [("Asia/Shanghai", None, "k3"), ("Asia/Shanghai", first, "k4")],
    )
    assert cursor.rowcount == 2
    parents = "SELECT parent_id FROM units WHERE key IN ('k3', 'k4') ORDER BY key"
    assert await _rows(db, parents) == [(None,), (first,)]
    # A failing row undoes the rows before it.
    with pytest.raises(sqlite3.IntegrityError):
        await db.executemany(
            "INSERT INTO units (key, level, name, kind, created_at, updated_at)"
            " VALUES (?, 'branch', ?, 'mobile', 0, 0)",
            [("new1", "x"), ("new2", "y"), ("b1", "duplicate key")],
        )
    assert await _rows(db, "SELECT COUNT(*) FROM units WHERE key LIKE 'new%'") == [(0,)]
