"""/studyday: a branch's weekly study day, e.g. `/studyday 3 20:00` (Wednesdays 20:00) or `off`.

A changed or stopped study day withdraws the occurrences it replaces (see
rules.replaced_after) and cancels their waiting reminders.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.domain import study as rules
from bot.domain.humane import day_label
from bot.domain.localtime import local_date
from bot.domain.models import Unit
from bot.domain.permissions import Actor, managed_branch_ids
from bot.domain.schedule import Windows
from bot.domain.tree import walk
from bot.errors import InvalidInput
from bot.i18n import t
from bot.services import get_services
from handlers.common import load_actor, load_units, reply
from handlers.keyboards import MAX_BUTTONS, button_grid
from handlers.scope import load_leader
from handlers.study.lookups import branch_zone
from handlers.study.messaging import refuse, replace_buttons
from handlers.study.planner import cancel_scheduled
from handlers.study.recording import audit_action
from handlers.study.render import button, label, remind_when
from storage.repositories import study

__all__ = ["button_study_day", "cmd_studyday"]

_ALL = 0  # the branch argument meaning every branch the actor manages


def _day_args(day: rules.StudyDay | str) -> tuple[int, str]:
    """Return a study day as button args: (weekday, HHMM), or (0, "off") to stop."""
    return (0, rules.OFF) if day == rules.OFF else (day.weekday, day.at.strftime("%H%M"))


def _day_from_args(weekday: int, at: str) -> rules.StudyDay | str:
    """Return the study day `_day_args` made button args of; raise InvalidInput if forged."""
    if weekday == 0 and at == rules.OFF:
        return rules.OFF
    # A button's values pass the same checks as typed ones (weekday 1–7, a real hour).
    return rules.parse_studyday([str(weekday), f"{at[:2]}:{at[2:]}"])


async def _branches(
    context: ContextTypes.DEFAULT_TYPE, actor: Actor, branch_id: int = _ALL
) -> list[Unit]:
    """Return the branches the actor manages in tree order, or just `branch_id` among them."""
    all_units = await load_units(context)
    branch_ids = managed_branch_ids(actor, all_units)
    return [
        unit for _, unit in walk(all_units)
        if unit.id in branch_ids and branch_id in (_ALL, unit.id)
    ]


async def cmd_studyday(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Set or stop a branch's weekly study day: /studyday 3 20:00 · /studyday off."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    try:
        day = rules.parse_studyday(context.args or [])
    except InvalidInput as problem:
        await reply(update, actor.language, problem.key, **problem.params)
        return
    branches = await _branches(context, actor)
    if not branches:
        await reply(update, actor.language, "study.no_branches")
        return
    if len(branches) == 1:
        await _set_study_day(update, context, actor, branches, day)
        return
    weekday, at = _day_args(day)
    buttons = [button(branch.name, "sd", branch.id, weekday, at) for branch in branches]
    every = button(
        label(actor.language, "study.day_all", count=len(branches)), "sd", _ALL, weekday, at
    )
    await reply(
        update, actor.language, "study.day_pick_branch",
        reply_markup=InlineKeyboardMarkup([[every], *button_grid(buttons[: MAX_BUTTONS - 1], 1)]),
    )


async def button_study_day(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Apply the study day to the chosen branch (0: all the actor's branches)."""
    actor = await load_actor(update, context)
    branch_id, weekday, at = int(args[0]), int(args[1]), args[2]
    chosen = await _branches(context, actor, branch_id)
    if not chosen:
        await refuse(update, actor.language, "errors.not_your_branch")
        return
    try:
        day = _day_from_args(weekday, at)
    except InvalidInput as problem:
        await refuse(update, actor.language, problem.key)
        return
    await replace_buttons(update, None)
    await _set_study_day(update, context, actor, chosen, day)


async def _set_study_day(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    branches: Sequence[Unit],
    day: rules.StudyDay | str,
) -> None:
    """Set (or stop) the branches' study day, withdraw what it replaces, and say what changed."""
    services = get_services(context)
    db = services.db
    now = services.clock.now()
    now_ts = int(now.timestamp())
    lines = []
    for branch in branches:
        tz = await branch_zone(services, branch.id)
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
            await study.set_study_day(
                db, branch_id=branch.id, weekday=day.weekday, remind_at=rules.format_hhmm(day.at),
                starts_on=starts.isoformat(), set_by=actor.person_id,
                now=rules.setting_stamp(now_ts, old.set_at if old else None),
            )
            lines.append(
                t(
                    actor.language, "study.day_set", branch=branch.name,
                    weekday=t(actor.language, f"study.weekday.{day.weekday}"),
                    at=rules.format_hhmm(day.at),
                    first=day_label(actor.language, starts, today=today),
                )
            )
        for item_id, member_ids in await study.withdraw_weekly_after(
            db, branch.id, after.isoformat(), by=actor.person_id, now=now_ts
        ):
            for member_id in member_ids:
                await cancel_scheduled(db, member_id, item_id)
    await audit_action(
        services, actor, "day", at=now_ts, subject=",".join(f"unit:{b.id}" for b in branches),
        detail=day if isinstance(day, str) else {"weekday": day.weekday, "at": str(day.at)},
    )
    if not isinstance(day, str):
        # Say when reminders really come: the hour may fall in quiet hours.
        windows = Windows.from_settings(services.settings.study)
        lines.append(remind_when(actor.language, {0: rules.format_hhmm(day.at)}, windows))
    await update.effective_chat.send_message("\n".join(lines))
