"""Delivery counters for benchmarks and pacing assertions.

Every update is O(1) so 10,000-member fan-outs stay cheap to measure. Times come
from real monotonic time, never the emulator's (possibly fake) message clock.

Example::

    stats = emulator.stats
    assert stats.flood_refusals == 0
    assert stats.peak_per_second() <= 30
    assert stats.per_chat_min_interval(1001) >= 1.0
    print(f"{stats.achieved_rate():.0f} msg/s")
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["EmulatorStats"]


class EmulatorStats:
    """Counters of requests, delivered sends, refusals and per-second throughput."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.sends_ok = 0
        self.flood_refusals = 0
        self.drops = 0
        self.per_second: dict[int, int] = {}
        self.sends_by_chat: Counter[int | str] = Counter()
        self.requests_by_method: Counter[str] = Counter()
        self.errors_by_code: Counter[int] = Counter()
        self.first_send_at: float | None = None
        self.last_send_at: float | None = None
        self._last_by_chat: dict[int | str, float] = {}
        self._min_gap_by_chat: dict[int | str, float] = {}

    def record_request(self, method: str) -> None:
        """Count one API call by its method name as the client spelled it."""
        self.requests_by_method[method] += 1

    def record_error(self, code: int) -> None:
        """Count one error response; 429s also count as flood refusals."""
        self.errors_by_code[code] += 1
        if code == 429:
            self.flood_refusals += 1

    def record_delivery(self, chat_id: int | str | None) -> None:
        """Count one successful send-type call to ``chat_id``."""
        now = self._monotonic()
        self.sends_ok += 1
        bucket = int(now)
        self.per_second[bucket] = self.per_second.get(bucket, 0) + 1
        if self.first_send_at is None:
            self.first_send_at = now
        self.last_send_at = now
        if chat_id is None:
            return
        self.sends_by_chat[chat_id] += 1
        previous = self._last_by_chat.get(chat_id)
        if previous is not None:
            gap = now - previous
            best = self._min_gap_by_chat.get(chat_id)
            if best is None or gap < best:
                self._min_gap_by_chat[chat_id] = gap
        self._last_by_chat[chat_id] = now

    def peak_per_second(self) -> int:
        """Largest number of deliveries within one monotonic-second bucket."""
        return max(self.per_second.values(), default=0)

    def achieved_rate(self) -> float:
        """Deliveries per second between the first and last delivery (0 if undefined)."""
        if self.first_send_at is None or self.last_send_at is None:
            return 0.0
        elapsed = self.last_send_at - self.first_send_at
        return self.sends_ok / elapsed if elapsed > 0 else 0.0

    def per_chat_min_interval(self, chat_id: int | str) -> float | None:
        """Smallest gap in seconds between two deliveries to ``chat_id`` (None if < 2)."""
        return self._min_gap_by_chat.get(chat_id)

    def min_chat_interval(self) -> float | None:
        """Smallest gap between two deliveries to the same chat, over all chats."""
        return min(self._min_gap_by_chat.values(), default=None)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly snapshot (used by the control API)."""
        return {
            "sends_ok": self.sends_ok,
            "flood_refusals": self.flood_refusals,
            "drops": self.drops,
            "peak_per_second": self.peak_per_second(),
            "achieved_rate": self.achieved_rate(),
            "min_chat_interval": self.min_chat_interval(),
            "per_second": {str(k): v for k, v in sorted(self.per_second.items())},
            "sends_by_chat": {str(k): v for k, v in self.sends_by_chat.items()},
            "requests_by_method": dict(self.requests_by_method),
            "errors_by_code": {str(k): v for k, v in self.errors_by_code.items()},
        }
