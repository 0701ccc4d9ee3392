"""The weekly digest's rules: from one branch's week of facts to what the secretary reads.

    period = previous_week(now, zone("Asia/Shanghai"))      # the ISO week just ended
    digest = build_digest(week, rules)                      # week: a BranchWeek snapshot
    digest.attention                                        # who needs the secretary, by name
    ranked = rank_rollup([rollup_line(d) for d in digests]) # weakest branch first

Periods.  The scheduled digest covers the ISO week (Monday 00:00 to Monday
00:00 in the branch's zone) just ended; `/digest` on demand covers the current
ISO week so far (Monday 00:00 to now).  Study items count by their due date (a
local day, the last day to answer): the days of the period that are over, so
on demand an item due today is not counted yet (members still have today).
"Next week" runs from the first day not counted through the 7th day after
the day the digest is read (today + 7 included): an item set "due in 7 days"
(the 7天后 button) shows in the digest read that day.  For a scheduled digest
read on Monday that is the new week and the Monday after; on demand, today
and the 7 days after.

Study.  Each item due in the period is expected of every member who was active
before its due date ended.  A member's answer makes it studied or excused; no answer
while the member was away (/away covered the due date) counts as excused, not
missed; no answer otherwise is missed.  The completion rate is
studied / (expected − excused): being excused never lowers it.

Mobile members.  Silence follows bot.domain.whereabouts: the days since the
last contact of any kind (a whereabouts answer included), else since the
approval; past the first warn mark a member is "silent" (the highest mark
passed is kept), past `lost_days` "lost" (失联).

The year's asks.  Beyond the week, the digest lists every member the year
still waits for (`BranchWeek.year_gaps`, decided by bot.domain.pledges.pledge_gaps
and `is_unconfirmed`): pledges not submitted or not yet reviewed, a 评诺 rating
not given (the member's own, or one the secretary may give now), a mobile
member who has not confirmed their whereabouts FOLLOWUP_DAYS after being
asked (not repeated for one already silent past a mark).  Late monthly reports
are the late-report line.  "一切正常" is said only of members with none of these.

Unreachable.  A member the delivery marked unreachable (blocked the bot, chat
not found) or with no Telegram chat at all.  Members join through the bot, so
"never started" cannot happen to a member who joined; a member whose chat is
gone (e.g. an account deleted) shows as "no chat".

Roll-up score (health, 0–100, lower is weaker):

    health = 100 × (½ · study_rate + ½ · (1 − attention_share))

attention_share is the share of members with a late pledge report, a silent
or lost mobile member's silence, something the year still asks (above), or
no way to reach them.  A week without
study items uses the attention term alone; a branch without members has no
score and is listed last.  Ties: lower study rate, then more missed, then tree
order.

Features' figures (RollupFigure, contributed through bot.report_parts): each
is shown on the branch's line; a figure that `weighs` adds its count to the
flagged members, one thing needing the secretary (an unreported post, a
household past 30 days, a meeting owed, a member a call did not reach) counting
as one member needing attention, and the share is capped at 1:

    attention_share = min(1, (flagged members + Σ weighing counts) / members)

Counting them as members keeps the score's scale and needs no per-feature
weights; a figure that is only information (changes this week, 代为登记) is
shown but never lowers the score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.config import WhereaboutsSettings
from bot.domain.away import is_away
from bot.domain.localtime import days_since, local_date
from bot.domain.pledges import FOLLOWUP_DAYS, Hours
from bot.domain.whereabouts import Level, next_ask, passed_mark, silence_level, silence_start

__all__ = [
    "GAP_ORDER",
    "STUDY_WEIGHT",
    "Answer",
    "Attention",
    "BranchDigest",
    "BranchWeek",
    "ItemCount",
    "MemberFacts",
    "MissedMember",
    "MobileStatus",
    "OnBehalf",
    "Outcome",
    "Pending",
    "Period",
    "RollupFigure",
    "RollupLine",
    "Silence",
    "StudyItem",
    "StudySection",
    "Unreachable",
    "Upcoming",
    "YearGap",
    "build_digest",
    "chart_weeks",
    "current_week",
    "digest_due",
    "is_unconfirmed",
    "iso_week_code",
    "mobile_status",
    "parse_week_code",
    "period_days",
    "previous_week",
    "rank_rollup",
    "rollup_line",
    "study_section",
    "week_period",
    "weekly_rates",
]

# The share of the health score that study completion carries (the rest is attention).
STUDY_WEIGHT = 0.5
WEEK = timedelta(days=7)
# The "next week" window ends after day 7 (today + 7 is in it).
NEXT_WINDOW = WEEK + timedelta(days=1)


# ---------------------------------------------------------------- periods


@dataclass(frozen=True, slots=True)
class Period:
    """A span of UTC seconds [start, end) reported as one ISO week."""

    start: int
    end: int
    iso_year: int
    iso_week: int
    partial: bool = False

    @property
    def code(self) -> str:
        """Return the compact week code used in keys and buttons, e.g. `2026W09` (`p`: so far)."""
        return iso_week_code(self.iso_year, self.iso_week) + ("p" if self.partial else "")

    @property
    def label(self) -> str:
        """Return the ISO week as people write it, e.g. `2026-W09`."""
        return f"{self.iso_year}-W{self.iso_week:02d}"

    @property
    def next_end(self) -> int:
        """Return the end of the "next week" window that follows the period (day 7 included)."""
        return self.end + int(NEXT_WINDOW.total_seconds())


def iso_week_code(iso_year: int, iso_week: int) -> str:
    """Return `YYYYWww` (e.g. 2026W09): short enough for callback data."""
    return f"{iso_year}W{iso_week:02d}"


def parse_week_code(code: str) -> tuple[int, int, bool] | None:
    """Return (iso_year, iso_week, partial) from a week code, or None if malformed."""
    partial = code.endswith("p")
    body = code[:-1] if partial else code
    year, sep, week = body.partition("W")
    digits = (year + week).isascii() and year.isdigit() and week.isdigit()
    if not sep or not digits or len(year) != 4:
        return None
    try:
        date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        return None
    return int(year), int(week), partial


def _monday(iso_year: int, iso_week: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisocalendar(iso_year, iso_week, 1), time(0), tzinfo=tz)


def week_period(iso_year: int, iso_week: int, tz: ZoneInfo, *, now: int | None = None) -> Period:
    """Return the ISO week in `tz`; with `now`, only the part up to now (on demand)."""
    start = _monday(iso_year, iso_week, tz)
    end = datetime.combine(start.date() + WEEK, time(0), tzinfo=tz)
    start_ts, end_ts = int(start.timestamp()), int(end.timestamp())
    if now is not None and now < end_ts:
        return Period(start_ts, max(start_ts, now), iso_year, iso_week, partial=True)
    return Period(start_ts, end_ts, iso_year, iso_week)


def previous_week(now: int, tz: ZoneInfo) -> Period:
    """Return the whole ISO week before the one `now` falls in (local to `tz`)."""
    year, week, _ = (local_date(now, tz) - WEEK).isocalendar()
    return week_period(year, week, tz)


def current_week(now: int, tz: ZoneInfo) -> Period:
    """Return the current ISO week from its Monday up to `now`."""
    year, week, _ = local_date(now, tz).isocalendar()
    return week_period(year, week, tz, now=now)


def period_days(
    period: Period, tz: ZoneInfo, now: int | None = None
) -> tuple[date, date, date]:
    """Return (first day counted, first day not counted, end of the "next week") in `tz`.

    The "next week" ends after the 7th day from today (`now`; else from the
    first day not counted), so day 7 is in it.
    """
    first = local_date(period.start, tz)
    stop = local_date(period.end, tz)
    today = stop if now is None else max(stop, local_date(now, tz))
    return first, stop, today + NEXT_WINDOW


def chart_weeks(period: Period, tz: ZoneInfo, count: int = 12) -> list[tuple[str, date, date]]:
    """Return (week code, first day, stop day) of the `count` weeks ending with `period`."""
    monday = date.fromisocalendar(period.iso_year, period.iso_week, 1)
    weeks = []
    for back in range(count - 1, -1, -1):
        first = monday - back * WEEK
        year, week, _ = first.isocalendar()
        stop = period_days(period, tz)[1] if back == 0 else first + WEEK
        weeks.append((iso_week_code(year, week), first, stop))
    return weeks


def weekly_rates(
    members: Sequence[MemberFacts],
    items: Sequence[StudyItem],
    answers: Sequence[Answer],
    weeks: Sequence[tuple[str, date, date]],
) -> tuple[float | None, ...]:
    """Return each week's completion rate (None: nothing was due that week)."""
    rates = []
    for _code, first, stop in weeks:
        due = [i for i in items if first.isoformat() <= i.due_date < stop.isoformat()]
        ids = {i.item_id for i in due}
        rates.append(study_section(members, due, [a for a in answers if a.item_id in ids]).rate)
    return tuple(rates)


def digest_due(now: int, tz: ZoneInfo, weekday: int, hour: int) -> int:
    """Return when this ISO week's digest falls due (UTC seconds) for someone in `tz`."""
    year, week, _ = local_date(now, tz).isocalendar()
    day = date.fromisocalendar(year, week, weekday)
    return int(datetime.combine(day, time(hour), tzinfo=tz).timestamp())


# ---------------------------------------------------------------- the snapshot


class Outcome(StrEnum):
    """What became of one study item for one member."""

    STUDIED = "studied"
    EXCUSED = "excused"
    AWAY = "away"
    MISSED = "missed"


class Silence(StrEnum):
    """A mobile member's contact state."""

    OK = "ok"
    SILENT = "silent"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """An active member of the branch, with what the digest needs to know."""

    member_id: int
    person_id: int
    name: str | None
    category: str
    joined_at: int
    has_chat: bool = True
    reachable: bool = True
    unreachable_reason: str | None = None
    last_contact_at: int | None = None
    place: str | None = None
    away_until: str | None = None
    # Registered by a secretary without Telegram: others record for them, so they
    # are neither unreachable nor silent (see handlers.offline_members).
    offline: bool = False
    registered_by: str | None = None


@dataclass(frozen=True, slots=True)
class StudyItem:
    """A study item of the branch; `due_at` is the end of its due date in the branch's zone."""

    item_id: int
    title: str | None  # None: a study day's occurrence, named by the catalogue
    due_date: str  # local 'YYYY-MM-DD', the last day to answer
    due_at: int


@dataclass(frozen=True, slots=True)
class Answer:
    """A member's recorded answer to an item: studied or excused, maybe entered by another."""

    item_id: int
    member_id: int
    outcome: Outcome
    on_behalf: bool = False
    entered_by_name: str | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A join request awaiting the secretary."""

    member_id: int
    name: str | None
    category: str
    requested_at: int


@dataclass(frozen=True, slots=True)
class Upcoming:
    """Something that falls due in the next week: a study item, the pledge report day…"""

    kind: str  # "study" | "pledge_report" | "whereabouts"
    due_date: str  # local 'YYYY-MM-DD'
    item: StudyItem | None = None
    count: int = 0


@dataclass(frozen=True, slots=True)
class BranchWeek:
    """Everything one branch's digest is computed from, read in one go from the database."""

    branch_id: int
    branch_key: str
    branch_name: str
    timezone: str
    period: Period
    now: int
    members: tuple[MemberFacts, ...] = ()
    items: tuple[StudyItem, ...] = ()
    answers: tuple[Answer, ...] = ()
    late_pledges: tuple[tuple[int, str], ...] = ()  # (member_id, report month "YYYY-MM")
    mobile_contacts: tuple[tuple[int, int], ...] = ()  # (member_id, last whereabouts answer)
    pending: tuple[Pending, ...] = ()
    upcoming: tuple[Upcoming, ...] = ()
    # (member_id, what the year still asks): "no_pledges", "unapproved",
    # "no_self_rating", "no_secretary_rating" (bot.domain.pledges.Gap), "unconfirmed".
    year_gaps: tuple[tuple[int, str], ...] = ()


def is_unconfirmed(
    base: int, now: int, *, interval_days: int, tz: ZoneInfo, hours: Hours
) -> bool:
    """Tell whether a mobile member left the latest whereabouts ask unanswered past its grace.

    `base` is their last whereabouts answer (else their approval), as the
    whereabouts planner counts its asks.
    """
    moment = datetime.fromtimestamp(now, UTC)
    ask = next_ask(base=base, now=moment, interval_days=interval_days, tz=tz, hours=hours)
    return ask is not None and moment >= ask.due_at + timedelta(days=FOLLOWUP_DAYS)


# ---------------------------------------------------------------- the digest


@dataclass(frozen=True, slots=True)
class ItemCount:
    """One item's counts."""

    item: StudyItem
    expected: int
    studied: int
    excused: int
    missed: int


@dataclass(frozen=True, slots=True)
class MissedMember:
    """A member who missed at least one item, with the items missed."""

    member: MemberFacts
    items: tuple[StudyItem, ...]


@dataclass(frozen=True, slots=True)
class OnBehalf:
    """A check-in someone entered for another member."""

    member: MemberFacts
    item: StudyItem
    entered_by: str | None


@dataclass(frozen=True, slots=True)
class StudySection:
    """The week's study completion."""

    items: tuple[ItemCount, ...] = ()
    expected: int = 0
    studied: int = 0
    excused: int = 0
    missed: int = 0
    missed_members: tuple[MissedMember, ...] = ()
    on_behalf: tuple[OnBehalf, ...] = ()

    @property
    def rate(self) -> float | None:
        """Return studied / (expected − excused), or None when nothing was expected."""
        base = self.expected - self.excused
        return None if base <= 0 else self.studied / base


@dataclass(frozen=True, slots=True)
class MobileStatus:
    """A mobile member's silence."""

    member: MemberFacts
    days: int
    state: Silence
    mark: int = 0  # the highest warn mark passed (days)


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A member the bot cannot reach, and why ("blocked", "not_found", "no_chat", "other")."""

    member: MemberFacts
    reason: str


@dataclass(frozen=True, slots=True)
class YearGap:
    """A member the year still waits for, with each thing missing (in GAP_ORDER)."""

    member: MemberFacts
    gaps: tuple[str, ...]


# The year's asks in the order of the year (and of the digest's lines).
GAP_ORDER = ("no_pledges", "unapproved", "no_self_rating", "no_secretary_rating", "unconfirmed")


@dataclass(frozen=True, slots=True)
class Attention:
    """A member the secretary should look at, with every reason ("missed", "late_pledge"…)."""

    member: MemberFacts
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BranchDigest:
    """One branch's digest, ready to render."""

    branch_id: int
    branch_key: str
    branch_name: str
    timezone: str
    period: Period
    now: int
    member_count: int
    study: StudySection
    late_pledges: tuple[tuple[MemberFacts, str], ...]
    mobile: tuple[MobileStatus, ...]  # silent and lost only, longest silence first
    mobile_count: int
    unreachable: tuple[Unreachable, ...]
    pending: tuple[Pending, ...]
    upcoming: tuple[Upcoming, ...]
    attention: tuple[Attention, ...] = field(default=())
    year_gaps: tuple[YearGap, ...] = field(default=())
    offline: tuple[MemberFacts, ...] = field(default=())  # no Telegram: others record for them

    def missing(self, gap: str) -> tuple[MemberFacts, ...]:
        """Return the members (by name) the year waits for on `gap`."""
        return tuple(g.member for g in self.year_gaps if gap in g.gaps)

    @property
    def silent(self) -> tuple[MobileStatus, ...]:
        """Mobile members past a warn mark but not lost."""
        return tuple(m for m in self.mobile if m.state == Silence.SILENT)

    @property
    def lost(self) -> tuple[MobileStatus, ...]:
        """Mobile members past the lost-contact line."""
        return tuple(m for m in self.mobile if m.state == Silence.LOST)


def _name_key(member: MemberFacts) -> tuple[str, int]:
    return (member.name or "", member.member_id)


def mobile_status(days: int, rules: WhereaboutsSettings) -> tuple[Silence, int]:
    """Return the silence state and the highest mark passed for `days` without contact."""
    level = silence_level(days, rules)
    if level == Level.OK:
        return Silence.OK, 0
    mark = passed_mark(days, rules) or 0
    return (Silence.LOST if level == Level.LOST else Silence.SILENT), mark


def study_section(
    members: Sequence[MemberFacts], items: Iterable[StudyItem], answers: Iterable[Answer]
) -> StudySection:
    """Count the items' outcomes over the members (see the module docstring for the rule)."""
    answered = {(a.item_id, a.member_id): a for a in answers}
    counts: list[ItemCount] = []
    missed_items: dict[int, list[StudyItem]] = {}
    on_behalf: list[OnBehalf] = []
    for item in sorted(items, key=lambda i: (i.due_at, i.item_id)):
        due_day = date.fromisoformat(item.due_date)
        studied = excused = missed = expected = 0
        for member in members:
            if member.joined_at > item.due_at:
                continue  # joined after it fell due: not expected of them
            expected += 1
            answer = answered.get((item.item_id, member.member_id))
            if answer is None:
                outcome = Outcome.AWAY if is_away(member.away_until, due_day) else Outcome.MISSED
            else:
                outcome = answer.outcome
                if answer.on_behalf:
                    on_behalf.append(OnBehalf(member, item, answer.entered_by_name))
            if outcome == Outcome.STUDIED:
                studied += 1
            elif outcome == Outcome.MISSED:
                missed += 1
                missed_items.setdefault(member.member_id, []).append(item)
            else:
                excused += 1
        counts.append(ItemCount(item, expected, studied, excused, missed))
    by_id = {m.member_id: m for m in members}
    missed_members = sorted(
        (MissedMember(by_id[mid], tuple(items)) for mid, items in missed_items.items()),
        key=lambda m: (-len(m.items), _name_key(m.member)),
    )
    return StudySection(
        items=tuple(counts),
        expected=sum(c.expected for c in counts),
        studied=sum(c.studied for c in counts),
        excused=sum(c.excused for c in counts),
        missed=sum(c.missed for c in counts),
        missed_members=tuple(missed_members),
        on_behalf=tuple(sorted(on_behalf, key=lambda o: _name_key(o.member))),
    )


def _mobile(week: BranchWeek, rules: WhereaboutsSettings) -> list[MobileStatus]:
    answered = dict(week.mobile_contacts)
    found: list[MobileStatus] = []
    for member in week.members:
        # A member without Telegram cannot answer the bot: their silence says nothing.
        if member.category != "mobile" or member.offline:
            continue
        # bot.domain.whereabouts' rule: the last contact of any kind, else the approval.
        contacts = [ts for ts in (member.last_contact_at, answered.get(member.member_id)) if ts]
        start = silence_start(max(contacts) if contacts else None, member.joined_at)
        days = days_since(start or member.joined_at, week.now)
        state, mark = mobile_status(days, rules)
        if state != Silence.OK:
            found.append(MobileStatus(member, days, state, mark))
    return sorted(found, key=lambda m: (-m.days, _name_key(m.member)))


def _reason(member: MemberFacts) -> str:
    if not member.has_chat:
        return "no_chat"
    text = (member.unreachable_reason or "").lower()
    if "block" in text or "kicked" in text or "deactivated" in text:
        return "blocked"
    if "not found" in text or "not_found" in text:
        return "not_found"
    return "other"


def _year_gaps(week: BranchWeek, mobile: Sequence[MobileStatus]) -> tuple[YearGap, ...]:
    by_id = {m.member_id: m for m in week.members}
    # A member already silent past a mark has the stronger line; "unconfirmed" adds nothing.
    silent = {status.member.member_id for status in mobile}
    found: dict[int, set[str]] = {}
    for member_id, gap in week.year_gaps:
        if member_id not in by_id or gap not in GAP_ORDER:
            continue
        if gap == "unconfirmed" and member_id in silent:
            continue
        found.setdefault(member_id, set()).add(gap)
    return tuple(
        YearGap(by_id[mid], tuple(g for g in GAP_ORDER if g in gaps))
        for mid, gaps in sorted(found.items(), key=lambda pair: _name_key(by_id[pair[0]]))
    )


def _attention(
    study: StudySection,
    late: Sequence[tuple[MemberFacts, str]],
    mobile: Sequence[MobileStatus],
    unreachable: Sequence[Unreachable],
    year: Sequence[YearGap] = (),
) -> tuple[Attention, ...]:
    reasons: dict[int, list[str]] = {}
    members: dict[int, MemberFacts] = {}

    def add(member: MemberFacts, reason: str) -> None:
        members[member.member_id] = member
        reasons.setdefault(member.member_id, []).append(reason)

    for missed in study.missed_members:
        add(missed.member, "missed")
    for member, _month in late:
        add(member, "late_pledge")
    for status in mobile:
        add(status.member, str(status.state))
    for item in unreachable:
        add(item.member, "unreachable")
    for gap in year:
        for reason in gap.gaps:
            add(gap.member, reason)
    ordered = sorted(members.values(), key=lambda m: (-len(reasons[m.member_id]), _name_key(m)))
    return tuple(Attention(m, tuple(reasons[m.member_id])) for m in ordered)


def build_digest(week: BranchWeek, rules: WhereaboutsSettings) -> BranchDigest:
    """Turn a branch's week of facts into its digest sections."""
    study = study_section(week.members, week.items, week.answers)
    by_id = {m.member_id: m for m in week.members}
    late = tuple(
        sorted(
            ((by_id[mid], month) for mid, month in week.late_pledges if mid in by_id),
            key=lambda pair: _name_key(pair[0]),
        )
    )
    mobile = _mobile(week, rules)
    year = _year_gaps(week, mobile)
    unreachable = tuple(
        Unreachable(m, _reason(m))
        for m in sorted(week.members, key=_name_key)
        if not m.offline and (not m.has_chat or not m.reachable)
    )
    return BranchDigest(
        branch_id=week.branch_id,
        branch_key=week.branch_key,
        branch_name=week.branch_name,
        timezone=week.timezone,
        period=week.period,
        now=week.now,
        member_count=len(week.members),
        study=study,
        late_pledges=late,
        mobile=tuple(mobile),
        mobile_count=sum(1 for m in week.members if m.category == "mobile"),
        unreachable=unreachable,
        pending=tuple(sorted(week.pending, key=lambda p: (p.requested_at, p.member_id))),
        upcoming=tuple(sorted(week.upcoming, key=lambda u: (u.due_date, u.kind))),
        attention=_attention(study, late, mobile, unreachable, year),
        year_gaps=year,
        offline=tuple(m for m in sorted(week.members, key=_name_key) if m.offline),
    )


# ---------------------------------------------------------------- the roll-up


@dataclass(frozen=True, slots=True)
class RollupFigure:
    """A feature's figure for one branch's roll-up line (see the module docstring)."""

    text: str  # short and already rendered (HTML-escaped), e.g. "履岗未报 2"
    count: int  # how many things it counts; 0 means nothing to show
    weighs: bool = True  # False: information only, never lowers the score


@dataclass(frozen=True, slots=True)
class RollupLine:
    """One branch in a higher secretary's roll-up."""

    branch_id: int
    branch_key: str
    branch_name: str
    members: int
    study_rate: float | None
    missed: int
    late_pledges: int
    silent: int
    lost: int
    unreachable: int
    pending: int
    health: float | None
    year_gaps: int = 0  # members the year still waits for (pledges, ratings, whereabouts)
    figures: tuple[RollupFigure, ...] = ()  # features' figures, shown in registration order


def _health(digest: BranchDigest, figures: Sequence[RollupFigure] = ()) -> float | None:
    if digest.member_count == 0:
        return None
    flagged = {m.member.member_id for m in digest.mobile}
    flagged |= {u.member.member_id for u in digest.unreachable}
    flagged |= {member.member_id for member, _ in digest.late_pledges}
    flagged |= {gap.member.member_id for gap in digest.year_gaps}
    weighing = sum(max(f.count, 0) for f in figures if f.weighs)
    attention_term = 1 - min(1.0, (len(flagged) + weighing) / digest.member_count)
    rate = digest.study.rate
    if rate is None:
        return round(100 * attention_term, 1)
    return round(100 * (STUDY_WEIGHT * rate + (1 - STUDY_WEIGHT) * attention_term), 1)


def rollup_line(digest: BranchDigest, figures: Sequence[RollupFigure] = ()) -> RollupLine:
    """Summarise a branch digest and its features' figures as one line with its health score."""
    shown = tuple(f for f in figures if f.count > 0)
    return RollupLine(
        branch_id=digest.branch_id,
        branch_key=digest.branch_key,
        branch_name=digest.branch_name,
        members=digest.member_count,
        study_rate=digest.study.rate,
        missed=digest.study.missed,
        late_pledges=len(digest.late_pledges),
        silent=len(digest.silent),
        lost=len(digest.lost),
        unreachable=len(digest.unreachable),
        pending=len(digest.pending),
        health=_health(digest, shown),
        year_gaps=len(digest.year_gaps),
        figures=shown,
    )


def rank_rollup(lines: Iterable[RollupLine], order: Sequence[int] = ()) -> list[RollupLine]:
    """Return the lines weakest first (see the module docstring); `order`: tree order of ids."""
    position = {branch_id: index for index, branch_id in enumerate(order)}

    def key(line: RollupLine) -> tuple[int, float, float, int, int]:
        tree = position.get(line.branch_id, len(position) + line.branch_id)
        if line.health is None:
            return (1, 0.0, 0.0, 0, tree)
        rate = 1.0 if line.study_rate is None else line.study_rate
        return (0, line.health, rate, -line.missed, tree)

    return sorted(lines, key=key)
