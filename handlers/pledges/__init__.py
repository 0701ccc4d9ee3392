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

from bot.callback_data import pattern, unpack
from bot.scheduling import add_planner
from bot.services import get_services
from handlers import awaiting
from handlers.awaiting import TypedAnswer
from handlers.pledges import approval, drafting, ratings, reports
from handlers.pledges.acting import language_of
from handlers.pledges.inputs import (
    ADDING,
    AMOUNT,
    EDITING,
    INPUT_TTL,
    NOTE,
    RATE_COMMENT,
    RETURNING,
)
from handlers.pledges.messaging import stale
from handlers.pledges.planner import plan_pledges
from handlers.pledges.render import FEATURE
from handlers.pledges.views import my_pledges, show_branch_pledges
from storage.repositories import people

__all__ = ["plan_pledges", "register"]

_Button = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]
_BUTTONS: dict[str, tuple[int, _Button]] = {
    # action: (number of args, handler)
    "add": (1, drafting.button_add),
    "tpl": (1, drafting.button_templates),
    "tpa": (2, drafting.button_template_add),
    "sub": (1, drafting.button_submit),
    "edit": (1, drafting.button_edit),
    "del": (1, drafting.button_delete),
    "ok": (1, approval.button_approve),
    "all": (2, approval.button_approve_all),
    "ret": (1, approval.button_return),
    "rep": (3, reports.button_report),
    "ska": (2, reports.button_skip_amount),
    "skn": (2, reports.button_skip_note),
    "again": (1, reports.button_again),
    "self": (2, ratings.button_self_rating),
    "sec": (2, ratings.button_secretary_rating),
    "nocm": (1, ratings.button_no_comment),
}
_NUMERIC_ARGS = {"rep": 2, "self": 1, "sec": 1}  # how many leading args are numbers

_TYPED: dict[str, TypedAnswer] = {
    ADDING: drafting.typed_pledge,
    EDITING: drafting.typed_edit,
    AMOUNT: reports.typed_amount,
    NOTE: reports.typed_note,
    RETURNING: approval.typed_return,
    RATE_COMMENT: ratings.typed_rate_comment,
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a pledge button; malformed or unknown data is answered as stale."""
    _, action, args = unpack(update.callback_query.data or "")
    entry = _BUTTONS.get(action)
    numeric = _NUMERIC_ARGS.get(action, len(args))
    if entry is None or len(args) != entry[0] or not all(a.isdigit() for a in args[:numeric]):
        services = get_services(context)
        person = await people.get_person_by_telegram(services.db, update.effective_user.id)
        await stale(update, language_of(update, services, person))
        return
    await entry[1](update, context, args)


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
