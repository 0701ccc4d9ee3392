"""Send pacing: Telegram's overall and per-chat limits, on an injected monotonic clock.

    pacer = Pacer(global_per_second=30, per_chat_per_second=1, monotonic=time.monotonic)
    pacer.ready_at(chat_id)         # earliest monotonic time a send to chat_id may start
    ...send...
    pacer.record(chat_id)           # the send reached Telegram (call after the response)
    # with several sends in flight (bot.delivery):
    pacer.begin()                   # a send starts now: counts in the overall window
    pacer.finish(chat_id)           # its answer came: the chat cools down from now
    pacer.pause(retry_after)        # a 429: nothing goes out for that long (flood control
                                    # is per bot, so the pause is global)
    pacer.observe(round_trip)       # an answered send's round trip: sizes k, and its
                                    # jitter widens the gap between send starts
    pacer.flooded()                 # a 429 despite the pacing: slow down a little
    pacer.set_share(1 / n)          # n delivery workers (processes) share this bot's
                                    # limit through the database: pace at 1/n of it

Pure bookkeeping, no sleeping: the delivery engine asks when a send may start and
sleeps itself, so tests drive a Pacer with a fake clock.

The overall limit is a sliding window mirroring Telegram's "N per second":
at most floor(N) sends in any window of floor(N)/N seconds.  Per chat, two sends
are at least 1/per_chat_per_second apart (groups: also 60/per_group_per_minute).
With one send in flight, `record` stamps when a response arrives: a request
reaches the server between leaving and that moment, so the server can never see
two stamps closer than the pacer allowed, whatever the network jitter.  With k
sends in flight (bot.delivery) the overall window is paced on send START
(`begin`), at PACE_FRACTION of the limit, and spread evenly: two starts are
at least `start_gap()` apart, so k sends never leave in a burst.  The server
counts arrivals, not starts, and the network moves each arrival by up to the
round trip's jitter, which the bot cannot control; so the gap leaves headroom
for it: a window of `capacity` starts is stretched by twice the measured
mean deviation of the round trip (`observe`, as TCP estimates RTTVAR).  At
30/s and a 200 ms ± 20 ms round trip that is about 29/s.  A 429 all the same
(`flooded`) waits `retry_after` and then goes on at once, evenly, 3 % slower,
the slowdown wearing off over the next few hundred sends: one refusal costs
its pause, not the run's pace.  The per-chat gap still runs from the answer
(`finish`), and a chat never has two sends in flight.

Scaled out (several delivery worker processes of one bot, issue 15), each
worker's pacer paces at its `share` of the overall limit: bot.scheduling sets
1/n, n being the bot's live delivery leases in the database, re-read at every
lease renewal, so n workers together stay within the token's limit.  The share
stretches the overall window and the start gap; per-chat gaps are unchanged.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable

from bot.config import DeliverySettings

__all__ = ["PACE_FRACTION", "Pacer", "pacer_for"]

# Pace k-in-flight sends just under the limit: 30/s becomes 29.4/s.
PACE_FRACTION = 0.98

_NEVER = -math.inf
JITTER_HEADROOM = 2.0  # × the round trip's mean deviation, added to each window of starts
MAX_HEADROOM = 0.25  # seconds: a wildly varying network slows pacing by at most this per window
FLOOD_SLOWDOWN = 1.03  # each 429 stretches the start gap by 3 % ...
MAX_SLOWDOWN = 1.25
SLOWDOWN_RECOVERY = 0.0002  # ... and each answered send takes 0.02 % of it back
_PRUNE_ABOVE = 4096  # chats remembered before idle ones are forgotten


class Pacer:
    """Tells when the next send to a chat may start, given what was sent."""

    def __init__(
        self,
        *,
        global_per_second: float,
        per_chat_per_second: float,
        per_group_per_minute: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if global_per_second <= 0 or per_chat_per_second <= 0:
            raise ValueError("rates must be positive")
        if per_group_per_minute is not None and per_group_per_minute <= 0:
            raise ValueError("rates must be positive")
        self.monotonic = monotonic
        self.global_per_second = global_per_second
        self.capacity = max(1, math.floor(global_per_second))
        self.span = self.capacity / global_per_second
        self.chat_interval = 1.0 / per_chat_per_second
        self.group_interval = (
            self.chat_interval
            if per_group_per_minute is None
            else max(self.chat_interval, 60.0 / per_group_per_minute)
        )
        # The last `capacity` send stamps; the oldest decides when the window has room.
        self._stamps: deque[float] = deque(maxlen=self.capacity)
        self._last_by_chat: dict[int, float] = {}
        self._paused_until = _NEVER
        self._last_start = _NEVER
        self.slowdown = 1.0
        self.share = 1.0  # this worker's part of the bot's overall limit (set_share)
        self._slowed_until = _NEVER  # the k sends refused in one burst slow it down once
        # The round trip's mean deviation (seconds), None until two were observed.
        self.round_trip_deviation: float | None = None
        # The bot's measured round trip to the Bot API (bot.delivery sizes k by it);
        # kept here because, like the limits, it belongs to the bot, not to one run.
        self.round_trip: float | None = None

    def now(self) -> float:
        """Return the pacer's monotonic now."""
        return self.monotonic()

    @property
    def rate(self) -> float:
        """Return the overall sends per second this pacer allows (its share of the limit)."""
        return self.global_per_second * self.share

    def set_share(self, share: float) -> None:
        """Pace at `share` (0 < share <= 1) of the overall limit: n workers share one bot."""
        if not 0 < share <= 1:
            raise ValueError("a share is in (0, 1]")
        self.share = share

    def interval(self, chat_id: int) -> float:
        """Return the minimum gap between two sends to `chat_id` (groups have negative ids)."""
        return self.group_interval if chat_id < 0 else self.chat_interval

    def chat_ready_at(self, chat_id: int) -> float:
        """Return when the chat's cool-down ends (-inf if it has none)."""
        last = self._last_by_chat.get(chat_id)
        return _NEVER if last is None else last + self.interval(chat_id)

    def headroom(self) -> float:
        """Return the seconds each window of `capacity` starts is stretched for jitter."""
        deviation = self.round_trip_deviation or 0.0
        return min(MAX_HEADROOM, JITTER_HEADROOM * deviation)

    def start_gap(self) -> float:
        """Return the least time between two send starts (k in flight): even, with headroom."""
        return (self.span * self.slowdown + self.headroom()) / self.capacity / self.share

    def global_ready_at(self) -> float:
        """Return when the overall window, the even start gap and any flood pause allow
        the next send."""
        full = len(self._stamps) == self.capacity
        window = self._stamps[0] + self.span / self.share if full else _NEVER
        spaced = self._last_start + self.start_gap()
        return max(window, spaced, self._paused_until)

    def ready_at(self, chat_id: int) -> float:
        """Return the earliest monotonic time a send to `chat_id` may start."""
        return max(self.chat_ready_at(chat_id), self.global_ready_at())

    def delay(self, chat_id: int | None = None) -> float:
        """Return how many seconds to wait before sending (to `chat_id`, or to any chat)."""
        ready = self.global_ready_at() if chat_id is None else self.ready_at(chat_id)
        return max(0.0, ready - self.monotonic())

    def record(self, chat_id: int, at: float | None = None) -> None:
        """Count one send to `chat_id` that reached Telegram, stamped when it returned."""
        stamp = self.monotonic() if at is None else at
        self._stamps.append(stamp)
        self._last_by_chat[chat_id] = stamp
        if len(self._last_by_chat) > _PRUNE_ABOVE:
            self._forget_idle(stamp)

    def begin(self, at: float | None = None) -> None:
        """Count one send starting now in the overall window (k sends in flight)."""
        stamp = self.monotonic() if at is None else at
        # Starts keep to a grid: a start a few ms late (the event loop wakes
        # when it can) does not push every later one back, or the lateness
        # would add up to a lower rate.  After an idle spell the grid restarts.
        slot = self._last_start + self.start_gap()
        self._last_start = slot if slot <= stamp <= slot + self.start_gap() else stamp
        self._stamps.append(self._last_start)

    def finish(self, chat_id: int, at: float | None = None) -> None:
        """Start `chat_id`'s cool-down now, when the answer to its send arrived."""
        stamp = self.monotonic() if at is None else at
        self._last_by_chat[chat_id] = stamp
        if len(self._last_by_chat) > _PRUNE_ABOVE:
            self._forget_idle(stamp)

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` from now (Telegram's retry_after)."""
        self._paused_until = max(self._paused_until, self.monotonic() + max(0.0, seconds))

    def observe(self, round_trip: float) -> None:
        """Fold one answered send's round trip into the estimates (mean and deviation)."""
        rtt = self.round_trip
        if rtt is None:
            self.round_trip = round_trip
        else:
            deviation = abs(round_trip - rtt)
            previous = self.round_trip_deviation
            self.round_trip_deviation = (
                deviation if previous is None else 0.75 * previous + 0.25 * deviation
            )
            self.round_trip = 0.8 * rtt + 0.2 * round_trip
        self.slowdown = max(1.0, self.slowdown - SLOWDOWN_RECOVERY)

    def flooded(self) -> None:
        """Note a 429 despite the pacing: stretch the start gap a little (it wears off).

        Call after `pause`: the other sends in flight refused during the same
        pause were the same excess, so they do not slow it down again.
        """
        if self.monotonic() < self._slowed_until:
            return
        self._slowed_until = self._paused_until
        self.slowdown = min(MAX_SLOWDOWN, self.slowdown * FLOOD_SLOWDOWN)

    def tracked_chats(self) -> int:
        """Return how many chats still have a cool-down remembered."""
        return len(self._last_by_chat)

    def _forget_idle(self, now: float) -> None:
        idle = [
            chat
            for chat, last in self._last_by_chat.items()
            if last + self.interval(chat) <= now
        ]
        for chat in idle:
            del self._last_by_chat[chat]

    def matches(self, settings: DeliverySettings) -> bool:
        """Tell whether this pacer was built for these settings' rates."""
        return (
            self.global_per_second == settings.send_per_second * PACE_FRACTION
            and self.chat_interval == 1.0 / settings.per_chat_per_second
            and self.group_interval
            == max(self.chat_interval, 60.0 / settings.per_group_per_minute)
        )


# Telegram's limits are per bot, so is the pacer: one per token and API server,
# kept between ticks (so a chat served at the end of one tick still cools down
# in the next) and shared by Applications of the same bot in one process.
_PACERS: dict[str, Pacer] = {}


def pacer_for(token: str, settings: DeliverySettings, *, server: str = "") -> Pacer:
    """Return the process-wide pacer of the bot with `token` at `server`, for `settings`."""
    key = hashlib.sha256(f"{server}\n{token}".encode()).hexdigest()  # no token kept as a key
    pacer = _PACERS.get(key)
    if pacer is None or not pacer.matches(settings):
        pacer = _PACERS[key] = Pacer(
            global_per_second=settings.send_per_second * PACE_FRACTION,
            per_chat_per_second=settings.per_chat_per_second,
            per_group_per_minute=settings.per_group_per_minute,
        )
    return pacer
