"""Yearly pledges (承诺–践诺–评诺): drafting, approval, monthly reports, year-end ratings.

    asked (planner)  →  ➕ type 2–5 pledges (or 📋 pick common ones)  →  📤 submit
    secretary: ✅ approve / ↩️ return one with a typed comment  →  member fixes, resubmits
    report_day monthly (planner): per pledge ✅ / 🔄 / ⏸  →  [number]  →  [note]
    28 December (planner): member rates each pledge  →  secretary rates (+ comment)

A number reached is asked only for a pledge with a target (and not when it
has not started); elderly members answer every step by buttons, so they get
no number or note question and can pick common pledges instead of typing.

Drafts are rows in `pledges`; what typed text answers is a row in
`pending_inputs` (kinds "pledge.*"), so both survive a restart.  Callback
data (feature "pl", at most ~40 bytes):

    pl:add:<year>  pl:tpl:<year>  pl:tpa:<year>:<i>  pl:sub:<year>
    pl:edit:<pledge>  pl:del:<pledge>
    pl:ok:<pledge>  pl:ret:<pledge>  pl:all:<member>:<year>
    pl:rep:<pledge>:<yyyymm>:<status>  pl:ska:<pledge>:<yyyymm>  pl:skn:<pledge>:<yyyymm>
    pl:again:<yyyymm>  pl:self:<pledge>:<rating>  pl:sec:<pledge>:<rating>  pl:nocm:<pledge>
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.callback_data import pack, pattern, unpack
from bot.domain import pledges as rules
from bot.domain.away import is_away
from bot.domain.localtime import local_date, zone
from bot.domain.models import Category, Member, Person
from bot.domain.outgoing import OutgoingMessage, occurrence_key
from bot.domain.permissions import Actor, can_manage_branch, is_leader, managed_branch_ids
from bot.domain.pledges import Pledge, PledgeReport, format_number
from bot.domain.text import split_message
from bot.errors import InvalidInput
from bot.i18n import catalogue, raw, t
from bot.scheduling import add_planner
from bot.services import Services, get_services
from handlers import awaiting
from handlers.awaiting import AwaitedInputHandler
from handlers.common import load_actor, load_units, reply, user_language
from storage.db import transaction
from storage.repositories import audit, members, outbox, pending_inputs, people, roles, units
from storage.repositories import pledges as repo
from storage.repositories.pending_inputs import PendingInput

__all__ = ["plan_pledges", "register"]

log = logging.getLogger(__name__)

FEATURE = "pl"
# A question typed text answers stays open a day: long enough to draft
# pledges over an evening, short enough that text sent days later is not
# mistaken for an old answer (awaiting's default is an hour).
INPUT_TTL = 24 * 3600

ADDING = "pledge.add"  # {"y": year}
EDITING = "pledge.edit"  # {"p": pledge}
AMOUNT = "pledge.amount"  # {"p": pledge, "m": yyyymm}
NOTE = "pledge.note"  # {"p": pledge, "m": yyyymm}
RETURNING = "pledge.return"  # {"p": pledge, "c": chat, "mid": approval message}
RATE_COMMENT = "pledge.rcomment"  # {"p": pledge}

# Keep planning an unrated pledge's evaluation ask only this long after it opens.
_EVALUATION_PLANNING_DAYS = 45


# ---------------------------------------------------------------- who is acting


@dataclass(frozen=True, slots=True)
class _Me:
    """The member behind an update, with their zone and allowed hours."""

    person: Person
    member: Member
    language: str
    tz: ZoneInfo
    hours: rules.Hours

    @property
    def is_elderly(self) -> bool:
        """Tell whether this member answers by buttons only."""
        return self.member.category == Category.ELDERLY


async def _load_me(update: Update, services: Services) -> _Me | None:
    """Return the active member behind the update, or None."""
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    if person is None:
        return None
    member = await members.current_membership(services.db, person.id)
    if member is None or member.status != "active":
        return None
    branch = await units.get_unit(services.db, member.branch_id)
    default = services.settings.general.default_timezone
    return _Me(
        person=person,
        member=member,
        language=user_language(update, services, person.language),
        tz=zone(person.timezone or (branch.timezone if branch else None), default),
        hours=rules.member_hours(member.category, services.settings.study),
    )


def _language_of(update: Update, services: Services, person: Person | None) -> str:
    return user_language(update, services, person.language if person else None)


# ---------------------------------------------------------------- rendering


def _target(language: str, pledge: Pledge) -> str:
    if pledge.target is None:
        return ""
    return t(
        language, "pledges.target", target=format_number(pledge.target), unit=pledge.unit or ""
    )


def _line(language: str, number: int, pledge: Pledge) -> str:
    return t(
        language, "pledges.line", n=number, text=pledge.text, target=raw(_target(language, pledge))
    )


def _mark(language: str, pledge: Pledge) -> str:
    if pledge.status == "returned":
        return t(language, "pledges.mark_returned", comment=pledge.return_comment or "")
    return t(language, f"pledges.mark_{pledge.status}")


def _month_label(language: str, month: int) -> str:
    year, number = rules.month_of(month)
    return t(language, "pledges.month", year=year, month=number)


def _rating(language: str, rating: str | None) -> str:
    return t(language, f"pledges.rating.{rating}") if rating else t(language, "pledges.unrated")


def _number_of(pledges: Sequence[Pledge], pledge_id: int) -> int:
    """Return the 1-based place of a pledge in its member's list of the year."""
    return next((i for i, p in enumerate(pledges, 1) if p.id == pledge_id), 0)


def _button(label: str, *parts: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=pack(FEATURE, *map(str, parts)))


def _start_keyboard(language: str, year: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(t(language, "pledges.btn_add"), "add", year),
                _button(t(language, "pledges.btn_templates"), "tpl", year),
            ]
        ]
    )


def _review(
    language: str, year: int, pledges: Sequence[Pledge], header: str = ""
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Return the draft review: every pledge with its state, and edit/delete/submit buttons."""
    lines = [header] if header else []
    lines.append(
        t(
            language,
            "pledges.review_title",
            year=year,
            count=len(pledges),
            minimum=rules.MIN_PLEDGES,
            maximum=rules.MAX_PLEDGES,
        )
    )
    for number, pledge in enumerate(pledges, 1):
        lines.append(_line(language, number, pledge) + _mark(language, pledge))
    editable = [(n, p) for n, p in enumerate(pledges, 1) if p.is_editable]
    rows = [
        [
            _button(t(language, "pledges.btn_edit", n=n), "edit", p.id),
            _button(t(language, "pledges.btn_delete", n=n), "del", p.id),
        ]
        for n, p in editable
    ]
    if len(pledges) < rules.MAX_DRAFTS:
        rows.append(
            [
                _button(t(language, "pledges.btn_add"), "add", year),
                _button(t(language, "pledges.btn_templates"), "tpl", year),
            ]
        )
    if editable:
        lines.append(t(language, "pledges.review_hint"))
        rows.append([_button(t(language, "pledges.btn_submit"), "sub", year)])
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def _approval(
    language: str, name: str, branch: str, year: int, pledges: Sequence[Pledge], member_id: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Return the secretary's approval message: the pledges and per-pledge buttons."""
    lines = [t(language, "pledges.approval_title", name=name, branch=branch, year=year)]
    lines += [_line(language, n, p) + _mark(language, p) for n, p in enumerate(pledges, 1)]
    waiting = [(n, p) for n, p in enumerate(pledges, 1) if p.status == "submitted"]
    rows = [
        [
            _button(t(language, "pledges.btn_approve", n=n), "ok", p.id),
            _button(t(language, "pledges.btn_return", n=n), "ret", p.id),
        ]
        for n, p in waiting
    ]
    if len(waiting) > 1:
        rows.append([_button(t(language, "pledges.btn_approve_all"), "all", member_id, year)])
    if not waiting:
        lines.append(t(language, "pledges.approval_done"))
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def _progress_keyboard(language: str, pledge_id: int, month: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(t(language, f"pledges.progress.{status}"), "rep", pledge_id, month, status)
                for status in rules.PROGRESS
            ]
        ]
    )


def _report_ask(language: str, month: int, number: int, pledge: Pledge) -> str:
    return t(
        language,
        "pledges.report_ask",
        month=_month_label(language, month),
        n=number,
        text=pledge.text,
        target=raw(_target(language, pledge)),
    )


def _report_summary(language: str, pledge: Pledge, reports: Sequence[PledgeReport]) -> str:
    """Return one line on a pledge's progress: the latest report and how many months."""
    mine = [r for r in reports if r.pledge_id == pledge.id]
    if not mine:
        return t(language, "pledges.no_reports")
    latest = max(mine, key=lambda r: r.month)
    amount = ""
    if latest.amount is not None and pledge.target is not None:
        amount = t(
            language,
            "pledges.amount_of",
            amount=format_number(latest.amount),
            target=format_number(pledge.target),
            unit=pledge.unit or "",
        )
    elif latest.amount is not None:
        amount = t(
            language,
            "pledges.amount_only",
            amount=format_number(latest.amount),
            unit=pledge.unit or "",
        )
    note = t(language, "pledges.note_of", note=latest.note) if latest.note else ""
    return t(
        language,
        "pledges.latest_report",
        month=_month_label(language, latest.month),
        status=t(language, f"pledges.progress.{latest.status}"),
        amount=raw(amount),
        note=raw(note),
        months=len(mine),
    )


def _rating_keyboard(language: str, action: str, pledge_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(t(language, f"pledges.rating.{rating}"), action, pledge_id, rating)
                for rating in rules.RATINGS
            ]
        ]
    )


def _skip_keyboard(language: str, action: str, *args: object) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t(language, "pledges.btn_skip"), action, *args)]])


def _templates(language: str) -> list[str]:
    """Return the common pledges offered as buttons (so nobody has to type)."""
    prefix = "pledges.template."
    keys = sorted(
        (k for k in catalogue("zh") if k.startswith(prefix)), key=lambda k: int(k[len(prefix) :])
    )
    return [t(language, key) for key in keys]


# ---------------------------------------------------------------- small helpers


async def _send(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send to another user now; a chat that refuses is logged, not fatal to the sender."""
    try:
        await context.bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramError:
        log.warning("could not send a pledge message to chat %s", chat_id, exc_info=True)


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the pressed message's text and buttons."""
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        # Pressing a button twice renders the same text; Telegram refuses that.
        if "not modified" not in str(exc).lower():
            raise


async def _set_pending(services: Services, telegram_id: int, kind: str, **data: Any) -> None:
    await awaiting.expect(services, telegram_id, kind, json.dumps(data))


def _data(pending: PendingInput) -> dict[str, Any]:
    return json.loads(pending.data or "{}")


async def _stale(
    update: Update, language: str, key: str = "errors.stale_button", **params: Any
) -> None:
    await update.callback_query.answer(t(language, key, **params), show_alert=True)


async def _approved(services: Services, member_id: int, year: int) -> list[Pledge]:
    """Return a member's approved pledges of a year (what reports and ratings number)."""
    pledges = await repo.member_pledges(services.db, member_id, year)
    return [p for p in pledges if p.status == "approved"]


def _current_year(me: _Me, services: Services) -> int:
    return rules.local_year(services.clock.now(), me.tz)


def _open_month(me: _Me, services: Services) -> int:
    return rules.open_month(
        services.clock.now(), services.settings.pledges.report_day, me.tz, me.hours
    )


def _is_due_in(pledge: Pledge, month: int, me: _Me, services: Services) -> bool:
    """Tell whether a pledge was asked about in `month` (approved before that month's ask)."""
    report_at = rules.report_moment(month, services.settings.pledges.report_day, me.tz, me.hours)
    return (
        pledge.status == "approved"
        and pledge.year == month // 100
        and pledge.decided_at is not None
        and pledge.decided_at <= report_at.timestamp()
    )


# ---------------------------------------------------------------- drafting


async def _show_review(
    update: Update, services: Services, me: _Me, year: int, header_key: str = "", **params: Any
) -> None:
    pledges = await repo.member_pledges(services.db, me.member.id, year)
    header = t(me.language, header_key, **params) if header_key else ""
    text, markup = _review(me.language, year, pledges, header)
    await update.effective_chat.send_message(text, reply_markup=markup)


async def _button_add(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Await typed pledges for the year."""
    services = get_services(context)
    me = await _load_me(update, services)
    if me is None:
        await _stale(update, _language_of(update, services, None), "errors.not_member")
        return
    year = int(args[0])
    if year != _current_year(me, services):
        await _stale(update, me.language)
        return
    count = await repo.count_pledges(services.db, me.member.id, year)
    await update.callback_query.answer()
    if count >= rules.MAX_DRAFTS:
        await reply(update, me.language, "pledges.drafts_full", maximum=rules.MAX_DRAFTS)
        return
    await _set_pending(services, me.person.telegram_id, ADDING, y=year)
    await reply(update, me.language, "pledges.ask_text", n=count + 1, limit=rules.MAX_TEXT)


async def _button_templates(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the common pledges as buttons."""
    services = get_services(context)
    me = await _load_me(update, services)
    if me is None:
        await _stale(update, _language_of(update, services, None), "errors.not_member")
        return
    year = int(args[0])
    if year != _current_year(me, services):
        await _stale(update, me.language)
        return
    await update.callback_query.answer()
    rows = [[_button(text, "tpa", year, i)] for i, text in enumerate(_templates(me.language))]
    await reply(
        update, me.language, "pledges.templates_title", reply_markup=InlineKeyboardMarkup(rows)
    )


async def _button_template_add(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Add a common pledge to the draft."""
    services = get_services(context)
    me = await _load_me(update, services)
    if me is None:
        await _stale(update, _language_of(update, services, None), "errors.not_member")
        return
    year, index = int(args[0]), int(args[1])
    templates = _templates(me.language)
    if year != _current_year(me, services) or not 0 <= index < len(templates):
        await _stale(update, me.language)
        return
    existing = await repo.member_pledges(services.db, me.member.id, year)
    if any(p.text == templates[index] for p in existing):
        await _stale(update, me.language, "pledges.template_already")
        return
    if len(existing) >= rules.MAX_DRAFTS:
        await _stale(update, me.language, "pledges.drafts_full", maximum=rules.MAX_DRAFTS)
        return
    await update.callback_query.answer(t(me.language, "pledges.template_added"))
    parsed = rules.parse_pledge(templates[index])
    await repo.add_pledge(
        services.db, member_id=me.member.id, year=year, parsed=parsed, now=services.now_ts()
    )
    await _show_review(update, services, me, year, "pledges.added", n=len(existing) + 1)


async def _typed_pledge(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Add a typed pledge to the draft; a bad one is explained and nothing is lost."""
    services = get_services(context)
    me = await _load_me(update, services)
    year = _data(pending).get("y")
    if me is None or year != _current_year(me, services):
        await awaiting.done(services, update.effective_user.id, ADDING)
        await reply(
            update,
            _language_of(update, services, me.person if me else None),
            "pledges.input_expired",
        )
        return
    count = await repo.count_pledges(services.db, me.member.id, year)
    if count >= rules.MAX_DRAFTS:
        await reply(update, me.language, "pledges.drafts_full", maximum=rules.MAX_DRAFTS)
        return
    try:
        parsed = rules.parse_pledge(text)
    except InvalidInput as problem:
        await reply(update, me.language, problem.key, **problem.params)
        return
    await repo.add_pledge(
        services.db, member_id=me.member.id, year=year, parsed=parsed, now=services.now_ts()
    )
    # Each pledge keeps the question open for the next one a while longer.
    await _set_pending(services, me.person.telegram_id, ADDING, y=year)
    await _show_review(update, services, me, year, "pledges.added", n=count + 1)


async def _button_edit(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Await the new text of one pledge."""
    services = get_services(context)
    me, pledge = await _own_pledge(update, services, int(args[0]))
    if me is None or pledge is None:
        return
    if not pledge.is_editable:
        await _stale(update, me.language, "pledges.not_editable")
        return
    await update.callback_query.answer()
    pledges = await repo.member_pledges(services.db, me.member.id, pledge.year)
    await _set_pending(services, me.person.telegram_id, EDITING, p=pledge.id)
    await reply(
        update,
        me.language,
        "pledges.ask_edit",
        n=_number_of(pledges, pledge.id),
        text=pledge.text,
        limit=rules.MAX_TEXT,
    )


async def _typed_edit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Replace a pledge's text; a bad one is explained and the old text stays."""
    services = get_services(context)
    me = await _load_me(update, services)
    pledge = await repo.get_pledge(services.db, int(_data(pending).get("p", 0)))
    if me is None or pledge is None or pledge.member_id != me.member.id or not pledge.is_editable:
        await awaiting.done(services, update.effective_user.id, EDITING)
        await reply(
            update,
            _language_of(update, services, me.person if me else None),
            "pledges.input_expired",
        )
        return
    try:
        parsed = rules.parse_pledge(text)
    except InvalidInput as problem:
        await reply(update, me.language, problem.key, **problem.params)
        return
    await repo.update_pledge_text(services.db, pledge.id, parsed, services.now_ts())
    await awaiting.done(services, me.person.telegram_id, EDITING)
    pledges = await repo.member_pledges(services.db, me.member.id, pledge.year)
    await _show_review(
        update, services, me, pledge.year, "pledges.edited", n=_number_of(pledges, pledge.id)
    )


async def _button_delete(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Delete one draft pledge and redraw the review in place."""
    services = get_services(context)
    me, pledge = await _own_pledge(update, services, int(args[0]))
    if me is None or pledge is None:
        return
    if not await repo.delete_pledge(services.db, pledge.id):
        await _stale(update, me.language, "pledges.not_editable")
        return
    await update.callback_query.answer(t(me.language, "pledges.deleted"))
    pledges = await repo.member_pledges(services.db, me.member.id, pledge.year)
    text, markup = _review(me.language, pledge.year, pledges)
    await _edit(update, text, markup)


async def _own_pledge(
    update: Update, services: Services, pledge_id: int
) -> tuple[_Me | None, Pledge | None]:
    """Return the member and their pledge, answering the button when either is missing."""
    me = await _load_me(update, services)
    if me is None:
        await _stale(update, _language_of(update, services, None), "errors.not_member")
        return None, None
    pledge = await repo.get_pledge(services.db, pledge_id)
    if pledge is None or pledge.member_id != me.member.id:
        await _stale(update, me.language)
        return me, None
    return me, pledge


async def _button_submit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Submit the year's draft for approval when it holds 2–5 pledges."""
    services = get_services(context)
    me = await _load_me(update, services)
    if me is None:
        await _stale(update, _language_of(update, services, None), "errors.not_member")
        return
    year = int(args[0])
    pledges = await repo.member_pledges(services.db, me.member.id, year)
    if year != _current_year(me, services) or not any(p.is_editable for p in pledges):
        await _stale(update, me.language, "pledges.nothing_to_submit")
        return
    try:
        rules.check_submit_count(len(pledges))
    except InvalidInput as problem:
        await update.callback_query.answer()
        await reply(update, me.language, problem.key, **problem.params)
        return
    now = services.now_ts()
    async with transaction(services.db):
        submitted = await repo.submit_pledges(
            services.db, member_id=me.member.id, year=year, now=now
        )
        await audit.record(
            services.db,
            at=now,
            actor=f"tg:{me.person.telegram_id}",
            action="pledge.submit",
            subject=f"member:{me.member.id}",
            detail={"year": year, "pledges": submitted},
        )
    for kind in (ADDING, EDITING):
        await awaiting.done(services, me.person.telegram_id, kind)
    await update.callback_query.answer()
    pledges = await repo.member_pledges(services.db, me.member.id, year)
    lines = [t(me.language, "pledges.submitted", year=year)]
    lines += [_line(me.language, n, p) + _mark(me.language, p) for n, p in enumerate(pledges, 1)]
    await _edit(update, "\n".join(lines))
    await _ask_approval(context, services, me.member, me.person, year, pledges)


async def _ask_approval(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    member: Member,
    person: Person,
    year: int,
    pledges: Sequence[Pledge],
) -> None:
    """Send the submitted pledges to the branch's secretary with approve/return buttons."""
    branch = await units.get_unit(services.db, member.branch_id)
    default = services.settings.general.default_language
    for _, telegram_id, language in await roles.nearest_leaders(services.db, member.branch_id):
        text, markup = _approval(
            language or default, person.name or "", branch.name, year, pledges, member.id
        )
        await _send(context, telegram_id, text, markup)


# ---------------------------------------------------------------- approving


async def _secretary_of(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pledge_id: int, denial: str
) -> tuple[Actor, Pledge, Member] | None:
    """Return (actor, pledge, member) if the presser leads the pledge's branch, else answer."""
    services = get_services(context)
    actor = await load_actor(update, context)
    pledge = await repo.get_pledge(services.db, pledge_id)
    member = await members.get_member(services.db, pledge.member_id) if pledge else None
    if pledge is None or member is None:
        await _stale(update, actor.language)
        return None
    if not can_manage_branch(actor, member.branch_id, await load_units(context)):
        await _stale(update, actor.language, denial)
        return None
    return actor, pledge, member


async def _refresh_approval(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    language: str,
    member: Member,
    year: int,
    *,
    update: Update | None = None,
    chat_id: int | None = None,
    message_id: int | None = None,
) -> list[Pledge]:
    """Redraw the approval message (the pressed one, or chat/message ids) and return the list."""
    person = await people.get_person(services.db, member.person_id)
    branch = await units.get_unit(services.db, member.branch_id)
    pledges = await repo.member_pledges(services.db, member.id, year)
    text, markup = _approval(
        language, person.name if person else "", branch.name, year, pledges, member.id
    )
    if update is not None:
        await _edit(update, text, markup)
    elif chat_id is not None and message_id is not None:
        try:
            await context.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except BadRequest:
            # The message was deleted or is unchanged; the decision itself is stored.
            log.info("could not redraw approval message %s", message_id)
    return pledges


async def _tell_member_if_all_approved(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    member: Member,
    year: int,
    pledges: Sequence[Pledge],
) -> None:
    if pledges and all(p.status == "approved" for p in pledges):
        person = await people.get_person(services.db, member.person_id)
        if person is not None and person.telegram_id is not None:
            language = person.language or services.settings.general.default_language
            lines = [t(language, "pledges.all_approved", year=year)]
            lines += [_line(language, n, p) for n, p in enumerate(pledges, 1)]
            await _send(context, person.telegram_id, "\n".join(lines))


async def _button_approve(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Approve one submitted pledge."""
    found = await _secretary_of(update, context, int(args[0]), "pledges.not_secretary")
    if found is None:
        return
    actor, pledge, member = found
    await _decide(update, context, actor, member, pledge.year, [pledge.id])


async def _button_approve_all(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Approve every submitted pledge of a member's year."""
    services = get_services(context)
    member_id, year = int(args[0]), int(args[1])
    pledges = [
        p
        for p in await repo.member_pledges(services.db, member_id, year)
        if p.status == "submitted"
    ]
    if not pledges:
        await _stale(
            update, (await load_actor(update, context)).language, "pledges.already_decided"
        )
        return
    found = await _secretary_of(update, context, pledges[0].id, "pledges.not_secretary")
    if found is None:
        return
    actor, _, member = found
    await _decide(update, context, actor, member, year, [p.id for p in pledges])


async def _decide(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    member: Member,
    year: int,
    pledge_ids: Sequence[int],
) -> None:
    services = get_services(context)
    now = services.now_ts()
    async with transaction(services.db):
        decided = [
            pid
            for pid in pledge_ids
            if await repo.decide_pledge(services.db, pid, approve=True, by=actor.person_id, now=now)
        ]
        if decided:
            await audit.record(
                services.db,
                at=now,
                actor=f"tg:{actor.telegram_id}",
                action="pledge.approve",
                subject=f"member:{member.id}",
                detail={"pledges": decided},
            )
    if not decided:
        await _stale(update, actor.language, "pledges.already_decided")
        return
    await update.callback_query.answer(t(actor.language, "pledges.approved_one"))
    pledges = await _refresh_approval(
        context, services, actor.language, member, year, update=update
    )
    await _tell_member_if_all_approved(context, services, member, year, pledges)


async def _button_return(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Await the secretary's typed reason for returning a pledge."""
    found = await _secretary_of(update, context, int(args[0]), "pledges.not_secretary")
    if found is None:
        return
    actor, pledge, member = found
    if pledge.status != "submitted":
        await _stale(update, actor.language, "pledges.already_decided")
        return
    services = get_services(context)
    await update.callback_query.answer()
    message = update.callback_query.message
    await _set_pending(
        services,
        actor.telegram_id,
        RETURNING,
        p=pledge.id,
        c=message.chat_id if message else None,
        mid=message.message_id if message else None,
    )
    pledges = await repo.member_pledges(services.db, member.id, pledge.year)
    person = await people.get_person(services.db, member.person_id)
    await reply(
        update,
        actor.language,
        "pledges.ask_return_comment",
        n=_number_of(pledges, pledge.id),
        text=pledge.text,
        name=person.name if person else "",
    )


async def _typed_return(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Return the pledge with the typed comment and tell the member what to fix."""
    services = get_services(context)
    actor = await load_actor(update, context)
    data = _data(pending)
    pledge = await repo.get_pledge(services.db, int(data.get("p", 0)))
    member = await members.get_member(services.db, pledge.member_id) if pledge else None
    if pledge is None or member is None or pledge.status != "submitted":
        await awaiting.done(services, actor.telegram_id, RETURNING)
        await reply(update, actor.language, "pledges.already_decided")
        return
    if not can_manage_branch(actor, member.branch_id, await load_units(context)):
        await awaiting.done(services, actor.telegram_id, RETURNING)
        await reply(update, actor.language, "pledges.not_secretary")
        return
    try:
        comment = rules.clean_comment(text)
    except InvalidInput as problem:
        await reply(update, actor.language, problem.key, **problem.params)
        return
    now = services.now_ts()
    async with transaction(services.db):
        await repo.decide_pledge(
            services.db, pledge.id, approve=False, by=actor.person_id, now=now, comment=comment
        )
        await audit.record(
            services.db,
            at=now,
            actor=f"tg:{actor.telegram_id}",
            action="pledge.return",
            subject=f"pledge:{pledge.id}",
        )
    await awaiting.done(services, actor.telegram_id, RETURNING)
    person = await people.get_person(services.db, member.person_id)
    pledges = await _refresh_approval(
        context,
        services,
        actor.language,
        member,
        pledge.year,
        chat_id=data.get("c"),
        message_id=data.get("mid"),
    )
    await reply(update, actor.language, "pledges.returned_ok", name=person.name if person else "")
    if person is not None and person.telegram_id is not None:
        language = person.language or services.settings.general.default_language
        header = t(
            language,
            "pledges.returned_to_member",
            n=_number_of(pledges, pledge.id),
            text=pledge.text,
            comment=comment,
        )
        body, markup = _review(language, pledge.year, pledges, header)
        await _send(context, person.telegram_id, body, markup)


# ---------------------------------------------------------------- monthly reports


async def _button_report(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Record a pledge's progress for the open month, then ask for a number and a note."""
    services = get_services(context)
    me, pledge = await _own_pledge(update, services, int(args[0]))
    if me is None or pledge is None:
        return
    month, status = int(args[1]), args[2]
    current = _open_month(me, services)
    if month != current:
        await _stale(
            update,
            me.language,
            "pledges.report_stale",
            month=_month_label(me.language, month),
            current=_month_label(me.language, current),
        )
        return
    if status not in rules.PROGRESS or not _is_due_in(pledge, month, me, services):
        await _stale(update, me.language)
        return
    await repo.save_report_status(services.db, pledge.id, month, status, now=services.now_ts())
    await update.callback_query.answer(t(me.language, "pledges.report_recorded"))
    approved = await _approved(services, me.member.id, pledge.year)
    number = _number_of(approved, pledge.id)
    await _edit(
        update,
        _report_ask(me.language, month, number, pledge)
        + "\n"
        + t(
            me.language,
            "pledges.report_chosen",
            status=t(me.language, f"pledges.progress.{status}"),
        ),
    )
    if me.is_elderly:
        # Elderly members answer by buttons only: no number, no note.
        await _finish_report(update, services, me, month)
    elif pledge.target is not None and status != "not_started":
        await _ask_amount(update, services, me, pledge, month)
    else:
        await _ask_note(update, services, me, pledge, month)


async def _ask_amount(
    update: Update, services: Services, me: _Me, pledge: Pledge, month: int
) -> None:
    await _set_pending(services, me.person.telegram_id, AMOUNT, p=pledge.id, m=month)
    await reply(
        update,
        me.language,
        "pledges.ask_amount",
        unit=pledge.unit or "",
        target=format_number(pledge.target or 0),
        reply_markup=_skip_keyboard(me.language, "ska", pledge.id, month),
    )


async def _ask_note(
    update: Update, services: Services, me: _Me, pledge: Pledge, month: int
) -> None:
    await _set_pending(services, me.person.telegram_id, NOTE, p=pledge.id, m=month)
    await reply(
        update,
        me.language,
        "pledges.ask_note",
        reply_markup=_skip_keyboard(me.language, "skn", pledge.id, month),
    )


async def _finish_report(update: Update, services: Services, me: _Me, month: int) -> None:
    """Thank the member, saying whether the month is now complete."""
    missing = await _unreported(services, me, month)
    if missing:
        await reply(update, me.language, "pledges.report_saved", left=len(missing))
    else:
        await reply(
            update, me.language, "pledges.month_done", month=_month_label(me.language, month)
        )


async def _unreported(services: Services, me: _Me, month: int) -> list[Pledge]:
    """Return the member's pledges due in `month` that have no report yet."""
    due = [
        p
        for p in await repo.member_pledges(services.db, me.member.id, month // 100)
        if _is_due_in(p, month, me, services)
    ]
    done = {r.pledge_id for r in await repo.reports_for(services.db, [p.id for p in due], month)}
    return [p for p in due if p.id not in done]


async def _report_input(
    update: Update, services: Services, pending: PendingInput, kind: str
) -> tuple[_Me, Pledge, int] | None:
    """Return the member, pledge and month a typed report answer is for, or explain it expired."""
    me = await _load_me(update, services)
    data = _data(pending)
    pledge = await repo.get_pledge(services.db, int(data.get("p", 0)))
    month = int(data.get("m", 0))
    if (
        me is None
        or pledge is None
        or pledge.member_id != me.member.id
        or month != _open_month(me, services)
    ):
        await awaiting.done(services, update.effective_user.id, kind)
        await reply(
            update,
            _language_of(update, services, me.person if me else None),
            "pledges.input_expired",
        )
        return None
    return me, pledge, month


async def _typed_amount(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Record the number reached; a wrong one is explained and asked again."""
    services = get_services(context)
    found = await _report_input(update, services, pending, AMOUNT)
    if found is None:
        return
    me, pledge, month = found
    try:
        amount = rules.parse_amount(text, pledge.target)
    except InvalidInput as problem:
        await reply(update, me.language, problem.key, unit=pledge.unit or "", **problem.params)
        return
    await repo.save_report_amount(services.db, pledge.id, month, amount)
    await _ask_note(update, services, me, pledge, month)


async def _typed_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Record the note and finish this pledge's report."""
    services = get_services(context)
    found = await _report_input(update, services, pending, NOTE)
    if found is None:
        return
    me, pledge, month = found
    try:
        note = rules.clean_comment(text)
    except InvalidInput as problem:
        await reply(update, me.language, problem.key, **problem.params)
        return
    await repo.save_report_note(services.db, pledge.id, month, note)
    await awaiting.done(services, me.person.telegram_id, NOTE)
    await _finish_report(update, services, me, month)


async def _button_skip(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str], kind: str
) -> None:
    services = get_services(context)
    pending = await awaiting.current(services, update.effective_user.id, kind, INPUT_TTL)
    data = _data(pending) if pending else {}
    me = await _load_me(update, services)
    language = _language_of(update, services, me.person if me else None)
    if (
        me is None
        or pending is None
        or str(data.get("p")) != args[0]
        or str(data.get("m")) != args[1]
    ):
        await _stale(update, language)
        return
    await update.callback_query.answer()
    try:
        await update.callback_query.edit_message_reply_markup(None)
    except BadRequest:
        log.info("skip button's message could not be cleared")
    pledge = await repo.get_pledge(services.db, int(args[0]))
    month = int(args[1])
    if kind == AMOUNT and pledge is not None:
        await _ask_note(update, services, me, pledge, month)
    else:
        await awaiting.done(services, me.person.telegram_id, kind)
        await _finish_report(update, services, me, month)


async def _button_skip_amount(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Go on to the note without a number."""
    await _button_skip(update, context, args, AMOUNT)


async def _button_skip_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Finish the pledge's report without a note."""
    await _button_skip(update, context, args, NOTE)


async def _button_again(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Send the progress questions again for the pledges not yet reported this month."""
    services = get_services(context)
    me = await _load_me(update, services)
    if me is None:
        await _stale(update, _language_of(update, services, None), "errors.not_member")
        return
    month = int(args[0])
    current = _open_month(me, services)
    if month != current:
        await _stale(
            update,
            me.language,
            "pledges.report_stale",
            month=_month_label(me.language, month),
            current=_month_label(me.language, current),
        )
        return
    missing = await _unreported(services, me, month)
    await update.callback_query.answer()
    if not missing:
        await reply(
            update, me.language, "pledges.month_done", month=_month_label(me.language, month)
        )
        return
    approved = await _approved(services, me.member.id, month // 100)
    for pledge in missing:
        await update.effective_chat.send_message(
            _report_ask(me.language, month, _number_of(approved, pledge.id), pledge),
            reply_markup=_progress_keyboard(me.language, pledge.id, month),
        )


# ---------------------------------------------------------------- year-end ratings


async def _button_self_rating(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Store the member's own rating of a pledge and pass it to the secretary."""
    services = get_services(context)
    me, pledge = await _own_pledge(update, services, int(args[0]))
    if me is None or pledge is None:
        return
    rating = args[1]
    now = services.clock.now()
    if pledge.status != "approved" or rating not in rules.RATINGS:
        await _stale(update, me.language)
        return
    if not rules.is_evaluation_open(pledge.year, now, me.tz, me.hours):
        await _stale(update, me.language, "pledges.rating_not_open")
        return
    if not await repo.set_self_rating(services.db, pledge.id, rating, services.now_ts()):
        await _stale(update, me.language, "pledges.already_rated")
        return
    await update.callback_query.answer(t(me.language, "pledges.rating_saved"))
    approved = await _approved(services, me.member.id, pledge.year)
    number = _number_of(approved, pledge.id)
    reports = await repo.reports_for(services.db, [pledge.id])
    await _edit(
        update,
        _evaluation_text(me.language, pledge, number, reports)
        + "\n"
        + t(me.language, "pledges.self_rated", rating=_rating(me.language, rating)),
    )
    branch = await units.get_unit(services.db, me.member.branch_id)
    default = services.settings.general.default_language
    for _, telegram_id, language in await roles.nearest_leaders(services.db, me.member.branch_id):
        lang = language or default
        text = _secretary_rate_text(
            lang, me.person.name or "", branch.name, pledge, number, reports, rating
        )
        await _send(context, telegram_id, text, _rating_keyboard(lang, "sec", pledge.id))


def _secretary_rate_text(
    language: str,
    name: str,
    branch: str,
    pledge: Pledge,
    number: int,
    reports: Sequence[PledgeReport],
    self_rating: str | None,
) -> str:
    return t(
        language,
        "pledges.secretary_rate_ask",
        name=name,
        branch=branch,
        year=pledge.year,
        n=number,
        text=pledge.text,
        target=raw(_target(language, pledge)),
        summary=raw(_report_summary(language, pledge, reports)),
        rating=_rating(language, self_rating),
    )


def _evaluation_text(
    language: str, pledge: Pledge, number: int, reports: Sequence[PledgeReport]
) -> str:
    return t(
        language,
        "pledges.evaluate_ask",
        year=pledge.year,
        n=number,
        text=pledge.text,
        target=raw(_target(language, pledge)),
        summary=raw(_report_summary(language, pledge, reports)),
    )


async def _button_secretary_rating(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Store the secretary's rating, tell the member, and offer a comment."""
    found = await _secretary_of(update, context, int(args[0]), "pledges.rate_not_secretary")
    if found is None:
        return
    actor, pledge, member = found
    services = get_services(context)
    rating = args[1]
    if actor.person_id == member.person_id:
        await _stale(update, actor.language, "pledges.rate_own")
        return
    if pledge.status != "approved" or rating not in rules.RATINGS:
        await _stale(update, actor.language)
        return
    person = await people.get_person(services.db, member.person_id)
    branch = await units.get_unit(services.db, member.branch_id)
    member_tz = zone(
        person.timezone if person else None,
        branch.timezone or services.settings.general.default_timezone,
    )
    hours = rules.member_hours(member.category, services.settings.study)
    if not rules.is_evaluation_open(pledge.year, services.clock.now(), member_tz, hours):
        await _stale(update, actor.language, "pledges.rating_not_open")
        return
    await repo.set_secretary_rating(
        services.db, pledge.id, rating, by=actor.person_id, now=services.now_ts()
    )
    await audit.record(
        services.db,
        at=services.now_ts(),
        actor=f"tg:{actor.telegram_id}",
        action="pledge.rate",
        subject=f"pledge:{pledge.id}",
        detail=rating,
    )
    await update.callback_query.answer(t(actor.language, "pledges.rating_saved"))
    approved = await _approved(services, member.id, pledge.year)
    number = _number_of(approved, pledge.id)
    reports = await repo.reports_for(services.db, [pledge.id])
    name = person.name if person and person.name else ""
    await _edit(
        update,
        _secretary_rate_text(
            actor.language, name, branch.name, pledge, number, reports, pledge.self_rating
        )
        + "\n"
        + t(actor.language, "pledges.secretary_rated", rating=_rating(actor.language, rating)),
    )
    await _set_pending(services, actor.telegram_id, RATE_COMMENT, p=pledge.id)
    await reply(
        update,
        actor.language,
        "pledges.ask_rate_comment",
        reply_markup=_skip_keyboard(actor.language, "nocm", pledge.id),
    )
    if person is not None and person.telegram_id is not None:
        language = person.language or services.settings.general.default_language
        await _send(
            context,
            person.telegram_id,
            t(
                language,
                "pledges.rated_to_member",
                year=pledge.year,
                n=number,
                text=pledge.text,
                rating=_rating(language, rating),
            ),
        )


async def _typed_rate_comment(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Store the secretary's comment on a rating and pass it to the member."""
    services = get_services(context)
    actor = await load_actor(update, context)
    pledge = await repo.get_pledge(services.db, int(_data(pending).get("p", 0)))
    member = await members.get_member(services.db, pledge.member_id) if pledge else None
    if (
        pledge is None
        or member is None
        or not can_manage_branch(actor, member.branch_id, await load_units(context))
    ):
        await awaiting.done(services, actor.telegram_id, RATE_COMMENT)
        await reply(update, actor.language, "pledges.input_expired")
        return
    try:
        comment = rules.clean_comment(text)
    except InvalidInput as problem:
        await reply(update, actor.language, problem.key, **problem.params)
        return
    await repo.set_secretary_comment(services.db, pledge.id, comment)
    await awaiting.done(services, actor.telegram_id, RATE_COMMENT)
    await reply(update, actor.language, "pledges.comment_saved")
    person = await people.get_person(services.db, member.person_id)
    if person is not None and person.telegram_id is not None:
        language = person.language or services.settings.general.default_language
        await _send(
            context,
            person.telegram_id,
            t(language, "pledges.comment_to_member", text=pledge.text, comment=comment),
        )


async def _button_no_comment(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Leave the rating without a comment."""
    services = get_services(context)
    actor = await load_actor(update, context)
    pending = await awaiting.current(services, actor.telegram_id, RATE_COMMENT, INPUT_TTL)
    if pending is None or str(_data(pending).get("p")) != args[0]:
        await _stale(update, actor.language)
        return
    await awaiting.done(services, actor.telegram_id, RATE_COMMENT)
    await update.callback_query.answer(t(actor.language, "pledges.rating_saved"))
    try:
        await update.callback_query.edit_message_reply_markup(None)
    except BadRequest:
        log.info("skip button's message could not be cleared")


# ---------------------------------------------------------------- commands


async def my_pledges(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show my pledges of a year with progress and ratings (drafts with their buttons)."""
    services = get_services(context)
    me = await _load_me(update, services)
    if me is None:
        language = _language_of(update, services, None)
        await reply(update, language, "errors.not_member")
        return
    current = _current_year(me, services)
    try:
        year = rules.parse_year(list(context.args or []), current)
    except InvalidInput as problem:
        await reply(update, me.language, problem.key, **problem.params)
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
                reply_markup=_start_keyboard(me.language, year),
            )
        else:
            await reply(update, me.language, "pledges.none_for_year", year=year)
        return
    if year == current and any(p.is_editable for p in pledges):
        text, markup = _review(me.language, year, pledges)
        await update.effective_chat.send_message(text, reply_markup=markup)
        return
    reports = await repo.reports_for(services.db, [p.id for p in pledges])
    lines = [t(me.language, "pledges.mine_title", year=year)]
    for number, pledge in enumerate(pledges, 1):
        lines.append(_line(me.language, number, pledge) + _mark(me.language, pledge))
        if pledge.status == "approved":
            lines.append(_report_summary(me.language, pledge, reports))
            if pledge.self_rating or pledge.secretary_rating:
                comment = (
                    t(me.language, "pledges.comment_of", comment=pledge.secretary_comment)
                    if pledge.secretary_comment
                    else ""
                )
                lines.append(
                    t(
                        me.language,
                        "pledges.ratings",
                        self=_rating(me.language, pledge.self_rating),
                        secretary=_rating(me.language, pledge.secretary_rating),
                        comment=raw(comment),
                    )
                )
    for part in split_message("\n".join(lines)):
        await update.effective_chat.send_message(part)


async def show_branch_pledges(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the branch's approved pledges; secretaries also see this month's report status."""
    services = get_services(context)
    actor = await load_actor(update, context)
    all_units = await load_units(context)
    by_id = {unit.id: unit for unit in all_units}
    now = services.clock.now()
    if is_leader(actor):
        branch_ids = sorted(managed_branch_ids(actor, all_units))
        leader = True
    elif actor.member_branch_ids:
        branch_ids = sorted(actor.member_branch_ids)
        leader = False
    else:
        await reply(update, actor.language, "errors.not_member")
        return
    if not branch_ids:
        await reply(update, actor.language, "pledges.no_branches")
        return
    person = await people.get_person_by_telegram(services.db, actor.telegram_id)
    year = rules.local_year(
        now, zone(person.timezone if person else None, services.settings.general.default_timezone)
    )
    blocks = []
    for branch_id in branch_ids:
        branch = by_id[branch_id]
        rows = await repo.branch_pledges(services.db, branch_id, year)
        if leader:
            blocks.append(
                await _branch_status_block(
                    services, actor.language, branch_id, branch.name, year, rows, now
                )
            )
        else:
            blocks.append(_branch_public_block(actor.language, branch.name, year, rows))
    for part in split_message("\n\n".join(blocks)):
        await update.effective_chat.send_message(part)


def _branch_public_block(
    language: str, branch: str, year: int, rows: Sequence[repo.BranchPledgeRow]
) -> str:
    lines = [t(language, "pledges.branch_title", branch=branch, year=year)]
    shown = 0
    for row in rows:
        approved = [p for p in row.pledges if p.status == "approved"]
        if not approved:
            continue
        shown += 1
        lines.append(t(language, "pledges.branch_member", name=row.name or "—"))
        lines += ["  " + _line(language, n, p) for n, p in enumerate(approved, 1)]
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
        due = [
            p
            for p in pledges
            if p.status == "approved"
            and p.decided_at is not None
            and p.decided_at <= report_at.timestamp()
        ]
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
                month=_month_label(language, month),
                pledges=raw(_pledge_counts(language, row.pledges)),
            )
        )
        approved = [p for p in row.pledges if p.status == "approved"]
        lines += ["  " + _line(language, n, p) for n, p in enumerate(approved, 1)]
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


# ---------------------------------------------------------------- dispatch


_Button = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]
_BUTTONS: dict[str, tuple[int, _Button]] = {
    # action: (number of args, handler)
    "add": (1, _button_add),
    "tpl": (1, _button_templates),
    "tpa": (2, _button_template_add),
    "sub": (1, _button_submit),
    "edit": (1, _button_edit),
    "del": (1, _button_delete),
    "ok": (1, _button_approve),
    "all": (2, _button_approve_all),
    "ret": (1, _button_return),
    "rep": (3, _button_report),
    "ska": (2, _button_skip_amount),
    "skn": (2, _button_skip_note),
    "again": (1, _button_again),
    "self": (2, _button_self_rating),
    "sec": (2, _button_secretary_rating),
    "nocm": (1, _button_no_comment),
}
_NUMERIC_ARGS = {"rep": 2, "self": 1, "sec": 1}  # how many leading args are numbers

_Typed = Callable[[Update, ContextTypes.DEFAULT_TYPE, PendingInput, str], Awaitable[None]]
_TYPED: dict[str, _Typed] = {
    ADDING: _typed_pledge,
    EDITING: _typed_edit,
    AMOUNT: _typed_amount,
    NOTE: _typed_note,
    RETURNING: _typed_return,
    RATE_COMMENT: _typed_rate_comment,
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a pledge button; malformed or unknown data is answered as stale."""
    _, action, args = unpack(update.callback_query.data or "")
    entry = _BUTTONS.get(action)
    numeric = _NUMERIC_ARGS.get(action, len(args))
    if entry is None or len(args) != entry[0] or not all(a.isdigit() for a in args[:numeric]):
        services = get_services(context)
        person = await people.get_person_by_telegram(services.db, update.effective_user.id)
        await _stale(update, _language_of(update, services, person))
        return
    await entry[1](update, context, args)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take typed text when a pledge question awaits it; otherwise leave it to others."""
    services = get_services(context)
    pending = await pending_inputs.get_pending(services.db, update.effective_user.id)
    if pending is None or pending.kind not in _TYPED:
        return
    await _TYPED[pending.kind](update, context, pending, update.effective_message.text or "")


# ---------------------------------------------------------------- planning


_Reports = dict[int, list[PledgeReport]]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A message the planner may send, rendered only if its key is new."""

    key: str
    build: Callable[[_Reports], OutgoingMessage]
    summary_of: int | None = None  # a pledge whose reports the text sums up


async def plan_pledges(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the pledge asks, monthly report asks, follow-ups and evaluation asks due now."""
    members_now = await repo.active_members(services.db)
    if not members_now:
        return []
    years = [now.year - 1, now.year, now.year + 1]
    by_member: dict[int, list[Pledge]] = {}
    for pledge in await repo.approved_pledges(services.db, years):
        by_member.setdefault(pledge.member_id, []).append(pledge)
    started = {
        year: await repo.members_with_pledges(
            services.db, year, ("submitted", "returned", "approved")
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
    for member, tz, hours, month in contexts:
        mine = by_member.get(member.member_id, [])
        language = member.language or services.settings.general.default_language
        candidates += _pledge_ask(services, now, member, language, tz, hours, started)
        candidates += _month_asks(services, now, member, language, tz, hours, month, mine, reported)
        candidates += _evaluation_asks(now, member, language, tz, hours, mine)
    known = await outbox.known_keys(services.db, (c.key for c in candidates))
    fresh = [c for c in candidates if c.key not in known]
    summaries: _Reports = {}
    wanted = [c.summary_of for c in fresh if c.summary_of is not None]
    if wanted:
        for report in await repo.reports_for(services.db, wanted):
            summaries.setdefault(report.pledge_id, []).append(report)
    return [c.build(summaries) for c in fresh]


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
    step = timedelta(days=rules.FOLLOWUP_DAYS)
    number = min(services.settings.pledges.max_followups, int((now - first) / step))
    if number > 0 and is_away(member.away_until, local_date(now.timestamp(), tz)):
        return []
    due = rules.send_time(first + number * step, now, tz, hours)
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
        return OutgoingMessage(
            dedupe_key=key,
            kind="pledge.ask",
            person_id=member.person_id,
            chat_id=member.telegram_id,
            text=text,
            due_at=int(due.timestamp()),
            # No expiry: the buttons stay valid all year.
            reply_markup=_start_keyboard(language, year).to_dict(),
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
    settings = services.settings.pledges
    report_at = rules.report_moment(month, settings.report_day, tz, hours)
    this_year = [p for p in approved if p.year == month // 100]
    due = [
        p for p in this_year if p.decided_at is not None and p.decided_at <= report_at.timestamp()
    ]
    missing = [p for p in due if (p.id, month) not in reported]
    if not missing:
        return []
    closes = rules.report_moment(rules.next_month(month), settings.report_day, tz, hours)
    found: list[_Candidate] = []
    for pledge in missing:
        key = occurrence_key("pledge.report", member.member_id, f"p{pledge.id}", month)

        def build(_: _Reports, pledge: Pledge = pledge, key: str = key) -> OutgoingMessage:
            return OutgoingMessage(
                dedupe_key=key,
                kind="pledge.report",
                person_id=member.person_id,
                chat_id=member.telegram_id,
                text=_report_ask(language, month, _number_of(this_year, pledge.id), pledge),
                due_at=int(rules.send_time(report_at, now, tz, hours).timestamp()),
                reply_markup=_progress_keyboard(language, pledge.id, month).to_dict(),
                expires_at=int(closes.timestamp()),
            )

        found.append(_Candidate(key, build))
    step = timedelta(days=rules.FOLLOWUP_DAYS)
    followup = min(settings.max_followups, int((now - report_at) / step))
    if followup > 0 and not is_away(member.away_until, local_date(now.timestamp(), tz)):
        key = occurrence_key("pledge.followup", member.member_id, month, followup)
        due_at = rules.send_time(report_at + followup * step, now, tz, hours)

        def build_followup(_: _Reports) -> OutgoingMessage:
            text = t(
                language,
                "pledges.followup",
                month=_month_label(language, month),
                missing=len(missing),
            )
            markup = InlineKeyboardMarkup(
                [[_button(t(language, "pledges.btn_report_now"), "again", month)]]
            )
            return OutgoingMessage(
                dedupe_key=key,
                kind="pledge.followup",
                person_id=member.person_id,
                chat_id=member.telegram_id,
                text=text,
                due_at=int(due_at.timestamp()),
                reply_markup=markup.to_dict(),
                expires_at=int(closes.timestamp()),
            )

        found.append(_Candidate(key, build_followup))
    return found


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
        opens = rules.evaluation_moment(year, tz, hours)
        if not opens <= now < opens + timedelta(days=_EVALUATION_PLANNING_DAYS):
            continue
        this_year = [p for p in approved if p.year == year]
        for pledge in this_year:
            if pledge.self_rating is not None:
                continue
            key = occurrence_key("pledge.evaluate", member.member_id, f"p{pledge.id}", year)

            number = _number_of(this_year, pledge.id)

            def build(
                reports: _Reports,
                pledge: Pledge = pledge,
                key: str = key,
                opens: datetime = opens,
                number: int = number,
            ) -> OutgoingMessage:
                text = _evaluation_text(language, pledge, number, reports.get(pledge.id, []))
                return OutgoingMessage(
                    dedupe_key=key,
                    kind="pledge.evaluate",
                    person_id=member.person_id,
                    chat_id=member.telegram_id,
                    text=text,
                    due_at=int(rules.send_time(opens, now, tz, hours).timestamp()),
                    reply_markup=_rating_keyboard(language, "self", pledge.id).to_dict(),
                )

            found.append(_Candidate(key, build, summary_of=pledge.id))
    return found


# ---------------------------------------------------------------- wiring


def register(app: Application) -> None:
    """Add /mypledges, /pledges, the pledge buttons, typed answers and the planner."""
    app.add_handler(CommandHandler("mypledges", my_pledges))
    app.add_handler(CommandHandler("pledges", show_branch_pledges))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    # Typed answers: only while a pledge question is open, and before
    # onboarding's catch-all, which register_all adds last to group 0.
    awaiting.register(app)
    app.add_handler(
        AwaitedInputHandler(
            app, set(_TYPED), filters.TEXT & ~filters.COMMAND, on_text, ttl=INPUT_TTL
        )
    )
    add_planner(app, "pledges", plan_pledges)
