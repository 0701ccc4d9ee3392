"""Every query behind the digest, the chart and the ledger: one branch at a time.

    branch = await branch_context(db, branch_id, default_timezone="Asia/Shanghai")
    week = await load_branch_week(db, branch, period, now=now, settings=settings)
    history = await load_study_history(db, branch, first_day, stop_day)
    ledger = await load_ledger(db, branch, now=now, settings=settings, weekly_title=name)

A branch's digest costs what the branch costs, not what the county costs:
every query starts from the branch id on an index (members_branch_status,
study_items_branch, members_branch_category from 0006_digest.sql) and
reaches other tables only through that branch's rows (the primary keys of
study_answers and pledge_reports, pledges_member_year, whereabouts_member_at).
The joins are CROSS JOINs on purpose: in SQLite that fixes the join order, so
the planner never prefers a county-wide index such as pledge_reports_month,
as statistics of a small or young database would make it do.  The one
county-wide read, `digest_leaders`, is of the roles table (a row per
secretary): the planner needs to know whom to send to.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import aiosqlite

from bot.config import Settings
from bot.domain.away import is_away
from bot.domain.digest import (
    Answer,
    BranchWeek,
    MemberFacts,
    Outcome,
    Pending,
    Period,
    StudyItem,
    Upcoming,
    is_unconfirmed,
    period_days,
)
from bot.domain.localtime import days_since, zone
from bot.domain.pledges import (
    MonthState,
    Pledge,
    member_hours,
    month_state,
    open_month,
    pledge_gaps,
    report_moment,
)
from bot.domain.schedule import due_end
from bot.domain.whereabouts import silence_level, silence_start
from bot.ledger import LedgerData, MobileRow, PledgeRow, RosterRow, StudyRow

__all__ = [
    "BranchContext",
    "Leader",
    "StudyHistory",
    "branch_context",
    "digest_leaders",
    "load_branch_week",
    "load_ledger",
    "load_members",
    "load_study_history",
]

_CHUNK = 500
# The ledger's study sheet covers this many days back from today.
LEDGER_STUDY_DAYS = 366
# The mobile register shows this many latest places per member.
LEDGER_PLACES = 5


@dataclass(frozen=True, slots=True)
class BranchContext:
    """A unit with the time zone it reports in (its own, else its nearest ancestor's)."""

    id: int
    key: str
    name: str
    level: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Leader:
    """A secretary (or committee member) who gets a unit's digest."""

    person_id: int
    telegram_id: int
    language: str | None
    timezone: str | None
    unit_id: int
    role: str


@dataclass(frozen=True, slots=True)
class StudyHistory:
    """A branch's study items due in a span of days and the answers to them."""

    items: tuple[StudyItem, ...]
    answers: tuple[Answer, ...]


async def branch_context(
    db: aiosqlite.Connection, unit_id: int, *, default_timezone: str
) -> BranchContext | None:
    """Return the unit and its reporting zone, walking up the tree (by primary key) for one."""
    async with db.execute(
        "SELECT id, key, name, level, timezone, parent_id FROM units WHERE id = ?", (unit_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    tz, parent, hops = row["timezone"], row["parent_id"], 0
    while tz is None and parent is not None and hops < 10:
        async with db.execute("SELECT timezone, parent_id FROM units WHERE id = ?", (parent,)) as c:
            up = await c.fetchone()
        if up is None:
            break
        tz, parent, hops = up["timezone"], up["parent_id"], hops + 1
    return BranchContext(row["id"], row["key"], row["name"], row["level"], tz or default_timezone)


async def digest_leaders(db: aiosqlite.Connection, roles: Sequence[str]) -> list[Leader]:
    """Return the claimed leaders in these roles who have a Telegram chat, by unit."""
    marks = ",".join("?" * len(roles))
    async with db.execute(
        "SELECT p.id, p.telegram_id, p.language, p.timezone, r.unit_id, r.role"
        " FROM roles r JOIN people p ON p.id = r.person_id"
        f" WHERE r.role IN ({marks}) AND p.telegram_id IS NOT NULL ORDER BY r.unit_id, r.id",
        tuple(roles),
    ) as cur:
        return [Leader(*row) for row in await cur.fetchall()]


# ---------------------------------------------------------------- members


def _facts(row: aiosqlite.Row) -> MemberFacts:
    return MemberFacts(
        member_id=row["id"],
        person_id=row["person_id"],
        name=row["name"],
        category=row["category"],
        joined_at=row["decided_at"] or row["requested_at"],
        has_chat=row["telegram_id"] is not None,
        reachable=bool(row["is_reachable"]),
        unreachable_reason=row["unreachable_reason"],
        last_contact_at=row["last_contact_at"],
        place=row["place"],
        away_until=row["away_until"],
        offline=_offline(row),
        registered_by=row["registered_by_name"],
    )


def _offline(row: aiosqlite.Row) -> bool:
    """Tell whether the member was registered without Telegram and has none yet (0008)."""
    return (row["telegram_id"] is None and row["registered_at"] is not None
            and row["forgotten_at"] is None)


_MEMBER_SQL = (
    "SELECT m.id, m.person_id, m.category, m.status, m.place, m.away_until, m.decided_at,"
    " m.requested_at, p.name, p.telegram_id, p.is_reachable, p.unreachable_reason,"
    " p.last_contact_at, p.timezone, p.language, p.registered_at, p.forgotten_at,"
    " (SELECT r.name FROM people r WHERE r.id = p.registered_by) AS registered_by_name"
    " FROM members m CROSS JOIN people p ON p.id = m.person_id"
    " WHERE m.branch_id = ? AND m.status IN ('active', 'pending')"
    " ORDER BY p.name COLLATE NOCASE, m.id"
)


async def load_members(
    db: aiosqlite.Connection, branch_id: int
) -> tuple[list[MemberFacts], list[Pending], dict[int, str | None]]:
    """Return the branch's active members, its pending requests and each member's zone."""
    active: list[MemberFacts] = []
    pending: list[Pending] = []
    zones: dict[int, str | None] = {}
    async with db.execute(_MEMBER_SQL, (branch_id,)) as cur:
        for row in await cur.fetchall():
            if row["status"] == "pending":
                pending.append(
                    Pending(row["id"], row["name"], row["category"], row["requested_at"])
                )
            else:
                active.append(_facts(row))
                zones[row["id"]] = row["timezone"]
    return active, pending, zones


# ---------------------------------------------------------------- study


def _outcome(status: str, reason: str | None) -> Outcome:
    if status == "done":
        return Outcome.STUDIED
    return Outcome.AWAY if reason == "away" else Outcome.EXCUSED


async def load_study_history(
    db: aiosqlite.Connection, branch: BranchContext, first_day: date, stop_day: date
) -> StudyHistory:
    """Return the branch's items due on [first_day, stop_day) (not withdrawn) and their answers."""
    tz = zone(branch.timezone)
    span = (branch.id, first_day.isoformat(), stop_day.isoformat())
    async with db.execute(
        "SELECT id, title, due_date FROM study_items WHERE branch_id = ? AND due_date >= ?"
        " AND due_date < ? AND withdrawn_at IS NULL ORDER BY due_date, id",
        span,
    ) as cur:
        items = tuple(
            StudyItem(row["id"], row["title"], row["due_date"],
                      int(due_end(date.fromisoformat(row["due_date"]), tz).timestamp()))
            for row in await cur.fetchall()
        )
    async with db.execute(
        "SELECT a.item_id, a.member_id, a.status, a.reason, a.on_behalf, e.name AS by_name"
        " FROM study_items i CROSS JOIN study_answers a ON a.item_id = i.id"
        " LEFT JOIN people e ON e.id = a.entered_by"
        " WHERE i.branch_id = ? AND i.due_date >= ? AND i.due_date < ? AND i.withdrawn_at IS NULL",
        span,
    ) as cur:
        answers = tuple(
            Answer(row["item_id"], row["member_id"], _outcome(row["status"], row["reason"]),
                   bool(row["on_behalf"]), row["by_name"])
            for row in await cur.fetchall()
        )
    return StudyHistory(items, answers)


# ---------------------------------------------------------------- pledges


async def _late_pledges(
    db: aiosqlite.Connection,
    branch: BranchContext,
    members: Sequence[MemberFacts],
    zones: dict[int, str | None],
    now: int,
    settings: Settings,
) -> tuple[list[tuple[int, str]], dict[int, set[int]]]:
    """Return (member, "YYYY-MM") of late monthly reports, and each member's pledge years."""
    moment = datetime.fromtimestamp(now, UTC)
    year = moment.astimezone(zone(branch.timezone)).year
    async with db.execute(
        "SELECT pl.id, pl.member_id, pl.year, pl.decided_at FROM members m"
        " CROSS JOIN pledges pl ON pl.member_id = m.id"
        " WHERE m.branch_id = ? AND m.status = 'active' AND pl.year IN (?, ?)"
        " AND pl.status = 'approved'",
        (branch.id, year - 1, year),
    ) as cur:
        pledges = await cur.fetchall()
    if not pledges:
        return [], {}
    by_member = {m.member_id: m for m in members}
    wanted: dict[int, tuple[int, datetime]] = {}  # member → (open month, its ask moment)
    for member_id in {row["member_id"] for row in pledges}:
        member = by_member.get(member_id)
        if member is None:
            continue
        tz = zone(zones.get(member_id) or branch.timezone)
        hours = member_hours(member.category, settings.study)
        month = open_month(moment, settings.pledges.report_day, tz, hours)
        wanted[member_id] = (month, report_moment(month, settings.pledges.report_day, tz, hours))
    months = sorted({month for month, _ in wanted.values()})
    async with db.execute(
        "SELECT r.pledge_id, r.month FROM members m"
        " CROSS JOIN pledges pl ON pl.member_id = m.id"
        " CROSS JOIN pledge_reports r ON r.pledge_id = pl.id"
        f" WHERE m.branch_id = ? AND m.status = 'active' AND pl.status = 'approved'"
        f" AND r.month IN ({','.join('?' * len(months))})",
        (branch.id, *months),
    ) as cur:
        reported = {(row["pledge_id"], row["month"]) for row in await cur.fetchall()}
    late: list[tuple[int, str]] = []
    for member_id, (month, report_at) in wanted.items():
        # A pledge approved after the month's ask was not asked about that month.
        due = [
            row["id"] for row in pledges
            if row["member_id"] == member_id and row["year"] == month // 100
            and (row["decided_at"] or 0) <= report_at.timestamp()
        ]
        done = sum(1 for pledge_id in due if (pledge_id, month) in reported)
        state = month_state(due=len(due), reported=done, now=moment, report_at=report_at)
        if state == MonthState.LATE:
            late.append((member_id, f"{month // 100}-{month % 100:02d}"))
    years: dict[int, set[int]] = {}
    for row in pledges:
        if row["member_id"] in wanted:
            years.setdefault(row["member_id"], set()).add(row["year"])
    return late, years


async def _pledge_gaps(
    db: aiosqlite.Connection,
    branch: BranchContext,
    members: Sequence[MemberFacts],
    zones: dict[int, str | None],
    now: int,
    settings: Settings,
) -> list[tuple[int, str]]:
    """Return (member, gap) for what the pledge year still waits for (pledge_gaps' rule)."""
    moment = datetime.fromtimestamp(now, UTC)
    year = moment.astimezone(zone(branch.timezone)).year
    # A day either side of the branch's year: members' own zones may already be in the next.
    async with db.execute(
        "SELECT pl.id, pl.member_id, pl.year, pl.status, pl.decided_at, pl.self_rating,"
        " pl.secretary_rating FROM members m CROSS JOIN pledges pl ON pl.member_id = m.id"
        " WHERE m.branch_id = ? AND m.status = 'active' AND pl.year BETWEEN ? AND ?"
        " AND pl.status IN ('submitted', 'approved')",
        (branch.id, year - 2, year + 1),
    ) as cur:
        by_member: dict[int, list[Pledge]] = {}
        for row in await cur.fetchall():
            by_member.setdefault(row["member_id"], []).append(Pledge(
                id=row["id"], member_id=row["member_id"], year=row["year"], text="",
                target=None, unit=None, status=row["status"], decided_at=row["decided_at"],
                self_rating=row["self_rating"], secretary_rating=row["secretary_rating"],
            ))
    gaps: list[tuple[int, str]] = []
    for member in members:
        tz = zone(zones.get(member.member_id) or branch.timezone)
        found = pledge_gaps(
            by_member.get(member.member_id, ()), now=moment, tz=tz,
            hours=member_hours(member.category, settings.study), settings=settings.pledges,
            approved_at=member.joined_at,
        )
        gaps += [(member.member_id, str(gap)) for gap in found]
    return gaps


def _report_day_between(first: date, stop: date, report_day: int) -> date | None:
    """Return the pledge report day that falls in [first, stop), if any."""
    day = first
    while day < stop:
        if day.day == report_day:
            return day
        day += timedelta(days=1)
    return None


# ---------------------------------------------------------------- whereabouts


async def _whereabouts(
    db: aiosqlite.Connection, branch_id: int
) -> dict[int, tuple[int, str | None]]:
    """Return member → (latest whereabouts answer, its place) for the branch's mobile members."""
    async with db.execute(
        # The latest row per member by its own index lookup, not SQLite's bare
        # column beside MAX() (which PostgreSQL refuses).
        "SELECT w.member_id, w.at AS at, w.place FROM members m"
        " CROSS JOIN whereabouts_log w ON w.member_id = m.id"
        " WHERE m.branch_id = ? AND m.status = 'active' AND m.category = 'mobile'"
        " AND w.at = (SELECT MAX(x.at) FROM whereabouts_log x WHERE x.member_id = m.id)"
        " ORDER BY w.member_id, w.id",
        (branch_id,),
    ) as cur:
        return {row["member_id"]: (row["at"], row["place"]) for row in await cur.fetchall()}


def _asks_between(
    base: int, first: date, stop: date, interval_days: int, tz_name: str | None, default: str
) -> bool:
    """Tell whether a whereabouts ask (every interval after `base`) falls in [first, stop)."""
    base_day = datetime.fromtimestamp(base, UTC).astimezone(zone(tz_name, default)).date()
    number = max(1, math.ceil((first - base_day).days / interval_days))
    return base_day + timedelta(days=number * interval_days) < stop


# ---------------------------------------------------------------- the week


async def load_branch_week(
    db: aiosqlite.Connection,
    branch: BranchContext,
    period: Period,
    *,
    now: int,
    settings: Settings,
) -> BranchWeek:
    """Read everything the branch's digest for `period` needs (a handful of branch queries)."""
    tz = zone(branch.timezone)
    first, stop, next_stop = period_days(period, tz, now)
    members, pending, zones = await load_members(db, branch.id)
    study = await load_study_history(db, branch, first, next_stop)
    items = tuple(item for item in study.items if item.due_date < stop.isoformat())
    counted = {item.item_id for item in items}
    answers = tuple(answer for answer in study.answers if answer.item_id in counted)
    upcoming = [
        Upcoming("study", item.due_date, item=item)
        for item in study.items
        if item.item_id not in counted
    ]
    late, pledge_years = await _late_pledges(db, branch, members, zones, now, settings)
    report_day = _report_day_between(stop, next_stop, settings.pledges.report_day)
    # Only members with approved pledges of the report day's year are asked that day.
    reporting = (
        0 if report_day is None
        else sum(1 for years in pledge_years.values() if report_day.year in years)
    )
    if report_day is not None and reporting:
        upcoming.append(Upcoming("pledge_report", report_day.isoformat(), count=reporting))
    contacts = await _whereabouts(db, branch.id)
    asks = sum(
        1 for m in members if m.category == "mobile" and _asks_between(
            contacts.get(m.member_id, (m.joined_at, None))[0], stop, next_stop,
            settings.whereabouts.interval_days, zones.get(m.member_id), branch.timezone,
        )
    )
    if asks:
        upcoming.append(Upcoming("whereabouts", stop.isoformat(), count=asks))
    year_gaps = await _pledge_gaps(db, branch, members, zones, now, settings)
    year_gaps += [
        # Only a member the ask can reach was asked; the unreachable have their own line.
        (m.member_id, "unconfirmed") for m in members
        if m.category == "mobile" and m.has_chat and m.reachable and is_unconfirmed(
            contacts.get(m.member_id, (m.joined_at, None))[0], now,
            interval_days=settings.whereabouts.interval_days,
            tz=zone(zones.get(m.member_id) or branch.timezone),
            hours=member_hours(m.category, settings.study),
        )
    ]
    return BranchWeek(
        branch_id=branch.id,
        branch_key=branch.key,
        branch_name=branch.name,
        timezone=branch.timezone,
        period=period,
        now=now,
        members=tuple(members),
        items=items,
        answers=answers,
        late_pledges=tuple(late),
        mobile_contacts=tuple((mid, at) for mid, (at, _place) in contacts.items()),
        pending=tuple(pending),
        upcoming=tuple(upcoming),
        year_gaps=tuple(year_gaps),
    )


# ---------------------------------------------------------------- the ledger


async def _ledger_roster(db: aiosqlite.Connection, branch_id: int) -> list[RosterRow]:
    async with db.execute(_MEMBER_SQL, (branch_id,)) as cur:
        return [
            RosterRow(
                name=row["name"], category=row["category"], status=row["status"],
                joined_at=row["decided_at"], place=row["place"], timezone=row["timezone"],
                language=row["language"], last_contact_at=row["last_contact_at"],
                reachable=bool(row["is_reachable"]) and row["telegram_id"] is not None,
                away_until=row["away_until"], offline=_offline(row),
                registered_by=row["registered_by_name"],
            )
            for row in await cur.fetchall()
        ]


async def _ledger_study(
    db: aiosqlite.Connection, branch: BranchContext, members: Sequence[MemberFacts], now: int,
    weekly_title: Callable[[str], str],
) -> list[StudyRow]:
    tz = zone(branch.timezone)
    today = datetime.fromtimestamp(now, UTC).astimezone(tz).date()
    first = today - timedelta(days=LEDGER_STUDY_DAYS)
    span = (branch.id, first.isoformat())
    async with db.execute(
        "SELECT id, title, due_date FROM study_items WHERE branch_id = ? AND due_date >= ?"
        " AND withdrawn_at IS NULL ORDER BY due_date, id",
        span,
    ) as cur:
        items = await cur.fetchall()
    async with db.execute(
        "SELECT a.item_id, a.member_id, a.status, a.reason, a.note, a.answered_at,"
        " a.on_behalf, e.name AS by_name FROM study_items i"
        " CROSS JOIN study_answers a ON a.item_id = i.id"
        " LEFT JOIN people e ON e.id = a.entered_by"
        " WHERE i.branch_id = ? AND i.due_date >= ? AND i.withdrawn_at IS NULL",
        span,
    ) as cur:
        answers = {(row["item_id"], row["member_id"]): row for row in await cur.fetchall()}
    rows: list[StudyRow] = []
    for item in items:
        due = due_end(date.fromisoformat(item["due_date"]), tz)
        title = item["title"] or weekly_title(item["due_date"])
        for member in members:
            if member.joined_at > due.timestamp():
                continue
            answer = answers.get((item["id"], member.member_id))
            if answer is None:
                # As in the digest: no answer while /away covered the due date is excused.
                if is_away(member.away_until, date.fromisoformat(item["due_date"])):
                    outcome = "away"
                else:
                    outcome = "missed" if due.timestamp() <= now else "open"
                rows.append(StudyRow(title, item["due_date"], member.name, outcome))
                continue
            rows.append(StudyRow(
                title, item["due_date"], member.name,
                str(_outcome(answer["status"], answer["reason"])), answer["answered_at"],
                answer["note"] or answer["reason"],
                answer["by_name"] if answer["on_behalf"] else None,
            ))
    return rows


async def _ledger_pledges(
    db: aiosqlite.Connection, branch: BranchContext, now: int
) -> list[PledgeRow]:
    year = datetime.fromtimestamp(now, UTC).astimezone(zone(branch.timezone)).year
    async with db.execute(
        "SELECT pl.id, p.name, pl.year, pl.text, pl.target, pl.unit, pl.status, pl.self_rating,"
        " pl.secretary_rating, pl.secretary_comment FROM members m"
        " CROSS JOIN pledges pl ON pl.member_id = m.id CROSS JOIN people p ON p.id = m.person_id"
        " WHERE m.branch_id = ? AND m.status = 'active' AND pl.year = ?"
        " ORDER BY p.name COLLATE NOCASE, m.id, pl.id",
        (branch.id, year),
    ) as cur:
        pledges = await cur.fetchall()
    async with db.execute(
        "SELECT r.pledge_id, r.month, r.status FROM members m"
        " CROSS JOIN pledges pl ON pl.member_id = m.id"
        " CROSS JOIN pledge_reports r ON r.pledge_id = pl.id"
        " WHERE m.branch_id = ? AND m.status = 'active' AND pl.year = ?",
        (branch.id, year),
    ) as cur:
        months: dict[int, dict[int, str]] = {}
        for row in await cur.fetchall():
            months.setdefault(row["pledge_id"], {})[row["month"] % 100] = row["status"]
    return [
        PledgeRow(
            name=row["name"], year=row["year"], text=row["text"],
            target=_target(row["target"], row["unit"]), status=row["status"],
            months=months.get(row["id"], {}), self_rating=row["self_rating"],
            secretary_rating=row["secretary_rating"],
            secretary_comment=row["secretary_comment"],
        )
        for row in pledges
    ]


def _target(target: float | None, unit: str | None) -> str | None:
    if target is None:
        return None
    number = str(int(target)) if float(target).is_integer() else f"{target:g}"
    return f"{number} {unit}".strip() if unit else number


async def _ledger_mobile(
    db: aiosqlite.Connection, branch: BranchContext, members: Sequence[MemberFacts],
    zones: dict[int, str | None], now: int, settings: Settings,
) -> list[MobileRow]:
    mobile = [m for m in members if m.category == "mobile"]
    if not mobile:
        return []
    async with db.execute(
        "SELECT w.member_id, w.at, w.place FROM members m"
        " CROSS JOIN whereabouts_log w ON w.member_id = m.id"
        " WHERE m.branch_id = ? AND m.status = 'active' AND m.category = 'mobile'"
        " ORDER BY w.member_id, w.at DESC",
        (branch.id,),
    ) as cur:
        history: dict[int, list[tuple[int, str | None]]] = {}
        for row in await cur.fetchall():
            history.setdefault(row["member_id"], []).append((row["at"], row["place"]))
    rows = []
    for member in mobile:
        log = history.get(member.member_id, [])
        contacts = [ts for ts in (member.last_contact_at, log[0][0] if log else None) if ts]
        last = max(contacts) if contacts else None
        start = silence_start(last, member.joined_at) or member.joined_at
        days = days_since(start, now)
        rows.append(MobileRow(
            name=member.name, place=member.place,
            timezone=zones.get(member.member_id) or branch.timezone, last_contact_at=last,
            days_silent=days, state=_silence_state(days, settings),
            history=tuple(log[:LEDGER_PLACES]),
        ))
    return rows


def _silence_state(days: int, settings: Settings) -> str:
    level = silence_level(days, settings.whereabouts)
    return {"ok": "ok", "warned": "silent", "lost": "lost"}[str(level)]


async def load_ledger(
    db: aiosqlite.Connection, branch: BranchContext, *, now: int, settings: Settings,
    weekly_title: Callable[[str], str],
) -> LedgerData:
    """Read the branch's ledger: roster, a year of study, this year's pledges, mobile register."""
    members, _pending, zones = await load_members(db, branch.id)
    return LedgerData(
        branch_name=branch.name,
        branch_key=branch.key,
        timezone=branch.timezone,
        generated_at=now,
        roster=await _ledger_roster(db, branch.id),
        study=await _ledger_study(db, branch, members, now, weekly_title),
        pledges=await _ledger_pledges(db, branch, now),
        mobile=await _ledger_mobile(db, branch, members, zones, now, settings),
    )
