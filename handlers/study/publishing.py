"""/study: [which branches] → title → text or link → due date → ✅ publish.

Publishing to several branches makes one item per branch (a shared batch id).
The due-date, ✍️ type-a-date and ✖ cancel buttons serve editing (manage) too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.domain import study as rules
from bot.domain.models import Unit
from bot.domain.permissions import Actor
from bot.domain.schedule import Windows
from bot.errors import InvalidInput
from bot.i18n import raw, t
from bot.services import Services, get_services
from handlers.common import load_actor, load_units, reply
from handlers.publish_targets import publish_options, target_label, target_rows
from handlers.scope import load_leader
from handlers.study.inputs import (
    DRAFT,
    EDIT,
    ask,
    ask_due,
    await_input,
    drop_question,
    pending_for,
    question_data,
)
from handlers.study.lookups import actor_today
from handlers.study.manage import apply_edit
from handlers.study.messaging import finish, refuse, replace_buttons, stale
from handlers.study.recording import audit_action
from handlers.study.render import (
    branch_names,
    button,
    cancel_row,
    due_example,
    remind_when,
)
from storage.repositories import pending_inputs, study
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "button_cancel",
    "button_due",
    "button_publish",
    "button_target",
    "button_type",
    "cmd_study",
    "typed_draft",
]


async def cmd_study(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start publishing a study item: ask where to, or straight for the title."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    services = get_services(context)
    options = await publish_options(update, context, actor, "study.no_branches")
    if not options:
        return
    stamp = services.now_ts()
    if len(options) == 1:
        await await_input(
            services, actor.telegram_id, DRAFT, stamp, {"step": "title", "unit": options[0][0].id}
        )
        await ask(update, actor.language, "study.ask_title", stamp)
        return
    await await_input(services, actor.telegram_id, DRAFT, stamp, {"step": "target"})
    buttons = target_rows(actor.language, options, "study.target_all",
                          lambda text, unit_id: button(text, "to", unit_id, stamp))
    await reply(
        update, actor.language, "study.ask_target",
        reply_markup=InlineKeyboardMarkup([*buttons, cancel_row(actor.language, stamp)]),
    )


async def button_target(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Take the chosen branch (or all branches under a unit) and ask for the title."""
    actor = await load_actor(update, context)
    pending = await pending_for(update, context, args[1], (DRAFT,))
    if pending is None or question_data(pending).get("step") != "target":
        await stale(update, actor.language)
        return
    all_units = await load_units(context)
    unit_id = int(args[0])
    branches = rules.publish_branches(actor, all_units, unit_id)
    if not branches:
        await refuse(update, actor.language, "errors.not_your_branch")
        return
    services = get_services(context)
    await await_input(
        services, actor.telegram_id, DRAFT, pending.started_at, {"step": "title", "unit": unit_id}
    )
    unit = next(unit for unit in all_units if unit.id == unit_id)
    chosen = target_label(actor.language, "study.target_all", unit, len(branches))
    await finish(update, actor.language, "study.target_chosen", target=chosen)
    await ask(update, actor.language, "study.ask_title", pending.started_at)


async def typed_draft(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, pending: PendingInput,
    text: str,
) -> None:
    """Take the typed title, text or due date of the item being published."""
    services = get_services(context)
    data = question_data(pending)
    step = data.get("step")
    if step == "title":
        data.update(title=rules.clean_title(text), step="body")
        await await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
        await ask(update, actor.language, "study.ask_body", pending.started_at)
    elif step == "body":
        data.update(body=rules.clean_body(text), step="due")
        await await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
        await ask_due(update, services, actor, "study.ask_due", pending.started_at)
    elif step == "due":
        due = rules.parse_due(text, await actor_today(services, actor))
        await _to_confirm(update, context, actor, pending, data, due)
    else:
        await reply(update, actor.language, "study.use_buttons")


async def _remind_times(services: Services, branches: Sequence[Unit]) -> dict[int, str]:
    """Return each branch's reminder hour (its study day's, else the default)."""
    times: dict[int, str] = {}
    for branch in branches:
        day = await study.get_study_day(services.db, branch.id)
        times[branch.id] = rules.remind_hour(day.remind_at if day else None)
    return times


def _when(services: Services, language: str, remind: dict[int, str]) -> str:
    """Return, as HTML, when members will really be reminded at the branches' hours."""
    return raw(remind_when(language, remind, Windows.from_settings(services.settings.study)))


async def _to_confirm(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    pending: PendingInput,
    data: dict[str, Any],
    due: date,
) -> None:
    """Keep the due date and show the item as it will go out, with ✅ publish and ✖ cancel."""
    services = get_services(context)
    data.update(due=due.isoformat(), step="confirm")
    await await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
    branches = rules.publish_branches(actor, await load_units(context), int(data["unit"]))
    remind = await _remind_times(services, branches)
    publish = button(t(actor.language, "study.btn_publish"), "pub", pending.started_at)
    keyboard = InlineKeyboardMarkup([[publish, *cancel_row(actor.language, pending.started_at)]])
    await reply(
        update, actor.language, "study.confirm", title=data["title"], body=data["body"],
        due=data["due"], branches=branch_names(actor.language, branches),
        when=_when(services, actor.language, remind),
        reply_markup=keyboard,
    )


async def _ask_due_again(
    update: Update,
    services: Services,
    actor: Actor,
    pending: PendingInput,
    data: dict[str, Any],
    problem: InvalidInput,
) -> None:
    """Say why the due date will not do and ask again, as a fresh question (new presets)."""
    stamp = services.now_ts()
    await await_input(services, actor.telegram_id, pending.kind, stamp, data)
    await update.callback_query.answer()
    await reply(update, actor.language, problem.key, **problem.params)
    key = "study.ask_due" if pending.kind == DRAFT else "study.ask_new_due"
    await ask_due(update, services, actor, key, stamp)


async def button_due(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Take a due-date button, for a new item or an edit."""
    actor = await load_actor(update, context)
    pending = await pending_for(update, context, args[1], (DRAFT, EDIT))
    data = question_data(pending) if pending else {}
    wanted = pending is not None and (data.get("step") == "due" or data.get("field") == "due")
    if pending is None or not wanted:
        await stale(update, actor.language)
        return
    try:
        # A preset drawn on an earlier day may have passed since (this Sunday, on Monday).
        due = rules.parse_due(args[0], await actor_today(get_services(context), actor))
    except InvalidInput as problem:
        await _ask_due_again(update, get_services(context), actor, pending, data, problem)
        return
    await replace_buttons(update, None)
    if pending.kind == DRAFT:
        await _to_confirm(update, context, actor, pending, data, due)
    else:
        await apply_edit(update, context, actor, data, due=due.isoformat())


async def button_type(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Explain how to type a due date (the question already awaits it)."""
    actor = await load_actor(update, context)
    if await pending_for(update, context, args[0], (DRAFT, EDIT)) is None:
        await stale(update, actor.language)
        return
    await update.callback_query.answer()
    today = await actor_today(get_services(context), actor)
    await reply(update, actor.language, "study.type_date", example=due_example(today))


async def button_cancel(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Drop the study question in progress."""
    await drop_question(update, context, args[0], (DRAFT, EDIT), "study.cancelled")


async def button_publish(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Publish the confirmed item to every chosen branch."""
    actor = await load_actor(update, context)
    pending = await pending_for(update, context, args[0], (DRAFT,))
    data = question_data(pending) if pending else {}
    if pending is None or data.get("step") != "confirm":
        await stale(update, actor.language)
        return
    services = get_services(context)
    branches = rules.publish_branches(actor, await load_units(context), int(data["unit"]))
    if not branches:
        await refuse(update, actor.language, "errors.not_your_branch")
        return
    try:
        # Confirmed on an earlier day: the due date may have passed since.
        rules.parse_due(data["due"], await actor_today(services, actor))
    except InvalidInput as problem:
        data.update(step="due")
        await _ask_due_again(update, services, actor, pending, data, problem)
        return
    now = services.now_ts()
    remind = await _remind_times(services, branches)
    items = await study.create_items(
        services.db, branch_ids=[b.id for b in branches], title=data["title"],
        body=data["body"], due_date=data["due"], remind_at=remind,
        created_by=actor.person_id, now=now,
    )
    await pending_inputs.clear_pending(services.db, actor.telegram_id, DRAFT)
    await audit_action(
        services, actor, "publish", at=now, subject=f"study:{items[0].batch}",
        detail={"branches": [b.id for b in branches], "due": data["due"]},
    )
    await finish(
        update, actor.language, "study.published", count=len(branches),
        branches=branch_names(actor.language, branches),
        when=_when(services, actor.language, remind),
    )
