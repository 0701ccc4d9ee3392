"""A Bot API that accepts a message and answers after the client's read timeout.

The emulator's "slow" fault records the message (the member has it) and
answers too late.  Whatever the ticks do afterwards, the member holds at most
two copies -- exactly one for a kind that is never re-sent -- and the other
members' messages of the same tick go out without waiting behind the slow chat.
"""

from __future__ import annotations

import time

import pytest

from bot.delivery import UNKNOWN_BEFORE_STOP
from bot.domain.outgoing import OutgoingMessage
from storage.repositories import outbox
from tests.e2e.harness import BotHarness
from tests.e2e.test_delivery_faults import add_members, enqueue, now_ts, reminder, settle

TIMEOUT = 0.3  # the bot's read timeout for a send in these tests (seconds)
LATE = 1.0  # the emulator's answer comes this long after it recorded the message
CONFIG = {"delivery": {"send_timeout_seconds": TIMEOUT, "uncertain_retry_minutes": 30}}


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path, seed_county=False, config=CONFIG) as harness:
        await settle(harness)
        yield harness


def digest(person, *, due_at: int) -> OutgoingMessage:
    return OutgoingMessage(
        dedupe_key=f"digest|p{person.id}|2026-W10",
        kind="digest",
        person_id=person.id,
        chat_id=person.telegram_id,
        text=f"本周简报 {person.telegram_id}",
        due_at=due_at,
    )


async def test_a_reminder_answered_too_late_is_never_sent_again(h):
    slow, *others = await add_members(h, 5)
    h.emulator.inject(slow.telegram_id, "slow", times=None, delay=LATE)
    now = now_ts(h)
    late = reminder(slow, due_at=now - 60)  # first in line
    await enqueue(h, [late] + [reminder(p, due_at=now) for p in others])

    started = time.monotonic()
    report = (await h.tick()).delivery
    elapsed = time.monotonic() - started
    assert report is not None
    assert (report.sent, report.uncertain, report.retried, report.stopped) == (4, 1, 0, None)
    # Nobody waited behind the slow chat for more than its one timeout.
    assert elapsed < TIMEOUT + 1.0, elapsed
    assert [len(h.emulator.sent_to(p.telegram_id)) for p in others] == [1, 1, 1, 1]
    row = await outbox.get_row(h.services.db, late.dedupe_key)
    assert row is not None and row.status == "uncertain" and row.next_attempt_at is None
    assert row.uncertain_at == now_ts(h) and "TimedOut" in (row.last_error or "")

    for minutes in (1, 30, 60, 600):  # many later ticks, past the re-send wait
        h.clock.advance(minutes=minutes)
        await h.tick()
    assert len(h.emulator.sent_to(slow.telegram_id)) == 1
    assert h.emulator.stats.sends_by_chat[slow.telegram_id] == 1


async def test_a_digest_answered_too_late_is_sent_at_most_once_more(h):
    secretary, other = await add_members(h, 2)
    h.emulator.inject(secretary.telegram_id, "slow", times=None, delay=LATE)
    message = digest(secretary, due_at=now_ts(h))
    await enqueue(h, [message, reminder(other, due_at=now_ts(h))])
    report = (await h.tick()).delivery
    assert report is not None and (report.sent, report.uncertain) == (1, 1)
    row = await outbox.get_row(h.services.db, message.dedupe_key)
    assert row is not None and row.status == "uncertain"
    assert row.next_attempt_at == now_ts(h) + 30 * 60

    h.clock.advance(minutes=29)
    await h.tick()
    assert len(h.emulator.sent_to(secretary.telegram_id)) == 1  # not before the long wait

    h.clock.advance(minutes=2)
    report = (await h.tick()).delivery
    assert report is not None and report.uncertain == 1  # the one re-send: no answer again
    assert len(h.emulator.sent_to(secretary.telegram_id)) == 2
    row = await outbox.get_row(h.services.db, message.dedupe_key)
    assert row is not None and row.status == "uncertain" and row.next_attempt_at is None

    h.emulator.clear_faults()
    for hours in (1, 2, 6):
        h.clock.advance(hours=hours)
        await h.tick()
    assert len(h.emulator.sent_to(secretary.telegram_id)) == 2  # never a third copy
    assert len(h.emulator.sent_to(other.telegram_id)) == 1


async def test_a_digest_resent_after_a_late_answer_is_logged_as_sent(h):
    [secretary] = await add_members(h, 1)
    h.emulator.inject(secretary.telegram_id, "slow", times=1, delay=LATE)
    message = digest(secretary, due_at=now_ts(h))
    await enqueue(h, [message])
    await h.tick()
    h.clock.advance(minutes=31)
    report = (await h.tick()).delivery
    assert report is not None and report.sent == 1
    row = await outbox.get_row(h.services.db, message.dedupe_key)
    assert row is not None and row.status == "sent" and row.uncertain_at is not None
    h.clock.advance(hours=3)
    await h.tick()
    assert len(h.emulator.sent_to(secretary.telegram_id)) == 2


async def test_a_bot_api_slow_for_everyone_stops_the_run_and_keeps_the_rest_unsent(h):
    members = await add_members(h, 6)
    h.emulator.inject(None, "slow", times=None, delay=LATE)
    messages = [reminder(p, due_at=now_ts(h) + i) for i, p in enumerate(members)]
    h.clock.advance(seconds=10)
    await enqueue(h, messages)
    started = time.monotonic()
    report = (await h.tick()).delivery
    assert time.monotonic() - started < UNKNOWN_BEFORE_STOP * TIMEOUT + 1.5
    assert report is not None and report.stopped == "Bot API not answering"
    # Nothing answered, so nothing was measured and k is 2: the send already in
    # flight when the third unknown outcome stops the run ends as unknown too.
    assert UNKNOWN_BEFORE_STOP <= report.uncertain <= UNKNOWN_BEFORE_STOP + 1
    statuses = await outbox.count_by_status(h.services.db)
    assert statuses == {"uncertain": report.uncertain, "pending": 6 - report.uncertain}

    h.emulator.clear_faults()
    for minutes in (1, 31, 120):
        h.clock.advance(minutes=minutes)
        await h.tick()
    assert [len(h.emulator.sent_to(p.telegram_id)) for p in members] == [1] * 6
