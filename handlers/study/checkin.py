"""/checkin: record "studied" for a member (secretary, or one of the member's helpers).

    /checkin    item → member → ✅ recorded, entered by the presser (on their behalf)

Helpers are chosen with /pair in handlers/helpers.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.domain import study as rules
from bot.domain.permissions import Actor, can_manage_branch, managed_branch_ids
from bot.domain.study import Answer
from bot.i18n import raw, t
from bot.services import get_services
from handlers.common import load_actor, load_units, reply
from handlers.keyboards import MAX_BUTTONS, button_grid
from handlers.study.lookups import actor_today, member_zone
from handlers.study.messaging import refuse, stale, tell_already
from handlers.study.recording import audit_action, record_answer
from handlers.study.render import button, label, name, title_html, title_label
from storage.repositories import members, people, study
from storage.repositories.study import StudyItem

__all__ = [
    "button_checkin_item",
    "button_checkin_member",
    "cmd_checkin",
]

log = logging.getLogger(__name__)

CHECKIN_DAYS = 7  # a check-in may be recorded this long after the due date


# ---------------------------------------------------------------- /checkin


def _items_keyboard(
    language: str, items: Sequence[StudyItem], branch_names: Mapping[int, str]
) -> InlineKeyboardMarkup:
    """Return a button per open item: its title and branch."""
    buttons = [
        button(
            label(
                language, "study.checkin_item", title=title_label(language, item),
                branch=branch_names.get(item.branch_id, "?"),
            )[:60],
            "ci", item.id,
        )
        for item in items[:MAX_BUTTONS]
    ]
    return InlineKeyboardMarkup(button_grid(buttons, 1))


async def cmd_checkin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record a member's study for them: pick the item, then the member."""
    actor = await load_actor(update, context)
    services = get_services(context)
    all_units = await load_units(context)
    branch_ids = managed_branch_ids(actor, all_units)
    paired = await study.paired_members(services.db, actor.person_id) if actor.person_id else []
    branch_ids |= {member.branch_id for member in paired}
    if not branch_ids:
        await reply(update, actor.language, "study.checkin_none")
        return
    since = rules.lookback(await actor_today(services, actor), CHECKIN_DAYS)
    items = await study.open_items(services.db, sorted(branch_ids), min_due=since.isoformat())
    if not items:
        await reply(update, actor.language, "study.checkin_none")
        return
    branch_names = {unit.id: unit.name for unit in all_units}
    await reply(
        update, actor.language, "study.checkin_pick_item",
        reply_markup=_items_keyboard(actor.language, items, branch_names),
    )


async def _members_keyboard(
    context: ContextTypes.DEFAULT_TYPE, actor: Actor, item: StudyItem
) -> InlineKeyboardMarkup | None:
    """Return a button per member the actor may still check in for, or None if none is left."""
    services = get_services(context)
    all_units = await load_units(context)
    mine = (
        {c.member_id for c in await study.paired_members(services.db, actor.person_id)}
        if actor.person_id else set()
    )
    candidates = [
        c for c in await study.unanswered_members(services.db, item.id)
        if rules.can_check_in_for(
            actor, c.branch_id, actor.person_id if c.member_id in mine else None, all_units
        )
    ]
    if not candidates:
        return None
    buttons = [
        button(name(actor.language, c.name)[:40], "cim", item.id, c.member_id)
        for c in candidates[:MAX_BUTTONS]
    ]
    return InlineKeyboardMarkup(button_grid(buttons, 2))


async def _show_members(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    item: StudyItem,
    header: str | None,
) -> None:
    """Show the members still to check in for (or that none is left), under `header`."""
    keyboard = await _members_keyboard(context, actor, item)
    title = raw(title_html(actor.language, item))
    body = t(actor.language, "study.checkin_pick_member" if keyboard else "study.checkin_all_done",
             title=title)
    text = f"{header}\n\n{body}" if header else body
    await update.callback_query.edit_message_text(text, reply_markup=keyboard)


async def button_checkin_item(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the members the actor may record the chosen item for."""
    actor = await load_actor(update, context)
    db = get_services(context).db
    item = await study.get_item(db, int(args[0]))
    # Permission before anything about the item: its title, or that it was
    # withdrawn, is for those who may check in for its branch.
    paired = await study.paired_members(db, actor.person_id) if actor.person_id else []
    if item is None or not (
        can_manage_branch(actor, item.branch_id, await load_units(context))
        or any(member.branch_id == item.branch_id for member in paired)
    ):
        await refuse(update, actor.language, "errors.button_not_allowed")
        return
    if item.is_withdrawn:
        await refuse(update, actor.language, "study.withdrawn")
        return
    await update.callback_query.answer()
    await _show_members(update, context, actor, item, header=None)


async def button_checkin_member(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Record 'studied' for the chosen member, entered by the actor."""
    actor = await load_actor(update, context)
    services = get_services(context)
    db = services.db
    item = await study.get_item(db, int(args[0]))
    member = await members.get_member(db, int(args[1]))
    all_units = await load_units(context)
    # Permission first, on the pairing as it stands: whether the item or the member
    # exists, and any answer already recorded (an excuse's reason, who entered it),
    # are only for those who may check in for this member.
    mine = await study.paired_members(db, actor.person_id) if actor.person_id else []
    # Only whether the member is paired with the actor matters to the rule.
    is_mine = member is not None and any(c.member_id == member.id for c in mine)
    paired_with = actor.person_id if is_mine else None
    if (
        item is None or member is None or member.branch_id != item.branch_id
        or not rules.can_check_in_for(actor, member.branch_id, paired_with, all_units)
    ):
        await refuse(update, actor.language, "errors.button_not_allowed")
        return
    if item.is_withdrawn:
        await stale(update, actor.language)
        return
    candidates = {c.member_id: c for c in await study.unanswered_members(db, item.id)}
    candidate = candidates.get(member.id)
    if candidate is None:
        existing = await study.get_answer(db, item.id, member.id)
        if existing is not None:
            await tell_already(update, actor.language, existing)
        else:
            await stale(update, actor.language)
        return
    person = await people.get_person(db, member.person_id)
    tz = await member_zone(services, person.timezone if person else None, item.branch_id)
    now = services.clock.now()
    late = await record_answer(
        update, actor.language, services, item, member.id, tz=tz, now=now, status=Answer.DONE,
        entered_by=actor.person_id, on_behalf=actor.person_id != member.person_id,
    )
    if late is None:
        return
    await audit_action(
        services, actor, "checkin", at=int(now.timestamp()), subject=f"member:{member.id}",
        detail={"item": item.id},
    )
    await update.callback_query.answer(t(actor.language, "study.recorded"))
    header = t(
        actor.language, "study.checkin_recorded", name=name(actor.language, candidate.name),
        who=name(actor.language, actor.name),
    )
    await _show_members(update, context, actor, item, header=header)

