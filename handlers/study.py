"""Study items: publishing, study days, reminders with one-tap answers, check-ins for others.

    /study      secretary: [which branches] → title → text or link → due date → ✅ publish
    /studies    secretary: recent items with ✅/🙋/⏳ counts; edit title, text, due date; withdraw
    /studyday   secretary: /studyday 3 20:00 (every Wednesday 20:00) · /studyday off
    /checkin    secretary, or the helper paired with an elderly member: item → member → studied
    /pair       secretary: elderly member → helper
    reminder    ✅ study:done:<item> · ⏰ study:later:<item> · 🙋 study:excuse:<item>
                → study:why:<item>:<ill|working|away|other>  (other: optional typed note)
    planner     plan_study(services, now): reminders, follow-ups and snoozes due now

Every scheduled message goes through the outbox (the scheduler's tick); only
replies to a member's own press or command are sent here directly.  A typed
answer (a title, a date, a note) is awaited through `pending_inputs` (see
handlers.awaiting), so the flow survives a restart; buttons carry the question's start stamp, so a
button from an earlier question is recognised as stale.

Decisions the brief left open:
* An answer after the due date is accepted and marked late (the digest can
  tell); an answer to a withdrawn item is refused; a second answer changes nothing.
* ⏰ replaces the member's next message with the snooze; follow-ups resume,
  spaced from it.  Follow-ups count only the bot's own repeats (at most N).
* Publishing to several branches makes one item per branch (shared batch id);
  /studies shows and edits the batch as one.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.callback_data import pack, pattern, unpack
from bot.config import Settings
from bot.domain import study as rules
from bot.domain.localtime import format_local, local_date, zone
from bot.domain.models import Level, Member, Unit
from bot.domain.outgoing import OutgoingMessage, occurrence_key
from bot.domain.permissions import Actor, can_manage_branch, is_leader, managed_branch_ids
from bot.domain.schedule import Windows, due_end, snooze_until
from bot.domain.study import Answer, NextKind, Progress, Reason
from bot.domain.text import split_message
from bot.domain.tree import branches_under, walk
from bot.errors import InvalidInput
from bot.i18n import raw, t
from bot.scheduling import add_planner
from bot.services import Services, get_services
from handlers import awaiting
from handlers.awaiting import AwaitedInputHandler
from handlers.common import load_actor, load_units, reply, user_language
from handlers.keyboards import MAX_BUTTONS, button_grid
from storage.repositories import audit, members, outbox, pending_inputs, people, study, units
from storage.repositories.pending_inputs import PendingInput
from storage.repositories.study import AnswerRecord, ItemCounts, StudyItem, TargetRow

__all__ = ["FEATURE", "answer_keyboard", "plan_study", "register"]

log = logging.getLogger(__name__)

FEATURE = "study"
# A secretary may take a while to compose an item; an unanswered question
# lapses after this, and later text goes to the catch-all as usual.
INPUT_TTL_SECONDS = 24 * 3600
DRAFT, EDIT, NOTE = "study.draft", "study.edit", "study.note"
LIST_DAYS = 30  # /studies reaches back this far by due date
CHECKIN_DAYS = 7  # a check-in may be recorded this long after the due date
NAMES_SHOWN = 20
_MESSAGE_KEYS = {
    NextKind.REMINDER: "study.reminder",
    NextKind.FOLLOWUP: "study.followup",
    NextKind.SNOOZE: "study.snooze",
}


# ---------------------------------------------------------------- rendering


def _button(label: str, action: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=pack(FEATURE, action, *args))


def answer_keyboard(language: str, item_id: int) -> InlineKeyboardMarkup:
    """Return the one-tap answers of a reminder: ✅ on its own row, then ⏰ and 🙋."""
    return InlineKeyboardMarkup(
        [
            [_button(t(language, "study.btn_done"), "done", item_id)],
            [
                _button(t(language, "study.btn_later"), "later", item_id),
                _button(t(language, "study.btn_excuse"), "excuse", item_id),
            ],
        ]
    )


def _reason_keyboard(language: str, item_id: int) -> InlineKeyboardMarkup:
    buttons = [
        _button(t(language, f"study.reason_button.{reason.value}"), "why", item_id, reason.value)
        for reason in Reason
    ]
    back = [_button(t(language, "study.btn_back"), "back", item_id)]
    return InlineKeyboardMarkup([*button_grid(buttons), back])


def _cancel_row(language: str, stamp: int) -> list[InlineKeyboardButton]:
    return [_button(t(language, "study.btn_cancel"), "cancel", stamp)]


def _title_html(language: str, item: StudyItem) -> str:
    if item.title:
        return html.escape(item.title, quote=False)
    return t(language, "study.weekly_title", date=item.occurrence_date or item.due_date)


def _body_html(language: str, item: StudyItem) -> str:
    if item.body:
        return html.escape(item.body, quote=False)
    return t(language, "study.weekly_body")


def _item_text(language: str, item: StudyItem, kind: NextKind, seq: int, elderly: bool) -> str:
    key = _MESSAGE_KEYS[kind] + ("_short" if elderly else "")
    return t(
        language,
        key,
        title=raw(_title_html(language, item)),
        body=raw(_body_html(language, item)),
        due=item.due_date,
        n=seq,
    )


def _label(language: str, key: str, **params: Any) -> str:
    """Return catalogue text for a button label: plain text, so t()'s escaping is undone."""
    return html.unescape(t(language, key, **params))


def _name(language: str, name: str | None) -> str:
    return name or t(language, "study.no_name")


def _answer_label(language: str, answer: AnswerRecord) -> str:
    if answer.status == Answer.DONE:
        return t(language, "study.answer_done")
    return t(language, "study.answer_excused", reason=t(language, f"study.reason.{answer.reason}"))


def _names(language: str, names: Sequence[str]) -> str:
    shown = "、".join(names[:NAMES_SHOWN]) if language == "zh" else ", ".join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        shown += t(language, "study_more.names", count=len(names))
    return shown


# ---------------------------------------------------------------- zones and dates


def _zone_finder(all_units: Sequence[Unit], default: str) -> Callable[[int], str]:
    """Return branch id → zone name: the branch's, else the nearest unit above's, else default."""
    by_id = {unit.id: unit for unit in all_units}

    def find(branch_id: int) -> str:
        unit = by_id.get(branch_id)
        while unit is not None:
            if unit.timezone:
                return unit.timezone
            unit = by_id.get(unit.parent_id) if unit.parent_id is not None else None
        return default

    return find


async def _branch_zone(services: Services, branch_id: int) -> str:
    all_units = await _all_units(services)
    return _zone_finder(all_units, services.settings.general.default_timezone)(branch_id)


async def _all_units(services: Services) -> list[Unit]:
    """Return the organisation tree (the zone fallback walks it)."""
    return await units.list_units(services.db)


async def _member_zone(services: Services, person_timezone: str | None, branch_id: int) -> ZoneInfo:
    if person_timezone:
        # Most members have their own zone: skip reading the tree on every press.
        return zone(person_timezone, services.settings.general.default_timezone)
    return zone(await _branch_zone(services, branch_id))


async def _actor_today(services: Services, actor: Actor) -> date:
    person = await people.get_person(services.db, actor.person_id) if actor.person_id else None
    tz = zone(person.timezone if person else None, services.settings.general.default_timezone)
    return local_date(services.now_ts(), tz)


def _policy(settings: Settings) -> rules.Policy:
    return rules.Policy(
        windows=Windows.from_settings(settings.study),
        max_followups=settings.study.max_followups,
        followup_hours=settings.study.followup_hours,
    )


# ---------------------------------------------------------------- the planner


def _timing(item: StudyItem) -> rules.ItemTiming:
    return rules.ItemTiming(
        kind=item.kind,
        remind_at=time.fromisoformat(item.remind_at),
        published_at=datetime.fromtimestamp(item.created_at, UTC),
        due_date=date.fromisoformat(item.due_date),
        occurrence_date=date.fromisoformat(item.occurrence_date) if item.occurrence_date else None,
    )


def _next_key(row: TargetRow) -> str:
    progress = row.progress
    return occurrence_key(
        f"study.{progress.next_kind.value}", row.member_id, row.item.id, progress.next_seq
    )


def _stored(progress: Progress) -> tuple[Any, ...]:
    return (
        progress.state, progress.next_kind, progress.next_seq, progress.next_at, progress.followups
    )


async def _ensure_weekly(db: Any, now: datetime) -> None:
    days = await study.list_study_days(db)
    today = now.astimezone(UTC).date()
    occurrences = [
        (day.branch_id, when.isoformat(), due.isoformat(), day.remind_at, day.set_at)
        for day in days
        for when, due in rules.weekly_occurrences(
            day.weekday, date.fromisoformat(day.starts_on), today
        )
    ]
    if occurrences:
        await study.ensure_weekly_items(db, occurrences, now=int(now.timestamp()))


async def plan_study(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the study reminders, follow-ups and snoozes due at `now`, keeping the schedule.

    A tick costs: the study days, one INSERT..SELECT giving members who joined
    since a schedule row, one indexed read of the rows due, one read of which
    of their messages are already in the outbox, and the updates.
    """
    db = services.db
    await _ensure_weekly(db, now)
    await study.add_missing_targets(db, min_due=rules.earliest_open_due(now).isoformat())
    rows = await study.due_targets(db, int(now.timestamp()))
    if not rows:
        return []
    keys = [_next_key(row) for row in rows]
    planned = await study.outbox_due_at(
        db, [key for key, row in zip(keys, rows, strict=True) if row.progress.state == "waiting"]
    )
    zone_of = _zone_finder(await _all_units(services), services.settings.general.default_timezone)
    policy = _policy(services.settings)
    changes: list[tuple[int, int, Progress]] = []
    messages: list[OutgoingMessage] = []
    for row, key in zip(rows, keys, strict=True):
        progress = row.progress
        if key in planned:
            progress = replace(
                progress, planned=True, planned_at=datetime.fromtimestamp(planned[key], UTC)
            )
        tz = zone(row.timezone, zone_of(row.item.branch_id))
        recipient = rules.Recipient(
            tz=tz,
            elderly=row.category == "elderly",
            can_receive=row.member_status == "active" and row.telegram_id is not None,
            answered=row.answered,
            away_until=row.away_until,
        )
        decision = rules.advance(progress, recipient, _timing(row.item), now, policy)
        if _stored(decision.progress) != _stored(row.progress):
            changes.append((row.item.id, row.member_id, decision.progress))
        if decision.excuse_away:
            await study.record_answer(
                db, row.item.id, row.member_id, status=Answer.EXCUSED, reason=Reason.AWAY,
                entered_by=None, now=int(now.timestamp()),
            )
        if decision.message is not None:
            messages.append(_outgoing(services, row, decision.message, tz))
    await study.save_progress(db, changes)
    return messages


def _outgoing(
    services: Services, row: TargetRow, message: tuple[NextKind, int, datetime], tz: ZoneInfo
) -> OutgoingMessage:
    kind, seq, due_at = message
    language = row.language or services.settings.general.default_language
    assert row.telegram_id is not None
    return OutgoingMessage(
        dedupe_key=occurrence_key(f"study.{kind.value}", row.member_id, row.item.id, seq),
        kind=f"study.{kind.value}",
        person_id=row.person_id,
        chat_id=row.telegram_id,
        text=_item_text(language, row.item, kind, seq, row.category == "elderly"),
        due_at=int(due_at.timestamp()),
        reply_markup=answer_keyboard(language, row.item.id).to_dict(),
        expires_at=int(due_end(date.fromisoformat(row.item.due_date), tz).timestamp()),
    )


async def _cancel_scheduled(db: Any, member_id: int, item_id: int) -> None:
    """Cancel the member's reminders for the item still waiting in the outbox."""
    for kind in NextKind:
        prefix = occurrence_key(f"study.{kind.value}", member_id, item_id, "")
        await outbox.cancel_pending(db, key_prefix=prefix)


# ---------------------------------------------------------------- pending input


def _data(pending: PendingInput) -> dict[str, Any]:
    return json.loads(pending.data or "{}")


async def _await_input(
    services: Services, telegram_id: int, kind: str, started_at: int, data: dict[str, Any]
) -> None:
    await pending_inputs.set_pending(
        services.db,
        PendingInput(telegram_id, kind, started_at, json.dumps(data, ensure_ascii=False)),
    )


async def _pending_for(
    update: Update, context: ContextTypes.DEFAULT_TYPE, stamp: str, kinds: tuple[str, ...]
) -> PendingInput | None:
    """Return the user's study question a button belongs to, or None (stale button)."""
    services = get_services(context)
    pending = await pending_inputs.get_pending(services.db, update.effective_user.id)
    if pending is None or pending.kind not in kinds or str(pending.started_at) != stamp:
        return None
    return pending


async def _refuse(update: Update, language: str, key: str) -> None:
    """Answer a button with an alert saying why nothing happened."""
    await update.callback_query.answer(t(language, key), show_alert=True)


async def _stale(update: Update, language: str) -> None:
    await _refuse(update, language, "errors.stale_button")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take typed text a study question awaits (AwaitedInputHandler matched its kind)."""
    user, message = update.effective_user, update.effective_message
    services = get_services(context)
    pending = await pending_inputs.get_pending(services.db, user.id)
    step = _TEXT_STEPS.get(pending.kind) if pending is not None else None
    if pending is None or step is None or message.text is None:
        return
    actor = await load_actor(update, context)
    try:
        await step(update, context, actor, pending, message.text)
    except InvalidInput as problem:
        await reply(update, actor.language, problem.key, **problem.params)


# ---------------------------------------------------------------- member answers


@dataclass(frozen=True, slots=True)
class _Answering:
    """A member pressing a button on their own reminder, with what the answer needs."""

    services: Services
    language: str
    item: StudyItem
    member_id: int
    person_id: int
    tz: ZoneInfo
    elderly: bool


async def _answering(
    update: Update, context: ContextTypes.DEFAULT_TYPE, raw_item: str
) -> _Answering | None:
    """Return the member answering the item, or None after telling them why they cannot."""
    services = get_services(context)
    query = update.callback_query
    db = services.db
    person = await people.get_person_by_telegram(db, update.effective_user.id)
    language = user_language(update, services, person.language if person else None)
    item = await study.get_item(db, int(raw_item))
    membership = await members.current_membership(db, person.id) if person else None
    if item is None or person is None:
        await _stale(update, language)
        return None
    mine = membership is not None and membership.status == "active"
    if not mine or membership.branch_id != item.branch_id:
        await query.answer(t(language, "study.not_yours"), show_alert=True)
        return None
    if item.is_withdrawn:
        await query.answer(t(language, "study.withdrawn"), show_alert=True)
        await _append_line(query, t(language, "study.withdrawn_line"))
        return None
    existing = await study.get_answer(db, item.id, membership.id)
    if existing is not None:
        await _tell_already(update, language, existing)
        return None
    tz = await _member_zone(services, person.timezone, item.branch_id)
    return _Answering(
        services, language, item, membership.id, person.id, tz, membership.category == "elderly"
    )


async def _tell_already(update: Update, language: str, existing: AnswerRecord) -> None:
    label = _answer_label(language, existing)
    if existing.on_behalf and existing.entered_by_name:
        text = t(language, "study.already_by", answer=raw(label), who=existing.entered_by_name)
    else:
        text = t(language, "study.already", answer=raw(label))
    await update.callback_query.answer(text, show_alert=True)


async def _append_line(query: Any, line: str) -> None:
    """Show the outcome under the reminder and take its buttons away."""
    try:
        await query.edit_message_text(f"{query.message.text_html}\n\n{line}", reply_markup=None)
    except BadRequest:
        # The message is too old to edit, or already shows this line: the answer
        # itself is recorded, which is what matters.
        log.info("could not edit a study reminder", exc_info=True)


async def _on_done(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Record ✅ studied and show it on the reminder."""
    member = await _answering(update, context, args[0])
    if member is None:
        return
    await _record(update, member, Answer.DONE, None)


async def _record(
    update: Update, member: _Answering, status: Answer, reason: Reason | None
) -> bool:
    services, item = member.services, member.item
    now = services.clock.now()
    late = rules.is_late(date.fromisoformat(item.due_date), now, member.tz)
    inserted = await study.record_answer(
        services.db, item.id, member.member_id, status=status, reason=reason,
        entered_by=member.person_id, now=int(now.timestamp()), late=late,
    )
    query = update.callback_query
    if not inserted:
        # Two quick presses: the other one got there first.
        existing = await study.get_answer(services.db, item.id, member.member_id)
        if existing is not None:
            await _tell_already(update, member.language, existing)
        return False
    await _cancel_scheduled(services.db, member.member_id, item.id)
    await query.answer(t(member.language, "study.recorded"))
    when = format_local(now.timestamp(), member.tz)
    if status == Answer.DONE:
        line = t(member.language, "study.answered_done_late" if late else "study.answered_done",
                 when=when)
    else:
        line = t(member.language, "study.answered_excused", when=when,
                 reason=t(member.language, f"study.reason.{reason}"))
    await _append_line(query, line)
    return True


async def _on_later(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Snooze: remind again after snooze_minutes, moved into the member's allowed hours."""
    member = await _answering(update, context, args[0])
    if member is None:
        return
    services, item = member.services, member.item
    settings = services.settings.study
    until = snooze_until(
        services.clock.now(), member.tz, minutes=settings.snooze_minutes,
        windows=Windows.from_settings(settings), elderly=member.elderly,
    )
    query = update.callback_query
    if until >= due_end(date.fromisoformat(item.due_date), member.tz):
        await query.answer(t(member.language, "study.snooze_too_late"), show_alert=True)
        return
    await _cancel_scheduled(services.db, member.member_id, item.id)
    await study.snooze_target(services.db, item.id, member.member_id, int(until.timestamp()))
    await query.answer()
    line = t(member.language, "study.snoozed", when=format_local(until.timestamp(), member.tz))
    await _append_line(query, line)


async def _on_excuse(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Show the excuse reasons in place of the answer buttons."""
    member = await _answering(update, context, args[0])
    if member is None:
        return
    await update.callback_query.answer(t(member.language, "study.pick_reason"))
    await update.callback_query.edit_message_reply_markup(
        _reason_keyboard(member.language, member.item.id)
    )


async def _on_back(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Put the answer buttons back (the member changed their mind about excusing)."""
    member = await _answering(update, context, args[0])
    if member is None:
        return
    await update.callback_query.answer()
    await update.callback_query.edit_message_reply_markup(
        answer_keyboard(member.language, member.item.id)
    )


async def _on_why(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Record an excuse with its reason; 'other' then offers an optional note."""
    member = await _answering(update, context, args[0])
    if member is None:
        return
    try:
        reason = Reason(args[1])
    except (IndexError, ValueError):
        await _stale(update, member.language)
        return
    if not await _record(update, member, Answer.EXCUSED, reason) or reason != Reason.OTHER:
        return
    services = member.services
    stamp = services.now_ts()
    await _await_input(
        services, update.effective_user.id, NOTE, stamp,
        {"item": member.item.id, "member": member.member_id},
    )
    skip = _button(t(member.language, "study.btn_skip"), "skip", stamp)
    await update.effective_chat.send_message(
        t(member.language, "study.ask_note"), reply_markup=InlineKeyboardMarkup([[skip]])
    )


async def _note_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, pending: PendingInput,
    text: str,
) -> None:
    """Attach the typed note to the member's 'other' excuse."""
    services = get_services(context)
    note = rules.clean_note(text)
    data = _data(pending)
    await study.set_note(services.db, int(data["item"]), int(data["member"]), note)
    await pending_inputs.clear_pending(services.db, actor.telegram_id, NOTE)
    await reply(update, actor.language, "study.note_saved", note=note)


async def _on_skip(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Skip the optional excuse note."""
    services = get_services(context)
    actor = await load_actor(update, context)
    pending = await _pending_for(update, context, args[0], (NOTE,))
    if pending is None:
        await _stale(update, actor.language)
        return
    await pending_inputs.clear_pending(services.db, actor.telegram_id, NOTE)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(t(actor.language, "study.note_skipped"))


# ---------------------------------------------------------------- publishing


def _target_options(actor: Actor, all_units: Sequence[Unit]) -> list[tuple[Unit, int]]:
    """Return (unit, branches beneath) the actor may publish to: led units, then their branches."""
    if actor.is_admin:
        led = [unit for unit in all_units if unit.parent_id is None]
    else:
        led = [unit for _, unit in walk(all_units) if unit.id in actor.led_unit_ids]
    options: dict[int, tuple[Unit, int]] = {}
    for unit in led:
        branches = branches_under(all_units, unit.id)
        if unit.level != Level.BRANCH and branches:
            options.setdefault(unit.id, (unit, len(branches)))
        for branch in branches:
            options.setdefault(branch.id, (branch, 1))
    return list(options.values())[:MAX_BUTTONS]


def _target_branches(actor: Actor, all_units: Sequence[Unit], unit_id: int) -> list[Unit]:
    managed = managed_branch_ids(actor, all_units)
    try:
        return [branch for branch in branches_under(all_units, unit_id) if branch.id in managed]
    except LookupError:
        return []


def _target_label(language: str, unit: Unit, count: int) -> str:
    if unit.level == Level.BRANCH:
        return unit.name
    return _label(language, "study.target_all", unit=unit.name, count=count)


async def cmd_study(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start publishing a study item: ask where to, or straight for the title."""
    actor = await load_actor(update, context)
    if not is_leader(actor):
        await reply(update, actor.language, "errors.not_secretary")
        return
    services = get_services(context)
    options = _target_options(actor, await load_units(context))
    if not options:
        await reply(update, actor.language, "study.no_branches")
        return
    stamp = services.now_ts()
    if len(options) == 1:
        await _await_input(
            services, actor.telegram_id, DRAFT, stamp, {"step": "title", "unit": options[0][0].id}
        )
        await _ask_title(update, actor.language, stamp)
        return
    await _await_input(services, actor.telegram_id, DRAFT, stamp, {"step": "target"})
    buttons = [
        [_button(_target_label(actor.language, unit, count), "to", unit.id, stamp)]
        for unit, count in options
    ]
    await reply(
        update, actor.language, "study.ask_target",
        reply_markup=InlineKeyboardMarkup([*buttons, _cancel_row(actor.language, stamp)]),
    )


async def _ask_title(update: Update, language: str, stamp: int) -> None:
    await update.effective_chat.send_message(
        t(language, "study.ask_title"),
        reply_markup=InlineKeyboardMarkup([_cancel_row(language, stamp)]),
    )


async def _on_target(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Take the chosen branch (or all branches under a unit) and ask for the title."""
    actor = await load_actor(update, context)
    pending = await _pending_for(update, context, args[1], (DRAFT,))
    if pending is None or _data(pending).get("step") != "target":
        await _stale(update, actor.language)
        return
    all_units = await load_units(context)
    unit_id = int(args[0])
    branches = _target_branches(actor, all_units, unit_id)
    if not branches:
        await _refuse(update, actor.language, "errors.not_your_branch")
        return
    services = get_services(context)
    await _await_input(
        services, actor.telegram_id, DRAFT, pending.started_at, {"step": "title", "unit": unit_id}
    )
    unit = next(unit for unit in all_units if unit.id == unit_id)
    query = update.callback_query
    await query.answer()
    label = _target_label(actor.language, unit, len(branches))
    await query.edit_message_text(t(actor.language, "study.target_chosen", target=label))
    await _ask_title(update, actor.language, pending.started_at)


def _due_keyboard(language: str, today: date, stamp: int) -> InlineKeyboardMarkup:
    presets = [
        _button(_label(language, key, date=when.isoformat()), "due", when.isoformat(), stamp)
        for key, when in rules.due_presets(today)
    ]
    typed = _button(t(language, "study.btn_type_date"), "type", stamp)
    return InlineKeyboardMarkup(
        [[button] for button in presets] + [[typed], _cancel_row(language, stamp)]
    )


async def _draft_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, pending: PendingInput,
    text: str,
) -> None:
    """Take the typed title, text or due date of the item being published."""
    services = get_services(context)
    data = _data(pending)
    step = data.get("step")
    if step == "title":
        data.update(title=rules.clean_title(text), step="body")
        await _await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
        await reply(
            update, actor.language, "study.ask_body",
            reply_markup=InlineKeyboardMarkup([_cancel_row(actor.language, pending.started_at)]),
        )
    elif step == "body":
        data.update(body=rules.clean_body(text), step="due")
        await _await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
        today = await _actor_today(services, actor)
        await reply(
            update, actor.language, "study.ask_due", example=rules.due_presets(today)[1][1],
            reply_markup=_due_keyboard(actor.language, today, pending.started_at),
        )
    elif step == "due":
        due = rules.parse_due(text, await _actor_today(services, actor))
        await _to_confirm(update, context, actor, pending, data, due)
    else:
        await reply(update, actor.language, "study.use_buttons")


async def _to_confirm(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    pending: PendingInput,
    data: dict[str, Any],
    due: date,
) -> None:
    services = get_services(context)
    data.update(due=due.isoformat(), step="confirm")
    await _await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
    branches = _target_branches(actor, await load_units(context), int(data["unit"]))
    remind = await _remind_times(services, branches)
    keyboard = InlineKeyboardMarkup(
        [[
            _button(t(actor.language, "study.btn_publish"), "pub", pending.started_at),
            _button(t(actor.language, "study.btn_cancel"), "cancel", pending.started_at),
        ]]
    )
    await update.effective_chat.send_message(
        t(
            actor.language, "study.confirm", title=data["title"], body=data["body"],
            due=data["due"], branches=_names(actor.language, [b.name for b in branches]),
            at=" / ".join(sorted(set(remind.values()))),
        ),
        reply_markup=keyboard,
    )


async def _remind_times(services: Services, branches: Sequence[Unit]) -> dict[int, str]:
    """Return each branch's reminder hour: its study day's, else the default 19:30."""
    times: dict[int, str] = {}
    for branch in branches:
        day = await study.get_study_day(services.db, branch.id)
        times[branch.id] = day.remind_at if day else rules.format_hhmm(rules.DEFAULT_REMIND_AT)
    return times


async def _on_due(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Take a due-date button, for a new item or an edit."""
    actor = await load_actor(update, context)
    pending = await _pending_for(update, context, args[1], (DRAFT, EDIT))
    data = _data(pending) if pending else {}
    wanted = pending is not None and (data.get("step") == "due" or data.get("field") == "due")
    if pending is None or not wanted:
        await _stale(update, actor.language)
        return
    query = update.callback_query
    await query.answer()
    await query.edit_message_reply_markup(None)
    due = date.fromisoformat(args[0])
    if pending.kind == DRAFT:
        await _to_confirm(update, context, actor, pending, data, due)
    else:
        await _apply_edit(update, context, actor, data, due=due.isoformat())


async def _on_type(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Explain how to type a due date (the question already awaits it)."""
    actor = await load_actor(update, context)
    if await _pending_for(update, context, args[0], (DRAFT, EDIT)) is None:
        await _stale(update, actor.language)
        return
    await update.callback_query.answer()
    today = await _actor_today(get_services(context), actor)
    await reply(update, actor.language, "study.type_date", example=rules.due_presets(today)[1][1])


async def _on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Drop the study question in progress."""
    actor = await load_actor(update, context)
    pending = await _pending_for(update, context, args[0], (DRAFT, EDIT))
    if pending is None:
        await _stale(update, actor.language)
        return
    await pending_inputs.clear_pending(get_services(context).db, actor.telegram_id, pending.kind)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(t(actor.language, "study.cancelled"))


async def _on_publish(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Publish the confirmed item to every chosen branch."""
    actor = await load_actor(update, context)
    pending = await _pending_for(update, context, args[0], (DRAFT,))
    data = _data(pending) if pending else {}
    if pending is None or data.get("step") != "confirm":
        await _stale(update, actor.language)
        return
    services = get_services(context)
    branches = _target_branches(actor, await load_units(context), int(data["unit"]))
    if not branches:
        await _refuse(update, actor.language, "errors.not_your_branch")
        return
    now = services.now_ts()
    remind = await _remind_times(services, branches)
    items = await study.create_items(
        services.db, branch_ids=[b.id for b in branches], title=data["title"],
        body=data["body"], due_date=data["due"], remind_at=remind,
        created_by=actor.person_id, now=now,
    )
    await pending_inputs.clear_pending(services.db, actor.telegram_id, DRAFT)
    await audit.record(
        services.db, at=now, actor=f"tg:{actor.telegram_id}", action="study.publish",
        subject=f"study:{items[0].batch}",
        detail={"branches": [b.id for b in branches], "due": data["due"]},
    )
    query = update.callback_query
    await query.answer()
    await query.edit_message_text(
        t(
            actor.language, "study.published", count=len(branches),
            branches=_names(actor.language, [b.name for b in branches]),
            at=" / ".join(sorted(set(remind.values()))),
        )
    )


# ---------------------------------------------------------------- /studies


async def _managed(context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> tuple[list[Unit], set[int]]:
    all_units = await load_units(context)
    return all_units, managed_branch_ids(actor, all_units)


async def cmd_studies(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List recent study items of the actor's branches with their answer counts."""
    actor = await load_actor(update, context)
    if not is_leader(actor):
        await reply(update, actor.language, "errors.not_secretary")
        return
    services = get_services(context)
    _, managed = await _managed(context, actor)
    since = rules.lookback(await _actor_today(services, actor), LIST_DAYS)
    batches = await study.list_items(services.db, sorted(managed), min_due=since.isoformat())
    if not batches:
        await reply(update, actor.language, "study.list_empty")
        return
    lines = [t(actor.language, "study.list_title")]
    buttons = []
    for number, batch in enumerate(batches, start=1):
        first = batch[0].item
        withdrawn = all(counts.item.is_withdrawn for counts in batch)
        lines.append(
            t(
                actor.language, "study.list_line", n=number,
                title=raw(_title_html(actor.language, first)), due=first.due_date,
                done=sum(c.done for c in batch), excused=sum(c.excused for c in batch),
                missing=sum(c.missing for c in batch),
                state=raw(t(actor.language, "study.list_withdrawn") if withdrawn else ""),
            )
        )
        title = first.title or _label(
            actor.language, "study.weekly_title", date=first.occurrence_date
        )
        buttons.append(_button(f"{number}. {title}"[:60], "open", first.batch))
    await update.effective_chat.send_message(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(button_grid(buttons, 1))
    )


async def _batch_in_reach(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, raw_batch: str
) -> list[StudyItem] | None:
    """Return the batch's items the actor manages, or None after saying why not."""
    services = get_services(context)
    _, managed = await _managed(context, actor)
    items = [
        item for item in await study.batch_items(services.db, int(raw_batch))
        if item.branch_id in managed
    ]
    if not items:
        await _refuse(update, actor.language, "errors.not_your_branch")
        return None
    return items


async def _on_open(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Show one item (all its branches): counts, who has not answered, who is excused."""
    actor = await load_actor(update, context)
    items = await _batch_in_reach(update, context, actor, args[0])
    if items is None:
        return
    services = get_services(context)
    all_units = await load_units(context)
    names = {unit.id: unit.name for unit in all_units}
    counts = await study.item_counts(services.db, [item.id for item in items])
    first = items[0]
    language = actor.language
    withdrawn = all(item.is_withdrawn for item in items)
    lines = [
        t(
            language, "study.detail", title=raw(_title_html(language, first)),
            body=raw(_body_html(language, first)), due=first.due_date,
            state=raw(t(language, "study.list_withdrawn") if withdrawn else ""),
        )
    ]
    for item in items:
        lines.extend(await _branch_lines(services, language, item, counts[item.id], names))
    rows: list[list[InlineKeyboardButton]] = []
    if not withdrawn:
        if first.kind == "item":
            rows.append([
                _button(t(language, "study.btn_edit_title"), "edit", first.batch, "title"),
                _button(t(language, "study.btn_edit_body"), "edit", first.batch, "body"),
            ])
            rows.append([_button(t(language, "study.btn_edit_due"), "edit", first.batch, "due")])
        rows.append([_button(t(language, "study.btn_withdraw"), "wd", first.batch)])
    await update.callback_query.answer()
    # A batch over many branches can outgrow one message; the buttons go on the last part.
    parts = split_message("\n".join(lines))
    for part in parts[:-1]:
        await update.effective_chat.send_message(part)
    await update.effective_chat.send_message(
        parts[-1], reply_markup=InlineKeyboardMarkup(rows) if rows else None
    )


async def _branch_lines(
    services: Services, language: str, item: StudyItem, counts: ItemCounts, names: dict[int, str]
) -> list[str]:
    lines = [
        t(
            language, "study.detail_branch", branch=names.get(item.branch_id, "?"),
            done=counts.done, excused=counts.excused, missing=counts.missing,
        )
    ]
    unanswered = await study.unanswered_members(services.db, item.id)
    missing = [_name(language, c.name) for c in unanswered]
    if missing:
        lines.append(t(language, "study.detail_missing", names=_names(language, missing)))
    answers = await study.answers_for(services.db, item.id)
    excused = [
        t(language, "study.excused_name", name=_name(language, a.name),
          reason=a.note or t(language, f"study.reason.{a.reason}"))
        for a in answers if a.status == Answer.EXCUSED
    ]
    if excused:
        lines.append(t(language, "study.detail_excused", names=raw(_names(language, excused))))
    by_others = [
        t(language, "study.on_behalf_name", name=_name(language, a.name),
          who=_name(language, a.entered_by_name))
        for a in answers if a.on_behalf
    ]
    if by_others:
        lines.append(t(language, "study.detail_on_behalf", names=raw(_names(language, by_others))))
    return lines


async def _on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Ask for the new title, text or due date of an item."""
    actor = await load_actor(update, context)
    items = await _batch_in_reach(update, context, actor, args[0])
    if items is None or args[1] not in ("title", "body", "due"):
        return
    services = get_services(context)
    stamp = services.now_ts()
    await _await_input(
        services, actor.telegram_id, EDIT, stamp, {"batch": items[0].batch, "field": args[1]}
    )
    await update.callback_query.answer()
    if args[1] == "due":
        today = await _actor_today(services, actor)
        await reply(
            update, actor.language, "study.ask_new_due", example=rules.due_presets(today)[1][1],
            reply_markup=_due_keyboard(actor.language, today, stamp),
        )
        return
    await reply(
        update, actor.language, f"study.ask_new_{args[1]}",
        reply_markup=InlineKeyboardMarkup([_cancel_row(actor.language, stamp)]),
    )


async def _edit_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, pending: PendingInput,
    text: str,
) -> None:
    """Take the typed new title, text or due date."""
    data = _data(pending)
    field = data.get("field")
    if field == "title":
        await _apply_edit(update, context, actor, data, title=rules.clean_title(text))
    elif field == "body":
        await _apply_edit(update, context, actor, data, body=rules.clean_body(text))
    else:
        due = rules.parse_due(text, await _actor_today(get_services(context), actor))
        await _apply_edit(update, context, actor, data, due=due.isoformat())


async def _apply_edit(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    data: dict[str, Any],
    *,
    title: str | None = None,
    body: str | None = None,
    due: str | None = None,
) -> None:
    services = get_services(context)
    _, managed = await _managed(context, actor)
    items = [
        item for item in await study.batch_items(services.db, int(data["batch"]))
        if item.branch_id in managed and not item.is_withdrawn
    ]
    await pending_inputs.clear_pending(services.db, actor.telegram_id, EDIT)
    if not items:
        await reply(update, actor.language, "errors.not_your_branch")
        return
    now = services.now_ts()
    await study.update_items(
        services.db, [item.id for item in items], now=now, title=title, body=body, due_date=due
    )
    await audit.record(
        services.db, at=now, actor=f"tg:{actor.telegram_id}", action="study.edit",
        subject=f"study:{items[0].batch}", detail={"field": data.get("field")},
    )
    await reply(update, actor.language, "study.edited", title=title or items[0].title or "")


async def _on_withdraw(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Ask to confirm withdrawing an item."""
    actor = await load_actor(update, context)
    items = await _batch_in_reach(update, context, actor, args[0])
    if items is None:
        return
    await update.callback_query.answer()
    keyboard = InlineKeyboardMarkup([[
        _button(t(actor.language, "study.btn_confirm_withdraw"), "wdok", items[0].batch),
        _button(t(actor.language, "study.btn_back"), "nowd", items[0].batch),
    ]])
    await reply(
        update, actor.language, "study.confirm_withdraw",
        title=raw(_title_html(actor.language, items[0])), reply_markup=keyboard,
    )


async def _on_keep(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Do not withdraw after all."""
    actor = await load_actor(update, context)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(t(actor.language, "study.cancelled"))


async def _on_withdraw_confirmed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Withdraw the item in the actor's branches and cancel every reminder still waiting."""
    actor = await load_actor(update, context)
    items = await _batch_in_reach(update, context, actor, args[0])
    if items is None:
        return
    services = get_services(context)
    now = services.now_ts()
    for item in items:
        for member_id in await study.withdraw_items(
            services.db, [item.id], by=actor.person_id, now=now
        ):
            await _cancel_scheduled(services.db, member_id, item.id)
    await audit.record(
        services.db, at=now, actor=f"tg:{actor.telegram_id}", action="study.withdraw",
        subject=f"study:{items[0].batch}", detail={"items": [item.id for item in items]},
    )
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(
        t(actor.language, "study.withdrawn_done", title=raw(_title_html(actor.language, items[0])))
    )


# ---------------------------------------------------------------- /studyday


async def cmd_studyday(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Set or stop a branch's weekly study day: /studyday 3 20:00 · /studyday off."""
    actor = await load_actor(update, context)
    if not is_leader(actor):
        await reply(update, actor.language, "errors.not_secretary")
        return
    try:
        day = rules.parse_studyday(context.args or [])
    except InvalidInput as problem:
        await reply(update, actor.language, problem.key, **problem.params)
        return
    all_units, managed = await _managed(context, actor)
    branches = [unit for _, unit in walk(all_units) if unit.id in managed]
    if not branches:
        await reply(update, actor.language, "study.no_branches")
        return
    weekday, at = (0, "off") if day == rules.OFF else (day.weekday, day.at.strftime("%H%M"))
    if len(branches) == 1:
        await _set_study_day(update, context, actor, branches, day)
        return
    buttons = [_button(branch.name, "sd", branch.id, weekday, at) for branch in branches]
    every = _button(
        _label(actor.language, "study.day_all", count=len(branches)), "sd", 0, weekday, at
    )
    await reply(
        update, actor.language, "study.day_pick_branch",
        reply_markup=InlineKeyboardMarkup([[every], *button_grid(buttons[: MAX_BUTTONS - 1], 1)]),
    )


async def _on_study_day(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Apply the study day to the chosen branch (0: all the actor's branches)."""
    actor = await load_actor(update, context)
    all_units, managed = await _managed(context, actor)
    branch_id, weekday, at = int(args[0]), int(args[1]), args[2]
    chosen = [
        unit for _, unit in walk(all_units)
        if unit.id in managed and branch_id in (0, unit.id)
    ]
    if not chosen:
        await _refuse(update, actor.language, "errors.not_your_branch")
        return
    day = rules.OFF if weekday == 0 else rules.StudyDay(weekday, time(int(at[:2]), int(at[2:])))
    await update.callback_query.answer()
    await update.callback_query.edit_message_reply_markup(None)
    await _set_study_day(update, context, actor, chosen, day)


async def _set_study_day(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    branches: Sequence[Unit],
    day: rules.StudyDay | str,
) -> None:
    services = get_services(context)
    db = services.db
    now = services.clock.now()
    now_ts = int(now.timestamp())
    lines = []
    for branch in branches:
        tz = zone(await _branch_zone(services, branch.id))
        today = local_date(now_ts, tz)
        old = await study.get_study_day(db, branch.id)
        if isinstance(day, str):
            after = today
            key = "study.day_off" if old else "study.day_none"
            lines.append(t(actor.language, key, branch=branch.name))
            await study.clear_study_day(db, branch.id)
        else:
            starts = rules.study_day_starts_on(day, now, tz)
            after = rules.replaced_after(starts, today)
            # A strictly newer stamp lets the new setting's occurrences replace the old ones.
            stamp = max(now_ts, old.set_at + 1) if old else now_ts
            await study.set_study_day(
                db, branch_id=branch.id, weekday=day.weekday, remind_at=rules.format_hhmm(day.at),
                starts_on=starts.isoformat(), set_by=actor.person_id, now=stamp,
            )
            lines.append(
                t(
                    actor.language, "study.day_set", branch=branch.name,
                    weekday=t(actor.language, f"study.weekday.{day.weekday}"),
                    at=rules.format_hhmm(day.at), first=starts.isoformat(),
                )
            )
        for item_id, member_ids in await study.withdraw_weekly_after(
            db, branch.id, after.isoformat(), by=actor.person_id, now=now_ts
        ):
            for member_id in member_ids:
                await _cancel_scheduled(db, member_id, item_id)
    await audit.record(
        db, at=now_ts, actor=f"tg:{actor.telegram_id}", action="study.day",
        subject=",".join(f"unit:{b.id}" for b in branches),
        detail=day if isinstance(day, str) else {"weekday": day.weekday, "at": str(day.at)},
    )
    await update.effective_chat.send_message("\n".join(lines))


# ---------------------------------------------------------------- /checkin


async def cmd_checkin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record a member's study for them: pick the item, then the member."""
    actor = await load_actor(update, context)
    services = get_services(context)
    all_units, managed = await _managed(context, actor)
    paired = await study.paired_members(services.db, actor.person_id) if actor.person_id else []
    branch_ids = managed | {member.branch_id for member in paired}
    if not branch_ids:
        await reply(update, actor.language, "study.checkin_none")
        return
    since = rules.lookback(await _actor_today(services, actor), CHECKIN_DAYS)
    items = await study.open_items(services.db, sorted(branch_ids), min_due=since.isoformat())
    if not items:
        await reply(update, actor.language, "study.checkin_none")
        return
    names = {unit.id: unit.name for unit in all_units}
    buttons = [
        _button(
            _label(
                actor.language, "study.checkin_item",
                title=item.title or _label(
                    actor.language, "study.weekly_title", date=item.occurrence_date
                ),
                branch=names.get(item.branch_id, "?"),
            )[:60],
            "ci", item.id,
        )
        for item in items[:MAX_BUTTONS]
    ]
    await reply(
        update, actor.language, "study.checkin_pick_item",
        reply_markup=InlineKeyboardMarkup(button_grid(buttons, 1)),
    )


async def _checkin_keyboard(
    context: ContextTypes.DEFAULT_TYPE, actor: Actor, item: StudyItem
) -> InlineKeyboardMarkup | None:
    """Return a button per member the actor may still check in for, or None if none is left."""
    services = get_services(context)
    all_units = await load_units(context)
    candidates = [
        c for c in await study.unanswered_members(services.db, item.id)
        if rules.can_check_in_for(actor, c.branch_id, c.paired_with, all_units)
    ]
    if not candidates:
        return None
    buttons = [
        _button(_name(actor.language, c.name)[:40], "cim", item.id, c.member_id)
        for c in candidates[:MAX_BUTTONS]
    ]
    return InlineKeyboardMarkup(button_grid(buttons, 2))


async def _on_checkin_item(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the members the actor may record the chosen item for."""
    actor = await load_actor(update, context)
    item = await study.get_item(get_services(context).db, int(args[0]))
    if item is None or item.is_withdrawn:
        await update.callback_query.answer(t(actor.language, "study.withdrawn"), show_alert=True)
        return
    await update.callback_query.answer()
    await _show_checkin(update, context, actor, item, header=None)


async def _show_checkin(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    item: StudyItem,
    header: str | None,
) -> None:
    keyboard = await _checkin_keyboard(context, actor, item)
    title = raw(_title_html(actor.language, item))
    body = t(actor.language, "study.checkin_pick_member" if keyboard else "study.checkin_all_done",
             title=title)
    text = f"{header}\n\n{body}" if header else body
    await update.callback_query.edit_message_text(text, reply_markup=keyboard)


async def _on_checkin_member(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Record 'studied' for the chosen member, entered by the actor."""
    actor = await load_actor(update, context)
    services = get_services(context)
    db = services.db
    item = await study.get_item(db, int(args[0]))
    member = await members.get_member(db, int(args[1]))
    query = update.callback_query
    if item is None or member is None or item.is_withdrawn or member.branch_id != item.branch_id:
        await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
        return
    candidates = {c.member_id: c for c in await study.unanswered_members(db, item.id)}
    candidate = candidates.get(member.id)
    all_units = await load_units(context)
    if candidate is None:
        existing = await study.get_answer(db, item.id, member.id)
        if existing is not None:
            await _tell_already(update, actor.language, existing)
        else:
            await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
        return
    if not rules.can_check_in_for(actor, member.branch_id, candidate.paired_with, all_units):
        await query.answer(t(actor.language, "errors.not_your_branch"), show_alert=True)
        return
    person = await people.get_person(db, member.person_id)
    tz = await _member_zone(services, person.timezone if person else None, item.branch_id)
    now = services.clock.now()
    inserted = await study.record_answer(
        db, item.id, member.id, status=Answer.DONE, entered_by=actor.person_id,
        on_behalf=actor.person_id != member.person_id, now=int(now.timestamp()),
        late=rules.is_late(date.fromisoformat(item.due_date), now, tz),
    )
    if not inserted:
        existing = await study.get_answer(db, item.id, member.id)
        if existing is not None:
            await _tell_already(update, actor.language, existing)
        return
    await _cancel_scheduled(db, member.id, item.id)
    await audit.record(
        db, at=int(now.timestamp()), actor=f"tg:{actor.telegram_id}", action="study.checkin",
        subject=f"member:{member.id}", detail={"item": item.id},
    )
    await query.answer(t(actor.language, "study.recorded"))
    header = t(
        actor.language, "study.checkin_recorded", name=_name(actor.language, candidate.name),
        who=_name(actor.language, actor.name),
    )
    await _show_checkin(update, context, actor, item, header=header)


# ---------------------------------------------------------------- /pair


async def cmd_pair(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pick an elderly member to pair with a helper."""
    actor = await load_actor(update, context)
    if not is_leader(actor):
        await reply(update, actor.language, "errors.not_secretary")
        return
    services = get_services(context)
    _, managed = await _managed(context, actor)
    elderly = await study.elderly_members(services.db, sorted(managed))
    if not elderly:
        await reply(update, actor.language, "study.pair_none")
        return
    buttons = []
    for member in elderly[:MAX_BUTTONS]:
        label = _name(actor.language, member.name)
        if member.paired_with is not None:
            helper = await people.get_person(services.db, member.paired_with)
            label = _label(actor.language, "study.pair_elderly_label", name=label,
                           helper=_name(actor.language, helper.name if helper else None))
        buttons.append(_button(label[:60], "pe", member.member_id))
    await reply(
        update, actor.language, "study.pair_pick_elderly",
        reply_markup=InlineKeyboardMarkup(button_grid(buttons, 1)),
    )


async def _managed_member(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, raw_member: str
) -> Member | None:
    member = await members.get_member(get_services(context).db, int(raw_member))
    if member is None or member.status != "active":
        await _refuse(update, actor.language, "errors.stale_button")
        return None
    if not can_manage_branch(actor, member.branch_id, await load_units(context)):
        await _refuse(update, actor.language, "errors.not_your_branch")
        return None
    return member


async def _on_pair_elderly(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the branch's other members as possible helpers."""
    actor = await load_actor(update, context)
    member = await _managed_member(update, context, actor, args[0])
    if member is None:
        return
    services = get_services(context)
    roster = await members.list_branch_members(services.db, member.branch_id, ("active",))
    helpers = [row for row in roster if row.member.id != member.id][: MAX_BUTTONS - 1]
    elderly = next(row for row in roster if row.member.id == member.id)
    await update.callback_query.answer()
    if not helpers:
        await update.callback_query.edit_message_text(t(actor.language, "study.pair_no_helpers"))
        return
    buttons = [
        _button(_name(actor.language, row.name)[:40], "ph", member.id, row.member.person_id)
        for row in helpers
    ]
    unpair = _button(t(actor.language, "study.pair_unpair"), "ph", member.id, 0)
    await update.callback_query.edit_message_text(
        t(actor.language, "study.pair_pick_helper", name=_name(actor.language, elderly.name)),
        reply_markup=InlineKeyboardMarkup([*button_grid(buttons, 2), [unpair]]),
    )


async def _on_pair_helper(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Pair the elderly member with the chosen helper (0: unpair) and tell the helper."""
    actor = await load_actor(update, context)
    member = await _managed_member(update, context, actor, args[0])
    if member is None:
        return
    services = get_services(context)
    db = services.db
    helper_id = int(args[1]) or None
    roster = {
        row.member.person_id: row
        for row in await members.list_branch_members(db, member.branch_id, ("active",))
    }
    if helper_id is not None and (helper_id not in roster or helper_id == member.person_id):
        await _refuse(update, actor.language, "errors.stale_button")
        return
    await study.set_pairing(db, member.id, helper_id)
    now = services.now_ts()
    await audit.record(
        db, at=now, actor=f"tg:{actor.telegram_id}", action="study.pair",
        subject=f"member:{member.id}", detail={"helper": helper_id},
    )
    name = _name(actor.language, roster[member.person_id].name)
    await update.callback_query.answer()
    if helper_id is None:
        await update.callback_query.edit_message_text(
            t(actor.language, "study.pair_removed", name=name)
        )
        return
    helper = roster[helper_id]
    await update.callback_query.edit_message_text(
        t(actor.language, "study.pair_done", name=name,
          helper=_name(actor.language, helper.name))
    )
    if helper.telegram_id is not None:
        language = helper.language or services.settings.general.default_language
        try:
            await context.bot.send_message(
                helper.telegram_id, t(language, "study.pair_notice", name=name)
            )
        except (Forbidden, BadRequest):
            # The helper blocked the bot or never opened it; the pairing stands.
            log.info("could not tell helper %s about a pairing", helper_id)
        except TelegramError:
            log.warning("could not tell helper %s about a pairing", helper_id, exc_info=True)


# ---------------------------------------------------------------- wiring

_Button = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]
_TextStep = Callable[
    [Update, ContextTypes.DEFAULT_TYPE, Actor, PendingInput, str], Awaitable[None]
]

_BUTTONS: dict[str, _Button] = {
    "done": _on_done,
    "later": _on_later,
    "excuse": _on_excuse,
    "back": _on_back,
    "why": _on_why,
    "skip": _on_skip,
    "to": _on_target,
    "due": _on_due,
    "type": _on_type,
    "cancel": _on_cancel,
    "pub": _on_publish,
    "open": _on_open,
    "edit": _on_edit,
    "wd": _on_withdraw,
    "nowd": _on_keep,
    "wdok": _on_withdraw_confirmed,
    "sd": _on_study_day,
    "ci": _on_checkin_item,
    "cim": _on_checkin_member,
    "pe": _on_pair_elderly,
    "ph": _on_pair_helper,
}

_TEXT_STEPS: dict[str, _TextStep] = {DRAFT: _draft_text, EDIT: _edit_text, NOTE: _note_text}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Dispatch a study button to its action."""
    _, action, args = unpack(update.callback_query.data or "")
    handler = _BUTTONS.get(action)
    if handler is None or not args:
        actor = await load_actor(update, context)
        await _stale(update, actor.language)
        return
    await handler(update, context, args)


def register(app: Application) -> None:
    """Add the study commands, buttons, the typed-answer hook and the reminder planner."""
    # Typed answers: only from users a study question awaits; registered before
    # onboarding's catch-all (register_all adds that last), which takes the rest.
    awaiting.register(app)
    app.add_handler(
        AwaitedInputHandler(
            app, _TEXT_STEPS, filters.TEXT & ~filters.COMMAND, on_text, ttl=INPUT_TTL_SECONDS
        )
    )
    app.add_handler(CommandHandler("study", cmd_study))
    app.add_handler(CommandHandler("studies", cmd_studies))
    app.add_handler(CommandHandler("studyday", cmd_studyday))
    app.add_handler(CommandHandler("checkin", cmd_checkin))
    app.add_handler(CommandHandler("pair", cmd_pair))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    add_planner(app, "study", plan_study)
