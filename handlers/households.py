"""Pairing with households (结对帮扶): register, pair members, log visits in two taps, remind.

    /household [name]  (or /households add [name])   a secretary registers a household,
        then its needs by buttons (技术 · 销售 · 就业 · 照料, several allowed) and the members
    /households        a member: their households and last visits, one button each;
                       a helper: also those of the members they help;
                       a secretary: the branch's households, last visits and who visits
    household → [🏠 走访] [🔧 技术指导] [🛒 帮助销售] [💼 就业帮扶] [其他]  → logged;
        an optional line may follow (typed), or [跳过]
    planner: a paired member with no visit for [households].reminder_days gets one gentle
        reminder per stretch, in their allowed hours, carrying the same five buttons

Who may log: the paired member, their helpers and 联系人 (the record names who
entered it), and the household's branch secretaries (for members without a
phone).  Who may register and pair: the branch's secretaries (and those above).
Everyone else, and every id that names nothing, gets one refusal.  Callback data:

    hh:v:<branch>   hh:nb:<branch>             a branch's list; register in a branch
    hh:nd:<household>:<need>  hh:ok:<household>  toggle a need; needs done (→ the card)
    hh:c:<household>  hh:as:<household>  hh:am:<household>:<member>   card; pair members
    hh:h:<household>:<member>  hh:k:<household>:<member>:<kind>       log a visit
    hh:sk:<visit>                                                     no line to add
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callback_data import INT, decode, pack, pattern
from bot.domain import households as rules
from bot.domain.free_text import echo, require_text
from bot.domain.humane import day_label
from bot.domain.localtime import local_date, zone
from bot.domain.models import Category, MemberStatus, Unit
from bot.domain.outgoing import OutgoingMessage, occurrence_key, quiet_hours
from bot.domain.permissions import Actor, can_manage_branch, is_leader
from bot.domain.schedule import Windows
from bot.domain.text import split_message
from bot.errors import InvalidInput
from bot.i18n import raw, t, tr
from bot.ledger import LEDGER_LANGUAGE as LEDGER
from bot.report_parts import (
    RollupFigure,
    Sheet,
    add_digest_section,
    add_ledger_sheet,
    add_rollup_figure,
)
from bot.scheduling import add_planner
from bot.services import Services, get_services
from handlers import awaiting
from handlers.common import clear_buttons, load_actor, load_units, reply
from handlers.keyboards import MAX_BUTTONS, button_grid
from handlers.scope import ScopeText, branches_in_scope, load_leader, one_branch, typed_key
from storage.repositories import helpers, members, outbox, units
from storage.repositories import households as repo
from storage.repositories.households import Household
from storage.repositories.pending_inputs import PendingInput

__all__ = ["digest_lines", "ledger_sheets", "plan_household_reminders", "register"]

log = logging.getLogger(__name__)

FEATURE = "hh"
WAITING_NAME = "households.name"
WAITING_NOTE = "households.note"
REMINDER = "hh.remind"
_DAY = 86400
# A member's /households shows at most this many households (buttons and lines).
SHOWN = 30

WORDS = ScopeText(
    unknown="households.unknown_unit",
    echo=lambda key: {"key": echo(key)},
    refused="households.not_allowed",
    no_branches="households.no_branches",
    too_many="households.too_many",
    pick="households.pick_branch",
)


# ---------------------------------------------------------------- words and keyboards


def _needs(language: str, needs: Sequence[str]) -> str:
    if not needs:
        return t(language, "households.no_needs")
    return t(language, "digest.separator").join(t(language, f"households.need_{n}") for n in needs)


def _day(language: str, at: int | None, tz_name: str | None, services: Services) -> str:
    if at is None:
        return t(language, "households.never")
    tz = zone(tz_name, services.settings.general.default_timezone)
    return day_label(language, local_date(at, tz))


def visit_markup(language: str, household_id: int, member_id: int) -> InlineKeyboardMarkup:
    """Return the five buttons that log a visit or help for one member and household."""
    buttons = [
        InlineKeyboardButton(t(language, f"households.kind_{kind}"),
                             callback_data=pack(FEATURE, "k", household_id, member_id, kind))
        for kind in rules.KINDS
    ]
    return InlineKeyboardMarkup(button_grid(buttons, 2))


def _needs_markup(language: str, household: Household) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            t(language, "households.chosen" if need in household.needs else "households.unchosen",
              label=t(language, f"households.need_{need}")),
            callback_data=pack(FEATURE, "nd", household.id, need),
        )
        for need in rules.NEEDS
    ]
    done = InlineKeyboardButton(t(language, "households.btn_done"),
                                callback_data=pack(FEATURE, "ok", household.id))
    return InlineKeyboardMarkup([*button_grid(buttons, 2), [done]])


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        # Pressed twice: the message already says this.
        if "not modified" not in str(exc).lower():
            raise


async def _refuse(update: Update, language: str) -> None:
    await update.callback_query.answer(t(language, "households.not_allowed"), show_alert=True)


# ---------------------------------------------------------------- permission


async def _managed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, household_id: int
) -> tuple[Actor, Household] | None:
    """Return the actor and household if the actor leads its branch; else refuse and None.

    One refusal whether the household exists or not, so a forged id learns nothing.
    """
    actor = await load_actor(update, context)
    if is_leader(actor):
        household = await repo.get_household(get_services(context).db, household_id)
        if household is not None and can_manage_branch(
            actor, household.branch_id, await load_units(context)
        ):
            return actor, household
    await _refuse(update, actor.language)
    return None


@dataclass(frozen=True, slots=True)
class _Visitor:
    actor: Actor
    household: Household
    member_id: int
    member_name: str | None
    entered_by: int | None  # a helper or secretary entering it; None: the member themselves


async def _visitor(
    update: Update, context: ContextTypes.DEFAULT_TYPE, household_id: int, member_id: int
) -> _Visitor | None:
    """Return who logs a visit for whom, if allowed; else refuse (the same words) and None."""
    services = get_services(context)
    actor = await load_actor(update, context)
    if actor.person_id is not None:  # an admin without a person row records for nobody
        household = await repo.get_household(services.db, household_id)
        member = await members.get_member(services.db, member_id)
        if (
            household is not None and member is not None
            and member.status == MemberStatus.ACTIVE
            and await repo.is_assigned(services.db, household_id, member_id)
        ):
            helper_ids = {h.person_id for h in await helpers.helpers_of(services.db, member_id)}
            if rules.can_log_visit(actor, household.branch_id, member.person_id, helper_ids,
                                   await load_units(context)):
                names = await repo.assigned_members(services.db, [household_id])
                name = next((a.name for a in names if a.member_id == member_id), None)
                entered_by = None if actor.person_id == member.person_id else actor.person_id
                return _Visitor(actor, household, member_id, name, entered_by)
    await _refuse(update, actor.language)
    return None


# ---------------------------------------------------------------- registering


async def cmd_household(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Register a household the branch helps: `/household [name]` (a branch secretary)."""
    await _register_start(update, context, list(context.args or []))


async def _register_start(
    update: Update, context: ContextTypes.DEFAULT_TYPE, words: list[str]
) -> None:
    actor = await load_leader(update, context)
    if actor is None:
        return
    all_units = await load_units(context)
    branches = await branches_in_scope(update, actor, all_units, None, WORDS)
    if branches is None:
        return
    branch = await one_branch(update, actor.language, branches, WORDS, limit=MAX_BUTTONS,
                              callback=lambda b: pack(FEATURE, "nb", b.id))
    if branch is None:
        return
    if words:
        await _create(update, context, actor, branch.id, " ".join(words))
    else:
        await _ask_name(update, context, actor, branch)


async def _ask_name(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, branch: Unit
) -> None:
    await awaiting.expect(get_services(context), actor.telegram_id, WAITING_NAME, str(branch.id))
    await reply(update, actor.language, "households.ask_name", branch=branch.name)


async def typed_name(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Take the typed household name for the branch the question was asked for."""
    actor = await load_actor(update, context)
    branch_id = int(pending.data or 0)
    if not can_manage_branch(actor, branch_id, await load_units(context)):
        await awaiting.done(get_services(context), actor.telegram_id, WAITING_NAME)
        await reply(update, actor.language, "households.not_allowed")
        return
    await _create(update, context, actor, branch_id, text)


async def _create(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, branch_id: int, typed: str
) -> None:
    services = get_services(context)
    try:
        name = require_text(typed, "households.name_empty", limit=rules.NAME_LIMIT,
                            long_key="households.name_long")
    except InvalidInput as problem:
        # The question stays open: the next text is taken as the name again.
        await awaiting.expect(services, actor.telegram_id, WAITING_NAME, str(branch_id))
        await reply(update, actor.language, problem.key, **problem.params)
        return
    household_id = await repo.add_household(
        services.db, branch_id=branch_id, name=name, needs=(), created_by=actor.person_id,
        now=services.now_ts(),
    )
    await awaiting.done(services, actor.telegram_id, WAITING_NAME)
    household = await repo.get_household(services.db, household_id)
    assert household is not None
    await reply(update, actor.language, "households.ask_needs", name=name,
                reply_markup=_needs_markup(actor.language, household))


async def _toggle_need(update: Update, context: ContextTypes.DEFAULT_TYPE, hid: int,
                       need: str) -> None:
    managed = await _managed(update, context, hid)
    if managed is None:
        return
    actor, household = managed
    needs = rules.toggle_need(household.needs, need)
    await repo.set_needs(get_services(context).db, hid, needs)
    await update.callback_query.answer()
    household = await repo.get_household(get_services(context).db, hid)
    assert household is not None
    await _edit(update, t(actor.language, "households.ask_needs", name=household.name),
                _needs_markup(actor.language, household))


# ---------------------------------------------------------------- the card and pairing


async def _card_text(services: Services, language: str, household: Household) -> str:
    branch = await units.get_unit(services.db, household.branch_id)
    tz = branch.timezone if branch else None
    paired = await repo.assigned_members(services.db, [household.id])
    names = t(language, "digest.separator").join(
        t(language, "households.paired_entry", name=a.name or t(language, "digest.anonymous"),
          last=_day(language, a.last_visit_at, tz, services))
        for a in paired
    ) or t(language, "households.nobody")
    return t(language, "households.card", name=household.name,
             needs=_needs(language, household.needs), members=raw(names),
             last=_day(language, household.last_visit_at, tz, services))


async def _card_markup(
    services: Services, language: str, household: Household
) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(t(language, "households.btn_assign"),
                                  callback_data=pack(FEATURE, "as", household.id))]]
    for paired in await repo.assigned_members(services.db, [household.id]):
        rows.append([InlineKeyboardButton(
            t(language, "households.btn_log_for", name=paired.name or "—"),
            callback_data=pack(FEATURE, "h", household.id, paired.member_id))])
    return InlineKeyboardMarkup(rows)


async def _show_card(update: Update, context: ContextTypes.DEFAULT_TYPE, hid: int,
                     *, edit: bool) -> None:
    managed = await _managed(update, context, hid)
    if managed is None:
        return
    actor, household = managed
    services = get_services(context)
    await update.callback_query.answer()
    text = await _card_text(services, actor.language, household)
    markup = await _card_markup(services, actor.language, household)
    if edit:
        await _edit(update, text, markup)
    else:
        await update.effective_chat.send_message(text, reply_markup=markup)


async def _roster_markup(
    services: Services, language: str, household: Household
) -> InlineKeyboardMarkup:
    roster = await members.list_branch_members(services.db, household.branch_id, ("active",))
    paired = {a.member_id for a in await repo.assigned_members(services.db, [household.id])}
    buttons = [
        InlineKeyboardButton(
            t(language, "households.chosen" if row.member.id in paired else "households.unchosen",
              label=(row.name or "—")
              + (t(language, "offline.mobile_marker") if row.offline else "")),
            callback_data=pack(FEATURE, "am", household.id, row.member.id),
        )
        for row in roster[:MAX_BUTTONS]
    ]
    done = InlineKeyboardButton(t(language, "households.btn_done"),
                                callback_data=pack(FEATURE, "c", household.id))
    return InlineKeyboardMarkup([*button_grid(buttons, 2), [done]])


async def _pick_members(update: Update, context: ContextTypes.DEFAULT_TYPE, hid: int) -> None:
    managed = await _managed(update, context, hid)
    if managed is None:
        return
    actor, household = managed
    services = get_services(context)
    await update.callback_query.answer()
    await update.effective_chat.send_message(
        t(actor.language, "households.pick_members", name=household.name),
        reply_markup=await _roster_markup(services, actor.language, household),
    )


async def _toggle_member(update: Update, context: ContextTypes.DEFAULT_TYPE, hid: int,
                         member_id: int) -> None:
    managed = await _managed(update, context, hid)
    if managed is None:
        return
    actor, household = managed
    services = get_services(context)
    member = await members.get_member(services.db, member_id)
    if member is None or member.branch_id != household.branch_id \
            or member.status != MemberStatus.ACTIVE:
        await _refuse(update, actor.language)
        return
    now = services.now_ts()
    if not await repo.assign(services.db, household_id=hid, member_id=member_id,
                             assigned_by=actor.person_id, now=now):
        await repo.unassign(services.db, household_id=hid, member_id=member_id, now=now)
    await update.callback_query.answer()
    try:
        await update.callback_query.edit_message_reply_markup(
            await _roster_markup(services, actor.language, household))
    except BadRequest:
        log.info("the roster picker could not be redrawn")


# ---------------------------------------------------------------- logging a visit


async def _offer_kinds(update: Update, context: ContextTypes.DEFAULT_TYPE, hid: int,
                       member_id: int) -> None:
    visitor = await _visitor(update, context, hid, member_id)
    if visitor is None:
        return
    await update.callback_query.answer()
    language = visitor.actor.language
    key = "households.what_did_you_do" if visitor.entered_by is None else "households.what_for"
    await update.effective_chat.send_message(
        t(language, key, household=visitor.household.name,
          name=visitor.member_name or t(language, "digest.anonymous")),
        reply_markup=visit_markup(language, hid, member_id),
    )


async def _log(update: Update, context: ContextTypes.DEFAULT_TYPE, hid: int, member_id: int,
               kind: str) -> None:
    visitor = await _visitor(update, context, hid, member_id)
    if visitor is None:
        return
    services = get_services(context)
    language = visitor.actor.language
    now = services.now_ts()
    visit_id = await repo.record_visit(services.db, household_id=hid, member_id=member_id,
                                       kind=kind, entered_by=visitor.entered_by, now=now)
    await update.callback_query.answer(t(language, "households.logged_short"))
    branch = await units.get_unit(services.db, visitor.household.branch_id)
    day = _day(language, now, branch.timezone if branch else None, services)
    key = "households.logged" if visitor.entered_by is None else "households.logged_for"
    await _edit(update, t(language, key, day=day, household=visitor.household.name,
                          kind=t(language, f"households.kind_{kind}"),
                          name=visitor.member_name or t(language, "digest.anonymous")))
    await awaiting.expect(services, visitor.actor.telegram_id, WAITING_NOTE, str(visit_id))
    skip = InlineKeyboardMarkup([[InlineKeyboardButton(
        t(language, "households.btn_skip"), callback_data=pack(FEATURE, "sk", visit_id))]])
    await reply(update, language, "households.ask_note", reply_markup=skip)


async def typed_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Take the optional line for the visit just logged."""
    services = get_services(context)
    actor = await load_actor(update, context)
    if not text:
        await reply(update, actor.language, "households.note_empty")
        return
    if len(text) > rules.NOTE_LIMIT:
        await reply(update, actor.language, "households.note_long", limit=rules.NOTE_LIMIT,
                    length=len(text))
        return
    await repo.set_note(services.db, int(pending.data or 0), text)
    await awaiting.done(services, actor.telegram_id, WAITING_NOTE)
    await reply(update, actor.language, "households.note_saved")


async def _skip(update: Update, context: ContextTypes.DEFAULT_TYPE, visit_id: int) -> None:
    services = get_services(context)
    actor = await load_actor(update, context)
    pending = await awaiting.current(services, actor.telegram_id, WAITING_NOTE)
    if pending is None or pending.data != str(visit_id):
        await update.callback_query.answer(t(actor.language, "errors.stale_button"),
                                           show_alert=True)
        return
    await awaiting.done(services, actor.telegram_id, WAITING_NOTE)
    await update.callback_query.answer(t(actor.language, "households.skipped"))
    await clear_buttons(update)


# ---------------------------------------------------------------- /households


async def cmd_households(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show my households and last visits; a secretary: the branch's list. `add` registers."""
    args = list(context.args or [])
    if args and args[0].lower() in ("add", "新增", "登记"):
        await _register_start(update, context, args[1:])
        return
    actor = await load_actor(update, context)
    shown = await _show_mine(update, context, actor)
    if is_leader(actor):
        all_units = await load_units(context)
        branches = await branches_in_scope(update, actor, all_units, typed_key(context), WORDS)
        if branches is None:
            return
        branch = await one_branch(update, actor.language, branches, WORDS, limit=MAX_BUTTONS,
                                  callback=lambda b: pack(FEATURE, "v", b.id))
        if branch is not None:
            await _branch_view(update, context, actor, branch.id)
        return
    if not shown:
        await reply(update, actor.language, "households.none_mine")


async def _show_mine(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> bool:
    """Send my households (and those of the members I help); False if there are none."""
    if actor.person_id is None:
        return False
    services = get_services(context)
    mine = await members.current_membership(services.db, actor.person_id)
    own = mine.id if mine is not None and mine.status == MemberStatus.ACTIVE else None
    helped = {h.member_id: h.name for h in await helpers.members_helped_by(services.db,
                                                                           actor.person_id)}
    ids = ([own] if own is not None else []) + list(helped)
    pairs = (await repo.households_of_members(services.db, ids))[:SHOWN]
    if not pairs:
        return False
    language = actor.language
    lines = [t(language, "households.mine_title", count=len(pairs))]
    buttons = []
    for member_id, household in pairs:
        branch = await units.get_unit(services.db, household.branch_id)
        last = _day(language, household.last_visit_at, branch.timezone if branch else None,
                    services)
        if member_id == own:
            lines.append(t(language, "households.mine_line", name=household.name, last=last,
                           needs=_needs(language, household.needs)))
            label = t(language, "households.btn_household", name=household.name)
        else:
            who = helped.get(member_id) or t(language, "digest.anonymous")
            lines.append(t(language, "households.helped_line", name=household.name, last=last,
                           member=who))
            label = t(language, "households.btn_household_for", name=household.name, member=who)
        buttons.append(InlineKeyboardButton(label,
                                            callback_data=pack(FEATURE, "h", household.id,
                                                               member_id)))
    lines.append(t(language, "households.mine_hint"))
    await update.effective_chat.send_message(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(button_grid(buttons, 1)))
    return True


async def _branch_view(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                       branch_id: int) -> None:
    """Send a branch's households: needs, last visit, who visits; a button per household."""
    services = get_services(context)
    language = actor.language
    branch = await units.get_unit(services.db, branch_id)
    tz = branch.timezone if branch else None
    rows = await repo.branch_households(services.db, branch_id)
    register_button = [InlineKeyboardButton(t(language, "households.btn_register"),
                                            callback_data=pack(FEATURE, "nb", branch_id))]
    if not rows:
        await reply(update, language, "households.none_branch",
                    branch=branch.name if branch else "",
                    reply_markup=InlineKeyboardMarkup([register_button]))
        return
    paired = await repo.assigned_members(services.db, [h.id for h in rows])
    now = services.now_ts()
    days = services.settings.households.reminder_days
    lines = [t(language, "households.branch_title", branch=branch.name if branch else "",
               count=len(rows))]
    for household in rows:
        who = t(language, "digest.separator").join(
            t(language, "households.paired_entry",
              name=a.name or t(language, "digest.anonymous"),
              last=_day(language, a.last_visit_at, tz, services))
            for a in paired if a.household_id == household.id
        ) or t(language, "households.nobody")
        overdue = rules.is_overdue(household.last_visit_at, household.created_at, now, days)
        lines.append(t(language, "households.branch_line",
                       icon=t(language, "households.icon_overdue" if overdue
                              else "households.icon_ok"),
                       name=household.name, needs=_needs(language, household.needs),
                       last=_day(language, household.last_visit_at, tz, services),
                       members=raw(who)))
    lines.append(t(language, "households.branch_legend", days=days))
    parts = split_message("\n".join(lines))
    buttons = [InlineKeyboardButton(t(language, "households.btn_household", name=h.name),
                                    callback_data=pack(FEATURE, "c", h.id))
               for h in rows[:MAX_BUTTONS]]
    markup = InlineKeyboardMarkup([*button_grid(buttons, 2), register_button])
    for index, part in enumerate(parts):
        last_part = index == len(parts) - 1
        await update.effective_chat.send_message(part, reply_markup=markup if last_part else None)


async def _branch_button(update: Update, context: ContextTypes.DEFAULT_TYPE, branch_id: int,
                         then: str) -> None:
    """A branch picked from buttons: its list (v) or a new household in it (nb)."""
    actor = await load_actor(update, context)
    all_units = await load_units(context)
    if not is_leader(actor) or not can_manage_branch(actor, branch_id, all_units):
        await _refuse(update, actor.language)
        return
    await update.callback_query.answer()
    if then == "v":
        await _branch_view(update, context, actor, branch_id)
    else:
        branch = next(u for u in all_units if u.id == branch_id)
        await _ask_name(update, context, actor, branch)


# ---------------------------------------------------------------- buttons

_NEED = frozenset(rules.NEEDS)
_KIND = frozenset(rules.KINDS)
# What each action's args must look like; anything else is answered as a stale
# button (bot.callback_data.decode → handlers.errors) before a handler runs.
_SHAPES = {
    "v": (INT,), "nb": (INT,), "nd": (INT, _NEED), "ok": (INT,), "c": (INT,), "as": (INT,),
    "am": (INT, INT), "h": (INT, INT), "k": (INT, INT, _KIND), "sk": (INT,),
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a households button; malformed data raises MalformedButton (answered as stale)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    values = pressed.values
    action = pressed.action
    if action in ("v", "nb"):
        await _branch_button(update, context, int(values[0]), action)
    elif action == "nd":
        await _toggle_need(update, context, int(values[0]), str(values[1]))
    elif action in ("ok", "c"):
        await _show_card(update, context, int(values[0]), edit=True)
    elif action == "as":
        await _pick_members(update, context, int(values[0]))
    elif action == "am":
        await _toggle_member(update, context, int(values[0]), int(values[1]))
    elif action == "h":
        await _offer_kinds(update, context, int(values[0]), int(values[1]))
    elif action == "k":
        await _log(update, context, int(values[0]), int(values[1]), str(values[2]))
    else:
        await _skip(update, context, int(values[0]))


# ---------------------------------------------------------------- the reminder planner


def _reminder_key(row: repo.DuePairing) -> str:
    # One key per stretch without a visit: a visit moves gap_start, so the next
    # stretch reminds again; the same stretch never twice, however long it lasts.
    return occurrence_key(REMINDER, row.member_id, f"h{row.household_id}", f"g{row.gap_start}")


async def plan_household_reminders(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the gentle reminders due now: one per pairing and stretch without a visit."""
    days = services.settings.households.reminder_days
    now_ts = int(now.timestamp())
    due = await repo.due_pairings(services.db, gap_started_before=now_ts - days * _DAY)
    if not due:
        return []
    known = await outbox.known_keys(services.db, [_reminder_key(row) for row in due])
    # Settled pairings leave the partial index, so the next ticks do not read them again:
    # reminded already, or nobody to remind (left, closed, no Telegram, unreachable).
    settled = {row.pairing_id: row.gap_start for row in due
               if _reminder_key(row) in known or not row.is_open
               or row.telegram_id is None or not row.is_reachable}
    await repo.mark_reminded(services.db, list(settled.items()))
    windows = Windows.from_settings(services.settings.study)
    default_tz = services.settings.general.default_timezone
    default_language = services.settings.general.default_language
    planned = []
    for row in due:
        if row.pairing_id in settled:
            continue
        tz = zone(row.timezone, default_tz)
        if not rules.may_remind_now(now, tz, windows, elderly=row.category == Category.ELDERLY):
            continue  # the first tick inside the member's allowed hours sends it
        language = row.language or default_language
        planned.append(OutgoingMessage(
            dedupe_key=_reminder_key(row),
            kind=REMINDER,
            person_id=row.person_id,
            chat_id=row.telegram_id,  # type: ignore[arg-type]
            text=t(language, "households.reminder", household=row.household,
                   days=(now_ts - row.gap_start) // _DAY),
            due_at=now_ts,
            reply_markup=visit_markup(language, row.household_id, row.member_id).to_dict(),
            **quiet_hours(tz, row.category),
        ))
    return planned


# ---------------------------------------------------------------- digest and ledger


async def digest_lines(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> list[str]:
    """Return the 结对帮扶 line, only when a household has waited too long for a visit."""
    summary = await _month_summary(services, branch_id, end)
    if summary is None or not summary.needs_attention:
        return []
    days = services.settings.households.reminder_days
    return [t(language, "households.digest", count=summary.count, visited=summary.visited,
              days=days, names=t(language, "digest.separator").join(summary.overdue))]


async def rollup_figure(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> RollupFigure | None:
    """Return the roll-up's "超 30 天未走访 N 户" (households waiting too long for a visit)."""
    summary = await _month_summary(services, branch_id, end)
    if summary is None:
        return None
    return RollupFigure(t(language, "households.rollup", count=len(summary.overdue),
                          days=services.settings.households.reminder_days),
                        len(summary.overdue))


async def _month_summary(
    services: Services, branch_id: int, end: int
) -> rules.MonthSummary | None:
    """Return the branch's households this month as of `end` (None: it helps none)."""
    rows = await repo.branch_households(services.db, branch_id)
    if not rows:
        return None
    branch = await units.get_unit(services.db, branch_id)
    tz = zone(branch.timezone if branch else None, services.settings.general.default_timezone)
    now = min(services.now_ts(), end)
    local = datetime.fromtimestamp(now, UTC).astimezone(tz)
    month_start = int(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
                      .timestamp())
    visited = {v.household_id for v in await repo.branch_visits(services.db, branch_id,
                                                                since=month_start, until=now + 1)}
    return rules.month_summary(
        [(h.id, h.name, h.created_at, h.last_visit_at) for h in rows],
        visited_ids=visited, now=now, days=services.settings.households.reminder_days,
    )


def _local(at: int, tz_name: str | None, services: Services) -> datetime:
    tz = zone(tz_name, services.settings.general.default_timezone)
    return datetime.fromtimestamp(at, UTC).astimezone(tz).replace(tzinfo=None)


async def ledger_sheets(services: Services, branch_id: int) -> Sheet | None:
    """Return the 结对帮扶 sheet: each household, its needs, who is paired, and every visit."""
    rows = await repo.branch_households(services.db, branch_id)
    if not rows:
        return None
    branch = await units.get_unit(services.db, branch_id)
    tz = branch.timezone if branch else None
    paired = await repo.assigned_members(services.db, [h.id for h in rows])
    visits = await repo.branch_visits(services.db, branch_id)
    anonymous = tr(LEDGER, "digest.anonymous")
    separator = tr(LEDGER, "digest.separator")
    body: list[list[object]] = []
    for household in rows:
        body.append([
            household.name,
            separator.join(tr(LEDGER, f"households.need_{n}") for n in household.needs),
            separator.join(a.name or anonymous for a in paired if a.household_id == household.id),
            None, None, None, None, None,
        ])
        for visit in (v for v in visits if v.household_id == household.id):
            body.append([
                household.name, None, None,
                _local(visit.at, tz, services),
                visit.member_name or anonymous,
                tr(LEDGER, f"households.kind_{visit.kind}"),
                (visit.entered_by_name or anonymous) if visit.entered_by else None,
                visit.note,
            ])
    return Sheet(title=tr(LEDGER, "households.ledger_sheet"),
                 head=tr(LEDGER, "households.ledger_head").split("|"), rows=body)


# ---------------------------------------------------------------- wiring


def register(app: Application) -> None:
    """Add /households, /household, the buttons, typed answers, the planner, digest and ledger."""
    app.add_handler(CommandHandler("households", cmd_households))
    app.add_handler(CommandHandler("household", cmd_household))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    awaiting.register(app)
    # The optional line may come a while after the visit; a day is plenty.
    app.add_handler(awaiting.typed_answers(
        app, {WAITING_NAME: typed_name, WAITING_NOTE: typed_note}, ttl=24 * 3600))
    add_planner(app, "households", plan_household_reminders)
    add_digest_section("households", digest_lines)
    add_ledger_sheet("households", ledger_sheets)
    add_rollup_figure("households", rollup_figure)
