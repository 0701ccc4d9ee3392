"""Rules for mobile members' whereabouts and the silence before lost contact (失联).

    ask = next_ask(base=confirmed_at, now=now, interval_days=30, tz=tz, hours=hours)
    start = silence_start(last_contact_at, approved_at)
    mark = passed_mark(silence_days(start, now), settings)   # 90, 150, 180 or None
    silence_level(days, settings)                             # Level.OK / WARNED / LOST

A mobile member is asked every interval_days after their last answer (or
their approval), on that day at ASK_TIME in their own zone.  Silence is
measured from their last contact of any kind; each mark is one warning per
silence episode, so a warning's identity is (member, silence start, mark).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.config import WhereaboutsSettings
from bot.domain.pledges import Hours, daytime_moment

__all__ = [
    "Ask",
    "Level",
    "all_marks",
    "next_ask",
    "next_planning_moment",
    "passed_mark",
    "silence_days",
    "silence_level",
    "silence_start",
    "warning_due",
]

_DAY = 86400


class Level(StrEnum):
    """How worrying a mobile member's silence is."""

    OK = "ok"
    WARNED = "warned"  # past a warning mark
    LOST = "lost"  # past the lost-contact line


@dataclass(frozen=True, slots=True)
class Ask:
    """The latest "are you still there?" that has fallen due, and when the next one does."""

    number: int  # 1 for the first ask after `base`, 2 for the next, …
    due_at: datetime
    next_due_at: datetime


def silence_start(last_contact_at: int | None, approved_at: int | None) -> int | None:
    """Return when the current silence began: the last contact, else the approval."""
    return last_contact_at if last_contact_at is not None else approved_at


def silence_days(start: int, now: datetime) -> int:
    """Return the whole days of silence since `start` (UTC seconds)."""
    return max(0, (int(now.timestamp()) - start) // _DAY)


def all_marks(settings: WhereaboutsSettings) -> tuple[int, ...]:
    """Return the warning marks and the lost-contact line, ascending."""
    return tuple(sorted({*settings.warn_days, settings.lost_days}))


def passed_mark(days: int, settings: WhereaboutsSettings) -> int | None:
    """Return the highest mark `days` of silence has reached, or None.

    Only the highest counts: after downtime that skipped a mark the secretary
    hears the current state once rather than a burst of stale warnings.
    """
    reached = [mark for mark in all_marks(settings) if days >= mark]
    return reached[-1] if reached else None


def silence_level(days: int, settings: WhereaboutsSettings) -> Level:
    """Classify `days` of silence for the secretary's view."""
    if days >= settings.lost_days:
        return Level.LOST
    if settings.warn_days and days >= min(settings.warn_days):
        return Level.WARNED
    return Level.OK


def warning_due(start: int, mark: int, tz: ZoneInfo, hours: Hours) -> datetime:
    """Return when the warning for `mark` goes to a secretary: at the mark, in their daytime."""
    return hours.first_allowed(datetime.fromtimestamp(start + mark * _DAY, UTC), tz)


def _ask_due(
    base_day: datetime, number: int, interval_days: int, tz: ZoneInfo, hours: Hours
) -> datetime:
    day = base_day.date() + timedelta(days=number * interval_days)
    return daytime_moment(day, tz, hours)


def next_ask(
    *, base: int, now: datetime, interval_days: int, tz: ZoneInfo, hours: Hours
) -> Ask | None:
    """Return the latest ask due by `now` counted from `base` (last answer), or None yet.

    Asks fall on the local day base + n·interval; the zone is the member's
    current one, so a member who moved is asked in their new morning.
    """
    base_day = datetime.fromtimestamp(base, UTC).astimezone(tz)
    elapsed = (now.astimezone(tz).date() - base_day.date()).days
    number = elapsed // interval_days
    while number >= 1 and _ask_due(base_day, number, interval_days, tz, hours) > now:
        number -= 1
    if number < 1:
        return None
    return Ask(
        number=number,
        due_at=_ask_due(base_day, number, interval_days, tz, hours),
        next_due_at=_ask_due(base_day, number + 1, interval_days, tz, hours),
    )


def next_planning_moment(
    *,
    now: datetime,
    ask_base: int | None,
    silence_from: int | None,
    interval_days: int,
    tz: ZoneInfo,
    hours: Hours,
    settings: WhereaboutsSettings,
) -> int | None:
    """Return when the whereabouts planner may owe this member more (UTC seconds), or None.

    While the facts stay the same (a change makes the planner look at once,
    see storage migration 0017) only two things move: the next "still in …?"
    ask after `ask_base` (None: the member is not asked), and the next silence
    mark after `silence_from`.  A warning whose mark has passed but which
    waits for a leader's daytime is added by the planner, which knows the leaders.
    """
    moments: list[int] = []
    if ask_base is not None:
        ask = next_ask(base=ask_base, now=now, interval_days=interval_days, tz=tz, hours=hours)
        base_day = datetime.fromtimestamp(ask_base, UTC).astimezone(tz)
        upcoming = ask.next_due_at if ask else _ask_due(base_day, 1, interval_days, tz, hours)
        moments.append(int(upcoming.timestamp()))
    if silence_from is not None:
        later = [silence_from + mark * _DAY for mark in all_marks(settings)]
        moments += [at for at in later if at > now.timestamp()]
    return min(moments) if moments else None
