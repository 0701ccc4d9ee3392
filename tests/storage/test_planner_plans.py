"""Planner queries stay indexed at any county size (issue 14): asserted with EXPLAIN QUERY PLAN.

A large county's statistics are imitated with ANALYZE over a few thousand
rows, which is what turned the leader lookup into a scan of people before.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import FakeClock
from bot.config import parse_settings
from bot.services import Services
from handlers.contact_log import plan_contact_ladder
from storage.repositories import outbox, posts, roles, schedule, study
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


async def test_posts_planner_reads_holders_not_members(db):
    await _county(db)
    plan = await posts.holders_query_plan(db)
    # Holders are a few per branch; the county's members are only looked up by id.
    scanned = {line.split()[1] for line in plan if line.startswith("SCAN")}
    assert scanned <= {"h"}, plan


async def test_missing_study_targets_read_marked_branches_by_index(db):
    await _county(db)
    await db.executemany(
        "INSERT INTO study_items (branch_id, kind, title, body, due_date, remind_at,"
        " created_at, updated_at) VALUES (?, 'item', 't', 'b', ?, '19:30', 0, 0)",
        [(3 + i % 1000, f"2026-03-0{i % 9 + 1}") for i in range(5000)],
    )
    await study.add_missing_targets(db, min_due="2026-03-01")
    await db.execute("ANALYZE")
    plan = await study.missing_targets_query_plan(db)
    # Neither the county's items nor its members are scanned: only marked branches.
    assert all(not line.startswith("SCAN") for line in plan), plan
    assert any("study_items_branch" in line for line in plan), plan


async def _silent_mobile(db, *, approved_at: int) -> int:
    """Create an approved mobile member on Telegram, never heard from; return the member id."""
    await db.execute(
        "INSERT INTO units (id, key, parent_id, level, name, kind, created_at, updated_at)"
        " VALUES (1, 'c', NULL, 'committee', 'c', 'township', 0, 0),"
        " (2, 'b', 1, 'branch', 'b', 'mobile', 0, 0)"
    )
    await db.execute(
        "INSERT INTO people (id, telegram_id, name, created_at) VALUES (1, 1001, 'p1', 0),"
        " (2, 1002, 'sec', 0)"
    )
    await db.execute(
        "INSERT INTO roles (person_id, unit_id, role, appointed_at) VALUES (2, 2, 'secretary', 0)"
    )
    cursor = await db.execute(
        "INSERT INTO members (person_id, branch_id, category, status, requested_at, decided_at)"
        " VALUES (1, 2, 'mobile', 'active', ?, ?)",
        (approved_at, approved_at),
    )
    return cursor.lastrowid


async def _ladder_due_at(db, member_id: int) -> int:
    async with db.execute(
        "SELECT next_due_at FROM member_schedule WHERE member_id = ? AND kind = 'contact_ladder'",
        (member_id,),
    ) as cur:
        return (await cur.fetchone())[0]


async def test_contact_ladder_reads_members_only_when_a_rung_is_due(db):
    day = 86_400
    approved = 1_772_000_000
    member_id = await _silent_mobile(db, approved_at=approved)
    settings = parse_settings({})
    rules = settings.whereabouts
    now = datetime.fromtimestamp(approved + 10 * day, UTC)
    services = Services(settings=settings, clock=FakeClock(now), db=db)
    assert await schedule.due_members(db, "contact_ladder", int(now.timestamp())) == [member_id]

    # Ten days silent: nothing due, and the member waits for the first rung.
    assert await plan_contact_ladder(services, now) == []
    assert await _ladder_due_at(db, member_id) == approved + rules.ask_helpers_days * day
    assert await schedule.due_members(db, "contact_ladder", int(now.timestamp())) == []

    # A recorded attempt is a fact the ladder reads: due again at once.
    await db.execute(
        "INSERT INTO contact_attempts (member_id, at, by_person_id, method, outcome)"
        " VALUES (?, ?, 2, 'phone', 'not_reached')",
        (member_id, approved + 9 * day),
    )
    assert await _ladder_due_at(db, member_id) == 0

    # At the first rung with no helper, the secretary's call task is planned;
    # once it is queued, nothing more is owed in this silence.
    later = datetime.fromtimestamp(approved + rules.ask_helpers_days * day, UTC)
    planned = await plan_contact_ladder(services, later)
    assert [m.kind for m in planned] == ["contact.call"]
    await outbox.enqueue(db, planned, now=int(later.timestamp()))
    assert await plan_contact_ladder(services, later) == []
    assert await _ladder_due_at(db, member_id) == schedule.NEVER

    # A helper paired later is asked: the pairing makes the member due again.
    await db.execute(
        "INSERT INTO member_helpers (member_id, helper_person_id, kind, added_at)"
        " VALUES (?, 2, 'helper', 0)",
        (member_id,),
    )
    assert await _ladder_due_at(db, member_id) == 0
    assert [m.kind for m in await plan_contact_ladder(services, later)] == ["contact.ask"]
