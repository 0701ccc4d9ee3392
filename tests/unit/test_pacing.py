"""bot.pacing on a fake monotonic clock: overall window, per-chat gaps, flood pauses."""

from __future__ import annotations

import itertools
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


def test_starts_are_spread_evenly_not_in_bursts(clock):
    # A window of 30 may not be spent in a burst: with k in flight a burst
    # would reach the server bunched, and the network's jitter decides the rest.
    pacer = make(clock)
    starts = []
    for _ in range(60):
        clock.now = max(clock.now, pacer.global_ready_at())
        pacer.begin()
        starts.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) == pytest.approx(1 / 30)
    assert starts[30] - starts[0] == pytest.approx(1.0)


def test_measured_jitter_widens_the_gap_between_starts(clock):
    pacer = make(clock)
    steady = pacer.start_gap()
    for rtt in (0.2, 0.2, 0.2, 0.2):
        pacer.observe(rtt)
    assert pacer.start_gap() == pytest.approx(steady)  # no jitter, no headroom
    for rtt in (0.18, 0.22) * 10:
        pacer.observe(rtt)
    assert pacer.round_trip == pytest.approx(0.2, abs=0.01)
    # About 20 ms of deviation: each window of 30 starts is stretched by twice that.
    assert pacer.headroom() == pytest.approx(0.04, abs=0.01)
    assert pacer.start_gap() == pytest.approx((1.0 + pacer.headroom()) / 30)
    # 30 arrivals, each moved by up to ±20 ms, still span more than a second.
    assert 30 * pacer.start_gap() - 0.04 > 1.0


def test_headroom_is_capped_on_a_wild_network(clock):
    pacer = make(clock)
    for rtt in (0.1, 5.0) * 10:
        pacer.observe(rtt)
    assert pacer.headroom() == pytest.approx(0.25)


def test_a_429_pauses_then_goes_on_evenly_a_little_slower(clock):
    pacer = make(clock)
    gap = pacer.start_gap()
    pacer.begin()
    # k sends in flight refused in one go: one pause, one slowdown.
    for _ in range(7):
        pacer.pause(1.0)
        pacer.flooded()
    assert pacer.slowdown == pytest.approx(1.03)
    assert pacer.global_ready_at() == pytest.approx(clock.now + 1.0)
    clock.advance(1.0)
    pacer.begin()
    # After the pause the pace resumes at once, not in a burst, about 3 % slower ...
    assert pacer.global_ready_at() == pytest.approx(clock.now + gap * 1.03)
    # ... and the slowdown wears off as sends are answered.
    for _ in range(200):
        pacer.observe(0.1)
    assert pacer.slowdown == pytest.approx(1.0)
    # A 429 after the pause is a new excess: it slows again.
    pacer.pause(1.0)
    pacer.flooded()
    assert pacer.slowdown == pytest.approx(1.03)


def test_late_starts_do_not_add_up_to_a_lower_rate(clock):
    # The event loop wakes a few ms after the pacer's time: 2 ms late each
    # time must not become 2 ms more per gap (6 % at 30/s).
    pacer = make(clock)
    starts = []
    for _ in range(301):
        clock.now = max(clock.now, pacer.global_ready_at()) + 0.002
        pacer.begin()
        starts.append(clock.now)
    assert (starts[-1] - starts[0]) == pytest.approx(10.0, abs=0.01)
    # An idle spell restarts the grid: no burst to catch up.
    clock.advance(5.0)
    pacer.begin()
    assert pacer.global_ready_at() == pytest.approx(clock.now + 1 / 30)


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_workers_sharing_a_bot_together_stay_within_its_limit(clock, workers):
    # n delivery worker processes of one bot each pace at 1/n of its limit
    # (bot.scheduling sets the share from the live delivery leases).
    rate = 30.0 * PACE_FRACTION  # as pacer_for builds it for a 30/s token
    pacers = [make(clock, global_per_second=rate) for _ in range(workers)]
    for pacer in pacers:
        pacer.set_share(1 / workers)
        assert pacer.rate == pytest.approx(rate / workers)
    starts: list[float] = []
    for _ in range(600):
        pacer = min(pacers, key=lambda p: p.global_ready_at())
        clock.now = max(clock.now, pacer.global_ready_at())
        pacer.begin()
        starts.append(clock.now)
    # Together, over any 3 s (each worker's first start of a window aside),
    # they start no more than the token's 30/s ...
    for index, first in enumerate(starts):
        within = [t for t in starts[index:] if t < first + 3.0]
        assert len(within) <= 90 + workers
    # ... and they use it: n workers send as fast as one did.
    assert len(starts) / (starts[-1] - starts[0]) == pytest.approx(rate, rel=0.02)


def test_a_share_must_be_a_fraction(clock):
    with pytest.raises(ValueError):
        make(clock).set_share(0)
    with pytest.raises(ValueError):
        make(clock).set_share(1.5)
