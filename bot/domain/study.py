"""Rules of study items: input checks, who is reminded and followed up, who may check in.

    title = clean_title(" 学习二十大报告 ")            # or InvalidInput
    due = parse_due("2026-03-08", today=date(2026, 3, 2))
    decision = advance(target, recipient, item, now, policy)
    if decision.message: ...                          # (kind, seq, due_at) to send now

`advance` is the planner's whole rule for one member and one item: it turns
the stored progress (what is due next, and when) plus the clock into at most
one message to send now and the progress to store.  A message counts as sent
once its outbox row exists (`planned=True`), so a crash between planning and
enqueueing loses nothing: the same message is simply planned again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.config import StudySettings
from bot.domain.away import is_away
from bot.domain.free_text import echo, require_text
from bot.domain.models import Level, Member, Unit
from bot.domain.permissions import Actor, can_manage_branch, managed_branch_ids
from bot.domain.schedule import (
    Windows,
    due_end,
    first_allowed,
    first_reminder,
    followup_at,
    snooze_until,
    weekday_dates,
    weekly_reminder,
)
from bot.domain.tree import branches_under, walk
from bot.errors import InvalidInput, NotFound

__all__ = [
    "BODY_MAX",
    "DEFAULT_REMIND_AT",
    "DUE_MAX_DAYS",
    "NOTE_MAX",
    "OFF",
    "TITLE_MAX",
    "WEEKLY_DUE_DAYS",
    "Answer",
    "Decision",
    "ItemTiming",
    "NextKind",
    "Policy",
    "Progress",
    "Reason",
    "Recipient",
    "StudyDay",
    "advance",
    "can_answer",
    "can_check_in_for",
    "clean_body",
    "clean_note",
    "clean_title",
    "due_presets",
    "earliest_open_due",
    "format_hhmm",
    "is_late",
    "lookback",
    "parse_due",
    "parse_hhmm",
    "parse_studyday",
    "publish_branches",
    "publish_targets",
    "remind_hour",
    "replaced_after",
    "setting_stamp",
    "snooze",
    "study_day_starts_on",
    "weekly_occurrences",
    "zone_finder",
]

TITLE_MAX = 80
BODY_MAX = 1500  # keeps a reminder (title, body, buttons) far below Telegram's 4096
NOTE_MAX = 200
DUE_MAX_DAYS = 365
DEFAULT_REMIND_AT = time(19, 30)
# A study day's occurrence may be answered until the day before the next one.
WEEKLY_DUE_DAYS = 6
OFF = "off"


class Answer(StrEnum):
    """A member's answer to a study item."""

    DONE = "done"
    EXCUSED = "excused"


class Reason(StrEnum):
    """Why a member is excused."""

    ILL = "ill"
    WORKING = "working"
    AWAY = "away"
    OTHER = "other"


class NextKind(StrEnum):
    """The kind of the next message a member gets about an item; also the outbox kind suffix."""

    REMINDER = "reminder"
    FOLLOWUP = "followup"
    SNOOZE = "snooze"


# ---------------------------------------------------------------- input


def clean_title(text: str | None) -> str:
    """Return a study title on one line, or raise InvalidInput."""
    return require_text(text, "study.title_empty", limit=TITLE_MAX, long_key="study.too_long")


def clean_body(text: str | None) -> str:
    """Return the study text or link, or raise InvalidInput."""
    return require_text(
        text, "study.body_empty", multiline=True, limit=BODY_MAX, long_key="study.too_long"
    )


def clean_note(text: str | None) -> str:
    """Return an excuse note, or raise InvalidInput."""
    return require_text(
        text, "study.note_empty", multiline=True, limit=NOTE_MAX, long_key="study.too_long"
    )


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_due(text: str, today: date) -> date:
    """Return a typed due date (YYYY-MM-DD), today or later, or raise InvalidInput."""
    word = unicodedata.normalize("NFKC", text).strip()
    match = _DATE.match(word)
    if match is None:
        raise InvalidInput("study.due_bad", text=echo(text))
    try:
        due = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise InvalidInput("study.due_bad", text=echo(text)) from None
    if due < today:
        raise InvalidInput("study.due_past", due=due, today=today)
    if due > today + timedelta(days=DUE_MAX_DAYS):
        raise InvalidInput("study.due_too_far", days=DUE_MAX_DAYS)
    return due


def due_presets(today: date) -> list[tuple[str, date]]:
    """Return the common due dates as (catalogue key, date): this Sunday, in 7 and 14 days."""
    sunday = today + timedelta(days=7 - today.isoweekday())
    return [
        ("study.due_sunday", sunday),
        ("study.due_7", today + timedelta(days=7)),
        ("study.due_14", today + timedelta(days=14)),
    ]


_HHMM = re.compile(r"^(\d{1,2})[:：.点](\d{2})?分?$")
_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}


def parse_hhmm(text: str) -> time:
    """Return a local time of day typed as HH:MM, or raise InvalidInput."""
    match = _HHMM.match(unicodedata.normalize("NFKC", text).strip())
    if match is None or int(match[1]) > 23 or int(match[2] or 0) > 59:
        raise InvalidInput("study.day_usage")
    return time(int(match[1]), int(match[2] or 0))


def format_hhmm(moment: time) -> str:
    """Return a time of day as HH:MM."""
    return moment.strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class StudyDay:
    """A branch's recurring study day: ISO weekday and local time."""

    weekday: int
    at: time


def parse_studyday(args: Sequence[str]) -> StudyDay | str:
    """Return `/studyday 3 20:00` read (weekday 1–7 or 周三), or OFF; raise InvalidInput."""
    words = [unicodedata.normalize("NFKC", arg).strip() for arg in args]
    if len(words) == 1 and words[0].casefold() in {OFF, "关闭", "取消", "none"}:
        return OFF
    if len(words) != 2:
        raise InvalidInput("study.day_usage")
    day = words[0].removeprefix("星期").removeprefix("周")
    weekday = int(day) if day.isascii() and day.isdigit() else _WEEKDAYS.get(day, 0)
    if not 1 <= weekday <= 7:
        raise InvalidInput("study.day_usage")
    return StudyDay(weekday, parse_hhmm(words[1]))


def study_day_starts_on(day: StudyDay, now: datetime, tz: ZoneInfo) -> date:
    """Return the first occurrence of a study day set at `now` whose hour is still ahead."""
    local = now.astimezone(tz)
    start = local.date() + timedelta(days=(day.weekday - local.isoweekday()) % 7)
    if start == local.date() and local.time() >= day.at:
        start += timedelta(days=7)
    return start


def replaced_after(starts_on: date, today: date) -> date:
    """Return the date after which a changed study day's old occurrences are withdrawn.

    Future ones always; today's too when the new setting starts today, so a
    branch is never reminded twice on one day.
    """
    return today - timedelta(days=1) if starts_on <= today else today


def weekly_occurrences(weekday: int, starts_on: date, today: date) -> list[tuple[date, date]]:
    """Return the (date, due date) of a study day's occurrences the planner should hold now.

    From WEEKLY_DUE_DAYS back (still answerable after downtime) to tomorrow
    (UTC today + 1 covers every zone's local today).
    """
    first = max(starts_on, today - timedelta(days=WEEKLY_DUE_DAYS))
    return [
        (day, day + timedelta(days=WEEKLY_DUE_DAYS))
        for day in weekday_dates(weekday, first, today + timedelta(days=1))
    ]


def earliest_open_due(now: datetime) -> date:
    """Return the earliest due date still open somewhere on Earth at `now` (UTC date - 1)."""
    return now.astimezone(UTC).date() - timedelta(days=1)


def lookback(today: date, days: int) -> date:
    """Return the date `days` before `today` (how far lists and check-ins reach back)."""
    return today - timedelta(days=days)


def is_late(due: date, now: datetime, tz: ZoneInfo) -> bool:
    """Tell whether an answer at `now` comes after the member's due date ended."""
    return now >= due_end(due, tz)


def snooze(
    now: datetime, tz: ZoneInfo, due: date, *, minutes: int, windows: Windows, elderly: bool
) -> datetime | None:
    """Return when a ⏰ snooze at `now` reminds again, or None if that is past the due date."""
    until = snooze_until(now, tz, minutes=minutes, windows=windows, elderly=elderly)
    return until if until < due_end(due, tz) else None


def remind_hour(study_day_at: str | None) -> str:
    """Return a branch's reminder hour (HH:MM): its study day's, else DEFAULT_REMIND_AT."""
    return study_day_at or format_hhmm(DEFAULT_REMIND_AT)


def setting_stamp(now: int, previous: int | None) -> int:
    """Return the stamp of a study day set at `now`: strictly after the one it replaces."""
    # The planner keeps the newest setting's occurrences, so two changes within
    # one second must still be told apart.
    return now if previous is None else max(now, previous + 1)


# ---------------------------------------------------------------- zones


def zone_finder(units: Sequence[Unit], default: str) -> Callable[[int], str]:
    """Return branch id → zone name: the branch's, else the nearest unit above's, else default."""
    by_id = {unit.id: unit for unit in units}

    def find(branch_id: int) -> str:
        unit = by_id.get(branch_id)
        while unit is not None:
            if unit.timezone:
                return unit.timezone
            unit = by_id.get(unit.parent_id) if unit.parent_id is not None else None
        return default

    return find


# ---------------------------------------------------------------- permissions


def can_answer(membership: Member | None, branch_id: int) -> bool:
    """Tell whether a member may answer an item of `branch_id`: active in that branch."""
    return (
        membership is not None
        and membership.status == "active"
        and membership.branch_id == branch_id
    )


def publish_targets(actor: Actor, units: Sequence[Unit]) -> list[tuple[Unit, int]]:
    """Return (unit, branches beneath) the actor may publish to: led units, then their branches."""
    # A higher unit stands for "all its branches"; each branch is offered once, in tree order.
    if actor.is_admin:
        led = [unit for unit in units if unit.parent_id is None]
    else:
        led = [unit for _, unit in walk(units) if unit.id in actor.led_unit_ids]
    options: dict[int, tuple[Unit, int]] = {}
    for unit in led:
        branches = branches_under(units, unit.id)
        if unit.level != Level.BRANCH and branches:
            options.setdefault(unit.id, (unit, len(branches)))
        for branch in branches:
            options.setdefault(branch.id, (branch, 1))
    return list(options.values())


def publish_branches(actor: Actor, units: Sequence[Unit], unit_id: int) -> list[Unit]:
    """Return the branches under `unit_id` the actor may publish to."""
    managed = managed_branch_ids(actor, units)
    try:
        return [branch for branch in branches_under(units, unit_id) if branch.id in managed]
    except NotFound:
        # The unit was deleted since the button was drawn: nothing to publish to.
        return []


def can_check_in_for(
    actor: Actor, branch_id: int, paired_with: int | None, units: Sequence[Unit]
) -> bool:
    """Tell whether the actor may record a check-in for a member of `branch_id`.

    Leaders of the branch may; so may the member an elderly member is paired with.
    """
    if can_manage_branch(actor, branch_id, units):
        return True
    return actor.person_id is not None and paired_with == actor.person_id


# ---------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class Policy:
    """The `[study]` numbers the planner applies."""

    windows: Windows
    max_followups: int
    followup_hours: int

    @classmethod
    def from_settings(cls, settings: StudySettings) -> Policy:
        """Return the policy of the `[study]` settings."""
        return cls(
            windows=Windows.from_settings(settings),
            max_followups=settings.max_followups,
            followup_hours=settings.followup_hours,
        )


@dataclass(frozen=True, slots=True)
class ItemTiming:
    """What of an item decides when it is reminded."""

    kind: str  # 'item' (published) or 'weekly' (a study day's occurrence)
    remind_at: time
    published_at: datetime
    due_date: date
    occurrence_date: date | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """The member an item is reminded to, as the planner sees them."""

    tz: ZoneInfo
    elderly: bool
    can_receive: bool  # an active member with a chat; otherwise nothing more is sent
    answered: bool
    away_until: str | None


@dataclass(frozen=True, slots=True)
class Progress:
    """The stored plan of one member for one item: the next message and what came before."""

    state: str  # 'new' (not yet scheduled), 'waiting' or 'closed'
    next_kind: NextKind = NextKind.REMINDER
    next_seq: int = 0
    next_at: datetime | None = None
    followups: int = 0
    planned: bool = False  # the next message's outbox row exists
    planned_at: datetime | None = None  # and was due then

    def closed(self) -> Progress:
        """Return this progress with nothing more to send."""
        return replace(self, state="closed", next_at=None, planned=False, planned_at=None)

    def stored(self) -> tuple[object, ...]:
        """Return what the schedule row keeps (`planned` is read from the outbox each tick)."""
        return (self.state, self.next_kind, self.next_seq, self.next_at, self.followups)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the planner does for one member now."""

    progress: Progress
    message: tuple[NextKind, int, datetime] | None = None  # kind, sequence, due_at
    excuse_away: bool = False


def advance(
    progress: Progress, recipient: Recipient, item: ItemTiming, now: datetime, policy: Policy
) -> Decision:
    """Return the next step of one member's reminders for one item at `now`."""
    if progress.state == "closed":
        return Decision(progress)
    if not recipient.can_receive or recipient.answered:
        return Decision(progress.closed())
    tz, elderly, windows = recipient.tz, recipient.elderly, policy.windows
    expires = due_end(item.due_date, tz)
    if progress.state == "new":
        first = _first(item, tz, windows, elderly, expires)
        if first is None:
            return Decision(progress.closed())
        progress = Progress("waiting", NextKind.REMINDER, 0, first)
    if progress.planned:
        progress = _after_sent(progress, recipient, now, policy, expires)
        if progress.state == "closed":
            return Decision(progress)
    assert progress.next_at is not None
    if progress.next_at > now:
        return Decision(progress)
    if now >= expires:
        return Decision(progress.closed())
    if is_away(recipient.away_until, now.astimezone(tz).date()):
        return Decision(progress.closed(), excuse_away=True)
    allowed = first_allowed(now, tz, windows, elderly=elderly)
    if allowed > now:
        # Due while the bot was down, and now is a quiet hour: wait for the morning.
        moved = replace(progress, next_at=allowed)
        return Decision(moved if allowed < expires else progress.closed())
    # Due now; never earlier than planned (next_at <= now).
    return Decision(progress, message=(progress.next_kind, progress.next_seq, now))


def _first(
    item: ItemTiming, tz: ZoneInfo, windows: Windows, elderly: bool, expires: datetime
) -> datetime | None:
    if item.kind == "weekly" and item.occurrence_date is not None:
        return weekly_reminder(
            item.occurrence_date, item.remind_at, tz, windows, elderly=elderly, expires=expires
        )
    return first_reminder(
        item.published_at, item.remind_at, tz, windows, elderly=elderly, expires=expires
    )


def _after_sent(
    progress: Progress, recipient: Recipient, now: datetime, policy: Policy, expires: datetime
) -> Progress:
    """Return the progress once its planned message is in the outbox: the next follow-up."""
    followups = progress.followups + (1 if progress.next_kind == NextKind.FOLLOWUP else 0)
    if followups >= policy.max_followups:
        return replace(progress.closed(), followups=followups)
    sent = progress.planned_at or progress.next_at or now
    kwargs = {
        "hours": policy.followup_hours,
        "windows": policy.windows,
        "elderly": recipient.elderly,
    }
    following = followup_at(sent, recipient.tz, **kwargs)
    if following <= now:
        # The message went out late (after downtime): space the follow-up from now.
        following = followup_at(now, recipient.tz, **kwargs)
    if following >= expires:
        return replace(progress.closed(), followups=followups)
    return Progress(
        "waiting", NextKind.FOLLOWUP, followups + 1, following, followups, planned=False
    )
