"""bot.pacing on a fake monotonic clock: overall window, per-chat gaps, flood pauses."""

from __future__ import annotations

import math

import pytest

from bot.config import DeliverySettings
from bot.pacing import PACE_FRACTION, Pacer, pacer_for


class FakeMonotonic:
    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


def make(clock: FakeMonotonic, **kwargs: float) -> Pacer:
    rates = {"global_per_second": 30.0, "per_chat_per_second": 1.0} | kwargs
    return Pacer(monotonic=clock, **rates)


def send_greedily(pacer: Pacer, clock: FakeMonotonic, chats: list[int]) -> list[float]:
    """Send to each chat in turn as soon as the pacer allows; return the send times."""
    times = []
    for chat in chats:
        clock.now = max(clock.now, pacer.ready_at(chat))
        pacer.record(chat)
        times.append(clock.now)
    return times


def test_fresh_pacer_allows_any_chat_at_once(clock):
    pacer = make(clock)
    assert pacer.ready_at(1) == -math.inf
    assert pacer.delay(1) == 0.0
    assert pacer.delay() == 0.0


def test_same_chat_waits_one_second(clock):
    pacer = make(clock)
    pacer.record(7)
    assert pacer.ready_at(7) == pytest.approx(clock.now + 1.0)
    assert pacer.delay(7) == pytest.approx(1.0)
    clock.advance(0.4)
    assert pacer.delay(7) == pytest.approx(0.6)
    # Another chat is not held back by chat 7's cool-down.
    assert pacer.delay(8) == 0.0
    clock.advance(0.6)
    assert pacer.delay(7) == 0.0


def test_per_chat_rate_setting_sets_the_gap(clock):
    pacer = make(clock, per_chat_per_second=0.5)
    pacer.record(7)
    assert pacer.delay(7) == pytest.approx(2.0)


def test_groups_respect_per_minute_limit(clock):
    pacer = make(clock, per_group_per_minute=20)
    pacer.record(-1001)
    pacer.record(7)
    assert pacer.delay(-1001) == pytest.approx(3.0)
    assert pacer.delay(7) == pytest.approx(1.0)


def test_global_window_never_exceeds_rate(clock):
    pacer = make(clock, global_per_second=30)
    times = send_greedily(pacer, clock, list(range(1, 301)))
    # The first 30 go at once; then each window of one second holds at most 30.
    assert times[29] == times[0]
    assert times[30] == pytest.approx(times[0] + 1.0)
    for i in range(len(times) - 30):
        assert times[i + 30] - times[i] >= 1.0 - 1e-9
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(30, rel=0.12)


def test_fractional_global_rate(clock):
    pacer = make(clock, global_per_second=0.5)
    times = send_greedily(pacer, clock, [1, 2, 3])
    assert [t - times[0] for t in times] == pytest.approx([0.0, 2.0, 4.0])


def test_record_time_can_be_given(clock):
    pacer = make(clock)
    pacer.record(7, at=clock.now + 0.25)  # the response arrived later than "now"
    assert pacer.ready_at(7) == pytest.approx(clock.now + 1.25)


def test_pause_holds_every_chat(clock):
    pacer = make(clock)
    pacer.pause(3)
    assert pacer.delay() == pytest.approx(3.0)
    assert pacer.delay(42) == pytest.approx(3.0)
    # A shorter pause later does not shorten the current one.
    pacer.pause(1)
    assert pacer.delay() == pytest.approx(3.0)
    clock.advance(3)
    assert pacer.delay(42) == 0.0


def test_ready_at_is_the_later_of_chat_and_window(clock):
    pacer = make(clock, global_per_second=2)
    pacer.record(1)
    pacer.record(2)
    clock.advance(0.5)
    # Window full until 1.0 after the first send; chat 1 also cools until then.
    assert pacer.delay(3) == pytest.approx(0.5)
    assert pacer.delay(1) == pytest.approx(0.5)
    pacer.pause(2)
    assert pacer.delay(3) == pytest.approx(2.0)


def test_idle_chats_are_forgotten(clock):
    pacer = make(clock, global_per_second=100000)
    for chat in range(5000):
        pacer.record(chat)
        clock.advance(0.001)
    # Past 4096 chats, those no longer cooling down are forgotten (~1000 per second here).
    assert pacer.tracked_chats() < 2000
    assert pacer.delay(4999) > 0


def test_rates_must_be_positive(clock):
    with pytest.raises(ValueError):
        make(clock, global_per_second=0)
    with pytest.raises(ValueError):
        make(clock, per_chat_per_second=-1)


def test_one_pacer_per_bot_and_settings():
    settings = DeliverySettings(global_per_second=30)
    first = pacer_for("111:AAAAAAAAAAAAAAA", settings)
    assert pacer_for("111:AAAAAAAAAAAAAAA", settings) is first
    assert pacer_for("222:BBBBBBBBBBBBBBB", settings) is not first
    changed = pacer_for("111:AAAAAAAAAAAAAAA", DeliverySettings(global_per_second=10))
    assert changed is not first
    # Paced just under the limit: sends start in time with k in flight, and
    # network jitter between start and arrival must not tip Telegram's window.
    assert changed.global_per_second == pytest.approx(10 * PACE_FRACTION)


def test_paid_broadcasts_raise_the_pace_to_the_paid_rate():
    free = pacer_for("333:CCCCCCCCCCCCCCC", DeliverySettings())
    paid = pacer_for("333:CCCCCCCCCCCCCCC", DeliverySettings(paid_broadcast=True))
    assert free.global_per_second == pytest.approx(30 * PACE_FRACTION)
    assert paid.global_per_second == pytest.approx(1000 * PACE_FRACTION)
    assert paid.chat_interval == 1.0  # still one a second to each chat


def test_begin_paces_on_send_start_and_finish_cools_the_chat(clock):
    pacer = make(clock, global_per_second=2.0)
    pacer.begin()
    pacer.begin()
    assert pacer.global_ready_at() == pytest.approx(clock.now + 1.0)  # window full from the starts
    assert pacer.chat_ready_at(7) == -math.inf  # nothing answered yet
    clock.advance(0.3)
    pacer.finish(7)
    assert pacer.chat_ready_at(7) == pytest.approx(clock.now + 1.0)
