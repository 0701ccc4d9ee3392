"""/mypledges (a member's own year) and /pledges (a branch's pledges; report status for leaders)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain import pledges as rules
from bot.domain.localtime import zone
from bot.domain.permissions import is_leader, managed_branches
from bot.domain.pledges import Pledge
from bot.domain.text import split_message
from bot.i18n import raw, t
from bot.services import Services, get_services
from handlers.acting_for import Subject, carrying
from handlers.common import load_actor, load_units, reply
from handlers.pledges.acting import current_year, language_of, load_me
from handlers.pledges.messaging import parse_or_explain
from handlers.pledges.render import (
    marked_line,
    month_label,
    numbered,
    rating_label,
    report_summary,
    review,
    start_keyboard,
)
from storage.repositories import people
from storage.repositories import pledges as repo

__all__ = ["my_pledges", "show_branch_pledges"]


async def my_pledges(
    update: Update, context: ContextTypes.DEFAULT_TYPE, subject: Subject | None = None
) -> None:
    """Show my pledges of a year (or `subject`'s, for a helper) with their buttons."""
    services = get_services(context)
    me = await load_me(update, services, subject)
    if me is None:
        await reply(update, language_of(update, services, None), "errors.not_member")
        return
    current = current_year(me, services)
    year = await parse_or_explain(
        update, me.language, rules.parse_year, list(context.args or []), current
    )
    if year is None:
        return
    pledges = await repo.member_pledges(services.db, me.member.id, year)
    if not pledges:
        if year == current:
            await reply(
                update,
                me.language,
                "pledges.none_yet",
                year=year,
                minimum=rules.MIN_PLEDGES,
                maximum=rules.MAX_PLEDGES,
                reply_markup=carrying(start_keyboard(me.language, year), me.subject),
            )
        else:
            await reply(update, me.language, "pledges.none_for_year", year=year)
        return
    if year == current and any(p.is_editable for p in pledges):
        text, markup = review(me.language, year, pledges)
        await update.effective_chat.send_message(
            text, reply_markup=carrying(markup, me.subject)
        )
        return
    reports = await repo.reports_for(services.db, [p.id for p in pledges])
    lines = [t(me.language, "pledges.mine_title", year=year)]
    for number, pledge in enumerate(pledges, 1):
        lines.append(marked_line(me.language, number, pledge))
        if pledge.status == "approved":
            lines.append(report_summary(me.language, pledge, reports))
            if pledge.self_rating or pledge.secretary_rating:
                lines.append(_ratings(me.language, pledge))
    for part in split_message("\n".join(lines)):
        await update.effective_chat.send_message(part)


def _ratings(language: str, pledge: Pledge) -> str:
    """Return a pledge's own and secretary's ratings, with the secretary's comment."""
    comment = (
        t(language, "pledges.comment_of", comment=pledge.secretary_comment)
        if pledge.secretary_comment
        else ""
    )
    return t(
        language,
        "pledges.ratings",
        self=rating_label(language, pledge.self_rating),
        secretary=rating_label(language, pledge.secretary_rating),
        comment=raw(comment),
    )


async def show_branch_pledges(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the branch's approved pledges; secretaries also see this month's report status."""
    services = get_services(context)
    actor = await load_actor(update, context)
    all_units = await load_units(context)
    by_id = {unit.id: unit for unit in all_units}
    now = services.clock.now()
    if is_leader(actor):
        branches = managed_branches(actor, all_units)
        leader = True
    elif actor.member_branch_ids:
        branches = [by_id[branch_id] for branch_id in sorted(actor.member_branch_ids)]
        leader = False
    else:
        await reply(update, actor.language, "errors.not_member")
        return
    if not branches:
        await reply(update, actor.language, "pledges.no_branches")
        return
    person = await people.get_person_by_telegram(services.db, actor.telegram_id)
    year = rules.local_year(
        now, zone(person.timezone if person else None, services.settings.general.default_timezone)
    )
    blocks = []
    for branch in branches:
        rows = await repo.branch_pledges(services.db, branch.id, year)
        if leader:
            blocks.append(
                await _branch_status_block(
                    services, actor.language, branch.id, branch.name, year, rows, now
                )
            )
        else:
            blocks.append(_branch_public_block(actor.language, branch.name, year, rows))
    for part in split_message("\n\n".join(blocks)):
        await update.effective_chat.send_message(part)


def _approved_lines(language: str, pledges: Sequence[Pledge]) -> list[str]:
    """Return a member's approved pledges, numbered and indented under their name."""
    return numbered(language, [p for p in pledges if p.status == "approved"], indent="  ")


def _branch_public_block(
    language: str, branch: str, year: int, rows: Sequence[repo.BranchPledgeRow]
) -> str:
    """Render one branch for a member: who pledged what (approved pledges only)."""
    lines = [t(language, "pledges.branch_title", branch=branch, year=year)]
    shown = 0
    for row in rows:
        approved = _approved_lines(language, row.pledges)
        if not approved:
            continue
        shown += 1
        lines.append(t(language, "pledges.branch_member", name=row.name or "—"))
        lines += approved
    if not shown:
        lines.append(t(language, "pledges.branch_none"))
    return "\n".join(lines)


async def _branch_status_block(
    services: Services,
    language: str,
    branch_id: int,
    branch: str,
    year: int,
    rows: Sequence[repo.BranchPledgeRow],
    now: datetime,
) -> str:
    """Render one branch for its secretary: each member's pledges and this month's report."""
    settings = services.settings
    lines = [t(language, "pledges.branch_title", branch=branch, year=year)]
    if not rows:
        lines.append(t(language, "pledges.branch_none"))
    earlier: dict[int, tuple[Pledge, ...]] = {}
    states = []
    for row in rows:
        tz = zone(row.timezone, settings.general.default_timezone)
        hours = rules.member_hours(row.category, settings.study)
        month = rules.open_month(now, settings.pledges.report_day, tz, hours)
        pledges = row.pledges
        if month // 100 != year:
            # Early January: the open month is last December, about last year's pledges.
            if not earlier:
                earlier = {
                    r.member_id: r.pledges
                    for r in await repo.branch_pledges(services.db, branch_id, month // 100)
                }
            pledges = earlier.get(row.member_id, ())
        report_at = rules.report_moment(month, settings.pledges.report_day, tz, hours)
        due = [p for p in pledges if rules.is_due(p, month, report_at)]
        states.append((row, month, report_at, due))
    reported: set[tuple[int, int]] = set()
    for month in {month for _, month, _, _ in states}:
        ids = [p.id for _, m, _, due in states if m == month for p in due]
        reported.update(
            (r.pledge_id, month) for r in await repo.reports_for(services.db, ids, month)
        )
    for row, month, report_at, due in states:
        done = sum(1 for p in due if (p.id, month) in reported)
        state = rules.month_state(due=len(due), reported=done, now=now, report_at=report_at)
        lines.append(
            t(
                language,
                "pledges.branch_member_state",
                name=row.name or "—",
                state=t(language, f"pledges.state.{state.value}"),
                month=month_label(language, month),
                pledges=raw(_pledge_counts(language, row.pledges)),
            )
        )
        lines += _approved_lines(language, row.pledges)
    return "\n".join(lines)


def _pledge_counts(language: str, pledges: Sequence[Pledge]) -> str:
    """Return "2 approved, 1 awaiting approval" style counts (or "no pledges yet")."""
    if not pledges:
        return t(language, "pledges.count_none")
    counts: dict[str, int] = {}
    for pledge in pledges:
        counts[pledge.status] = counts.get(pledge.status, 0) + 1
    return t(language, "pledges.count_sep").join(
        t(language, f"pledges.count_{status}", count=count) for status, count in counts.items()
    )
