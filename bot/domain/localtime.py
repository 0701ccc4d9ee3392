"""Show stored UTC times in a person's own zone.

    tz = zone("Europe/Madrid")                    # unknown or None: the default zone
    local_date(now_ts, tz)                        # date in Madrid
    format_local(invite.expires_at, tz)           # "2026-03-09 02:00"
    canonical_timezone("europe/madrid")           # "Europe/Madrid", or None

Everything is stored as UTC unix seconds; a zone is applied only to show a
time or to decide what "today" is for someone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.config import DEFAULT_TIMEZONE

__all__ = [
    "canonical_timezone", "days_since", "format_local", "local_clock", "local_date", "zone",
]


def zone(name: str | None, default: str = DEFAULT_TIMEZONE) -> ZoneInfo:
    """Return the zone called `name`, or `default` when it is missing or unknown."""
    for candidate in (name, default, DEFAULT_TIMEZONE):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_date(timestamp: int | float, tz: ZoneInfo) -> date:
    """Return the calendar date in `tz` at a UTC unix timestamp."""
    return datetime.fromtimestamp(timestamp, UTC).astimezone(tz).date()


def format_local(timestamp: int | float, tz: ZoneInfo, *, with_time: bool = True) -> str:
    """Return `YYYY-MM-DD HH:MM` (or just the date) in `tz` for a UTC unix timestamp."""
    moment = datetime.fromtimestamp(timestamp, UTC).astimezone(tz)
    return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def local_clock(timestamp: int | float, tz: ZoneInfo) -> str:
    """Return the wall-clock `HH:MM` in `tz` at a UTC unix timestamp."""
    return datetime.fromtimestamp(timestamp, UTC).astimezone(tz).strftime("%H:%M")


def days_since(timestamp: int | float, now: int | float) -> int:
    """Return whole days from `timestamp` to `now` (0 for today or the future)."""
    return max(0, int((now - timestamp) // 86400))


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def canonical_timezone(text: str) -> str | None:
    """Return the IANA zone name the text spells (any letter case), or None."""
    name = text.strip()
    if not name or ("/" not in name and name.upper() != "UTC"):
        # Bare words ("Madrid", "EST") are city names or ambiguous abbreviations.
        return None
    return _zones_by_folded_name().get(name.casefold())
