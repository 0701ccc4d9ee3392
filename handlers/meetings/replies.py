"""Replies to a notice, by the member or a helper for them; /mymeetings; /attend for a guest.

    ✅ mt:a:<meeting>:<member>   🙋 mt:l:… → mt:why:<meeting>:<member>:<ill|working|family|other>
    📍 mt:o:<meeting>:<member>   (mobile members, when the meeting has an online link)
    helper after the meeting: mt:hm:<meeting>:<member>:<present|excused|absent>

A press is taken from the member or from one of their current helpers (the
record then names who entered it: 代为登记); anyone else, or a meeting that is
not there, gets the same refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.callback_data import parse_id
from bot.domain import meetings as rules
from bot.domain.localtime import zone
from bot.domain.meetings import Attendance, Reason, Reply
from bot.domain.outgoing import occurrence_key
from bot.domain.permissions import Actor
from bot.i18n import t
from bot.services import Services, get_services
from handlers.common import load_actor, reply
from handlers.meetings.render import (
    button,
    hours_text,
    meeting_name,
    reason_keyboard,
    reply_word,
    when_text,
)
from handlers.study.inputs import await_input, pending_for, question_data
from handlers.study.messaging import append_line, finish, refuse, replace_buttons, stale
from storage.repositories import helpers, members, outbox, pending_inputs, people
from storage.repositories import meetings as repo
from storage.repositories.meetings import Meeting
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "NOTE",
    "button_helper_mark",
    "button_reply",
    "button_skip_note",
    "button_why",
    "cmd_attend",
    "cmd_mymeetings",
    "typed_note",
]

NOTE = "meetings.note"  # {"meeting", "member"}: the typed reason of 其他


@dataclass(frozen=True, slots=True)
class _Press:
    actor: Actor
    services: Services
    meeting: Meeting
    member_id: int
    category: str
    for_other: bool  # a helper presses for the member


async def _press(update: Update, context: ContextTypes.DEFAULT_TYPE,
                 meeting_id: int, member_id: int) -> _Press | None:
    """Return the press if the presser is the member or their helper; else refuse."""
    actor = await load_actor(update, context)
    services = get_services(context)
    meeting = await repo.get_meeting(services.db, meeting_id)
    member = await members.get_member(services.db, member_id)
    allowed = (
        meeting is not None and member is not None and actor.person_id is not None
        and await repo.invitee(services.db, meeting_id, member_id) is not None
        and (member.person_id == actor.person_id
             or await helpers.is_helper_of(services.db, actor.person_id, member_id))
    )
    if not allowed or meeting is None or member is None:
        await refuse(update, actor.language, "meetings.not_allowed")
        return None
    if meeting.cancelled_at is not None or meeting.confirmed_at is not None:
        await refuse(update, actor.language, "meetings.closed")
        return None
    return _Press(actor, services, meeting, member_id, member.category,
                  member.person_id != actor.person_id)


async def _stop_reminders(services: Services, meeting_id: int, member_id: int) -> None:
    await outbox.cancel_pending(
        services.db, key_prefix=occurrence_key("meet.remind", member_id, meeting_id, "")
    )


async def _record(update: Update, press: _Press, reply_value: Reply,
                  reason: Reason | None = None) -> None:
    services = press.services
    await repo.set_reply(services.db, press.meeting.id, press.member_id, reply=reply_value,
                         reason=reason.value if reason else None,
                         by=press.actor.person_id, now=services.now_ts())
    if reply_value == Reply.LEAVE:
        await _stop_reminders(services, press.meeting.id, press.member_id)
    key = "meetings.replied_for" if press.for_other else "meetings.replied"
    await update.callback_query.answer()
    await append_line(update.callback_query, t(
        press.actor.language, key,
        reply=reply_word(press.actor.language, reply_value, reason.value if reason else None),
    ))


async def button_reply(update: Update, context: ContextTypes.DEFAULT_TYPE,
                       args: list[str]) -> None:
    """✅ 参加, 🙋 请假 (then the reasons) or 📍 线上参加."""
    action = update.callback_query.data.split(":")[1]
    press = await _press(update, context, int(args[0]), int(args[1]))
    if press is None:
        return
    if action == "l":
        await replace_buttons(update, reason_keyboard(press.actor.language, press.meeting.id,
                                                      press.member_id),
                              toast=t(press.actor.language, "meetings.pick_reason"))
        return
    if action == "o" and (press.category != "mobile" or not press.meeting.online_link):
        await refuse(update, press.actor.language, "meetings.not_allowed")
        return
    await _record(update, press, Reply.ONLINE if action == "o" else Reply.ATTEND)


async def button_why(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Record 请假 with its reason; 其他 then asks for a short typed reason."""
    press = await _press(update, context, int(args[0]), int(args[1]))
    if press is None:
        return
    reason = Reason(args[2])
    await _record(update, press, Reply.LEAVE, reason)
    if reason != Reason.OTHER:
        return
    stamp = press.services.now_ts()
    await await_input(press.services, press.actor.telegram_id, NOTE, stamp,
                      {"meeting": press.meeting.id, "member": press.member_id})
    skip = button(t(press.actor.language, "meetings.btn_skip"), "skip", stamp)
    await update.effective_chat.send_message(t(press.actor.language, "meetings.ask_note"),
                                             reply_markup=InlineKeyboardMarkup([[skip]]))


async def typed_note(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                     pending: PendingInput, text: str) -> None:
    """Keep the typed reason of a 请假 (其他)."""
    services = get_services(context)
    note = rules.clean_note(text)
    data = question_data(pending)
    await repo.set_reply(services.db, int(data["meeting"]), int(data["member"]), reply=Reply.LEAVE,
                         reason=Reason.OTHER, note=note, by=actor.person_id,
                         now=services.now_ts())
    await pending_inputs.clear_pending(services.db, actor.telegram_id, NOTE)
    await reply(update, actor.language, "meetings.note_saved", note=note)


async def button_skip_note(update: Update, context: ContextTypes.DEFAULT_TYPE,
                           args: list[str]) -> None:
    """Skip the typed reason."""
    actor = await load_actor(update, context)
    if await pending_for(update, context, args[0], (NOTE,)) is None:
        await stale(update, actor.language)
        return
    await pending_inputs.clear_pending(get_services(context).db, actor.telegram_id, NOTE)
    await finish(update, actor.language, "meetings.note_skipped")


async def button_helper_mark(update: Update, context: ContextTypes.DEFAULT_TYPE,
                             args: list[str]) -> None:
    """A helper marks their phone-less member 到会 / 请假 / 缺席 before the secretary confirms."""
    actor = await load_actor(update, context)
    services = get_services(context)
    meeting_id, member_id = int(args[0]), int(args[1])
    meeting = await repo.get_meeting(services.db, meeting_id)
    allowed = (meeting is not None and actor.person_id is not None
               and await repo.invitee(services.db, meeting_id, member_id) is not None
               and await helpers.is_helper_of(services.db, actor.person_id, member_id))
    if not allowed or meeting is None:
        await refuse(update, actor.language, "meetings.not_allowed")
        return
    if meeting.confirmed_at is not None or meeting.cancelled_at is not None:
        await refuse(update, actor.language, "meetings.closed")
        return
    mark = Attendance(args[2])
    await repo.set_attendance(services.db, meeting_id, member_id, mark, by=actor.person_id)
    await update.callback_query.answer()
    await append_line(update.callback_query, t(actor.language, "meetings.marked",
                                               state=t(actor.language, f"meetings.att.{mark}")))


async def cmd_mymeetings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the member their coming meetings and their 学时 this year."""
    actor = await load_actor(update, context)
    services = get_services(context)
    person = await people.get_person(services.db, actor.person_id) if actor.person_id else None
    membership = (await members.current_membership(services.db, actor.person_id)
                  if actor.person_id else None)
    if person is None or membership is None or membership.status != "active":
        await reply(update, actor.language, "meetings.mine_not_member")
        return
    now = services.now_ts()
    tz = zone(person.timezone, services.settings.general.default_timezone)
    year = datetime.fromtimestamp(now, UTC).astimezone(tz).year
    start = int(datetime(year, 1, 1, tzinfo=tz).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=tz).timestamp())
    hours = await repo.member_hours(services.db, membership.id, start, end)
    lines = [t(actor.language, "meetings.mine_title")]
    coming = await repo.upcoming_for_member(services.db, membership.id, now)
    for meeting, answer in coming:
        lines.append(t(actor.language, "meetings.mine_line",
                       what=meeting_name(actor.language, meeting.kind, meeting.subject),
                       when=when_text(actor.language, meeting, tz),
                       place=meeting.place or meeting.online_link or "—",
                       reply=reply_word(actor.language, answer)))
    if not coming:
        lines.append(t(actor.language, "meetings.mine_none"))
    lines.append(t(actor.language, "meetings.mine_hours", year=year, hours=hours_text(hours),
                   target=hours_text(services.settings.meetings.hours_target)))
    await update.effective_chat.send_message("\n".join(lines))


async def cmd_attend(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A mobile member records coming to a meeting where they work: `/attend <meeting number>`."""
    actor = await load_actor(update, context)
    services = get_services(context)
    # parse_id, not isdigit(): '²' passes isdigit() but not int(), and a huge number
    # overflows SQLite; both are simply "no such meeting".
    number = parse_id((context.args or [""])[0])
    meeting = await repo.get_meeting(services.db, number) if number is not None else None
    membership = (await members.current_membership(services.db, actor.person_id)
                  if actor.person_id else None)
    now = services.now_ts()
    allowed = (
        meeting is not None and membership is not None and membership.status == "active"
        and membership.category == "mobile" and membership.branch_id != meeting.branch_id
        and meeting.cancelled_at is None and meeting.confirmed_at is None
        and abs(meeting.starts_at - now) <= 86400
    )
    if not allowed or meeting is None or membership is None:
        await reply(update, actor.language, "meetings.attend_refused")
        return
    await repo.add_guest(services.db, meeting.id, membership.id, now)
    await reply(update, actor.language, "meetings.attend_ok",
                what=meeting_name(actor.language, meeting.kind, meeting.subject))
