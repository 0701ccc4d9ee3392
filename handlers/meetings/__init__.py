"""Branch life: meetings and trainings (三会一课, 主题党日, 培训), notices to the record.

    /meeting     leader: [branches] → type → date → time → place / online → link → topic
                 → [学时] → 📣 notices (a 支委会 only to the committee)
    /meetings    leader: coming and recent meetings; 🕘 改时间 · 📍 改地点 · ✖ 取消 · 📋 到会
    /mymeetings  member: coming meetings and 学时 this year
    /attend <n>  a mobile member at a meeting where they work (credited at home)
    notice       ✅ mt:a · 🙋 mt:l → mt:why:<m>:<member>:<reason> · 📍 mt:o (mobile, online link)
    after        "请确认到会情况" → 📋 mt:att → mt:tg toggles → ✔ mt:ok → 纪要 typed;
                 helpers of members without Telegram mark them (mt:hm)
    planner      plan_meetings: notices, changes, cancellations, reminders, confirmations
    reports      the digest's 组织生活 lines; ledger sheets 组织生活 and 学时

Callback data (feature "mt"):

    mt:to:<unit>:<stamp>  mt:k:<kind>:<stamp>  mt:d:<yyyymmdd>:<stamp>  mt:t:<HHMM>:<stamp>
    mt:on|nl|go|x|skip:<stamp>  mt:h:<half hours>:<stamp>
    mt:a|l|o:<meeting>:<member>  mt:why:<meeting>:<member>:<reason>
    mt:hm:<meeting>:<member>:<mark>  mt:att|ok|open|mv|pl:<meeting>  mt:tg:<meeting>:<member>
    mt:cx:<meeting>[:1]
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callback_data import INT, decode, pattern
from bot.domain.meetings import Attendance, Kind, Reason
from bot.report_parts import add_digest_section, add_ledger_sheet, add_rollup_figure
from bot.scheduling import add_planner
from handlers import awaiting
from handlers.awaiting import TypedAnswer
from handlers.meetings import attendance, calling, replies, reports
from handlers.meetings.planner import plan_meetings
from handlers.meetings.render import FEATURE
from handlers.study.inputs import INPUT_TTL_SECONDS, as_typed_answer

__all__ = ["FEATURE", "plan_meetings", "register"]

_BUTTONS = {
    "to": calling.button_target,
    "k": calling.button_kind,
    "d": calling.button_day,
    "t": calling.button_time,
    "on": calling.button_online,
    "nl": calling.button_no_link,
    "h": calling.button_hours,
    "go": calling.button_go,
    "x": calling.button_stop,
    "open": calling.button_open,
    "mv": calling.button_move,
    "pl": calling.button_place,
    "cx": calling.button_cancel_meeting,
    "a": replies.button_reply,
    "l": replies.button_reply,
    "o": replies.button_reply,
    "why": replies.button_why,
    "skip": replies.button_skip_note,
    "hm": replies.button_helper_mark,
    "att": attendance.button_roster,
    "tg": attendance.button_toggle,
    "ok": attendance.button_confirm,
}

# What each action's args must look like; anything else is answered as a stale
# button (bot.callback_data.decode → handlers.errors) before a handler runs.
_ONE = (INT,)
_TWO = (INT, INT)
_SHAPES = {
    "to": _TWO,
    "k": (frozenset(Kind), INT),
    # Eight digits, read as a date by the handler (a forged 20261399 is stale there).
    "d": (INT, INT),
    "t": (frozenset({"0900", "1430", "1930"}), INT),
    "h": (frozenset({str(h * 2) for h in calling.HOUR_CHOICES}), INT),
    **dict.fromkeys(("on", "nl", "go", "x", "skip"), _ONE),
    **dict.fromkeys(("open", "mv", "pl", "att", "ok"), _ONE),
    "cx": [_ONE, (INT, frozenset({"1"}))],
    **dict.fromkeys(("a", "l", "o", "tg"), _TWO),
    "why": (INT, INT, frozenset(Reason)),
    "hm": (INT, INT, frozenset(Attendance)),
}


_TEXT_STEPS: dict[str, TypedAnswer] = {
    calling.DRAFT: as_typed_answer(calling.typed_draft),
    calling.EDIT: as_typed_answer(calling.typed_edit),
    replies.NOTE: as_typed_answer(replies.typed_note),
    attendance.RECORD: as_typed_answer(attendance.typed_record),
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Dispatch a meetings button to its action (malformed data raises MalformedButton)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    await _BUTTONS[pressed.action](update, context, pressed.args)


def register(app: Application) -> None:
    """Add /meeting, /meetings, /mymeetings, /attend, the buttons, typed answers and the planner."""
    awaiting.register(app)
    app.add_handler(awaiting.typed_answers(app, _TEXT_STEPS, ttl=INPUT_TTL_SECONDS))
    app.add_handler(CommandHandler("meeting", calling.cmd_meeting))
    app.add_handler(CommandHandler("meetings", calling.cmd_meetings))
    app.add_handler(CommandHandler("mymeetings", replies.cmd_mymeetings))
    app.add_handler(CommandHandler("attend", replies.cmd_attend))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    add_planner(app, "meetings", plan_meetings)
    add_digest_section("meetings", reports.digest_lines)
    add_ledger_sheet("meetings", reports.ledger_life)
    add_ledger_sheet("meetings_hours", reports.ledger_hours)
    add_rollup_figure("meetings", reports.rollup_figure)
