"""Delivery counters for benchmarks and pacing assertions.

Every update is O(1) so 10,000-member fan-outs stay cheap to measure. Times come
from real monotonic time, never the emulator's (possibly fake) message clock.

Example::

    stats = emulator.stats
    assert stats.flood_refusals == 0
    assert stats.peak_per_second() <= 30
    assert stats.per_chat_min_interval(1001) >= 1.0
    print(f"{stats.achieved_rate():.0f} msg/s")
    # Telegram's 30/s is per token: the same figures for one bot (its token's number).
    print(stats.achieved_rate(bot=7000000002) / 30, stats.flood_refusals_by_bot[7000000002])
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
        # The same counts per bot (keyed by the token's number), since each
        # token has its own limit: "achieved ÷ allowed" is a per-bot figure.
        self.sends_by_bot: Counter[int | str] = Counter()
        self.flood_refusals_by_bot: Counter[int | str] = Counter()
        self.per_second_by_bot: dict[int | str, dict[int, int]] = {}
        self._span_by_bot: dict[int | str, list[float]] = {}  # [first, last] send

    def record_request(self, method: str) -> None:
        """Count one API call by its method name as the client spelled it."""
        self.requests_by_method[method] += 1

    def record_error(self, code: int, bot: int | str | None = None) -> None:
        """Count one error response (to ``bot``); 429s also count as flood refusals."""
        self.errors_by_code[code] += 1
        if code == 429:
            self.flood_refusals += 1
            if bot is not None:
                self.flood_refusals_by_bot[bot] += 1

    def record_delivery(self, chat_id: int | str | None, bot: int | str | None = None) -> None:
        """Count one successful send-type call by ``bot`` to ``chat_id``."""
        now = self._monotonic()
        self.sends_ok += 1
        bucket = int(now)
        self.per_second[bucket] = self.per_second.get(bucket, 0) + 1
        if bot is not None:
            self.sends_by_bot[bot] += 1
            seconds = self.per_second_by_bot.setdefault(bot, {})
            seconds[bucket] = seconds.get(bucket, 0) + 1
            self._span_by_bot.setdefault(bot, [now, now])[1] = now
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

    def peak_per_second(self, bot: int | str | None = None) -> int:
        """Largest number of deliveries (by ``bot``, else by all) in one monotonic second."""
        seconds = self.per_second if bot is None else self.per_second_by_bot.get(bot, {})
        return max(seconds.values(), default=0)

    def achieved_rate(self, bot: int | str | None = None) -> float:
        """Deliveries per second (by ``bot``, else by all) from first to last (0 if undefined)."""
        if bot is not None:
            first, last = self._span_by_bot.get(bot, (None, None))
            sent = self.sends_by_bot[bot]
        else:
            first, last, sent = self.first_send_at, self.last_send_at, self.sends_ok
        if first is None or last is None:
            return 0.0
        elapsed = last - first
        return sent / elapsed if elapsed > 0 else 0.0

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
            "by_bot": {
                str(bot): {
                    "sends_ok": self.sends_by_bot[bot],
                    "flood_refusals": self.flood_refusals_by_bot[bot],
                    "achieved_rate": self.achieved_rate(bot),
                    "peak_per_second": self.peak_per_second(bot),
                }
                for bot in sorted({*self.sends_by_bot, *self.flood_refusals_by_bot}, key=str)
            },
        }
