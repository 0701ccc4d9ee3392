"""Scale out (issue 15): `branchbot run --role`, and one planner at a time by its lease.

- an 'updates' process answers members but sends no scheduled message;
- a 'delivery' process sends the outbox but answers nobody;
- of two Applications on one database only the planner lease's holder plans;
  once it stops renewing, the other takes over when the lease runs out.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from telegram.ext import Application

from bot.app import build_application, start_receiving
from bot.domain.outgoing import OutgoingMessage
from bot.leasing import LEASE_CLOCK, PLANNER_TTL
from bot.scheduling import JOB_NAME, ROLE_KEY, add_planner, plan
from bot.services import SERVICES_KEY, Services
from storage.repositories import outbox
from tests.e2e.harness import BotHarness

MEMBER = 4242
REMINDER = "角色测试提醒"


async def _enqueue_due_reminder(h: BotHarness) -> None:
    now = int(h.clock.now().timestamp())
    message = OutgoingMessage(
        dedupe_key="test.role|reminder",
        kind="study.reminder",
        person_id=None,
        chat_id=MEMBER,
        text=REMINDER,
        due_at=now - 60,
    )
    assert await outbox.enqueue(h.services.db, [message], now=now) == 1


async def _start_role(h: BotHarness, role: str) -> Application:
    """Replace the harness's bot with one started as `branchbot run --role=ROLE` starts it."""
    await h.stop_bot()
    # Tick fast: the test waits for the second and later ticks too.
    settings = replace(h.settings, delivery=replace(h.settings.delivery, tick_seconds=0.2))
    app = build_application(settings, clock=h.clock)
    app.bot_data[ROLE_KEY] = role
    await app.initialize()
    await app.start()
    await start_receiving(app, h.settings, webhook_secret="role-test-secret")
    return app


async def _stop(app: Application) -> None:
    if app.updater.running:
        await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def test_updates_role_answers_but_sends_no_scheduled_message(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        member = h.user(MEMBER)
        await _enqueue_due_reminder(h)
        app = await _start_role(h, "updates")
        try:
            assert app.updater.running
            assert app.job_queue.get_jobs_by_name(JOB_NAME) == ()
            await member.send_command("start")
            await member.wait_for_message()  # handlers run: the member is answered
            await asyncio.sleep(1.0)  # an 'all' process's first ticks would have sent it
            assert REMINDER not in " ".join(member.texts)
            row = await outbox.get_row(app.bot_data[SERVICES_KEY].db, "test.role|reminder")
            assert row is not None and row.status == "pending"
        finally:
            await _stop(app)


async def test_delivery_role_sends_the_outbox_but_answers_no_update(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        member = h.user(MEMBER)
        await _enqueue_due_reminder(h)
        app = await _start_role(h, "delivery")
        try:
            assert not app.updater.running  # no polling, no webhook
            await member.wait_for_message(lambda m: REMINDER in m.plain, timeout=10)
            await member.send_command("start")
            await asyncio.sleep(1.5)  # an 'all' process answers /start well within this
            assert [m.plain for m in member.messages] == [REMINDER]  # and nothing else
        finally:
            await _stop(app)


async def test_only_the_planner_lease_holder_plans_and_another_takes_over(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        first = h.app
        assert first is not None
        second = build_application(h.settings, clock=h.clock)
        await second.initialize()  # not started: its jobs never run, plan() is called by hand
        wall = [1_800_000_000.0]
        runs: dict[str, int] = {"first": 0, "second": 0}

        def probe(name: str):
            async def planner(services: Services, now) -> list[OutgoingMessage]:
                runs[name] += 1
                return []

            return planner

        try:
            for name, app in (("first", first), ("second", second)):
                app.bot_data[LEASE_CLOCK] = lambda: wall[0]
                add_planner(app, "probe", probe(name))

            # The harness's start-up tick made the first the holder; it renews.
            assert not (await plan(first)).standby
            assert (await plan(second)).standby
            wall[0] += PLANNER_TTL - 5
            assert not (await plan(first)).standby  # renewed in time: still the first's
            assert (await plan(second)).standby
            assert runs == {"first": 2, "second": 0}

            # The first stops renewing (its process hangs or died elsewhere) ...
            wall[0] += PLANNER_TTL - 1
            assert (await plan(second)).standby  # ... not yet run out
            wall[0] += 1
            assert not (await plan(second)).standby  # taken over once the TTL passed
            assert (await plan(first)).standby  # and the first, back, stands by
            assert runs == {"first": 2, "second": 1}
        finally:
            await second.shutdown()


async def test_a_restarted_bot_sends_what_is_due_at_once_not_a_tick_later(tmp_path):
    # A reminder that fell due while the bot was down goes out as soon as it is
    # back, not `[delivery].tick_seconds` (30 s by default) later: APScheduler
    # rounds an interval job's start that passed before the scheduler started
    # up to the next interval.
    async with BotHarness.started(tmp_path) as h:
        member = h.user(MEMBER)
        await _enqueue_due_reminder(h)
        await h.stop_bot()
        settings = replace(h.settings, delivery=replace(h.settings.delivery, tick_seconds=30))
        app = build_application(settings, clock=h.clock)
        await app.initialize()
        await app.start()
        try:
            message = await member.wait_for_message(lambda m: REMINDER in m.plain, timeout=8)
            assert message.plain == REMINDER
        finally:
            await _stop(app)
