"""A member's answers to their own reminder: ✅ studied, ⏰ later, 🙋 excused (and why, a note).

An answer after the due date is accepted and marked late; an answer to a
withdrawn item is refused; a second answer changes nothing.  ⏰ replaces the
member's next message with the snooze; follow-ups resume, spaced from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.domain import study as rules
from bot.domain.humane import moment_label
from bot.domain.permissions import Actor
from bot.domain.schedule import Windows
from bot.domain.study import Answer, Reason
from bot.i18n import t
from bot.services import Services, get_services
from handlers.acting_for import carrying, subject_of
from handlers.common import load_actor, reply, user_language
from handlers.study.inputs import NOTE, await_input, pending_for, question_data
from handlers.study.lookups import Button, member_zone
from handlers.study.messaging import (
    append_line,
    finish,
    refuse,
    replace_buttons,
    stale,
    tell_already,
)
from handlers.study.planner import cancel_scheduled
from handlers.study.recording import record_answer
from handlers.study.render import answer_keyboard, button, reason_keyboard, reason_text
from storage.repositories import members, pending_inputs, study
from storage.repositories.pending_inputs import PendingInput
from storage.repositories.study import StudyItem

__all__ = [
    "button_back",
    "button_done",
    "button_excuse",
    "button_later",
    "button_skip",
    "button_why",
    "typed_note",
]


@dataclass(frozen=True, slots=True)
class Answering:
    """A member pressing a button on their own reminder, with what the answer needs."""

    services: Services
    language: str
    item: StudyItem
    member_id: int
    person_id: int
    tz: ZoneInfo
    elderly: bool
    # The helper answering for the member (handlers.acting_for), else None.
    helper_id: int | None = None
    # The member the pressed button named (a helper's press), else None: the
    # buttons this press shows name them too.
    subject: int | None = None


async def _answering(
    update: Update, context: ContextTypes.DEFAULT_TYPE, raw_item: str
) -> Answering | None:
    """Return the member answering the item, or None after telling them why they cannot."""
    services = get_services(context)
    db = services.db
    subject = await subject_of(update, services)
    person = subject.person
    shown_to = subject.helper or person
    language = user_language(update, services, shown_to.language if shown_to else None)
    item = await study.get_item(db, int(raw_item))
    membership = await members.current_membership(db, person.id) if person else None
    # One answer whether the item exists or is another branch's: item ids are
    # sequential, and a forged press must not tell which exist.
    if item is None or not rules.can_answer(membership, item.branch_id):
        await refuse(update, language, "study.not_yours")
        return None
    if item.is_withdrawn:
        await refuse(update, language, "study.withdrawn")
        await append_line(update.callback_query, t(language, "study.withdrawn_line"))
        return None
    existing = await study.get_answer(db, item.id, membership.id)
    if existing is not None:
        await tell_already(update, language, existing)
        return None
    tz = await member_zone(services, person.timezone, item.branch_id)
    return Answering(
        services, language, item, membership.id, person.id, tz, membership.category == "elderly",
        subject.entered_by, subject.member_id,
    )


def _member_button(
    action: Callable[[Update, Answering, list[str]], Awaitable[None]],
) -> Button:
    """Return a button handler running `action` once the presser may answer item args[0]."""
    # Not lookups.on_subject: a member's press skips load_actor's role reads, and
    # these presses come by the thousand after a fan-out (bench/checkins.py).

    @wraps(action)
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
        member = await _answering(update, context, args[0])
        if member is not None:
            await action(update, member, args)

    return handler


async def _record(
    update: Update, member: Answering, status: Answer, reason: Reason | None
) -> bool:
    """Record the answer and show it under the reminder; False if one was there first."""
    services, item, language = member.services, member.item, member.language
    now = services.clock.now()
    late = await record_answer(
        update, language, services, item, member.member_id, tz=member.tz, now=now,
        status=status, reason=reason, entered_by=member.helper_id or member.person_id,
        on_behalf=member.helper_id is not None,
    )
    if late is None:
        return False
    await update.callback_query.answer(t(language, "study.recorded"))
    when = moment_label(language, now.timestamp(), member.tz)
    if status == Answer.DONE:
        key = "study.answered_done_late" if late else "study.answered_done"
        line = t(language, key, when=when)
    else:
        reason_name = reason_text(language, reason)
        line = t(language, "study.answered_excused", when=when, reason=reason_name)
    await append_line(update.callback_query, line)
    return True


@_member_button
async def button_done(update: Update, member: Answering, args: list[str]) -> None:
    """Record ✅ studied and show it on the reminder."""
    await _record(update, member, Answer.DONE, None)


@_member_button
async def button_later(update: Update, member: Answering, args: list[str]) -> None:
    """Snooze: remind again after snooze_minutes, moved into the member's allowed hours."""
    services, item = member.services, member.item
    settings = services.settings.study
    until = rules.snooze(
        services.clock.now(), member.tz, date.fromisoformat(item.due_date),
        minutes=settings.snooze_minutes, windows=Windows.from_settings(settings),
        elderly=member.elderly,
    )
    if until is None:
        await refuse(update, member.language, "study.snooze_too_late")
        return
    await cancel_scheduled(services.db, member.member_id, item.id)
    await study.snooze_target(services.db, item.id, member.member_id, int(until.timestamp()))
    await update.callback_query.answer()
    line = t(member.language, "study.snoozed",
             when=moment_label(member.language, until.timestamp(), member.tz))
    await append_line(update.callback_query, line)


@_member_button
async def button_excuse(update: Update, member: Answering, args: list[str]) -> None:
    """Show the excuse reasons in place of the answer buttons."""
    await replace_buttons(
        update, carrying(reason_keyboard(member.language, member.item.id), member.subject),
        toast=t(member.language, "study.pick_reason"),
    )


@_member_button
async def button_back(update: Update, member: Answering, args: list[str]) -> None:
    """Put the answer buttons back (the member changed their mind about excusing)."""
    await replace_buttons(
        update, carrying(answer_keyboard(member.language, member.item.id), member.subject)
    )


@_member_button
async def button_why(update: Update, member: Answering, args: list[str]) -> None:
    """Record an excuse with its reason; 'other' then offers an optional note."""
    try:
        reason = Reason(args[1])
    except (IndexError, ValueError):
        await stale(update, member.language)
        return
    if not await _record(update, member, Answer.EXCUSED, reason) or reason != Reason.OTHER:
        return
    services = member.services
    stamp = services.now_ts()
    await await_input(
        services, update.effective_user.id, NOTE, stamp,
        {"item": member.item.id, "member": member.member_id}, subject=member.subject,
    )
    skip = button(t(member.language, "study.btn_skip"), "skip", stamp)
    await update.effective_chat.send_message(
        t(member.language, "study.ask_note"), reply_markup=InlineKeyboardMarkup([[skip]])
    )


async def typed_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, pending: PendingInput,
    text: str,
) -> None:
    """Attach the typed note to the member's 'other' excuse."""
    services = get_services(context)
    note = rules.clean_note(text)
    data = question_data(pending)
    await study.set_note(services.db, int(data["item"]), int(data["member"]), note)
    await pending_inputs.clear_pending(services.db, actor.telegram_id, NOTE)
    await reply(update, actor.language, "study.note_saved", note=note)


async def button_skip(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Skip the optional excuse note."""
    services = get_services(context)
    actor = await load_actor(update, context)
    pending = await pending_for(update, context, args[0], (NOTE,))
    if pending is None:
        await stale(update, actor.language)
        return
    await pending_inputs.clear_pending(services.db, actor.telegram_id, NOTE)
    await finish(update, actor.language, "study.note_skipped")
