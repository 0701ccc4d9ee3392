"""Users act while the database is busy: nobody is told it failed, everything is recorded.

Two loads the county trial produced: many members pressing ✅ and typing
during a fan-out (the delivery engine's marks connection writing all the
while), and another process holding the write lock for seconds -- longer than
SQLite's old 5 s busy timeout.  Either used to end in "抱歉，刚才出了点问题"
from `record_contact` or `record_answer`, sometimes after the action was
recorded.
"""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from bot.domain.outgoing import OutgoingMessage
from bot.emulator import EmulatedUser
from bot.i18n import t
from storage.repositories import outbox, people, study
from tests.e2e.harness import BotHarness
from tests.e2e.test_study import (
    CITRUS_SECRETARY,
    PLANNERS,
    at_utc,
    member_id,
    member_in_db,
    publish,
    study_messages,
    the_item,
    until,
)
from tests.pg import sqlite_only

APOLOGY = t("zh", "errors.generic")
ACTORS = 30
FIRST_ACTOR = 520000
FANOUT = 300
FIRST_FANOUT = 530000
HOLD_SECONDS = 6.5  # longer than the old busy_timeout (5 s)
WAIT = 60.0


@pytest.fixture
async def h(tmp_path):
    config = {"delivery": {"global_per_second": 150}}
    async with BotHarness.started(tmp_path, config=config) as harness:
        planners = harness.app.bot_data[PLANNERS]
        for name in [name for name in planners if name != "study"]:
            del planners[name]
        yield harness


async def reminded_actors(h: BotHarness) -> list[EmulatedUser]:
    """ACTORS members of one branch, each holding the study reminder with its ✅ button."""
    actors = [
        await member_in_db(h, FIRST_ACTOR + n, f"成员{n}", "Asia/Shanghai") for n in range(ACTORS)
    ]
    await publish(h.user(CITRUS_SECRETARY, "zh"), "学习党章")
    await until(h, at_utc(2026, 3, 2, 11, 30))
    for actor in actors:
        await actor.wait_for_message(lambda m: "✅ 已学习" in m.button_texts)
    return actors


async def act(actor: EmulatedUser) -> None:
    """Press ✅ on the reminder, wait for the record, then ask /me and wait for it."""
    [reminder] = study_messages(actor)
    await actor.press("✅ 已学习", reminder)
    await actor.wait_for_message(lambda m: "已学习（" in m.plain, timeout=WAIT)
    await actor.send_command("me")
    await actor.wait_for_message(lambda m: "成员" in m.plain, timeout=WAIT)


async def assert_all_recorded_without_apology(h: BotHarness, actors: list[EmulatedUser]) -> None:
    apologies = [m.chat_id for a in actors for m in a.messages if m.plain == APOLOGY]
    assert apologies == []
    item = await the_item(h)
    for actor in actors:
        answer = await study.get_answer(h.services.db, item, await member_id(h, actor.id))
        assert answer is not None and answer.status == "done"


async def test_presses_and_commands_during_a_fan_out_all_land_without_an_apology(h):
    actors = await reminded_actors(h)
    now = int(h.clock.now().timestamp())
    fanout = []
    for n in range(FANOUT):
        person = await people.ensure_person(h.services.db, telegram_id=FIRST_FANOUT + n, now=now)
        h.user(FIRST_FANOUT + n)
        fanout.append(
            OutgoingMessage(
                dedupe_key=f"load|{person.id}", kind="study.reminder", person_id=person.id,
                chat_id=person.telegram_id, text=f"通知 {n}", due_at=now,
            )
        )
    await outbox.enqueue(h.services.db, fanout, now=now)

    delivering = asyncio.create_task(h.tick())
    await asyncio.sleep(0.2)  # the fan-out is under way
    assert not delivering.done()
    await asyncio.gather(*(act(actor) for actor in actors))
    report = (await delivering).delivery
    assert report is not None and report.sent == FANOUT

    await assert_all_recorded_without_apology(h, actors)


HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE people SET last_contact_at = last_contact_at")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


@sqlite_only("holds SQLite's file write lock from another process")
async def test_another_process_holding_the_write_lock_makes_users_wait_not_fail(h):
    actors = await reminded_actors(h)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(h.database), str(HOLD_SECONDS),
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert (await holder.stdout.readline()).strip() == b"locked"
    started = time.monotonic()
    await asyncio.gather(*(act(actor) for actor in actors[:8]))
    assert time.monotonic() - started >= HOLD_SECONDS - 1  # they waited for the lock
    assert await holder.wait() == 0

    await assert_all_recorded_without_apology(h, actors[:8])
