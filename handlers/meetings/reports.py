"""Branch life in the digest and the ledger: held, owed, absent three in a row, 学时.

    lines = await digest_lines(services, branch_id, start, end, "zh")   # the 组织生活 block
    sheet = await ledger_life(services, branch_id)                        # 组织生活 sheet
    sheet = await ledger_hours(services, branch_id)                       # 学时 sheet

Registered with bot.report_parts, so the core digest and ledger list them
without knowing about meetings.  Every read is by branch (indexed), so one
branch's cost does not grow with the county.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import meetings as rules
from bot.domain.humane import day_label
from bot.domain.localtime import zone
from bot.domain.meetings import Attendance, Kind, Rhythm
from bot.i18n import t
from bot.ledger import LEDGER_LANGUAGE
from bot.report_parts import RollupFigure, Sheet
from bot.services import Services
from handlers.meetings.render import hours_text, meeting_name
from storage.repositories import digest as digest_repo
from storage.repositories import meetings as repo
from storage.repositories import units

__all__ = ["branch_owed", "digest_lines", "ledger_hours", "ledger_life"]


async def _branch(services: Services, branch_id: int) -> tuple[str, ZoneInfo]:
    """Return the branch's kind and zone (its own, else the nearest above)."""
    unit = await units.get_unit(services.db, branch_id)
    # The zone up the tree by the branch's own ancestors, not the county's unit list.
    context = await digest_repo.branch_context(
        services.db, branch_id, default_timezone=services.settings.general.default_timezone)
    return (str(unit.kind) if unit else "",
            zone(context.timezone if context else services.settings.general.default_timezone))


def _year_bounds(year: int, tz: ZoneInfo) -> tuple[int, int]:
    return (int(datetime(year, 1, 1, tzinfo=tz).timestamp()),
            int(datetime(year + 1, 1, 1, tzinfo=tz).timestamp()))


def _local_day(ts: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ts, UTC).astimezone(tz).date()


async def branch_owed(services: Services, branch_id: int, today: date) -> list[rules.Owed]:
    """Return what the branch owes as of `today` by its kind's rhythm."""
    kind, tz = await _branch(services, branch_id)
    rhythm = {Kind(k): Rhythm(v) for k, v in services.settings.meetings.rhythm_for(kind).items()}
    start, _ = _year_bounds(today.year - 1, tz)
    _, end = _year_bounds(today.year, tz)
    held = [
        (Kind(m.kind), _local_day(m.starts_at, tz))
        for m in await repo.branch_meetings(services.db, branch_id, start, end)
        if m.cancelled_at is None
    ]
    return rules.owed(rhythm, held, today)


def _owed_line(language: str, owed: rules.Owed) -> str:
    period = f"{'last' if owed.ended else 'this'}_{owed.rhythm.value}"
    key = "meetings.digest_owed_urgent" if owed.urgent else "meetings.digest_owed"
    return t(language, key, period=t(language, f"meetings.period.{period}"),
             what=t(language, f"meetings.kind.{owed.kind.value}"))


async def digest_lines(services: Services, branch_id: int, start: int, end: int,
                       language: str) -> list[str]:
    """Return the branch's 组织生活 block: held this week, owed, absent three times in a row."""
    db = services.db
    _, tz = await _branch(services, branch_id)
    lines: list[str] = []
    for meeting in await repo.branch_meetings(db, branch_id, start, end):
        if meeting.cancelled_at is not None:
            continue
        entries = await repo.roster(db, meeting.id)
        what = meeting_name(language, meeting.kind, meeting.subject)
        day = day_label(language, _local_day(meeting.starts_at, tz))
        if meeting.confirmed_at is None:
            lines.append(t(language, "meetings.digest_unconfirmed", day=day, what=what))
            continue
        count = {mark: sum(1 for e in entries if e.attendance == mark) for mark in Attendance}
        lines.append(t(language, "meetings.digest_held", day=day, what=what,
                       present=count[Attendance.PRESENT], invited=len(entries),
                       excused=count[Attendance.EXCUSED], absent=count[Attendance.ABSENT]))
    for name, host, kind, at in await repo.guest_attendance(db, branch_id, start, end):
        lines.append(t(language, "meetings.digest_elsewhere", name=name or "—", branch=host,
                       what=t(language, f"meetings.kind.{kind}"),
                       day=day_label(language, _local_day(at, tz))))
    today = _local_day(max(start, end - 1), tz)
    lines += [_owed_line(language, owed) for owed in await branch_owed(services, branch_id, today)]
    marks = await repo.recent_marks(db, branch_id, end)
    absent = rules.absent_streaks(marks)
    if absent:
        names = {e_id: name for e_id, name, _, _ in
                 await repo.hours_by_member(db, branch_id, start, end)}
        lines.append(t(language, "meetings.digest_absent3",
                       names="、".join(names.get(member) or "—" for member in absent)))
    if not lines:
        return []
    return ["", t(language, "meetings.digest_title"), *lines]


async def rollup_figure(services: Services, branch_id: int, start: int, end: int,
                        language: str) -> RollupFigure:
    """Return the roll-up's "组织生活未召开 N": owed meetings whose period ends soon or ended.

    Only urgent ones (rules.URGENT_DAYS): at a month's start every branch owes its
    monthly meetings, which says nothing about how it is doing.
    """
    _, tz = await _branch(services, branch_id)
    today = _local_day(max(start, end - 1), tz)
    urgent = [o for o in await branch_owed(services, branch_id, today) if o.urgent]
    return RollupFigure(t(language, "meetings.rollup", count=len(urgent)), len(urgent))


def _plain(key: str, **params: Any) -> str:
    return html.unescape(t(LEDGER_LANGUAGE, key, **params))


async def ledger_life(services: Services, branch_id: int) -> Sheet | None:
    """Return the 组织生活 sheet: this year's and last year's meetings with attendance by name."""
    _, tz = await _branch(services, branch_id)
    year = _local_day(services.now_ts(), tz).year
    start, _ = _year_bounds(year - 1, tz)
    _, end = _year_bounds(year, tz)
    rows = []
    for meeting in await repo.branch_meetings(services.db, branch_id, start, end):
        entries = await repo.roster(services.db, meeting.id)

        def names(mark: Attendance, entries: list[repo.RosterEntry] = entries) -> str:
            return "、".join(e.name or "—" for e in entries if e.attendance == mark)

        rows.append([
            datetime.fromtimestamp(meeting.starts_at, UTC).astimezone(tz).replace(tzinfo=None),
            html.unescape(meeting_name(LEDGER_LANGUAGE, meeting.kind, meeting.subject)),
            meeting.topic, meeting.place or meeting.online_link or "",
            _plain("meetings.ledger_state." + ("cancelled" if meeting.cancelled_at else
                                               "confirmed" if meeting.confirmed_at else "open")),
            names(Attendance.PRESENT), names(Attendance.EXCUSED), names(Attendance.ABSENT),
            meeting.hours or "", meeting.record or "",
        ])
    if not rows:
        return None
    return Sheet(_plain("meetings.ledger_life"), _plain("meetings.ledger_life_head").split("|"),
                 rows)


async def ledger_hours(services: Services, branch_id: int) -> Sheet | None:
    """Return the 学时 sheet: each member's hours this year against the target."""
    _, tz = await _branch(services, branch_id)
    year = _local_day(services.now_ts(), tz).year
    start, end = _year_bounds(year, tz)
    target = services.settings.meetings.hours_target
    rows = [
        [name or _plain("digest.anonymous"), year, here + elsewhere, elsewhere or "", target,
         _plain("meetings.ledger_met" if here + elsewhere >= target else "meetings.ledger_short",
                short=hours_text(max(0.0, target - here - elsewhere)))]
        for _, name, here, elsewhere in await repo.hours_by_member(services.db, branch_id,
                                                                   start, end)
    ]
    if not rows:
        return None
    return Sheet(_plain("meetings.ledger_hours"), _plain("meetings.ledger_hours_head").split("|"),
                 rows)
