"""A restart does not make the schedule-driven planners re-read the county (issue 14).

The pledge, whereabouts and contact-ladder planners read only the members
whose member_schedule row is due.  A new process (a restart, a second
`--role=planner` process taking over the lease, a bench's next part) used to
make every member of each kind due again "in case the settings changed", so a
study fan-out right after a start cost the whole county in those three
planners.  Now only a change of their rules (settings or code) does that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from bot.clock import FakeClock
from bot.config import parse_settings
from bot.services import Services
from handlers.contact_log import plan_contact_ladder
from handlers.pledges.planner import plan_pledges
from handlers.study.planner import plan_study
from handlers.whereabouts import plan_whereabouts
from storage.db import open_database
from storage.migrate import migrate
from storage.repositories import outbox, schedule
from tests.pg import fresh_schema, server_url

NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: no quiet hours
KINDS = ("pledges", "whereabouts", "contact_ladder")
PLANNERS = (plan_study, plan_pledges, plan_whereabouts, plan_contact_ladder)
MEMBERS = 30


@pytest_asyncio.fixture
async def location(tmp_path: Path) -> AsyncIterator[str]:
    """Yield a database two connections (two 'processes') can open in turn."""
    server = server_url()
    if server is None:
        yield str(tmp_path / "county.sqlite3")
        return
    async with fresh_schema(server) as url:
        yield url


async def _county(db) -> None:
    """A branch of MEMBERS members on Telegram, a third mobile, with a secretary."""
    await db.execute(
        "INSERT INTO units (id, key, parent_id, level, name, kind, timezone, created_at,"
        " updated_at) VALUES (1, 'c', NULL, 'committee', 'c', 'township', 'Asia/Shanghai', 0, 0),"
        " (2, 'b', 1, 'branch', 'b', 'village', NULL, 0, 0)"
    )
    joined = int(NOW.timestamp()) - 400 * 86_400
    await db.executemany(
        "INSERT INTO people (id, telegram_id, name, timezone, last_contact_at, created_at)"
        " VALUES (?, ?, ?, 'Asia/Shanghai', ?, 0)",
        [(i, 5000 + i, f"p{i}", joined + i * 86_400) for i in range(1, MEMBERS + 2)],
    )
    await db.executemany(
        "INSERT INTO members (person_id, branch_id, category, status, requested_at, decided_at)"
        " VALUES (?, 2, ?, 'active', ?, ?)",
        [(i, "mobile" if i % 3 == 0 else "regular", joined, joined)
         for i in range(1, MEMBERS + 1)],
    )
    await db.execute(
        "INSERT INTO roles (person_id, unit_id, role, appointed_at)"
        f" VALUES ({MEMBERS + 1}, 2, 'secretary', 0)"
    )
    await db.commit()


async def _tick(services: Services) -> None:
    """Run the planners and queue what they plan, as bot.scheduling.plan does."""
    for planner in PLANNERS:
        messages = await planner(services, NOW)
        if messages:
            await outbox.enqueue(services.db, messages, now=int(NOW.timestamp()))
    await services.db.commit()


async def _due(db) -> dict[str, int]:
    now = int(NOW.timestamp())
    return {kind: len(await schedule.due_members(db, kind, now)) for kind in KINDS}


async def _run(location: str, settings, monkeypatch: pytest.MonkeyPatch | None = None, *,
               build: bool = False) -> tuple[dict[str, int], int]:
    """Open the database as a new process would, publish a study item, run one tick.

    Returns how many members each scheduled planner read in that tick and how
    many study reminders it queued.
    """
    db = await open_database(location)
    try:
        await migrate(db)
        services = Services(settings=settings, clock=FakeClock(NOW), db=db)
        if build:
            await _county(db)
            for _ in range(10):  # the county's first look, until nothing is due
                await _tick(services)
                if not any((await _due(db)).values()):
                    break
            assert not any((await _due(db)).values())
            return {}, 0
        read: dict[str, int] = {}
        real = schedule.due_members

        async def counting(db, kind, now, limit=20_000):
            ids = await real(db, kind, now, limit)
            read[kind] = read.get(kind, 0) + len(ids)
            return ids

        mark = await _max_outbox_id(db)
        await db.execute(
            "INSERT INTO study_items (branch_id, kind, title, body, due_date, remind_at,"
            " created_at, updated_at) VALUES (2, 'item', 't', 'b', '2026-03-10', '12:00', ?, ?)",
            (int(NOW.timestamp()), int(NOW.timestamp())),
        )
        await db.commit()
        assert monkeypatch is not None
        monkeypatch.setattr(schedule, "due_members", counting)
        try:
            await _tick(services)
        finally:
            monkeypatch.undo()
        return read, await _reminders_after(db, mark)
    finally:
        await db.close()


async def _max_outbox_id(db) -> int:
    async with db.execute("SELECT coalesce(max(id), 0) FROM outbox") as cur:
        return (await cur.fetchone())[0]


async def _reminders_after(db, mark: int) -> int:
    async with db.execute(
        "SELECT count(*) FROM outbox WHERE id > ? AND kind LIKE 'study.%'", (mark,)
    ) as cur:
        return (await cur.fetchone())[0]


async def test_a_restart_plans_a_study_item_without_rereading_the_county(location, monkeypatch):
    settings = parse_settings({})
    await _run(location, settings, build=True)

    # A new process, same settings: the study item reaches every member, and
    # the other planners read no one (they used to read all MEMBERS each).
    read, reminders = await _run(location, settings, monkeypatch)
    assert reminders == MEMBERS
    assert {kind: read.get(kind, 0) for kind in KINDS} == dict.fromkeys(KINDS, 0)


async def test_changed_rules_make_their_kind_due_once(location, monkeypatch):
    settings = parse_settings({})
    await _run(location, settings, build=True)

    # Another report day changes the pledge planner's rules only: its members
    # are looked at again once (moments computed under the old day may be
    # wrong); whereabouts and the ladder keep their moments.
    changed = parse_settings({"pledges": {"report_day": 20}})
    read, _ = await _run(location, changed, monkeypatch)
    assert read.get("pledges", 0) == MEMBERS
    assert read.get("whereabouts", 0) == 0
    assert read.get("contact_ladder", 0) == 0

    # Started again with those settings, nothing is re-read.
    read, _ = await _run(location, changed, monkeypatch)
    assert {kind: read.get(kind, 0) for kind in KINDS} == dict.fromkeys(KINDS, 0)
