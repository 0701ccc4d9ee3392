"""After the meeting: the roster pre-filled from replies, taps to toggle, ✔ confirm, then 纪要.

    📋 mt:att:<meeting>   open the roster (from "请确认到会情况" or /meetings)
    mt:tg:<meeting>:<member>   到会 → 请假 → 缺席 → 到会
    ✔ mt:ok:<meeting>     confirm: 学时 credited to who came; then the record is asked

Only a leader of the meeting's branch sees the roster or changes it; anyone
else, or a meeting that is not there, gets the same refusal.
"""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.domain import meetings as rules
from bot.domain.localtime import zone
from bot.domain.meetings import HOURS_KINDS
from bot.domain.permissions import Actor, can_manage_branch
from bot.i18n import t
from bot.services import get_services
from handlers.common import load_actor, load_units, reply
from handlers.meetings.render import (
    hours_text,
    meeting_name,
    roster_keyboard,
    roster_text,
    when_text,
)
from handlers.study.inputs import await_input, question_data
from handlers.study.messaging import refuse
from storage.repositories import audit, pending_inputs
from storage.repositories import meetings as repo
from storage.repositories.meetings import Meeting
from storage.repositories.pending_inputs import PendingInput

__all__ = ["RECORD", "button_confirm", "button_roster", "button_toggle", "typed_record"]

RECORD = "meetings.record"  # {"meeting"}: the one-line record after confirming


async def _leader_meeting(update: Update, context: ContextTypes.DEFAULT_TYPE,
                          meeting_id: int) -> tuple[Actor, Meeting | None]:
    actor = await load_actor(update, context)
    meeting = await repo.get_meeting(get_services(context).db, meeting_id)
    if meeting is None or not can_manage_branch(actor, meeting.branch_id,
                                                await load_units(context)):
        await refuse(update, actor.language, "meetings.not_allowed")
        return actor, None
    return actor, meeting


def _title(language: str, meeting: Meeting) -> str:
    return t(language, "meetings.title",
             what=meeting_name(language, meeting.kind, meeting.subject),
             when=when_text(language, meeting, zone(meeting.timezone)))


async def _show(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                meeting: Meeting, *, edit: bool) -> None:
    entries = await repo.roster(get_services(context).db, meeting.id)
    text = roster_text(actor.language, _title(actor.language, meeting), entries)
    confirmed = meeting.confirmed_at is not None
    if confirmed:
        text += "\n" + t(actor.language, "meetings.roster_confirmed",
                         record=meeting.record or "—")
    markup = None if confirmed else roster_keyboard(actor.language, meeting.id, entries)
    if edit:
        try:
            await update.callback_query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest:
            # Unchanged text (a double tap) or too old to edit: send it fresh below.
            pass
    await update.effective_chat.send_message(text, reply_markup=markup)


async def button_roster(update: Update, context: ContextTypes.DEFAULT_TYPE,
                        args: list[str]) -> None:
    """Open the roster, its unmarked lines pre-filled from the members' replies."""
    actor, meeting = await _leader_meeting(update, context, int(args[0]))
    if meeting is None:
        return
    services = get_services(context)
    if meeting.confirmed_at is None and meeting.starts_at <= services.now_ts():
        entries = await repo.roster(services.db, meeting.id)
        await repo.fill_attendance(services.db, meeting.id,
                                   [(e.member_id, rules.prefill(e.reply)) for e in entries])
    elif meeting.confirmed_at is None:
        await refuse(update, actor.language, "meetings.not_yet")
        return
    await update.callback_query.answer()
    await _show(update, context, actor, meeting, edit=False)


async def button_toggle(update: Update, context: ContextTypes.DEFAULT_TYPE,
                        args: list[str]) -> None:
    """Toggle one line 到会 → 请假 → 缺席."""
    actor, meeting = await _leader_meeting(update, context, int(args[0]))
    if meeting is None:
        return
    services = get_services(context)
    state = await repo.invitee(services.db, meeting.id, int(args[1]))
    if state is None or meeting.confirmed_at is not None or meeting.cancelled_at is not None:
        await refuse(update, actor.language, "meetings.closed")
        return
    await repo.set_attendance(services.db, meeting.id, int(args[1]), rules.toggle(state[1]),
                              by=None)
    await update.callback_query.answer()
    await _show(update, context, actor, meeting, edit=True)


async def button_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE,
                         args: list[str]) -> None:
    """Confirm attendance; hours go to who came; then ask the one-line record."""
    actor, meeting = await _leader_meeting(update, context, int(args[0]))
    if meeting is None:
        return
    services = get_services(context)
    now = services.now_ts()
    if not await repo.confirm(services.db, meeting.id, by=actor.person_id, now=now):
        await refuse(update, actor.language, "meetings.closed")
        return
    await audit.record(services.db, at=now, actor=f"tg:{actor.telegram_id}",
                       action="meetings.confirm", subject=f"meeting:{meeting.id}", detail={})
    entries = await repo.roster(services.db, meeting.id)
    present = sum(1 for e in entries if e.attendance == rules.Attendance.PRESENT)
    await update.callback_query.answer()
    confirmed = await repo.get_meeting(services.db, meeting.id)
    await _show(update, context, actor, confirmed or meeting, edit=True)
    if meeting.kind in HOURS_KINDS and meeting.hours:
        await reply(update, actor.language, "meetings.hours_credited", count=present,
                    hours=hours_text(meeting.hours))
    await await_input(services, actor.telegram_id, RECORD, now, {"meeting": meeting.id})
    await reply(update, actor.language, "meetings.ask_record")


async def typed_record(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                       pending: PendingInput, text: str) -> None:
    """Keep the record (纪要) of the confirmed meeting."""
    services = get_services(context)
    meeting_id = int(question_data(pending)["meeting"])
    meeting = await repo.get_meeting(services.db, meeting_id)
    await pending_inputs.clear_pending(services.db, actor.telegram_id, RECORD)
    if meeting is None or not can_manage_branch(actor, meeting.branch_id,
                                                await load_units(context)):
        await reply(update, actor.language, "meetings.not_allowed")
        return
    record = rules.clean_record(text)
    await repo.set_record(services.db, meeting_id, record, actor.person_id)
    await reply(update, actor.language, "meetings.record_saved", record=record)
