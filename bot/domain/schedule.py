"""When a member may be messaged, and when each study message falls due: pure timing rules.

    windows = Windows.from_settings(settings.study)
    tz = ZoneInfo("America/New_York")
    first = first_reminder(published, time(19, 30), tz, windows, elderly=False, expires=end)
    later = followup_at(first, tz, hours=24, windows=windows, elderly=False)
    local_instant(date(2026, 3, 8), time(2, 30), tz)   # nonexistent: 03:00 EDT

Instants are aware UTC datetimes; local wall times exist only inside these
functions.  Zones come from zoneinfo, so DST is each zone's own and never a
fixed offset.  A local time that does not exist (the spring-forward gap)
becomes the first valid instant after it; an ambiguous one (fall back) is its
first occurrence (fold=0).  Reminders never fall in quiet hours, and for
elderly members only inside their daytime window: a time outside is moved
forward to the next allowed instant, never earlier.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import StudySettings

__all__ = [
    "Windows",
    "allowed_spans",
    "due_end",
    "first_allowed",
    "first_reminder",
    "followup_at",
    "is_allowed",
    "local_instant",
    "moved_wall_time",
    "next_wall_time",
    "snooze_until",
    "wall_add",
    "weekday_dates",
    "weekly_reminder",
]

_DAY = 24 * 3600
_UTC_ZONE = ZoneInfo("UTC")  # a zone without DST, to read a wall-time rule
Span = tuple[int, int]  # [start, end) in seconds after local midnight


@dataclass(frozen=True, slots=True)
class Windows:
    """Quiet hours for everyone and the daytime window of elderly members (local times)."""

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    elderly_start: time = time(9, 0)
    elderly_end: time = time(18, 0)

    @classmethod
    def from_settings(cls, settings: StudySettings) -> Windows:
        """Return the windows of the `[study]` settings."""
        return cls(
            settings.quiet_start, settings.quiet_end, settings.elderly_start, settings.elderly_end
        )


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _time(seconds: int) -> time:
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def allowed_spans(windows: Windows, *, elderly: bool) -> tuple[Span, ...]:
    """Return the parts of a local day in which a member may be messaged, in order."""
    start, end = _seconds(windows.quiet_start), _seconds(windows.quiet_end)
    if start == end:
        regular: tuple[Span, ...] = ((0, _DAY),)  # equal ends: no quiet hours at all
    elif start > end:
        regular = ((end, start),)  # quiet hours wrap midnight, e.g. 21:00–08:00
    else:
        regular = tuple(span for span in ((0, start), (end, _DAY)) if span[0] < span[1])
    if not elderly:
        return regular
    low, high = _seconds(windows.elderly_start), _seconds(windows.elderly_end)
    daytime = tuple(
        (max(s, low), min(e, high)) for s, e in regular if max(s, low) < min(e, high)
    )
    # A daytime window wholly inside quiet hours is a misconfiguration; quiet hours win.
    return daytime or regular


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of wall time `at` on `day` in `tz` (gap: its end; fold: first)."""
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first.astimezone(UTC)
    # `naive` falls in a gap: the valid instants are those before the transition
    # (wall time before the gap) and from it on (after the gap).  Search for the
    # transition between the two readings of the wall time.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    low, high = min(low, high), max(low, high)
    offset_after = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


def is_allowed(moment: datetime, tz: ZoneInfo, windows: Windows, *, elderly: bool) -> bool:
    """Tell whether `moment` lies in the member's allowed hours."""
    second = _seconds(_wall(moment, tz).time())
    return any(s <= second < e for s, e in allowed_spans(windows, elderly=elderly))


def first_allowed(moment: datetime, tz: ZoneInfo, windows: Windows, *, elderly: bool) -> datetime:
    """Return `moment` if allowed, else the start of the next allowed span (in UTC)."""
    spans = allowed_spans(windows, elderly=elderly)
    wall = _wall(moment, tz)
    second = _seconds(wall.time())
    if any(s <= second < e for s, e in spans):
        return moment.astimezone(UTC)
    for day in _days_from(wall.date()):
        for start, _ in spans:
            candidate = local_instant(day, _time(start), tz)
            if candidate > moment:
                return candidate
    raise AssertionError("unreachable: every day has an allowed span")


def moved_wall_time(at: time, windows: Windows, *, elderly: bool) -> tuple[time, int]:
    """Return where a message wanted at local `at` really goes: (local time, days later).

    The same rule as every reminder (first_allowed), on a plain day without a
    DST change, so what a secretary is promised is what members get.
    """
    reference = date(2001, 1, 1)
    moved = first_allowed(local_instant(reference, at, _UTC_ZONE), _UTC_ZONE, windows,
                          elderly=elderly)
    return moved.time(), (moved.date() - reference).days


def _days_from(day: date) -> Iterator[date]:
    for offset in range(3):
        yield day + timedelta(days=offset)


def wall_add(moment: datetime, tz: ZoneInfo, delta: timedelta) -> datetime:
    """Return `moment` moved by `delta` of local wall-clock time (a day stays a calendar day)."""
    wall = _wall(moment, tz).replace(tzinfo=None) + delta
    return local_instant(wall.date(), wall.time(), tz)


def next_wall_time(after: datetime, at: time, tz: ZoneInfo) -> datetime:
    """Return the first instant at or after `after` whose local wall time is `at`."""
    day = _wall(after, tz).date()
    candidate = local_instant(day, at, tz)
    if candidate < after:
        candidate = local_instant(day + timedelta(days=1), at, tz)
    return candidate


def due_end(due: date, tz: ZoneInfo) -> datetime:
    """Return the instant a due date ends for a member: their next local midnight."""
    return local_instant(due + timedelta(days=1), time(0, 0), tz)


def first_reminder(
    published: datetime,
    at: time,
    tz: ZoneInfo,
    windows: Windows,
    *,
    elderly: bool,
    expires: datetime,
) -> datetime | None:
    """Return when a newly published item is first reminded, or None if never before `expires`.

    The branch's hour in the member's zone, at or after publication; if that is
    past the due date, as soon as allowed after publication instead.
    """
    for wanted in (next_wall_time(published, at, tz), published):
        moment = first_allowed(wanted, tz, windows, elderly=elderly)
        if moment < expires:
            return moment
    return None


def weekly_reminder(
    day: date, at: time, tz: ZoneInfo, windows: Windows, *, elderly: bool, expires: datetime
) -> datetime | None:
    """Return when a study day's occurrence is reminded: `at` on `day`, member's zone, moved."""
    moment = first_allowed(local_instant(day, at, tz), tz, windows, elderly=elderly)
    return moment if moment < expires else None


def followup_at(
    previous: datetime, tz: ZoneInfo, *, hours: int, windows: Windows, elderly: bool
) -> datetime:
    """Return when a follow-up comes: `hours` of wall-clock time after `previous`, moved.

    Wall-clock arithmetic keeps a daily follow-up at the same local hour
    across a DST change, as the member would expect.
    """
    return first_allowed(
        wall_add(previous, tz, timedelta(hours=hours)), tz, windows, elderly=elderly
    )


def snooze_until(
    pressed: datetime, tz: ZoneInfo, *, minutes: int, windows: Windows, elderly: bool
) -> datetime:
    """Return when a snoozed reminder comes back: `minutes` after the press, moved."""
    return first_allowed(pressed + timedelta(minutes=minutes), tz, windows, elderly=elderly)


def weekday_dates(weekday: int, first: date, last: date) -> list[date]:
    """Return the dates from `first` to `last` (inclusive) that fall on ISO `weekday`."""
    start = first + timedelta(days=(weekday - first.isoweekday()) % 7)
    count = 0 if start > last else (last - start).days // 7 + 1
    return [start + timedelta(weeks=week) for week in range(count)]
