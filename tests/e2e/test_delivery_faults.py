"""The delivery engine against the emulator's faults: 429, 403, chat not found, drops, pacing.

(Answers after the client's timeout: tests/e2e/test_slow_api.py.)

Rows go straight into the outbox (as the planners would put them) and one
scheduler tick delivers them through the real Application over HTTP.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.delivery import deliver_due
from bot.domain.outgoing import OutgoingMessage, occurrence_key
from bot.scheduling import JOB_NAME
from storage.repositories import outbox, people
from tests.e2e.harness import BotHarness

BASE_ID = 610000


async def settle(h: BotHarness) -> None:
    """Let the scheduler's start-up tick finish, so only our h.tick() delivers."""
    assert h.app is not None and h.app.job_queue is not None
    jobs = h.app.job_queue.get_jobs_by_name(JOB_NAME)
    deadline = asyncio.get_running_loop().time() + 5
    soon = datetime.now(UTC) + timedelta(seconds=60)
    while jobs and (jobs[0].next_t is None or jobs[0].next_t < soon):
        assert asyncio.get_running_loop().time() < deadline, "scheduler never ticked"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    async with h.app.bot_data.setdefault("branchbot.tick_lock", asyncio.Lock()):
        pass


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path, seed_county=False) as harness:
        await settle(harness)
        yield harness


def now_ts(h: BotHarness) -> int:
    return int(h.clock.now().timestamp())


async def add_members(h: BotHarness, count: int, *, first: int = BASE_ID, emulated: bool = True):
    """Create people (and, unless told otherwise, their emulator users); return them."""
    result = []
    for telegram_id in range(first, first + count):
        if emulated:
            h.user(telegram_id)
        result.append(
            await people.ensure_person(h.services.db, telegram_id=telegram_id, now=now_ts(h))
        )
    return result


def reminder(person, *, n: int = 0, due_at: int, text: str | None = None, **kw) -> OutgoingMessage:
    return OutgoingMessage(
        dedupe_key=occurrence_key("study.reminder", person.id, "item1", n),
        kind="study.reminder",
        person_id=person.id,
        chat_id=person.telegram_id,
        text=text if text is not None else f"<b>学习提醒</b> {person.telegram_id}/{n}",
        due_at=due_at,
        **kw,
    )


async def enqueue(h: BotHarness, messages: list[OutgoingMessage]) -> None:
    await outbox.enqueue(h.services.db, messages, now=now_ts(h))


def sends(h: BotHarness) -> int:
    return h.emulator.stats.requests_by_method["sendMessage"]


async def status_of(h: BotHarness, message: OutgoingMessage) -> str:
    row = await outbox.get_row(h.services.db, message.dedupe_key)
    assert row is not None
    return row.status


async def test_delivers_each_member_once_and_a_second_tick_sends_nothing(h):
    members = await add_members(h, 25)
    await enqueue(h, [reminder(p, due_at=now_ts(h) - 60) for p in members])
    report = (await h.tick()).delivery
    assert report is not None and report.sent == 25 and report.stopped is None
    for p in members:
        [message] = h.emulator.sent_to(p.telegram_id)
        assert message.plain == f"学习提醒 {p.telegram_id}/0"
        assert any(e["type"] == "bold" for e in message.entities)  # HTML parse mode
    row = await outbox.get_row(h.services.db, reminder(members[0], due_at=0).dedupe_key)
    assert row is not None and row.status == "sent" and row.message_id is not None

    again = (await h.tick()).delivery
    assert again is not None and again.sent == 0
    assert h.emulator.stats.sends_ok == 25


async def test_burst_of_429s_waits_and_delivers_exactly_once(h):
    members = await add_members(h, 10)
    h.emulator.inject(None, "flood", times=3, retry_after=1)
    await enqueue(h, [reminder(p, due_at=now_ts(h)) for p in members])
    report = (await h.tick()).delivery
    assert report is not None
    assert report.retried == 3 and report.sent == 10
    assert h.emulator.stats.flood_refusals == 3
    assert {p.telegram_id: h.emulator.stats.sends_by_chat[p.telegram_id] for p in members} == {
        p.telegram_id: 1 for p in members
    }


async def test_server_rate_limit_below_ours_is_obeyed_without_loss(h):
    members = await add_members(h, 30)
    h.emulator.set_rate_limit(global_per_second=10, retry_after=1)
    await enqueue(h, [reminder(p, due_at=now_ts(h)) for p in members])
    report = (await h.tick()).delivery
    assert report is not None and report.sent == 30
    assert report.retried > 0 and h.emulator.stats.flood_refusals == report.retried
    assert all(h.emulator.stats.sends_by_chat[p.telegram_id] == 1 for p in members)


async def test_blocked_member_is_marked_unreachable_and_not_retried(h):
    blocked, fine = await add_members(h, 2)
    h.emulator.inject(blocked.telegram_id, "blocked", times=None)
    first = reminder(blocked, n=0, due_at=now_ts(h) - 10)
    second = reminder(blocked, n=1, due_at=now_ts(h) - 5)
    await enqueue(h, [first, second, reminder(fine, due_at=now_ts(h))])
    report = (await h.tick()).delivery
    assert report is not None
    assert (report.sent, report.unreachable, report.retried) == (1, 2, 0)
    assert report.unreachable_people == [blocked.id]
    # One attempt for the blocked member (the second row was closed unsent), one for the other.
    assert sends(h) == 2
    person = await people.get_person(h.services.db, blocked.id)
    assert person is not None and not person.is_reachable
    assert await status_of(h, first) == "unreachable"
    assert await status_of(h, second) == "unreachable"
    row = await outbox.get_row(h.services.db, first.dedupe_key)
    assert row is not None and "blocked" in (row.last_error or "")

    h.clock.advance(hours=1)
    await h.tick()
    assert sends(h) == 2


async def test_chat_not_found_is_marked_unreachable_and_not_retried(h):
    [ghost] = await add_members(h, 1, emulated=False)  # Telegram does not know this chat
    [fine] = await add_members(h, 1, first=BASE_ID + 100)
    lost = reminder(ghost, due_at=now_ts(h))
    await enqueue(h, [lost, reminder(fine, due_at=now_ts(h))])
    report = (await h.tick()).delivery
    assert report is not None and (report.sent, report.unreachable) == (1, 1)
    assert sends(h) == 2
    person = await people.get_person(h.services.db, ghost.id)
    assert person is not None and not person.is_reachable
    assert await status_of(h, lost) == "unreachable"
    h.clock.advance(hours=1)
    await h.tick()
    assert sends(h) == 2


async def test_injected_chat_not_found_too(h):
    [member] = await add_members(h, 1)
    h.emulator.inject(member.telegram_id, "chat_not_found")
    message = reminder(member, due_at=now_ts(h))
    await enqueue(h, [message])
    report = (await h.tick()).delivery
    assert report is not None and report.unreachable == 1 and sends(h) == 1
    assert await status_of(h, message) == "unreachable"


async def test_dropped_connection_is_not_repeated_blindly(h):
    """The connection died after the request went out: Telegram may have the message."""
    members = await add_members(h, 3)
    h.emulator.inject(members[1].telegram_id, "drop", times=2)
    messages = [reminder(p, due_at=now_ts(h)) for p in members]
    await enqueue(h, messages)
    report = (await h.tick()).delivery
    assert report is not None
    assert (report.sent, report.uncertain, report.retried) == (2, 1, 0)
    assert h.emulator.stats.drops == 1  # one try, no in-process repeat
    row = await outbox.get_row(h.services.db, messages[1].dedupe_key)
    assert row is not None and row.status == "uncertain" and row.next_attempt_at is None
    assert "RemoteProtocolError" in (row.last_error or "")
    h.clock.advance(hours=2)
    await h.tick()
    assert h.emulator.stats.drops == 1 and sends(h) == 3  # a reminder is never re-sent


@pytest.fixture
def refuse_sends(monkeypatch):
    """Refuse every send's TCP connection, as a network that is down does (gets still work)."""
    real = httpx.AsyncHTTPTransport.handle_async_request
    refused = {"on": True, "count": 0}

    async def handle(self, request):
        if refused["on"] and request.url.path.endswith(("/sendMessage", "/sendPhoto")):
            refused["count"] += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await real(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)
    return refused


async def test_network_down_leaves_rows_pending_for_a_later_tick(tmp_path, refuse_sends):
    """A refused connection never reached Telegram: retried in-process, then by a later tick."""
    config = {"delivery": {"max_attempts": 2}}
    async with BotHarness.started(tmp_path, seed_county=False, config=config) as h:
        await settle(h)
        members = await add_members(h, 2)
        messages = [reminder(p, due_at=now_ts(h)) for p in members]
        await enqueue(h, messages)
        report = (await h.tick()).delivery
        assert report is not None
        # The first send to use up its max_attempts tries stops the run; a
        # send in flight meanwhile (k of them, here up to 2; starts are spaced,
        # so it may still be waiting to retry) is given back untouched.
        assert (report.sent, report.failed, report.uncertain) == (0, 0, 0)
        assert 1 <= report.deferred <= 2
        assert report.stopped == "network errors"
        assert 2 * report.deferred <= refuse_sends["count"] <= 2 * len(members)
        rows = [await outbox.get_row(h.services.db, m.dedupe_key) for m in messages]
        assert all(row is not None and row.status == "pending" for row in rows)
        tried = [row for row in rows if row is not None and row.attempts == 1]
        assert len(tried) == report.deferred
        for row in tried:
            assert row.next_attempt_at is not None and row.next_attempt_at > now_ts(h)
            assert "ConnectError" in (row.last_error or "")

        refuse_sends["on"] = False
        h.clock.advance(minutes=1)
        report = (await h.tick()).delivery
        assert report is not None and report.sent == 2
        assert [len(h.emulator.sent_to(p.telegram_id)) for p in members] == [1, 1]


async def test_per_chat_pacing_does_not_hold_back_other_chats(tmp_path):
    config = {"delivery": {"per_chat_per_second": 1}}
    async with BotHarness.started(tmp_path, seed_county=False, config=config) as h:
        await settle(h)
        await _per_chat_pacing(h)


async def _per_chat_pacing(h: BotHarness) -> None:
    busy, *others = await add_members(h, 6)
    now = now_ts(h)
    first = reminder(busy, n=0, due_at=now - 3)
    second = reminder(busy, n=1, due_at=now - 2)
    await enqueue(h, [first, second] + [reminder(p, due_at=now - 1) for p in others])
    report = (await h.tick()).delivery
    assert report is not None and report.sent == 7
    gap = h.emulator.stats.per_chat_min_interval(busy.telegram_id)
    assert gap is not None and gap >= 1.0
    order = [m.chat_id for m in h.emulator.all_sent]
    # The busy chat's second message waited its second; everyone else went meanwhile.
    assert order[0] == busy.telegram_id and order[-1] == busy.telegram_id
    assert sorted(order[1:-1]) == [p.telegram_id for p in others]
    assert [m.plain for m in h.emulator.sent_to(busy.telegram_id)] == [
        f"学习提醒 {busy.telegram_id}/0",
        f"学习提醒 {busy.telegram_id}/1",
    ]


async def test_grace_window_expires_stale_rows(h):
    late, on_time = await add_members(h, 2)
    now = now_ts(h)
    stale = reminder(late, due_at=now - 13 * 3600)
    fresh = reminder(on_time, due_at=now - 11 * 3600)
    soon_over = reminder(on_time, n=1, due_at=now - 60, expires_at=now - 1)
    await enqueue(h, [stale, fresh, soon_over])
    report = (await h.tick()).delivery
    assert report is not None
    assert (report.sent, report.expired) == (1, 2)
    assert report.expired_by_kind == {"study.reminder": 2}
    assert await status_of(h, stale) == "expired"
    assert await status_of(h, soon_over) == "expired"
    assert await status_of(h, fresh) == "sent"
    assert h.emulator.sent_to(late.telegram_id) == []
    assert len(h.emulator.sent_to(on_time.telegram_id)) == 1


async def test_rejected_message_fails_without_retry(h):
    [member] = await add_members(h, 1)
    broken = reminder(member, due_at=now_ts(h) - 5, text="<b>未闭合")
    await enqueue(h, [broken, reminder(member, n=1, due_at=now_ts(h), text="好的")])
    report = (await h.tick()).delivery
    assert report is not None and (report.failed, report.sent, report.retried) == (1, 1, 0)
    row = await outbox.get_row(h.services.db, broken.dedupe_key)
    assert row is not None and row.status == "failed"
    assert "can't parse entities" in (row.last_error or "").lower()
    assert report.errors and "can't parse entities" in report.errors[0].lower()
    person = await people.get_person(h.services.db, member.id)
    assert person is not None and person.is_reachable


async def test_keyboard_and_photo_are_sent(h):
    [member] = await add_members(h, 1)
    markup = {"inline_keyboard": [[{"text": "已学习", "callback_data": "study:done:1"}]]}
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    await enqueue(
        h,
        [
            reminder(member, n=0, due_at=now_ts(h) - 5, reply_markup=markup),
            reminder(member, n=1, due_at=now_ts(h), photo=png, text="<i>图</i>"),
        ],
    )
    report = (await h.tick()).delivery
    assert report is not None and report.sent == 2
    text, photo = h.emulator.sent_to(member.telegram_id)
    assert text.reply_markup == markup
    assert photo.kind == "photo" and photo.caption == "<i>图</i>" and photo.plain == "图"


async def test_marks_commit_even_if_a_handler_transaction_rolls_back(h):
    """The 'sent' marks do not ride along in a transaction open on the shared connection."""
    members = await add_members(h, 3)
    await enqueue(h, [reminder(p, due_at=now_ts(h)) for p in members])
    db = h.services.db
    await db.execute("BEGIN")  # a handler's transaction, open across awaits
    try:
        report = await deliver_due(h.app.bot, h.services)
    finally:
        await db.execute("ROLLBACK")
    assert report.sent == 3
    assert await outbox.count_by_status(db) == {"sent": 3}
    assert (await h.tick()).delivery.sent == 0
    assert h.emulator.stats.sends_ok == 3


async def test_stops_between_messages_when_the_bot_stops(h):
    members = await add_members(h, 3)
    await enqueue(h, [reminder(p, due_at=now_ts(h)) for p in members])
    calls = iter([False, True])
    report = await deliver_due(h.app.bot, h.services, should_stop=lambda: next(calls, True))
    assert report.sent == 1 and report.stopped == "bot stopping"
    assert await outbox.count_by_status(h.services.db) == {"sent": 1, "pending": 2}
