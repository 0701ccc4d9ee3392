"""Planner queries stay indexed at any county size (issue 14): asserted with EXPLAIN QUERY PLAN.

A large county's statistics are imitated with ANALYZE over a few thousand
rows, which is what turned the leader lookup into a scan of people before.
"""

from __future__ import annotations

from storage.repositories import roles, schedule
from tests.pg import sqlite_only

pytestmark = sqlite_only("asserts SQLite's EXPLAIN QUERY PLAN")


async def _county(db) -> None:
    await db.execute(
        "INSERT INTO units (id, key, parent_id, level, name, kind, created_at, updated_at)"
        " VALUES (1, 'c', NULL, 'committee', 'c', 'township', 0, 0),"
        " (2, 'b', 1, 'branch', 'b', 'village', 0, 0)"
    )
    await db.executemany(
        "INSERT INTO units (id, key, parent_id, level, name, kind, created_at, updated_at)"
        " VALUES (?, ?, 1, 'branch', ?, 'village', 0, 0)",
        [(i, f"b{i}", f"b{i}") for i in range(3, 1003)],
    )
    await db.executemany(
        "INSERT INTO people (id, telegram_id, name, created_at) VALUES (?, ?, ?, 0)",
        [(i, 1000 + i, f"p{i}") for i in range(1, 3001)],
    )
    await db.executemany(
        "INSERT INTO members (person_id, branch_id, category, status, requested_at)"
        " VALUES (?, 2, 'regular', 'active', 0)",
        [(i,) for i in range(1, 3001)],
    )
    await db.execute(
        "INSERT INTO roles (person_id, unit_id, role, appointed_at) VALUES (1, 1, 'secretary', 0)"
    )
    await db.execute("ANALYZE")


async def test_leader_lookup_reads_by_key(db):
    await _county(db)
    plan = await roles.leaders_query_plan(db)
    # Only the few rows of the ancestor walk itself ("up") may be scanned.
    scanned = {line.split()[1] for line in plan if line.startswith("SCAN")}
    assert scanned <= {"up"}, plan
    assert any("roles" in line and "USING INDEX" in line for line in plan), plan
    assert await roles.nearest_leaders(db, 2) == [(1, 1001, None)]


async def test_due_members_reads_only_due_rows(db):
    await _county(db)
    plan = (await schedule.query_plans(db))["due_members"]
    assert all(not line.startswith("SCAN") for line in plan), plan
    assert any("member_schedule_due" in line or "USING" in line for line in plan), plan
    # The migration's triggers gave each new member a due row; moved on, it is not due.
    assert len(await schedule.due_members(db, "pledges", 10)) == 3000
    await schedule.set_next(db, "pledges", {1: 100})
    assert 1 not in await schedule.due_members(db, "pledges", 10)
    # Any change of a fact the planner reads makes the member due again.
    await db.execute("UPDATE people SET timezone = 'Asia/Shanghai' WHERE id = 1")
    assert 1 in await schedule.due_members(db, "pledges", 10)
