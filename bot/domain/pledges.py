"""Rules of the yearly pledge cycle (承诺–践诺–评诺), without Telegram or SQL.

    parse_pledge("带动5户群众改造果园")        # ParsedPledge(text=..., target=5.0, unit="户")
    parse_pledge("学习党章 | 12 次")           # explicit form: target 12, unit 次
    parse_amount("3", target=5.0)             # 3.0; "abc", -1 or 6 raise InvalidInput
    open_month(now, report_day=25, tz=tz, hours=hours)   # 202603: the month one may report
    month_state(due=2, reported=1, now=now, report_at=r)   # MonthState.WAITING

The cycle, in the member's own zone: from start_month/start_day the member is
asked for 2–5 pledges (a member approved later is asked on approval); on
report_day each month they report progress per approved pledge; on
EVALUATION_DAY of December they rate each pledge, then the secretary does
(from `secretary_rates_after_days` later, without waiting for the member).
Every ask goes out at ASK_TIME local, moved into the hours the member may be
messaged (daytime for the elderly).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.config import PledgeSettings, StudySettings
from bot.domain.free_text import clean_text, echo
from bot.domain.models import Category
from bot.domain.schedule import Windows, first_allowed, local_instant
from bot.errors import InvalidInput

__all__ = [
    "ASK_TIME",
    "EVALUATION_ASK_DAYS",
    "EVALUATION_DAY",
    "EVALUATION_MONTH",
    "FOLLOWUP_DAYS",
    "LATE_JOIN_CUTOFF",
    "MAX_COMMENT",
    "MAX_DRAFTS",
    "MAX_PLEDGES",
    "MAX_TEXT",
    "MIN_PLEDGES",
    "ON_TIME",
    "PROGRESS",
    "RATINGS",
    "Gap",
    "Hours",
    "MonthState",
    "ParsedPledge",
    "Pledge",
    "PledgeReport",
    "check_submit_count",
    "clean_comment",
    "daytime_moment",
    "evaluation_ask_moment",
    "evaluation_moment",
    "format_number",
    "is_due",
    "is_evaluation_open",
    "latest_followup",
    "latest_report",
    "local_year",
    "may_secretary_rate",
    "member_hours",
    "month_key",
    "month_of",
    "month_state",
    "next_draft_number",
    "next_month",
    "next_planning_moment",
    "open_month",
    "parse_amount",
    "parse_pledge",
    "parse_year",
    "pledge_ask_moment",
    "pledge_gaps",
    "pledges_expected_for_year",
    "report_moment",
    "secretary_rating_moment",
    "send_time",
]

MIN_PLEDGES = 2
MAX_PLEDGES = 5
# Drafting may run a little over the limit so that nothing a member typed is
# thrown away; submitting enforces MIN_PLEDGES..MAX_PLEDGES.
MAX_DRAFTS = 8
MAX_TEXT = 200
MAX_COMMENT = 500
ASK_TIME = time(10, 0)
# Days between a monthly ask and each follow-up (also when a report turns late).
FOLLOWUP_DAYS = 3
# 评诺 opens on 28 December: after the last monthly report (report_day is at
# most 28) and before the year ends, so the branch can meet on the result.
EVALUATION_MONTH = 12
EVALUATION_DAY = 28
# Keep planning an unrated pledge's evaluation ask only this long after it opens.
EVALUATION_ASK_DAYS = 45

# A member who joins on or after this (month, day) pledges from the next year on;
# [pledges].late_join_month/late_join_day override it.
LATE_JOIN_CUTOFF = (11, 1)

# Planned within this of its time, a message keeps its scheduled due time.
ON_TIME = timedelta(hours=1)

PROGRESS = ("done", "ongoing", "not_started")
RATINGS = ("good", "fair", "average", "poor")  # 好 / 较好 / 一般 / 差


@dataclass(frozen=True, slots=True)
class Pledge:
    """One pledge of one member for one year, with its approval and ratings."""

    id: int
    member_id: int
    year: int
    text: str
    target: float | None
    unit: str | None
    status: str  # draft | submitted | returned | approved
    return_comment: str | None = None
    created_at: int = 0
    submitted_at: int | None = None
    decided_at: int | None = None
    self_rating: str | None = None
    secretary_rating: str | None = None
    secretary_comment: str | None = None

    @property
    def is_editable(self) -> bool:
        """Tell whether the member may still change or delete it."""
        return self.status in ("draft", "returned")


@dataclass(frozen=True, slots=True)
class PledgeReport:
    """A member's progress on one pledge in one month."""

    pledge_id: int
    month: int
    status: str
    amount: float | None = None
    note: str | None = None
    reported_at: int = 0


@dataclass(frozen=True, slots=True)
class ParsedPledge:
    """A pledge as typed: its text and an optional numeric target with a unit."""

    text: str
    target: float | None = None
    unit: str | None = None


class MonthState(StrEnum):
    """Where a member's report for the open month stands, as the secretary sees it."""

    NOT_DUE = "not_due"
    WAITING = "waiting"
    LATE = "late"
    REPORTED = "reported"


# --- parsing what members type ------------------------------------------------

# Measure words a target may carry in Chinese, longest first so 万元 beats 元.
# 年/月/日 are left out on purpose: "2026年" is a date, not a target.
_ZH_UNITS = (
    "万元",
    "课时",
    "小时",
    "公斤",
    "千克",
    "公里",
    "人次",
    "户",
    "人",
    "名",
    "位",
    "次",
    "场",
    "期",
    "篇",
    "个",
    "项",
    "件",
    "亩",
    "家",
    "元",
    "天",
    "棵",
    "株",
    "头",
    "只",
    "吨",
    "斤",
    "米",
    "条",
    "份",
    "批",
    "所",
    "座",
    "处",
    "块",
    "本",
    "堂",
    "节",
    "户次",
)
_ZH_UNITS = tuple(sorted(set(_ZH_UNITS), key=len, reverse=True))
_ZH_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUMBER = r"\d+(?:\.\d+)?"
_ZH_NUMBER = r"[零一二两三四五六七八九十百]+"
_IMPLICIT_ZH = re.compile(rf"({_NUMBER}|{_ZH_NUMBER})\s*({'|'.join(_ZH_UNITS)})")
_IMPLICIT_EN = re.compile(rf"(?<![\w.])({_NUMBER})\s+([A-Za-z][A-Za-z-]*)")
_EXPLICIT_SPLIT = re.compile(r"[|｜]")
_TARGET = re.compile(rf"^({_NUMBER}|{_ZH_NUMBER})\s*(.*)$")
_AMOUNT = re.compile(rf"^([-+]?\s*(?:{_NUMBER}|{_ZH_NUMBER}))\s*(\D*)$")


def _chinese_number(text: str) -> int | None:
    """Return the value of a Chinese numeral up to 999 (五, 十二, 两百), or None."""
    total, current = 0, 0
    for char in text:
        if char in _ZH_DIGITS:
            current = _ZH_DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def _number(token: str) -> float | None:
    """Return a decimal or Chinese numeral's value, or None."""
    token = token.replace(" ", "")
    sign = -1.0 if token.startswith("-") else 1.0
    token = token.lstrip("+-")
    if re.fullmatch(_NUMBER, token):
        return sign * float(token)
    value = _chinese_number(token)
    return None if value is None else sign * float(value)


def _one_line(text: str) -> str:
    """Return typed text cleaned onto one line (a pledge is one line in every list)."""
    return clean_text(text)


def parse_pledge(text: str) -> ParsedPledge:
    """Read a typed pledge: "text", or "text | 5 户"; raise InvalidInput naming the problem."""
    parts = _EXPLICIT_SPLIT.split(text)
    if len(parts) > 2:
        raise InvalidInput("pledges.bad_target", target=echo(" | ".join(parts[1:])))
    body = _one_line(parts[0])
    if not body:
        raise InvalidInput("pledges.text_empty")
    if len(body) > MAX_TEXT:
        raise InvalidInput("pledges.text_too_long", length=len(body), limit=MAX_TEXT)
    if len(parts) == 2:
        return _explicit_target(body, parts[1])
    target, unit = _implicit_target(body)
    return ParsedPledge(body, target, unit)


def _explicit_target(body: str, tail: str) -> ParsedPledge:
    """Read the "| 5 户" part; an empty part means no target."""
    raw = _one_line(unicodedata.normalize("NFKC", tail))
    if not raw:
        return ParsedPledge(body)
    match = _TARGET.match(raw)
    value = _number(match[1]) if match else None
    if match is None or value is None:
        raise InvalidInput("pledges.bad_target", target=echo(raw))
    if value <= 0:
        raise InvalidInput("pledges.target_not_positive", target=echo(raw))
    unit = match[2].strip()[:10] or None
    return ParsedPledge(body, value, unit)


def _implicit_target(body: str) -> tuple[float | None, str | None]:
    """Find "5户" / "五户" / "5 households" in the text; a lone 一 is an article, not 1."""
    folded = unicodedata.normalize("NFKC", body)
    for match in _IMPLICIT_ZH.finditer(folded):
        value = _number(match[1])
        # "做一名合格党员": 一 reads as "a", so Chinese numerals count from 2.
        if value is None or (not match[1][0].isdigit() and value < 2) or value <= 0:
            continue
        return value, match[2]
    for match in _IMPLICIT_EN.finditer(folded):
        value = float(match[1])
        # "In 2026 I will ..." is a year, not a target.
        if match[1].isdigit() and len(match[1]) == 4 and 1900 <= value <= 2100:
            continue
        if value > 0:
            return value, match[2].lower()
    return None, None


def parse_amount(text: str, target: float | None) -> float:
    """Read a progress number ("3", "3户", "三"); raise InvalidInput if not 0..target."""
    raw = _one_line(unicodedata.normalize("NFKC", text))
    match = _AMOUNT.match(raw)
    value = _number(match[1]) if match else None
    if match is None or value is None:
        raise InvalidInput("pledges.amount_not_number", text=echo(raw))
    if value < 0:
        raise InvalidInput("pledges.amount_negative", text=echo(raw))
    if target is not None and value > target:
        raise InvalidInput(
            "pledges.amount_over_target", amount=format_number(value), target=format_number(target)
        )
    return value


def clean_comment(text: str) -> str:
    """Return a note or comment trimmed, or raise InvalidInput when empty or too long."""
    cleaned = clean_text(text, multiline=True)
    if not cleaned:
        raise InvalidInput("pledges.comment_empty")
    if len(cleaned) > MAX_COMMENT:
        raise InvalidInput("pledges.comment_too_long", length=len(cleaned), limit=MAX_COMMENT)
    return cleaned


def next_draft_number(count: int) -> int:
    """Return the number a draft's next pledge gets; raise InvalidInput when it is full."""
    if count >= MAX_DRAFTS:
        raise InvalidInput("pledges.drafts_full", maximum=MAX_DRAFTS)
    return count + 1


def check_submit_count(count: int) -> None:
    """Raise InvalidInput unless a year's pledges number MIN_PLEDGES..MAX_PLEDGES."""
    if count < MIN_PLEDGES:
        raise InvalidInput("pledges.too_few", count=count, minimum=MIN_PLEDGES)
    if count > MAX_PLEDGES:
        raise InvalidInput("pledges.too_many", count=count, maximum=MAX_PLEDGES)


def parse_year(args: list[str], default: int) -> int:
    """Read `/mypledges [year]`; raise InvalidInput on anything but a plausible year."""
    if not args:
        return default
    raw = unicodedata.normalize("NFKC", args[0]).strip().removesuffix("年")
    if len(args) > 1 or not (raw.isascii() and raw.isdigit()) or not 2000 <= int(raw) <= 2100:
        raise InvalidInput("pledges.year_usage")
    return int(raw)


def format_number(value: float) -> str:
    """Show 5.0 as "5" and 2.5 as "2.5"."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --- when things happen -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hours:
    """When one member may be messaged: the configured windows, daytime-only for the elderly."""

    windows: Windows
    elderly: bool = False

    def first_allowed(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """Return `moment` if allowed, else the start of the member's next allowed hours."""
        return first_allowed(moment, tz, self.windows, elderly=self.elderly)


def member_hours(category: str, study: StudySettings) -> Hours:
    """Return the hours a member of this category may be messaged in."""
    return Hours(Windows.from_settings(study), elderly=category == Category.ELDERLY)


def daytime_moment(day: date, tz: ZoneInfo, hours: Hours, at: time = ASK_TIME) -> datetime:
    """Return `day` at `at` local, moved forward into the member's allowed hours, in UTC."""
    return hours.first_allowed(local_instant(day, at, tz), tz)


def send_time(scheduled: datetime, now: datetime, tz: ZoneInfo, hours: Hours) -> datetime:
    """Return a planned message's due time: as scheduled, or as soon as allowed if planned late.

    A message first planned long after its time (the bot was down) would be
    expired unsent by delivery; an ask that is still open is better late.
    """
    if now - scheduled <= ON_TIME:
        return scheduled
    return hours.first_allowed(now, tz)


def local_year(now: datetime, tz: ZoneInfo) -> int:
    """Return the calendar year in the member's zone."""
    return now.astimezone(tz).year


def month_key(year: int, month: int) -> int:
    """Return yyyymm."""
    return year * 100 + month


def month_of(key: int) -> tuple[int, int]:
    """Return (year, month) of yyyymm."""
    return divmod(key, 100)


def next_month(key: int) -> int:
    """Return the yyyymm after `key`."""
    year, month = month_of(key)
    return month_key(year + month // 12, month % 12 + 1)


def _previous_month(key: int) -> int:
    year, month = month_of(key)
    return month_key(year - 1, 12) if month == 1 else month_key(year, month - 1)


def pledges_expected_for_year(
    joined_on: date | None, year: int, cutoff: tuple[int, int] = LATE_JOIN_CUTOFF
) -> bool:
    """Tell whether a member who joined on `joined_on` owes pledges for `year`.

    Someone who joined after `year`, or on or after the cutoff (month, day)
    within it, owes pledges from the next year on: two to five goals for a
    year that ends in a few weeks mean nothing.  An unknown join date
    (None) owes them, as everyone did before the date was kept.
    """
    if joined_on is None:
        return True
    if joined_on.year != year:
        return joined_on.year < year
    return joined_on < date(year, *cutoff)


def pledge_ask_moment(
    year: int,
    settings: PledgeSettings,
    tz: ZoneInfo,
    hours: Hours,
    approved_at: int | None,
) -> datetime | None:
    """Return when a member is first asked for the year's pledges, or None (not this year).

    The year starts on start_month/start_day; a member approved later is asked
    on approval (moved into daytime).  One approved on or after the late-join
    cutoff (see `pledges_expected_for_year`) or the evaluation day makes
    pledges from the next year on.
    """
    start = daytime_moment(date(year, settings.start_month, settings.start_day), tz, hours)
    if approved_at is None:
        return start
    approved = datetime.fromtimestamp(approved_at, UTC)
    local = approved.astimezone(tz)
    if not pledges_expected_for_year(local.date(), year, settings.late_join_cutoff):
        return None
    if local.date() >= date(year, EVALUATION_MONTH, EVALUATION_DAY):
        return None
    # Approved at night: asked when the member's allowed hours begin.
    return start if approved <= start else hours.first_allowed(approved, tz)


def report_moment(month: int, report_day: int, tz: ZoneInfo, hours: Hours) -> datetime:
    """Return when month yyyymm's progress is asked for, in UTC."""
    year, number = month_of(month)
    return daytime_moment(date(year, number, report_day), tz, hours)


def open_month(now: datetime, report_day: int, tz: ZoneInfo, hours: Hours) -> int:
    """Return the month a member may report on now: the latest whose ask has come."""
    local = now.astimezone(tz)
    this = month_key(local.year, local.month)
    return this if now >= report_moment(this, report_day, tz, hours) else _previous_month(this)


def evaluation_moment(year: int, tz: ZoneInfo, hours: Hours) -> datetime:
    """Return when the year's 评诺 opens, in UTC."""
    return daytime_moment(date(year, EVALUATION_MONTH, EVALUATION_DAY), tz, hours)


def is_evaluation_open(year: int, now: datetime, tz: ZoneInfo, hours: Hours) -> bool:
    """Tell whether the year's pledges may be rated now (from the evaluation day on)."""
    return now >= evaluation_moment(year, tz, hours)


def secretary_rating_moment(
    year: int, tz: ZoneInfo, hours: Hours, settings: PledgeSettings
) -> datetime:
    """Return from when the secretary rates the year's pledges without the member's own rating."""
    return evaluation_moment(year, tz, hours) + timedelta(days=settings.secretary_rates_after_days)


def may_secretary_rate(
    pledge: Pledge, now: datetime, tz: ZoneInfo, hours: Hours, settings: PledgeSettings
) -> bool:
    """Tell whether the secretary may rate the pledge now: once the member has, or from the set day.

    The member rates first; but the year's record must not wait on a member
    who never does, so from `secretary_rating_moment` the secretary rates anyway.
    """
    if not is_evaluation_open(pledge.year, now, tz, hours):
        return False
    return pledge.self_rating is not None or now >= secretary_rating_moment(
        pledge.year, tz, hours, settings
    )


class Gap(StrEnum):
    """Something the pledge year asks about a member that is not done yet."""

    NO_PLEDGES = "no_pledges"  # asked for the year's pledges, none submitted
    UNAPPROVED = "unapproved"  # submitted, awaiting the branch's review
    NO_SELF_RATING = "no_self_rating"  # 评诺 open, the member has not rated
    NO_SECRETARY_RATING = "no_secretary_rating"  # the secretary may rate and has not


def pledge_gaps(
    pledges: Sequence[Pledge],
    *,
    now: datetime,
    tz: ZoneInfo,
    hours: Hours,
    settings: PledgeSettings,
    approved_at: int | None,
) -> tuple[Gap, ...]:
    """Return what the pledge cycle still waits for from (or about) one member now.

    `pledges`: the member's pledges of this year and last (local), any status.
    Pledges count as missing FOLLOWUP_DAYS after the member was asked (as a
    monthly report turns late), and only if the member was asked at all (see
    `pledge_ask_moment`: a late joiner is not).  Ratings are looked at while
    the year's 评诺 asks are planned (EVALUATION_ASK_DAYS from its opening):
    the member's own from FOLLOWUP_DAYS after it opens, the secretary's as
    soon as `may_secretary_rate`.  Monthly reports are the digest's late-report
    line (`month_state`), not a gap here.
    """
    grace = timedelta(days=FOLLOWUP_DAYS)
    gaps: list[Gap] = []
    year = local_year(now, tz)
    asked = pledge_ask_moment(year, settings, tz, hours, approved_at)
    if asked is not None and now >= asked + grace:
        this_year = [p for p in pledges if p.year == year]
        if not any(p.status in ("submitted", "approved") for p in this_year):
            gaps.append(Gap.NO_PLEDGES)
        elif any(p.status == "submitted" for p in this_year):
            gaps.append(Gap.UNAPPROVED)
    for rated_year in (year - 1, year):
        opens = evaluation_moment(rated_year, tz, hours)
        if not opens <= now < opens + timedelta(days=EVALUATION_ASK_DAYS):
            continue
        approved = [p for p in pledges if p.year == rated_year and p.status == "approved"]
        if now >= opens + grace and any(p.self_rating is None for p in approved):
            gaps.append(Gap.NO_SELF_RATING)
        if any(
            p.secretary_rating is None and may_secretary_rate(p, now, tz, hours, settings)
            for p in approved
        ):
            gaps.append(Gap.NO_SECRETARY_RATING)
    return tuple(dict.fromkeys(gaps))


def evaluation_ask_moment(year: int, now: datetime, tz: ZoneInfo, hours: Hours) -> datetime | None:
    """Return when the year's evaluation asks are due, or None outside the days they are planned."""
    opens = evaluation_moment(year, tz, hours)
    return opens if opens <= now < opens + timedelta(days=EVALUATION_ASK_DAYS) else None


def latest_followup(first: datetime, now: datetime, maximum: int) -> tuple[int, datetime]:
    """Return how many follow-ups of an ask at `first` are due (≤ maximum) and the latest's time."""
    step = timedelta(days=FOLLOWUP_DAYS)
    number = min(maximum, int((now - first) / step))
    return number, first + number * step


def is_due(pledge: Pledge, month: int, report_at: datetime) -> bool:
    """Tell whether `month` asks about a pledge: approved, of that year, before the month's ask."""
    return (
        pledge.status == "approved"
        and pledge.year == month_of(month)[0]
        and pledge.decided_at is not None
        and pledge.decided_at <= report_at.timestamp()
    )


def latest_report(
    pledge_id: int, reports: Sequence[PledgeReport]
) -> tuple[PledgeReport | None, int]:
    """Return a pledge's latest report (None before the first) and how many months it reported."""
    mine = [r for r in reports if r.pledge_id == pledge_id]
    return (max(mine, key=lambda r: r.month) if mine else None), len(mine)


def month_state(*, due: int, reported: int, now: datetime, report_at: datetime) -> MonthState:
    """Classify one member's report for the open month (due: pledges asked about)."""
    if due == 0:
        return MonthState.NOT_DUE
    if reported >= due:
        return MonthState.REPORTED
    if now >= report_at + timedelta(days=FOLLOWUP_DAYS):
        return MonthState.LATE
    return MonthState.WAITING


def next_planning_moment(
    now: datetime,
    tz: ZoneInfo,
    hours: Hours,
    settings: PledgeSettings,
    approved_at: int | None,
    away_until: str | None,
    pledge_years: Sequence[int],
) -> datetime:
    """Return the first moment after `now` at which the pledge planner may owe this member more.

    While the member's facts stay the same (any change makes the planner look
    again at once, see storage migration 0017), what the planner owes changes
    only at these moments: a year's first ask and its follow-ups, a month's
    report ask and its follow-ups, the next month's ask, the evaluation day,
    the day the secretary rates unrated pledges, the end of an absence, and
    the local new year.  The earliest of those still ahead is returned.
    """
    step = timedelta(days=FOLLOWUP_DAYS)
    local = now.astimezone(tz)
    moments: list[datetime] = [
        datetime(local.year + 1, 1, 1, tzinfo=tz).astimezone(UTC),
    ]
    for year in (local.year - 1, local.year, local.year + 1):
        first = pledge_ask_moment(year, settings, tz, hours, approved_at)
        if first is not None:
            moments += [first + n * step for n in range(settings.max_followups + 1)]
    this = month_key(local.year, local.month)
    for month in (_previous_month(this), this, next_month(this), next_month(next_month(this))):
        report_at = report_moment(month, settings.report_day, tz, hours)
        moments += [report_at + n * step for n in range(settings.max_followups + 1)]
    for year in {*pledge_years, local.year - 1, local.year}:
        moments.append(evaluation_moment(year, tz, hours))
        moments.append(secretary_rating_moment(year, tz, hours, settings))
    if away_until is not None:
        back = date.fromisoformat(away_until) + timedelta(days=1)
        moments.append(datetime.combine(back, time(0, 0), tz).astimezone(UTC))
    return min(m for m in moments if m > now) if any(m > now for m in moments) else now + step
