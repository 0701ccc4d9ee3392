"""The weekly digest, the roll-up, the participation chart and the Excel ledger (台账).

    /digest [unit_key]     the current ISO week so far: a branch's digest, or for a
                           general-branch / committee secretary the roll-up of the
                           branches beneath (with a button per branch)
    /export [branch_key]   the branch's ledger as an .xlsx document
    dg:d / dg:b / dg:x     detail sections, a branch's digest, the ledger (see
                           bot.digest_render for the callback data)
    dg:c                   the 12-week participation chart, drawn in a worker thread
                           only when a leader presses 📈 (never in the planner's tick,
                           never stored in the outbox); a finished week's chart is
                           kept per unit, week and language while the bot runs
    planner "digest"       every secretary (and committee member when
                           [digest].include_committee) gets the ISO week just
                           ended on [digest].weekday at [digest].hour in their own
                           zone, once: dedupe key digest|p<person>|u<unit>|<week>;
                           after downtime it is caught up within the delivery's
                           [delivery].grace_hours, like every scheduled send

Every read of a branch asks bot.domain.permissions first (again on every
button press: a button may outlive the role); a branch outside the actor's
part of the tree gets a clear refusal and nothing else.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callback_data import INT, TEXT, decode, pack, pattern
from bot.chart import MAX_LINES, ChartData, cjk_font, render_chart
from bot.digest_memo import line_memo
from bot.digest_render import (
    FEATURE,
    SECTIONS,
    chart_button,
    chart_caption,
    keyboard,
    page_buttons,
    page_count,
    render_detail,
    render_rollup,
    render_summary,
    rollup_buttons,
    study_day_title,
    summary_buttons,
)
from bot.domain.digest import (
    BranchDigest,
    Period,
    RollupLine,
    build_digest,
    chart_weeks,
    current_week,
    digest_due,
    iso_week_code,
    parse_week_code,
    rank_rollup,
    rollup_line,
    week_period,
    weekly_rates,
)
from bot.domain.free_text import echo
from bot.domain.humane import day_label
from bot.domain.localtime import format_local, local_date, zone
from bot.domain.models import Level, Unit
from bot.domain.outgoing import OutgoingMessage
from bot.domain.permissions import Actor, can_manage, can_manage_branch, top_led_units
from bot.domain.text import split_message
from bot.domain.tree import branches_under
from bot.i18n import t
from bot.ledger import build_ledger
from bot.report_parts import digest_sections, ledger_sheets, rollup_figures
from bot.scheduling import add_planner
from bot.services import Services, get_services
from handlers import contact_log
from handlers.common import load_actor, load_units, reply
from handlers.keyboards import MAX_BUTTONS
from handlers.scope import (
    ScopeText,
    branches_in_scope,
    load_leader,
    named_unit,
    one_branch,
    refuse_button,
    typed_key,
)
from storage.repositories import digest as repo
from storage.repositories import outbox
from storage.repositories import units as units_repo
from storage.repositories.digest import BranchContext

__all__ = [
    "Composed",
    "branch_digest",
    "compose_branch",
    "compose_rollup",
    "compose_unit",
    "digest_key",
    "plan_digests",
    "register",
    "rollup_lines",
]

log = logging.getLogger(__name__)

KIND = "digest"
# Seconds of composing per planner call.  A county's Monday digests take
# seconds; a very large one (27,750 digests at 1M members took 27 minutes)
# would otherwise hold the planners' tick until the last was composed, and
# send none before.  What is left is composed at the next tick (already
# planned keys are skipped), so digests flow out from the first tick on and
# the other planners keep their time.  A work budget, so real time.
COMPOSE_BUDGET_SECONDS = 5.0
# /digest without a key sends at most this many digests (a leader of several units).
MAX_TARGETS = 4

WORDS = ScopeText(
    unknown="digest.unknown_unit",
    echo=lambda key: {"key": echo(key)},
    refused="digest.not_allowed",
    no_branches="digest.no_branches",
    too_many="digest.too_many",
    pick="digest.not_a_branch",
)


Chart = tuple[bytes, str]  # PNG and its caption
# Charts of finished weeks kept per (unit, week code, language) while the bot runs; a
# PNG is ~40 kB, so this bounds the cache near 2.5 MB.
CHART_CACHE_SIZE = 64
_CHARTS = "digest.charts"  # its bot_data key: one cache per Application, never shared


@dataclass(frozen=True, slots=True)
class Composed:
    """A digest ready to send: text parts (buttons on the last, 📈 among them).

    `draw` renders the chart; only the 📈 button calls it, so neither a chat nor
    the planner's tick waits for matplotlib.
    """

    parts: list[str]
    markup: InlineKeyboardMarkup | None
    draw: Callable[[], Awaitable[Chart]] | None = None
    pages: int = 0  # a roll-up's page count (◀ ▶); 0: a branch's digest, not paged


def digest_key(person_id: int, unit_id: int, week_code: str) -> str:
    """Return the send-log key of one leader's digest of one unit for one ISO week."""
    return f"digest|p{person_id}|u{unit_id}|{week_code}"


# ---------------------------------------------------------------- building


async def _context(services: Services, unit_id: int) -> BranchContext | None:
    return await repo.branch_context(
        services.db, unit_id, default_timezone=services.settings.general.default_timezone
    )


def _period_in(branch: BranchContext, like: Period, now: int) -> Period:
    """Return the same ISO week as `like`, in the branch's own zone."""
    return week_period(
        like.iso_year, like.iso_week, zone(branch.timezone), now=now if like.partial else None
    )


async def branch_digest(
    services: Services, branch: BranchContext, period: Period, now: int
) -> BranchDigest:
    """Read and compute one branch's digest for `period` (its own queries only)."""
    week = await repo.load_branch_week(
        services.db, branch, period, now=now, settings=services.settings
    )
    return build_digest(week, services.settings.whereabouts)


async def _branch_rates(
    services: Services, branch: BranchContext, period: Period
) -> tuple[tuple[str, ...], tuple[float | None, ...]]:
    """Return the 12 week codes ending with the period's week and their completion rates."""
    weeks = chart_weeks(period, zone(branch.timezone))
    history = await repo.load_study_history(services.db, branch, weeks[0][1], weeks[-1][2])
    members, _pending, _zones = await repo.load_members(services.db, branch.id)
    rates = weekly_rates(members, history.items, history.answers, weeks)
    return tuple(code for code, _, _ in weeks), rates


def _chart_language(language: str) -> str:
    """Return the language chart labels are drawn in: Chinese only with a CJK font."""
    return language if cjk_font() is not None else "en"


async def compose_branch(
    services: Services,
    branch: BranchContext,
    period: Period,
    language: str,
    *,
    now: int,
    chart: bool = True,
) -> Composed:
    """Return a branch's digest: summary, detail buttons and the 12-week chart."""
    digest = await branch_digest(services, branch, period, now)
    # Lines features contribute (bot.report_parts), e.g. 本周变动, after the core's.
    extra = await digest_sections(services, branch.id, period.start, period.end, language)
    parts = split_message("\n".join([render_summary(language, digest), *extra]))
    markup = keyboard(summary_buttons(language, digest))

    async def draw() -> Chart:
        weeks, rates = await _branch_rates(services, branch, digest.period)
        drawn = _chart_language(language)
        label = branch.name if drawn == language else branch.key
        png = await render_chart(ChartData(weeks, ((label, rates),)),
                                 title=t(drawn, "digest.chart_title"))
        return png, chart_caption(language, branch.name)

    return Composed(parts, markup, draw if chart else None)


async def _branch_line(
    services: Services, branch: BranchContext, period: Period, language: str, now: int
) -> RollupLine:
    """Compute one branch's roll-up line: its digest and its features' figures."""
    digest = await branch_digest(services, branch, period, now)
    # Figures features contribute (bot.report_parts) show on the line and weigh in the score.
    figures = await rollup_figures(services, branch.id, period.start, period.end, language)
    return rollup_line(digest, figures)


async def rollup_lines(
    services: Services,
    branches: Sequence[BranchContext],
    period: Period,
    language: str,
    *,
    now: int,
) -> list[RollupLine]:
    """Return the branches' roll-up lines weakest first, each computed once per week.

    Every leader above a branch (general branch, committee, their committee
    members, each page they turn) reuses the same line (bot.digest_memo).
    """
    memo = line_memo(services.db)
    lines = []
    for branch in branches:
        own = _period_in(branch, period, now)
        lines.append(await memo.get(
            (branch.id, own.code, language), partial=own.partial, now=now,
            compute=lambda branch=branch, own=own: _branch_line(
                services, branch, own, language, now),
        ))
    return rank_rollup(lines, order=[b.id for b in branches])


async def compose_rollup(
    services: Services,
    unit: BranchContext,
    branches: Sequence[BranchContext],
    period: Period,
    language: str,
    *,
    now: int,
    chart: bool = True,
    page: int = 0,
) -> Composed:
    """Return a page of the roll-up of the branches beneath a unit, weakest first.

    Buttons: this page's branches, ◀ ▶ when there are several pages, 📈 the chart.
    """
    ranked = await rollup_lines(services, branches, period, language, now=now)
    parts = split_message(
        render_rollup(language, unit.name, period, unit.timezone, ranked, page))
    rows = [[button] for button in rollup_buttons(ranked, period, page)]
    rows.append(page_buttons(language, unit.id, period, page, page_count(ranked)))
    if ranked:
        rows.append([chart_button(language, unit.id, period)])
    markup = _rows_markup(rows)
    by_id = {branch.id: branch for branch in branches}

    async def draw() -> Chart:
        drawn = _chart_language(language)
        series, legend = [], []
        weeks: tuple[str, ...] = ()
        for line in ranked[:MAX_LINES]:
            branch = by_id[line.branch_id]
            weeks, rates = await _branch_rates(services, branch,
                                               _period_in(branch, period, now))
            label = branch.name if drawn == language else branch.key
            series.append((label, rates))
            if label != branch.name:
                legend.append((label, branch.name))
        png = await render_chart(ChartData(weeks, tuple(series)),
                                 title=t(drawn, "digest.chart_title"))
        return png, chart_caption(language, unit.name, legend)

    return Composed(parts, markup, draw if chart and ranked else None, page_count(ranked))


def _rows_markup(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    """Return the (label, data) rows as an inline keyboard, empty rows left out."""
    keyboard_rows = [
        [InlineKeyboardButton(label, callback_data=data) for label, data in row]
        for row in rows if row
    ]
    return InlineKeyboardMarkup(keyboard_rows) if keyboard_rows else None


async def compose_unit(
    services: Services, unit_id: int, period_for: Period | None, language: str, now: int,
    *, page: int = 0,
) -> Composed | None:
    """Return the digest of a branch or the roll-up of a higher unit (None: nothing beneath)."""
    context = await _context(services, unit_id)
    if context is None:
        return None
    tz = zone(context.timezone)
    period = (
        current_week(now, tz) if period_for is None else _period_in(context, period_for, now)
    )
    if context.level == Level.BRANCH:
        return await compose_branch(services, context, period, language, now=now)
    all_units = await units_repo.list_units(services.db)
    default = services.settings.general.default_timezone
    by_id = {unit.id: unit for unit in all_units}
    branches = [_context_of(by_id, u, default) for u in branches_under(all_units, unit_id)]
    if not branches:
        return None
    return await compose_rollup(services, context, branches, period, language, now=now,
                                page=page)


def _context_of(by_id: dict[int, Unit], unit: Unit, default: str) -> BranchContext:
    """Return the unit's context from the tree in memory (its zone, else its nearest parent's).

    Walks parents through one index shared by every branch of a roll-up: indexing
    the whole tree per branch cost 80 ms a committee page in a 100k county.
    """
    timezone, current, seen = unit.timezone, unit, 0
    # The length guard stops a corrupt parent loop from spinning forever.
    while not timezone and current.parent_id in by_id and seen <= len(by_id):
        current, seen = by_id[current.parent_id], seen + 1
        timezone = current.timezone
    return BranchContext(unit.id, unit.key, unit.name, str(unit.level), timezone or default)


# ---------------------------------------------------------------- sending in a chat


async def _send(update: Update, composed: Composed) -> None:
    chat = update.effective_chat
    assert chat is not None
    for index, part in enumerate(composed.parts):
        last = index == len(composed.parts) - 1
        await chat.send_message(part, reply_markup=composed.markup if last else None)


async def show_digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the current week's digest (a branch) or roll-up (a higher unit): `/digest [key]`."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    services = get_services(context)
    all_units = await load_units(context)
    key = typed_key(context)
    if key is not None:
        unit = await named_unit(update, actor, all_units, key, WORDS)
        if unit is None:
            return
        targets = [unit]
    else:
        targets = top_led_units(actor, all_units)[:MAX_TARGETS]
        if not targets:
            example = next((u.key for u in all_units), "xianshui")
            await reply(update, actor.language, "digest.usage_admin", example=example)
            return
    now = services.now_ts()
    for unit in targets:
        composed = await compose_unit(services, unit.id, None, actor.language, now)
        if composed is None:
            await reply(update, actor.language, "digest.no_branches")
            continue
        await _send(update, composed)


# ---------------------------------------------------------------- the ledger


async def _send_ledger(update: Update, services: Services, actor: Actor, branch_id: int) -> None:
    branch = await _context(services, branch_id)
    if branch is None:
        await reply(update, actor.language, "errors.stale_button")
        return
    now = services.now_ts()
    data = await repo.load_ledger(
        services.db, branch, now=now, settings=services.settings,
        weekly_title=lambda day: study_day_title("zh", day),
    )
    data = replace(data, extra=tuple(await ledger_sheets(services, branch.id)))
    content = await build_ledger(data)
    day = format_local(now, zone(branch.timezone), with_time=False)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(content, filename=f"ledger_{branch.key}_{day}.xlsx"),
        caption=t(actor.language, "digest.export_caption", branch=branch.name,
                  date=day_label(actor.language, local_date(now, zone(branch.timezone)))),
    )


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a branch's ledger as Excel: `/export [branch_key]` (else pick from buttons)."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    all_units = await load_units(context)
    branches = await branches_in_scope(update, actor, all_units, typed_key(context), WORDS)
    if branches is None:
        return
    branch = await one_branch(
        update, actor.language, branches, WORDS, limit=MAX_BUTTONS,
        callback=lambda branch: pack(FEATURE, "x", branch.id),
    )
    if branch is not None:
        await _send_ledger(update, get_services(context), actor, branch.id)


# ---------------------------------------------------------------- buttons

# What each action's args must look like; anything else is answered as a stale
# button (bot.callback_data.decode → handlers.errors) before a handler runs.
_SHAPES = {
    "x": (INT,),  # the ledger of a branch
    "d": (INT, frozenset(SECTIONS), TEXT),  # a detail section: branch, section, week code
    "b": (INT, TEXT),  # a branch's digest from a roll-up: branch, week code
    "c": (INT, TEXT),  # the 12-week chart of a branch or a higher unit: unit, week code
    "p": (INT, TEXT, INT),  # a page of a roll-up: unit, week code, 0-based page
}


async def _unit_week(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, unit_id: int, code: str
) -> Period | None:
    """Return the pressed unit's week in its zone, after the permission check (None: answered).

    Only leaders of the unit or above pass; a unit outside the presser's tree is
    refused exactly like one that does not exist.
    """
    query = update.callback_query
    assert query is not None
    all_units = await load_units(context)
    unit = next((u for u in all_units if u.id == unit_id), None)
    if unit is None or not can_manage(actor, unit, all_units):
        await refuse_button(update, actor, WORDS)
        return None
    services = get_services(context)
    week = parse_week_code(code)
    context_unit = await _context(services, unit_id)
    if week is None or context_unit is None:
        await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
        return None
    year, number, partial = week
    now = services.now_ts()
    return week_period(year, number, zone(context_unit.timezone), now=now if partial else None)


async def _turn_page(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, unit_id: int, code: str,
    page: int,
) -> None:
    """Show another page of a roll-up in the same message: ◀ ▶, leaders above only."""
    query = update.callback_query
    assert query is not None
    period = await _unit_week(update, context, actor, unit_id, code)
    if period is None:
        return
    services = get_services(context)
    composed = await compose_unit(services, unit_id, period, actor.language,
                                   services.now_ts(), page=page)
    if composed is None or not 0 <= page < composed.pages:
        await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
        return
    await query.answer()
    *before, last = composed.parts
    # A page is one message by design (ROLLUP_PAGE lines); very long names could still
    # split it, and then the overflow follows as messages of its own.
    await query.edit_message_text(before[0] if before else last,
                                  reply_markup=None if before else composed.markup)
    chat = update.effective_chat
    assert chat is not None
    for index, part in enumerate(composed.parts[1:], start=1):
        last_part = index == len(composed.parts) - 1
        await chat.send_message(part, reply_markup=composed.markup if last_part else None)


async def _send_chart(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, unit_id: int, code: str
) -> None:
    """Draw (or reuse) a unit's 12-week chart and send it: the 📈 button, leaders only."""
    query = update.callback_query
    assert query is not None
    period = await _unit_week(update, context, actor, unit_id, code)
    if period is None:
        return
    await query.answer(t(actor.language, "digest.drawing"))
    services = get_services(context)
    now = services.now_ts()
    partial = period.partial
    cache: OrderedDict[tuple[int, str, str], Chart] = context.application.bot_data.setdefault(
        _CHARTS, OrderedDict())
    key = (unit_id, period.code, actor.language)
    chart = cache.get(key)
    if chart is None:
        composed = await compose_unit(services, unit_id, period, actor.language, now)
        if composed is None or composed.draw is None:
            await reply(update, actor.language, "digest.no_branches")
            return
        chart = await composed.draw()
        # A week still under way changes with every answer: only finished weeks are kept.
        if not partial:
            cache[key] = chart
            while len(cache) > CHART_CACHE_SIZE:
                cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(chart[0], caption=chart[1])


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open a detail section, a branch's digest, the chart or the ledger, permission first."""
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data, FEATURE, _SHAPES)
    action, args = pressed.action, pressed.args
    actor = await load_actor(update, context)
    if action == "c":
        await _send_chart(update, context, actor, int(args[0]), str(args[1]))
        return
    if action == "p":
        await _turn_page(update, context, actor, int(args[0]), str(args[1]), int(args[2]))
        return
    services = get_services(context)
    branch_id = int(args[0])
    all_units = await load_units(context)
    if not can_manage_branch(actor, branch_id, all_units):
        await refuse_button(update, actor, WORDS)
        return
    if action == "x":
        await query.answer(t(actor.language, "digest.exporting"))
        await _send_ledger(update, services, actor, branch_id)
        return
    week = parse_week_code(args[-1])
    if week is None:
        await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
        return
    branch = await _context(services, branch_id)
    if branch is None:
        await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
        return
    await query.answer()
    now = services.now_ts()
    year, number, partial = week
    period = week_period(year, number, zone(branch.timezone), now=now if partial else None)
    if action == "b":
        await _send(update, await compose_branch(services, branch, period, actor.language,
                                                 now=now))
        return
    digest = await branch_digest(services, branch, period, now)
    for part in render_detail(actor.language, digest, args[1]):
        await update.effective_chat.send_message(part)
    if args[1] == "mob":
        # Each silent member's line leads to the record buttons (📞 / 🏠 / 👥).
        await contact_log.offer_members(
            update, actor.language, [(m.member.member_id, m.member.name) for m in digest.mobile]
        )


# ---------------------------------------------------------------- the weekly planner


async def plan_digests(services: Services, now_dt: datetime) -> list[OutgoingMessage]:
    """Plan each leader's digest of last ISO week once it falls due in their own zone."""
    settings = services.settings
    roles = ("secretary", "committee") if settings.digest.include_committee else ("secretary",)
    now = int(now_dt.timestamp())
    # Like every scheduled send, a digest is caught up after downtime only within the
    # delivery grace; later it would report a week long gone.
    late_limit = max(settings.delivery.grace_hours, 1) * 3600
    due: list[tuple[repo.Leader, str, Period, int]] = []
    for leader in await repo.digest_leaders(services.db, roles):
        tz = zone(leader.timezone, settings.general.default_timezone)
        due_at = digest_due(now, tz, settings.digest.weekday, settings.digest.hour)
        # Zones differ by at most 26 hours: the unit's week may end up to that much later.
        if not due_at <= now < due_at + late_limit + 26 * 3600:
            continue
        year, week, _ = (local_date(now, tz) - timedelta(days=7)).isocalendar()
        # A unit west of its leader (a leader without a zone reads in the default one)
        # reports once the week is over there too: its members still have their Sunday.
        unit = await _context(services, leader.unit_id)
        if unit is not None:
            due_at = max(due_at, week_period(year, week, zone(unit.timezone)).end)
        if not due_at <= now < due_at + late_limit:
            continue
        key = digest_key(leader.person_id, leader.unit_id, iso_week_code(year, week))
        due.append((leader, key, week_period(year, week, tz), due_at))
    if not due:
        return []
    known = await outbox.known_keys(services.db, [key for _, key, _, _ in due])
    planned: list[OutgoingMessage] = []
    started = time.monotonic()
    for leader, key, period, due_at in due:
        if key in known:
            continue
        if planned and time.monotonic() - started > COMPOSE_BUDGET_SECONDS:
            log.info("digests: the rest are composed at the next tick")
            break
        language = leader.language or settings.general.default_language
        try:
            composed = await compose_unit(services, leader.unit_id, period, language, now)
            if composed is None:
                continue
        except Exception:
            # One unit's failure must not hold back every other secretary's digest.
            log.exception("digest of unit %s failed", leader.unit_id)
            continue
        planned += _outgoing(leader, key, composed, now, due_at)
    return planned


def _outgoing(
    leader: repo.Leader, key: str, composed: Composed, now: int, due_at: int
) -> list[OutgoingMessage]:
    """Return the outbox rows of one digest: its text parts, the 📈 button on the last."""
    expires = due_at + 7 * 86400  # a digest not delivered within its week is stale
    markup = composed.markup.to_dict() if composed.markup is not None else None
    rows = [
        OutgoingMessage(
            dedupe_key=key if index == 0 else f"{key}|{index + 1}",
            kind=KIND,
            person_id=leader.person_id,
            chat_id=leader.telegram_id,
            text=part,
            due_at=now,
            reply_markup=markup if index == len(composed.parts) - 1 else None,
            expires_at=expires,
        )
        for index, part in enumerate(composed.parts)
    ]
    return rows


def register(app: Application) -> None:
    """Add /digest, /export, the dg: buttons and the weekly planner."""
    app.add_handler(CommandHandler("digest", show_digest))
    app.add_handler(CommandHandler("export", export))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    add_planner(app, "digest", plan_digests)
