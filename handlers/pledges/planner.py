"""What the pledge cycle sends on its own: the yearly ask, monthly asks, follow-ups, 评诺 asks.

评诺 asks go to the member from the evaluation day; to the branch's leaders
when the member rates (handlers.pledges.ratings), or, for a pledge the member
never rated, from [pledges].secretary_rates_after_days later (here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from bot.domain import pledges as rules
from bot.domain.away import is_away
from bot.domain.localtime import local_date, zone
from bot.domain.outgoing import OutgoingMessage, occurrence_key, quiet_hours
from bot.domain.pledges import Pledge, PledgeReport
from bot.domain.report_round import Ask, report_round, round_messages
from bot.i18n import t
from bot.schedule_rules import look_again_if_rules_changed
from bot.services import Services
from handlers.pledges.render import (
    button,
    evaluation_ask,
    month_label,
    number_of,
    progress_keyboard,
    rating_keyboard,
    report_ask,
    secretary_rate_ask,
    start_keyboard,
)
from storage.repositories import outbox, roles, schedule, units
from storage.repositories import pledges as repo

__all__ = ["SCHEDULE_KIND", "plan_pledges"]

SCHEDULE_KIND = "pledges"

_Reports = dict[int, list[PledgeReport]]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A message the planner may send, rendered only if its key is new."""

    key: str
    build: Callable[[_Reports], OutgoingMessage]
    summary_of: int | None = None  # a pledge whose reports the text sums up


async def plan_pledges(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the pledge asks, monthly report asks, follow-ups and evaluation asks due now.

    Only members whose schedule row is due are read (issue 14: an idle tick
    costs what is due, not the county); each is then given its next moment.
    """
    db = services.db
    # Settings (report day, follow-ups) or code may differ from the last run's.
    await look_again_if_rules_changed(
        services, SCHEDULE_KIND, sections=("general", "study", "pledges"),
        modules=(__name__, rules.__name__))
    due_ids = await schedule.due_members(db, SCHEDULE_KIND, int(now.timestamp()))
    if not due_ids:
        return []
    members_now = await repo.active_members(db, member_ids=due_ids)
    # Members not planned for (left, no chat, unreachable) wait for a change of facts.
    next_at = dict.fromkeys(due_ids, schedule.NEVER)
    years = [now.year - 1, now.year, now.year + 1]
    ids = [member.member_id for member in members_now]
    by_member: dict[int, list[Pledge]] = {}
    for pledge in await repo.approved_pledges(db, years, ids):
        by_member.setdefault(pledge.member_id, []).append(pledge)
    started = {
        year: await repo.members_with_pledges(
            db, year, ("submitted", "returned", "approved"), ids
        )
        for year in years
    }
    default_tz = services.settings.general.default_timezone
    contexts = []
    months: dict[int, list[int]] = {}
    for member in members_now:
        tz = zone(member.timezone, default_tz)
        hours = rules.member_hours(member.category, services.settings.study)
        month = rules.open_month(now, services.settings.pledges.report_day, tz, hours)
        contexts.append((member, tz, hours, month))
        months.setdefault(month, []).extend(
            p.id for p in by_member.get(member.member_id, []) if p.year == month // 100
        )
    reported: set[tuple[int, int]] = set()
    for month, ids in months.items():
        for report in await repo.reports_for(services.db, ids, month):
            reported.add((report.pledge_id, month))
    candidates: list[_Candidate] = []
    leaders: dict[int, tuple[str, list[tuple[int, int, str | None]]]] = {}
    owner: dict[str, int] = {}
    for member, tz, hours, month in contexts:
        first = len(candidates)
        mine = by_member.get(member.member_id, [])
        language = member.language or services.settings.general.default_language
        candidates += _pledge_ask(services, now, member, language, tz, hours, started)
        candidates += _month_asks(services, now, member, language, tz, hours, month, mine, reported)
        candidates += _evaluation_asks(now, member, language, tz, hours, mine)
        if any(_secretary_rates_now(services, now, tz, hours, p) for p in mine):
            candidates += await _secretary_asks(services, now, member, tz, hours, mine, leaders)
        owner.update((c.key, member.member_id) for c in candidates[first:])
    known = await outbox.known_keys(services.db, (c.key for c in candidates))
    fresh = [c for c in candidates if c.key not in known]
    owed = {owner[c.key] for c in fresh}
    for member, tz, hours, _month in contexts:
        if member.member_id in owed:
            # Looked at again next tick: moves on only once what it owes is queued.
            next_at[member.member_id] = int(now.timestamp())
            continue
        moment = rules.next_planning_moment(
            now, tz, hours, services.settings.pledges, member.approved_at,
            member.away_until, sorted({p.year for p in by_member.get(member.member_id, [])}),
        )
        next_at[member.member_id] = int(moment.timestamp())
    await schedule.set_next(db, SCHEDULE_KIND, next_at)
    summaries: _Reports = {}
    wanted = [c.summary_of for c in fresh if c.summary_of is not None]
    if wanted:
        for report in await repo.reports_for(services.db, wanted):
            summaries.setdefault(report.pledge_id, []).append(report)
    return [c.build(summaries) for c in fresh]


def _message(
    member: repo.ActiveMember,
    kind: str,
    key: str,
    text: str,
    due: datetime,
    markup: InlineKeyboardMarkup,
    expires: datetime | None = None,
    *,
    tz: ZoneInfo,
) -> OutgoingMessage:
    """Return one planned message to the member, with its buttons."""
    return OutgoingMessage(
        dedupe_key=key,
        kind=kind,
        person_id=member.person_id,
        chat_id=member.telegram_id,
        text=text,
        due_at=int(due.timestamp()),
        reply_markup=markup.to_dict(),
        expires_at=int(expires.timestamp()) if expires is not None else None,
        **quiet_hours(tz, member.category),
    )


def _pledge_ask(
    services: Services,
    now: datetime,
    member: repo.ActiveMember,
    language: str,
    tz: ZoneInfo,
    hours: rules.Hours,
    started: dict[int, set[int]],
) -> list[_Candidate]:
    """Ask for the year's pledges (then follow up) while none are submitted."""
    year = rules.local_year(now, tz)
    if member.member_id in started.get(year, set()):
        return []
    first = rules.pledge_ask_moment(year, services.settings.pledges, tz, hours, member.approved_at)
    if first is None or first > now:
        return []
    number, scheduled = rules.latest_followup(first, now, services.settings.pledges.max_followups)
    if number > 0 and is_away(member.away_until, local_date(now.timestamp(), tz)):
        return []
    due = rules.send_time(scheduled, now, tz, hours)
    key = occurrence_key("pledge.ask", member.member_id, year, number)

    def build(_: _Reports) -> OutgoingMessage:
        text = t(
            language,
            "pledges.ask_followup" if number else "pledges.ask",
            year=year,
            minimum=rules.MIN_PLEDGES,
            maximum=rules.MAX_PLEDGES,
            limit=rules.MAX_TEXT,
        )
        # No expiry: the buttons stay valid all year.
        return _message(
            member, "pledge.ask", key, text, due, start_keyboard(language, year), tz=tz
        )

    return [_Candidate(key, build)]


def _month_asks(
    services: Services,
    now: datetime,
    member: repo.ActiveMember,
    language: str,
    tz: ZoneInfo,
    hours: rules.Hours,
    month: int,
    approved: Sequence[Pledge],
    reported: set[tuple[int, int]],
) -> list[_Candidate]:
    """Ask for the open month's progress per pledge, then follow up while any is missing."""
    this = report_round(now, month, services.settings.pledges, tz, hours, member.away_until)
    this_year = [p for p in approved if p.year == month // 100]
    due = [p for p in this_year if rules.is_due(p, month, this.asked_at)]
    missing = [p for p in due if (p.id, month) not in reported]
    if not missing:
        return []

    def ask(pledge: Pledge) -> Ask:
        return Ask(
            "pledge.report",
            occurrence_key("pledge.report", member.member_id, f"p{pledge.id}", month),
            lambda: (
                report_ask(language, month, number_of(this_year, pledge.id), pledge),
                progress_keyboard(language, pledge.id, month).to_dict(),
            ),
        )

    def followup(number: int) -> Ask:
        def render() -> tuple[str, dict]:
            text = t(
                language,
                "pledges.followup",
                month=month_label(language, month),
                missing=len(missing),
            )
            markup = InlineKeyboardMarkup(
                [[button(t(language, "pledges.btn_report_now"), "again", month)]]
            )
            return text, markup.to_dict()

        key = occurrence_key("pledge.followup", member.member_id, month, number)
        return Ask("pledge.followup", key, render)

    planned = round_messages(
        this, member.person_id, member.telegram_id, [ask(p) for p in missing], followup
    )
    return [_Candidate(p.key, lambda _, p=p: p.build()) for p in planned]


def _evaluation_asks(
    now: datetime,
    member: repo.ActiveMember,
    language: str,
    tz: ZoneInfo,
    hours: rules.Hours,
    approved: Sequence[Pledge],
) -> list[_Candidate]:
    """Ask the member to rate each approved pledge from the evaluation day on."""
    found: list[_Candidate] = []
    for year in sorted({p.year for p in approved}):
        opens = rules.evaluation_ask_moment(year, now, tz, hours)
        if opens is None:
            continue
        this_year = [p for p in approved if p.year == year]
        for pledge in this_year:
            if pledge.self_rating is not None:
                continue
            key = occurrence_key("pledge.evaluate", member.member_id, f"p{pledge.id}", year)
            number = number_of(this_year, pledge.id)

            def build(
                reports: _Reports,
                pledge: Pledge = pledge,
                key: str = key,
                opens: datetime = opens,
                number: int = number,
            ) -> OutgoingMessage:
                return _message(
                    member,
                    "pledge.evaluate",
                    key,
                    evaluation_ask(language, pledge, number, reports.get(pledge.id, [])),
                    rules.send_time(opens, now, tz, hours),
                    rating_keyboard(language, "self", pledge.id),
                    tz=tz,
                )

            found.append(_Candidate(key, build, summary_of=pledge.id))
    return found


def _secretary_rates_now(
    services: Services, now: datetime, tz: ZoneInfo, hours: rules.Hours, pledge: Pledge
) -> bool:
    """Tell whether the secretary is to be asked about a pledge its member never rated."""
    if pledge.self_rating is not None or pledge.secretary_rating is not None:
        return False  # rated by the member: the secretary was asked then
    if rules.evaluation_ask_moment(pledge.year, now, tz, hours) is None:
        return False
    return rules.may_secretary_rate(pledge, now, tz, hours, services.settings.pledges)


async def _secretary_asks(
    services: Services,
    now: datetime,
    member: repo.ActiveMember,
    tz: ZoneInfo,
    hours: rules.Hours,
    approved: Sequence[Pledge],
    leaders: dict[int, tuple[str, list[tuple[int, int, str | None]]]],
) -> list[_Candidate]:
    """Ask the branch's leaders to rate each pledge the member left unrated past the set day."""
    if member.branch_id not in leaders:
        branch = await units.get_unit(services.db, member.branch_id)
        leaders[member.branch_id] = (
            branch.name if branch else "",
            await roles.nearest_leaders(services.db, member.branch_id),
        )
    branch_name, found_leaders = leaders[member.branch_id]
    default = services.settings.general.default_language
    found: list[_Candidate] = []
    for pledge in approved:
        if not _secretary_rates_now(services, now, tz, hours, pledge):
            continue
        this_year = [p for p in approved if p.year == pledge.year]
        number = number_of(this_year, pledge.id)
        moment = rules.secretary_rating_moment(pledge.year, tz, hours, services.settings.pledges)
        due_at = int(rules.send_time(moment, now, tz, hours).timestamp())
        for person_id, telegram_id, leader_language in found_leaders:
            if person_id == member.person_id:
                continue  # nobody rates their own pledge
            key = occurrence_key("pledge.secrate", member.member_id, f"p{pledge.id}", person_id)
            language = leader_language or default

            def build(
                reports: _Reports,
                pledge: Pledge = pledge,
                key: str = key,
                number: int = number,
                language: str = language,
                telegram_id: int = telegram_id,
                person_id: int = person_id,
                due_at: int = due_at,
            ) -> OutgoingMessage:
                text = secretary_rate_ask(
                    language, member.name or "", branch_name, pledge, number,
                    reports.get(pledge.id, []), None,
                ) + "\n" + t(language, "pledges.secretary_rate_unrated")
                return OutgoingMessage(
                    dedupe_key=key,
                    kind="pledge.secrate",
                    person_id=person_id,
                    chat_id=telegram_id,
                    text=text,
                    due_at=due_at,
                    reply_markup=rating_keyboard(language, "sec", pledge.id).to_dict(),
                )

            found.append(_Candidate(key, build, summary_of=pledge.id))
    return found
