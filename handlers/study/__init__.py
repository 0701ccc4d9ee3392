"""Study items: publishing, study days, reminders with one-tap answers, check-ins for others.

    /study      secretary: [which branches] → title → text or link → due date → ✅ publish
    /studies    secretary: recent items with ✅/🙋/⏳ counts; edit title, text, due date; withdraw
    /studyday   secretary: /studyday 3 20:00 (every Wednesday 20:00) · /studyday off
    /checkin    secretary, or the helper paired with an elderly member: item → member → studied
    /pair       now in handlers/helpers.py (many helpers, any branch of the committee)
    reminder    ✅ study:done:<item> · ⏰ study:later:<item> · 🙋 study:excuse:<item>
                → study:why:<item>:<ill|working|away|other>  (other: optional typed note)
    planner     plan_study(services, now): reminders, follow-ups and snoozes due now

Every scheduled message goes through the outbox (the scheduler's tick); only
replies to a member's own press or command are sent here directly.  A typed
answer (a title, a date, a note) is awaited through `pending_inputs` (see
handlers.awaiting), so the flow survives a restart; buttons carry the
question's start stamp, so a button from an earlier question is recognised as
stale.  Callback data (feature "study"):

    study:done|later|excuse|back:<item>  study:why:<item>:<reason>  study:skip:<stamp>
    study:to:<unit>:<stamp>  study:due:<yyyy-mm-dd>:<stamp>  study:type|cancel|pub:<stamp>
    study:open|wd|wdok|nowd:<batch>  study:edit:<batch>:<title|body|due>
    study:sd:<branch|0>:<weekday|0>:<HHMM|off>
    study:ci:<item>  study:cim:<item>:<member>  study:pe:<member>  study:ph:<member>:<person|0>

This module routes buttons and typed text to the step modules (answers,
publishing, manage, studyday, checkin) and adds the commands and the planner.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callback_data import INT, TEXT, decode, optional_subject, pattern
from bot.domain.study import OFF, Reason
from bot.scheduling import add_planner
from handlers import awaiting
from handlers.awaiting import TypedAnswer
from handlers.study import answers, checkin, manage, publishing, studyday
from handlers.study.inputs import DRAFT, EDIT, INPUT_TTL_SECONDS, NOTE, as_typed_answer
from handlers.study.lookups import Button
from handlers.study.planner import plan_study
from handlers.study.render import FEATURE, answer_keyboard

__all__ = ["FEATURE", "answer_keyboard", "plan_study", "register"]

_BUTTONS: dict[str, Button] = {
    "done": answers.button_done,
    "later": answers.button_later,
    "excuse": answers.button_excuse,
    "back": answers.button_back,
    "why": answers.button_why,
    "skip": answers.button_skip,
    "to": publishing.button_target,
    "due": publishing.button_due,
    "type": publishing.button_type,
    "cancel": publishing.button_cancel,
    "pub": publishing.button_publish,
    "open": manage.button_open,
    "edit": manage.button_edit,
    "wd": manage.button_withdraw,
    "nowd": manage.button_keep,
    "wdok": manage.button_withdraw_confirmed,
    "sd": studyday.button_study_day,
    "ci": checkin.button_checkin_item,
    "cim": checkin.button_checkin_member,
}


# What each action's args must look like; anything else is answered as a stale
# button (bot.callback_data.decode → handlers.errors) before a handler runs.
_ID = (INT,)
_SHAPES = {
    # A member's answers; a helper's press names the member it acts for (acting_for).
    **optional_subject({
        **dict.fromkeys(("done", "later", "excuse", "back"), _ID),
        "why": (INT, frozenset(Reason)),
    }),
    **dict.fromkeys(("skip", "type", "cancel", "pub"), _ID),
    "to": (INT, INT),
    "due": (TEXT, INT),
    **dict.fromkeys(("open", "wd", "nowd", "wdok"), _ID),
    "edit": (INT, frozenset({"title", "body", "due"})),
    # weekday 0 with "off" stops the day; the bounds of a real day are /studyday's.
    "sd": [(INT, INT, frozenset({OFF})), (INT, INT, INT)],
    "ci": _ID,
    "cim": (INT, INT),
}


_TEXT_STEPS: dict[str, TypedAnswer] = {
    DRAFT: as_typed_answer(publishing.typed_draft),
    EDIT: as_typed_answer(manage.typed_edit),
    NOTE: as_typed_answer(answers.typed_note),
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Dispatch a study button to its action (malformed data raises MalformedButton)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    await _BUTTONS[pressed.action](update, context, pressed.args)


def register(app: Application) -> None:
    """Add the study commands, buttons, the typed-answer hook and the reminder planner."""
    # Typed answers: only from users a study question awaits; registered before
    # onboarding's catch-all (register_all adds that last), which takes the rest.
    awaiting.register(app)
    app.add_handler(awaiting.typed_answers(app, _TEXT_STEPS, ttl=INPUT_TTL_SECONDS))
    app.add_handler(CommandHandler("study", publishing.cmd_study))
    app.add_handler(CommandHandler("studies", manage.cmd_studies))
    app.add_handler(CommandHandler("studyday", studyday.cmd_studyday))
    app.add_handler(CommandHandler("checkin", checkin.cmd_checkin))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    add_planner(app, "study", plan_study)
