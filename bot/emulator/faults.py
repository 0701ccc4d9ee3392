"""Failure injection and flood-control enforcement for send-type calls.

:class:`FaultInjector` arms one-shot (or repeating) failures per chat;
:class:`SlidingWindowLimiter` refuses sends above a configured rate the way
Telegram's flood control does (429 with ``retry_after``).

Telegram documents its overall limit only as "about 30 messages per second"
and does not say how it counts.  By default the overall limit here is the
strictest reading, a 1-second sliding window with zero tolerance: 30 arrivals
within any second, however they were sent, draw a 429.  A client that starts
sends evenly at 29.4/s still trips it whenever the network bunches two
arrivals by a few ms, which is not what bots paced like that see in practice.
``burst=N`` models the limit instead as a token bucket: tokens refill at the
rate, up to N; each send takes one.  A sustained rate above the limit, or a
burst of more than N, is refused all the same, but arrivals bunched by up to
(N - 1)/rate seconds of jitter are not (the fan-out bench uses N = rate/10,
i.e. 0.1 s of tolerance: 3 at 30/s).

Example::

    faults = FaultInjector()
    faults.inject(1001, "flood", times=2, retry_after=3)
    faults.take(1001).kind   # "flood" (twice), then take() returns None
    faults.inject(1002, "slow", delay=2.0)   # accepted and recorded, answered 2 s later

A "slow" fault is Telegram accepting a message and answering after the
client's read timeout: the message is delivered, the client sees no answer.
A "drop" aborts the connection before the message is processed.

    limiter = SlidingWindowLimiter(global_per_second=30, per_chat_per_second=1)
    limiter.admit(1001)      # True, then False until a second has passed
    limiter.admit(1001, bot=7000000002)   # another token: its own 30/s and its own chats
    SlidingWindowLimiter(global_per_second=30, burst=3)   # overall: a token bucket
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["FAULT_KINDS", "Fault", "FaultInjector", "FaultKind", "SlidingWindowLimiter"]

FaultKind = Literal["blocked", "chat_not_found", "flood", "drop", "slow"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


@dataclass
class Fault:
    """An armed failure: ``remaining`` uses left (``None`` = forever)."""

    kind: FaultKind
    remaining: int | None
    retry_after: int = 1
    delay: float = 0.0  # "slow": seconds between recording the message and answering


class FaultInjector:
    """Per-chat queues of armed faults; ``chat_id=None`` arms a fault for any chat."""

    def __init__(self) -> None:
        self._armed: dict[int | None, deque[Fault]] = {}

    def __bool__(self) -> bool:
        return bool(self._armed)

    def inject(
        self,
        chat_id: int | None,
        kind: FaultKind,
        *,
        times: int | None = 1,
        retry_after: int = 1,
        delay: float = 0.0,
    ) -> Fault:
        """Arm ``kind`` for the next ``times`` sends to ``chat_id`` (None: any chat)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None (forever)")
        if kind == "slow" and delay <= 0:
            raise ValueError("a slow fault needs a positive delay (seconds)")
        fault = Fault(kind=kind, remaining=times, retry_after=retry_after, delay=delay)
        self._armed.setdefault(chat_id, deque()).append(fault)
        return fault

    def take(self, chat_id: int | None) -> Fault | None:
        """Consume one use of the fault that applies to a send to ``chat_id``, if any."""
        if not self._armed:
            return None
        for key in (chat_id, None):
            queue = self._armed.get(key)
            if queue:
                fault = queue[0]
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        queue.popleft()
                        if not queue:
                            del self._armed[key]
                return fault
        return None

    def clear(self, chat_id: int | None = None, *, all_chats: bool = False) -> None:
        """Disarm faults for ``chat_id`` (or every fault with ``all_chats=True``)."""
        if all_chats:
            self._armed.clear()
        else:
            self._armed.pop(chat_id, None)


class _Window:
    """Sliding window admitting ``capacity`` events per ``span`` seconds."""

    __slots__ = ("capacity", "span", "stamps")

    def __init__(self, per_second: float) -> None:
        # Rates below 1/s become "one event per 1/rate seconds".
        self.capacity = max(1, math.floor(per_second))
        self.span = self.capacity / per_second
        self.stamps: deque[float] = deque()

    def has_room(self, now: float) -> bool:
        """Expire old stamps and report whether one more event fits."""
        horizon = now - self.span
        stamps = self.stamps
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        return len(stamps) < self.capacity


class _Bucket:
    """Token bucket: ``rate`` tokens a second, at most ``capacity`` saved up."""

    __slots__ = ("capacity", "last", "rate", "tokens")

    def __init__(self, rate: float, capacity: int) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.last: float | None = None

    def has_room(self, now: float) -> bool:
        """Refill for the time since the last look and report whether a token is left."""
        if self.last is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return self.tokens >= 1.0

    def take(self) -> None:
        self.tokens -= 1.0


class SlidingWindowLimiter:
    """Per-bot overall and per-(bot, chat) send limits over real monotonic time."""

    def __init__(
        self,
        *,
        global_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        retry_after: int = 1,
        burst: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        for value in (global_per_second, per_chat_per_second):
            if value is not None and value <= 0:
                raise ValueError("rate limits must be positive (or None for unlimited)")
        if burst is not None and burst < 1:
            raise ValueError("burst must be >= 1 (or None for the strict sliding window)")
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.retry_after = retry_after
        self.burst = burst
        self._monotonic = monotonic
        # Telegram's limits are per token: each bot (its token's number) has
        # its own overall window, and a chat's window is per (bot, chat).
        self._globals: dict[int | str | None, _Window | _Bucket] = {}
        self._chats: dict[tuple[int | str | None, int | str], _Window] = {}

    def _global_for(self, bot: int | str | None) -> _Window | _Bucket | None:
        if not self.global_per_second:
            return None
        window = self._globals.get(bot)
        if window is None:
            window = self._globals[bot] = (
                _Bucket(self.global_per_second, self.burst)
                if self.burst is not None
                else _Window(self.global_per_second)
            )
        return window

    def admit(self, chat_id: int | str | None, bot: int | str | None = None) -> bool:
        """Record and allow one send by ``bot`` to ``chat_id``, or refuse it without recording."""
        now = self._monotonic()
        chat_window: _Window | None = None
        if self.per_chat_per_second is not None and chat_id is not None:
            chat_window = self._chats.get((bot, chat_id))
            if chat_window is None:
                chat_window = self._chats[(bot, chat_id)] = _Window(self.per_chat_per_second)
            if not chat_window.has_room(now):
                return False
        overall = self._global_for(bot)
        if overall is not None:
            if not overall.has_room(now):
                return False
            if isinstance(overall, _Bucket):
                overall.take()
            else:
                overall.stamps.append(now)
        if chat_window is not None:
            chat_window.stamps.append(now)
        return True
