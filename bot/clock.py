"""The one source of "now".

    clock = FakeClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    clock.advance(hours=2)
    clock.now()  # aware UTC datetime

Everything stores and compares UTC; a member's zone is applied only when a
time is shown or a local hour is scheduled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """Gives the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FakeClock:
    """A clock tests and the demo move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Return the fake current UTC time."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (aware)."""
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by `delta` or timedelta(**kwargs) and return the new now."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def timestamp(self) -> float:
        """Return now as unix seconds (for the emulator's message dates)."""
        return self._now.timestamp()
