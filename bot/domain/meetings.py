"""Branch life's pure rules: kinds of meeting, replies, attendance, rhythm, reminder moments.

    moments = reminder_moments(starts, tz, windows, elderly=True)  # [(1, day before), (2, 2h)]
    owed(rhythm, held, today)                # what a branch still owes this month / quarter
    prefill(Reply.LEAVE)                     # Attendance.EXCUSED: the roster starts from replies
    absent_streaks(history, 3)               # members absent from the last three meetings

Reminders go the day before and two hours before, each moved forward into the
member's allowed hours (bot.domain.schedule's rule, the elderly window
included).  A reminder that would then arrive less than LEAD before the start
is dropped rather than sent late: the meeting has begun.  A meeting "counts"
for a period when it was called for a time inside it and not cancelled; what
is owed is the kinds the branch's rhythm asks for in the current month or
quarter (or year) that no such meeting covers.  Hours (学时) are credited to
attendees of a 党课 or 培训 when the secretary confirms attendance, to the
member (so a mobile member's hours count in their home branch, wherever the
meeting was).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.free_text import echo, require_text
from bot.domain.schedule import Windows, first_allowed, local_instant, wall_add
from bot.errors import InvalidInput

__all__ = [
    "HOURS_KINDS",
    "LEAD",
    "URGENT_DAYS",
    "Attendance",
    "Kind",
    "Owed",
    "Reason",
    "Reply",
    "Rhythm",
    "absent_streaks",
    "clean_link",
    "clean_note",
    "clean_place",
    "clean_record",
    "clean_subject",
    "clean_topic",
    "confirm_moment",
    "day_choices",
    "owed",
    "parse_clock",
    "parse_hours",
    "period_of",
    "prefill",
    "reminder_moments",
    "starts_at",
    "toggle",
]


class Kind(StrEnum):
    """The kinds of branch life a secretary may call (三会一课, 主题党日, 培训)."""

    ASSEMBLY = "assembly"  # 支部党员大会
    COMMITTEE = "committee"  # 支部委员会（支委会）
    GROUP = "group"  # 党小组会
    LECTURE = "lecture"  # 党课
    THEME_DAY = "theme_day"  # 主题党日
    TRAINING = "training"  # 培训


# Kinds that credit training hours (学时) to those who came.
HOURS_KINDS = frozenset({Kind.LECTURE, Kind.TRAINING})


class Reply(StrEnum):
    """A member's answer to a notice."""

    ATTEND = "attend"
    LEAVE = "leave"  # 请假, with a reason
    ONLINE = "online"  # 在外地，线上参加 (mobile members, when there is a link)


class Reason(StrEnum):
    """Why a member asks leave (请假), offered as buttons first."""

    ILL = "ill"
    WORKING = "working"  # 外出务工
    FAMILY = "family"
    OTHER = "other"  # then typed


class Attendance(StrEnum):
    """What the secretary confirms after the meeting: 到会 / 请假 / 缺席."""

    PRESENT = "present"
    EXCUSED = "excused"
    ABSENT = "absent"


class Rhythm(StrEnum):
    """How often a kind of meeting is expected."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    NONE = "none"


# A reminder arriving closer to the start than this is not sent: the meeting is on.
LEAD = timedelta(minutes=30)
_LIMITS = {"topic": 200, "place": 100, "record": 500, "subject": 60, "note": 200}


def prefill(reply: str | None) -> Attendance:
    """Return the roster's first guess from the reply: came online counts as 到会."""
    if reply in (Reply.ATTEND, Reply.ONLINE):
        return Attendance.PRESENT
    if reply == Reply.LEAVE:
        return Attendance.EXCUSED
    return Attendance.ABSENT


_CYCLE = (Attendance.PRESENT, Attendance.EXCUSED, Attendance.ABSENT)


def toggle(current: str | None) -> Attendance:
    """Return the next state a tap on the roster gives: 到会 → 请假 → 缺席 → 到会."""
    try:
        index = _CYCLE.index(Attendance(current)) if current else len(_CYCLE) - 1
    except ValueError:
        index = len(_CYCLE) - 1
    return _CYCLE[(index + 1) % len(_CYCLE)]


# ---------------------------------------------------------------- timing


def reminder_moments(
    starts: datetime, tz: ZoneInfo, windows: Windows, *, elderly: bool
) -> list[tuple[int, datetime]]:
    """Return (seq, instant) of the reminders: 1 the day before, 2 two hours before, moved.

    Each is moved forward into the member's allowed hours; one that would then
    come within LEAD of the start, or at the same instant as the one before, is
    dropped.
    """
    wanted = [
        (1, wall_add(starts, tz, timedelta(days=-1))),
        (2, starts - timedelta(hours=2)),
    ]
    moments: list[tuple[int, datetime]] = []
    for seq, moment in wanted:
        moved = first_allowed(moment, tz, windows, elderly=elderly)
        if moved > starts - LEAD:
            continue
        if moments and moved <= moments[-1][1]:
            continue
        moments.append((seq, moved))
    return moments


def confirm_moment(starts: datetime, tz: ZoneInfo, windows: Windows, hours: int) -> datetime:
    """Return when the secretary is asked to confirm attendance: `hours` after the start, moved."""
    return first_allowed(starts + timedelta(hours=hours), tz, windows, elderly=False)


def day_choices(today: date, count: int = 8) -> list[date]:
    """Return the days offered as buttons when calling a meeting: tomorrow onwards."""
    return [today + timedelta(days=offset) for offset in range(1, count + 1)]


_CLOCK = re.compile(r"^(上午|下午|晚上)?\s*(\d{1,2})\s*(?:[:：点时])\s*(\d{1,2})?\s*分?$")


def parse_clock(text: str) -> time:
    """Return a typed time of day ("9:00", "19:30", "下午2点"), or raise InvalidInput."""
    word = unicodedata.normalize("NFKC", text).strip()
    match = _CLOCK.match(word)
    if match is None:
        raise InvalidInput("meetings.time_bad", text=echo(text))
    hour, minute = int(match[2]), int(match[3] or 0)
    if match[1] in ("下午", "晚上") and hour < 12:
        hour += 12
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise InvalidInput("meetings.time_bad", text=echo(text))
    return time(hour, minute)


def parse_hours(text: str) -> float:
    """Return typed training hours (0.5 to 40), or raise InvalidInput."""
    word = unicodedata.normalize("NFKC", text).strip().removesuffix("学时").strip()
    try:
        hours = float(word)
    except ValueError:
        raise InvalidInput("meetings.hours_bad", text=echo(text)) from None
    if not 0.5 <= hours <= 40 or hours * 2 != int(hours * 2):
        raise InvalidInput("meetings.hours_bad", text=echo(text))
    return hours


def starts_at(day: date, at: time, tz: ZoneInfo, now: datetime) -> datetime:
    """Return the meeting's instant, refusing one already past."""
    moment = local_instant(day, at, tz)
    if moment <= now:
        raise InvalidInput("meetings.time_past")
    return moment


def clean_topic(text: str | None) -> str:
    """Return a meeting's topic on one line, or raise InvalidInput."""
    return require_text(text, "meetings.text_empty", limit=_LIMITS["topic"],
                        long_key="meetings.too_long")


def clean_subject(text: str | None) -> str:
    """Return a training's subject, or raise InvalidInput."""
    return require_text(text, "meetings.text_empty", limit=_LIMITS["subject"],
                        long_key="meetings.too_long")


def clean_place(text: str | None) -> str:
    """Return a meeting's place, or raise InvalidInput."""
    return require_text(text, "meetings.text_empty", limit=_LIMITS["place"],
                        long_key="meetings.too_long")


def clean_record(text: str | None) -> str:
    """Return a meeting's one-line record (纪要), or raise InvalidInput."""
    return require_text(text, "meetings.text_empty", multiline=True, limit=_LIMITS["record"],
                        long_key="meetings.too_long")


def clean_note(text: str | None) -> str:
    """Return a typed leave reason, or raise InvalidInput."""
    return require_text(text, "meetings.text_empty", limit=_LIMITS["note"],
                        long_key="meetings.too_long")


def clean_link(text: str | None) -> str:
    """Return an online meeting link (http or https), or raise InvalidInput."""
    link = require_text(text, "meetings.link_bad", limit=300, long_key="meetings.too_long")
    if not re.match(r"^https?://\S+$", link):
        raise InvalidInput("meetings.link_bad")
    return link


# ---------------------------------------------------------------- rhythm and what is owed


@dataclass(frozen=True, slots=True)
class Owed:
    """A kind of meeting the rhythm asks for in a period that no meeting covers yet."""

    kind: Kind
    rhythm: Rhythm
    first: date
    last: date
    urgent: bool  # the period ends within URGENT_DAYS, or has ended
    ended: bool  # the period is over: it was missed


URGENT_DAYS = 14


def period_of(rhythm: Rhythm, day: date) -> tuple[date, date]:
    """Return the first and last day of the month, quarter or year containing `day`."""
    if rhythm == Rhythm.MONTHLY:
        first = day.replace(day=1)
        months = 1
    elif rhythm == Rhythm.QUARTERLY:
        first = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        months = 3
    else:
        return day.replace(month=1, day=1), day.replace(month=12, day=31)
    month = first.month - 1 + months
    after = date(first.year + month // 12, month % 12 + 1, 1)
    return first, after - timedelta(days=1)


def owed(
    rhythm: Mapping[Kind, Rhythm], held: Iterable[tuple[Kind, date]], today: date,
    *, look_back_days: int = 7,
) -> list[Owed]:
    """Return what the branch owes as of `today`, and what a period just ended missed.

    A period that ended within `look_back_days` (the week a digest covers) is
    still reported, as missed, so the quarter's last week is not lost on Monday.
    """
    held_days: dict[Kind, list[date]] = {}
    for kind, day in held:
        held_days.setdefault(kind, []).append(day)
    result: list[Owed] = []
    for kind in Kind:
        every = rhythm.get(kind, Rhythm.NONE)
        if every == Rhythm.NONE:
            continue
        periods = {period_of(every, today)}
        earlier = period_of(every, today - timedelta(days=look_back_days))
        periods.add(earlier)
        for first, last in sorted(periods):
            if any(first <= day <= last for day in held_days.get(kind, ())):
                continue
            ended = last < today
            result.append(Owed(kind, every, first, last,
                               urgent=ended or (last - today).days < URGENT_DAYS, ended=ended))
    return result


def absent_streaks(
    history: Mapping[int, Sequence[str]], count: int = 3
) -> list[int]:
    """Return the members whose last `count` confirmed meetings (newest first) were all 缺席."""
    return [
        member for member, marks in history.items()
        if len(marks) >= count and all(mark == Attendance.ABSENT for mark in marks[:count])
    ]
