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

This module routes buttons and typed text to the step modules (drafting,
approval, reports, ratings), adds /mypledges and /pledges (views) and the
planner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callback_data import INT, decode, optional_subject, pattern
from bot.domain.pledges import PROGRESS, RATINGS
from bot.scheduling import add_planner
from handlers import awaiting
from handlers.awaiting import TypedAnswer
from handlers.pledges import approval, drafting, ratings, reports
from handlers.pledges.inputs import (
    ADDING,
    AMOUNT,
    EDITING,
    INPUT_TTL,
    NOTE,
    RATE_COMMENT,
    RETURNING,
)
from handlers.pledges.planner import plan_pledges
from handlers.pledges.render import FEATURE
from handlers.pledges.views import my_pledges, show_branch_pledges

__all__ = ["plan_pledges", "register"]

_Button = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]
_ID = (INT,)
_RATING = (INT, frozenset(RATINGS))
_BUTTONS: dict[str, tuple[tuple[object, ...], _Button]] = {
    # action: (the shape of its args, see bot.callback_data.decode; handler)
    "add": (_ID, drafting.button_add),
    "tpl": (_ID, drafting.button_templates),
    "tpa": ((INT, INT), drafting.button_template_add),
    "sub": (_ID, drafting.button_submit),
    "edit": (_ID, drafting.button_edit),
    "del": (_ID, drafting.button_delete),
    "ok": (_ID, approval.button_approve),
    "all": ((INT, INT), approval.button_approve_all),
    "ret": (_ID, approval.button_return),
    "rep": ((INT, INT, frozenset(PROGRESS)), reports.button_report),
    "ska": ((INT, INT), reports.button_skip_amount),
    "skn": ((INT, INT), reports.button_skip_note),
    "again": (_ID, reports.button_again),
    "self": (_RATING, ratings.button_self_rating),
    "sec": (_RATING, ratings.button_secretary_rating),
    "nocm": (_ID, ratings.button_no_comment),
}
# A member's own actions also take the member a helper's press acts for (acting_for);
# the secretary's (ok, all, ret, sec, nocm) never act for anyone.
_MEMBER_ACTIONS = ("add", "tpl", "tpa", "sub", "edit", "del", "rep", "ska", "skn", "again", "self")
_SHAPES = {action: shape for action, (shape, _) in _BUTTONS.items()}
_SHAPES.update(optional_subject({a: _SHAPES[a] for a in _MEMBER_ACTIONS}))

_TYPED: dict[str, TypedAnswer] = {
    ADDING: drafting.typed_pledge,
    EDITING: drafting.typed_edit,
    AMOUNT: reports.typed_amount,
    NOTE: reports.typed_note,
    RETURNING: approval.typed_return,
    RATE_COMMENT: ratings.typed_rate_comment,
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a pledge button; malformed data raises MalformedButton (answered as stale)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    await _BUTTONS[pressed.action][1](update, context, pressed.args)


def register(app: Application) -> None:
    """Add /mypledges, /pledges, the pledge buttons, typed answers and the planner."""
    app.add_handler(CommandHandler("mypledges", my_pledges))
    app.add_handler(CommandHandler("pledges", show_branch_pledges))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    # Typed answers: only while a pledge question is open, and before
    # onboarding's catch-all, which register_all adds last to group 0.
    awaiting.register(app)
    app.add_handler(awaiting.typed_answers(app, _TYPED, ttl=INPUT_TTL))
    add_planner(app, "pledges", plan_pledges)
