"""Delivery with k sends in flight: never two to one chat, urgent kinds first during a
fan-out, quiet hours checked again at send time, old rows pruned to their outcome.
(The crash bound, at most k repeats each to a different person: test_crash_restart.py.)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from telegram.ext import ExtBot

from bot.domain.outgoing import OutgoingMessage, occurrence_key
from bot.scheduling import add_planner, drain, plan
from storage.repositories import outbox
from tests.e2e.harness import BotHarness
from tests.e2e.test_delivery_faults import add_members, enqueue, now_ts, reminder, settle

# 13:30 UTC is 21:30 in Beijing: quiet hours (21:00-08:00) have begun.
EVENING = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)


async def test_never_two_sends_to_one_chat_in_flight(tmp_path, monkeypatch):
    in_flight: list[int] = []
    overlaps: list[int] = []
    peak = 0
    real = ExtBot.send_message

    async def watched(self, chat_id, *args, **kwargs):
        nonlocal peak
        if chat_id in in_flight:
            overlaps.append(chat_id)
        in_flight.append(chat_id)
        peak = max(peak, len(in_flight))
        try:
            return await real(self, chat_id, *args, **kwargs)
        finally:
            in_flight.remove(chat_id)

    monkeypatch.setattr(ExtBot, "send_message", watched)
    async with BotHarness.started(tmp_path, seed_county=False) as h:
        await settle(h)
        h.emulator.set_latency(0.05, 0.01)
        members = await add_members(h, 10)
        # Three messages to the first member among one each to the others.
        messages = [reminder(p, due_at=now_ts(h)) for p in members]
        messages += [reminder(members[0], n=n, due_at=now_ts(h)) for n in (1, 2)]
        await enqueue(h, messages)
        report = (await h.tick()).delivery
        assert report is not None and report.sent == 12
        assert overlaps == []
        assert peak >= 2 and report.peak_in_flight >= 2  # k > 1 really was in flight
        assert len(h.emulator.sent_to(members[0].telegram_id)) == 3


async def test_a_digest_planned_during_a_fan_out_goes_ahead_of_the_reminders(tmp_path):
    async with BotHarness.started(tmp_path, seed_county=False) as h:
        await settle(h)
        h.emulator.set_latency(0.02, 0.004)
        members = await add_members(h, 80)
        secretary = members[-1]
        await enqueue(h, [reminder(p, due_at=now_ts(h)) for p in members[:-1]])
        digest_due = {"now": False}

        async def digest_planner(services, now):
            if not digest_due["now"]:
                return []
            return [
                OutgoingMessage(
                    dedupe_key=occurrence_key("digest", secretary.id, "week", 10),
                    kind="digest",
                    person_id=secretary.id,
                    chat_id=secretary.telegram_id,
                    text="<b>本周简报</b>",
                    due_at=int(now.timestamp()),
                )
            ]

        assert h.app is not None
        add_planner(h.app, "test-digest", digest_planner)
        stats = h.emulator.stats
        # What the worker runs: a drain that plan() wakes when it stores new rows.
        wake = h.app.bot_data.setdefault("branchbot.delivery_wake", asyncio.Event())
        fan_out = asyncio.create_task(drain(h.app, woken=wake))
        await h.emulator.wait_until(lambda: stats.sends_ok >= 10, timeout=10)
        # The planners run while the fan-out holds delivery: planning is not held up.
        digest_due["now"] = True
        planned = await asyncio.wait_for(plan(h.app), timeout=2)
        assert planned.planned == {"test-digest": 1}
        sent_when_planned = stats.sends_ok
        await h.emulator.wait_until(
            lambda: stats.sends_by_chat[secretary.telegram_id] == 1, timeout=10
        )
        # Sent next (after the k sends already in flight), not after 70 reminders.
        assert stats.sends_ok - sent_when_planned <= 10
        report = await fan_out
        assert report.sent == 80


async def test_quiet_hours_are_checked_again_at_send_time(tmp_path):
    async with BotHarness.started(tmp_path, seed_county=False, start=EVENING) as h:
        await settle(h)
        regular, elderly, anytime = await add_members(h, 3)
        # Planned for 20:30 Beijing, sent at 21:30 (a long fan-out ran late).
        due = now_ts(h) - 3600
        late = reminder(regular, due_at=due, quiet_zone="Asia/Shanghai")
        old = reminder(elderly, due_at=due, quiet_zone="Asia/Shanghai", elderly=True)
        free = reminder(anytime, due_at=due)  # no zone given: sent whenever due
        await enqueue(h, [late, old, free])
        report = (await h.tick()).delivery
        assert report is not None and (report.sent, report.quiet_deferred) == (1, 2)
        assert h.emulator.sent_to(regular.telegram_id) == []
        row = await outbox.get_row(h.services.db, late.dedupe_key)
        morning = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in Beijing
        assert row is not None and row.status == "pending"
        assert row.due_at == int(morning.timestamp())
        elderly_row = await outbox.get_row(h.services.db, old.dedupe_key)
        assert elderly_row is not None  # the elderly window opens at 09:00
        assert elderly_row.due_at == int((morning + timedelta(hours=1)).timestamp())

        h.clock.advance(hours=10, minutes=30)  # 08:00 Beijing
        await h.tick()
        assert len(h.emulator.sent_to(regular.telegram_id)) == 1
        assert h.emulator.sent_to(elderly.telegram_id) == []
        h.clock.advance(hours=1)
        await h.tick()
        assert len(h.emulator.sent_to(elderly.telegram_id)) == 1


async def test_old_rows_keep_only_key_and_outcome(tmp_path):
    async with BotHarness.started(tmp_path, seed_county=False) as h:
        await settle(h)
        first, second = await add_members(h, 2)
        sent_early = reminder(first, due_at=now_ts(h), text="<b>学习提醒</b> 第一课")
        await enqueue(h, [sent_early])
        await h.tick()
        h.clock.advance(days=25)
        recent = reminder(second, due_at=now_ts(h), text="<b>学习提醒</b> 第二课")
        await enqueue(h, [recent])
        await h.tick()
        h.clock.advance(days=6)  # the first is 31 days old, the second 6
        report = await h.tick()
        assert report.pruned == 1
        db = h.services.db
        old = await outbox.get_row(db, sent_early.dedupe_key)
        assert old is not None and old.status == "sent" and old.message_id is not None
        assert (old.text, old.chat_id, old.reply_markup, old.photo) == ("", 0, None, None)
        assert old.pruned_at == now_ts(h) and old.sent_at is not None
        kept = await outbox.get_row(db, recent.dedupe_key)
        assert kept is not None and kept.text == "<b>学习提醒</b> 第二课"
        # Planning the old occurrence again still finds its key: never sent twice.
        assert await outbox.enqueue(db, [sent_early], now=now_ts(h)) == 0
        assert (await h.tick()).pruned == 0


async def test_a_fan_out_over_a_jittery_network_stays_under_a_strict_limit(tmp_path):
    # The server counts arrivals in a zero-tolerance 1 s window; the network
    # moves each arrival by up to ±10 ms.  Sends started in bursts (a sliding
    # window on the bot's side) arrive bunched and draw 429s, each pausing
    # every send for a second; starts spread evenly with headroom draw none.
    config = {"delivery": {"global_per_second": 10, "per_chat_per_second": 1}}
    async with BotHarness.started(tmp_path, seed_county=False, config=config) as h:
        await settle(h)
        h.emulator.set_latency(0.1, 0.02)
        h.emulator.set_rate_limit(global_per_second=10, per_chat_per_second=1)
        members = await add_members(h, 40)
        await enqueue(h, [reminder(p, due_at=now_ts(h)) for p in members])
        report = (await h.tick()).delivery
        assert report is not None and report.sent == 40
        assert h.emulator.stats.flood_refusals <= 1
        assert report.peak_in_flight >= 2
        assert all(h.emulator.stats.sends_by_chat[p.telegram_id] == 1 for p in members)
