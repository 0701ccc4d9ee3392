"""How meetings read: names of kinds, notices, reminders, the roster and its buttons.

Every text comes from the catalogue's [meetings] table; dates are said as people
say them (bot.domain.humane), in the reader's own zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callback_data import pack
from bot.domain.humane import BEIJING, clock_label, day_label, moment_label, zone_label
from bot.domain.meetings import HOURS_KINDS, Attendance, Kind, Reason, Reply
from bot.i18n import raw, t
from handlers.keyboards import button_grid
from storage.repositories.meetings import Meeting, RosterEntry

__all__ = [
    "FEATURE",
    "MARKS",
    "button",
    "details",
    "hours_text",
    "kind_keyboard",
    "meeting_name",
    "reason_keyboard",
    "reply_keyboard",
    "roster_keyboard",
    "when_text",
]

FEATURE = "mt"
MARKS = {Attendance.PRESENT: "✅", Attendance.EXCUSED: "🙋", Attendance.ABSENT: "❌"}


def button(text: str, action: str, *args: object) -> InlineKeyboardButton:
    """Return one meetings button."""
    return InlineKeyboardButton(text, callback_data=pack(FEATURE, action, *args))


def meeting_name(language: str, kind: str, subject: str | None = None) -> str:
    """Return "主题党日", or "培训：柑桔种植技术" (plain text; t() escapes it where used)."""
    name = t(language, f"meetings.kind.{kind}")
    if subject:
        return t(language, "meetings.with_subject", kind=name, subject=subject)
    return name


def hours_text(hours: float) -> str:
    """Return hours without a needless ".0"."""
    return f"{hours:g}"


def when_text(language: str, meeting: Meeting, tz: ZoneInfo) -> str:
    """Return "12月5日（周六）上午9:00", with the zone named when it is not Beijing's."""
    moment = moment_label(language, meeting.starts_at, tz)
    probe = meeting.starts_at
    if tz.key != BEIJING.key and zone_label(language, tz.key, probe) != t(language, "when.beijing"):
        return t(language, "meetings.when_zone", moment=moment,
                 zone=zone_label(language, tz.key, probe))
    return moment


def details(language: str, meeting: Meeting, tz: ZoneInfo, branch: str) -> str:
    """Return the lines every notice shares: what, where, when, topic, hours (HTML)."""
    lines = [
        t(language, "meetings.line_what", what=meeting_name(language, meeting.kind,
                                                            meeting.subject), branch=branch),
        t(language, "meetings.line_when", when=when_text(language, meeting, tz)),
    ]
    if meeting.place:
        lines.append(t(language, "meetings.line_place", place=meeting.place))
    if meeting.online_link:
        lines.append(t(language, "meetings.line_link", link=meeting.online_link))
    lines.append(t(language, "meetings.line_topic", topic=meeting.topic))
    if meeting.kind in HOURS_KINDS and meeting.hours:
        lines.append(t(language, "meetings.line_hours", hours=hours_text(meeting.hours)))
    return "\n".join(lines)


def reply_keyboard(
    language: str, meeting: Meeting, member_id: int, *, mobile: bool
) -> InlineKeyboardMarkup:
    """Return [✅ 参加] [🙋 请假] and, for a mobile member with a link, [📍 在外地，线上参加]."""
    rows = [[
        button(t(language, "meetings.btn_attend"), "a", meeting.id, member_id),
        button(t(language, "meetings.btn_leave"), "l", meeting.id, member_id),
    ]]
    if mobile and meeting.online_link:
        rows.append([button(t(language, "meetings.btn_online"), "o", meeting.id, member_id)])
    return InlineKeyboardMarkup(rows)


def reason_keyboard(language: str, meeting_id: int, member_id: int) -> InlineKeyboardMarkup:
    """Return the leave reasons as buttons: 生病, 外出务工, 家中有事, 其他."""
    return InlineKeyboardMarkup(button_grid(
        [button(t(language, f"meetings.reason.{reason.value}"), "why", meeting_id, member_id,
                reason.value) for reason in Reason],
        2,
    ))


def reply_word(language: str, reply: str | None, reason: str | None = None) -> str:
    """Return a reply as words: 参加 / 请假（生病） / 线上参加 / 未回复."""
    if reply == Reply.LEAVE and reason:
        return t(language, "meetings.reply_leave_why",
                 reason=t(language, f"meetings.reason.{reason}"))
    return t(language, f"meetings.reply.{reply or 'none'}")


def kind_keyboard(language: str, stamp: int) -> InlineKeyboardMarkup:
    """Return the six kinds of meeting as buttons."""
    kinds = [button(t(language, f"meetings.kind.{kind.value}"), "k", kind.value, stamp)
             for kind in Kind]
    stop = [button(t(language, "meetings.btn_cancel"), "x", stamp)]
    return InlineKeyboardMarkup([*button_grid(kinds, 2), stop])


def day_keyboard(language: str, days: Sequence[date], stamp: int) -> InlineKeyboardMarkup:
    """Return the next days as buttons ("12月5日（周六）"), and ✖."""
    choices = [button(day_label(language, day), "d", day.strftime("%Y%m%d"), stamp)
               for day in days]
    stop = [button(t(language, "meetings.btn_cancel"), "x", stamp)]
    return InlineKeyboardMarkup([*button_grid(choices, 2), stop])


TIMES = ("0900", "1430", "1930")


def time_keyboard(language: str, stamp: int) -> InlineKeyboardMarkup:
    """Return common meeting times as buttons (上午9:00, 下午2:30, 晚上7:30), and ✖."""
    buttons = [button(clock_label(language, time(int(hhmm[:2]), int(hhmm[2:]))), "t", hhmm,
                      stamp) for hhmm in TIMES]
    return InlineKeyboardMarkup([buttons, [button(t(language, "meetings.btn_cancel"), "x", stamp)]])


def roster_line(language: str, entry: RosterEntry) -> str:
    """Return one roster line: "✅ 张三 · 到会（李四代为登记）"."""
    mark = Attendance(entry.attendance) if entry.attendance else Attendance.ABSENT
    text = t(language, "meetings.roster_line", mark=MARKS[mark], name=entry.name or "—",
             state=t(language, f"meetings.att.{mark.value}"))
    if entry.guest:
        text += t(language, "meetings.roster_guest", branch=entry.home_branch)
    if entry.marked_by:
        text += t(language, "meetings.roster_marked_by", who=entry.marked_by)
    return text


def roster_keyboard(
    language: str, meeting_id: int, entries: Sequence[RosterEntry]
) -> InlineKeyboardMarkup:
    """Return one toggle button per invitee, then ✔ 确认."""
    rows = [[button(f"{MARKS[Attendance(e.attendance or 'absent')]} {e.name or '—'}", "tg",
                    meeting_id, e.member_id)] for e in entries]
    rows.append([button(t(language, "meetings.btn_confirm"), "ok", meeting_id)])
    return InlineKeyboardMarkup(rows)


def roster_text(language: str, title: str, entries: Sequence[RosterEntry]) -> str:
    """Return the roster's message: the question, then one line per invitee (HTML)."""
    counts = {mark: 0 for mark in Attendance}
    for entry in entries:
        counts[Attendance(entry.attendance or "absent")] += 1
    lines = [t(language, "meetings.roster_title", title=raw(title),
               present=counts[Attendance.PRESENT], excused=counts[Attendance.EXCUSED],
               absent=counts[Attendance.ABSENT])]
    lines += [roster_line(language, entry) for entry in entries]
    return "\n".join(lines)
