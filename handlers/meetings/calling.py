"""/meeting: [branches] → type → date → time → place (or online) → link → topic → [hours] → 📣.

Also /meetings: a leader's coming and recent meetings, each with 🕘 改时间,
📍 改地点, ✖ 取消 and 📋 到会; a change or cancellation is announced by the
planner, once to everyone invited.  Questions live in `pending_inputs`
(kinds meetings.draft / meetings.edit) so a restart loses nothing; buttons
carry the question's stamp, so an earlier question's button is stale.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.domain import meetings as rules
from bot.domain import study as study_rules
from bot.domain.humane import day_label
from bot.domain.localtime import zone
from bot.domain.meetings import HOURS_KINDS, Kind
from bot.domain.models import Unit
from bot.domain.permissions import Actor, can_manage_branch, managed_branches
from bot.errors import InvalidInput
from bot.i18n import raw, t
from bot.services import Services, get_services
from handlers.common import load_actor, load_units, reply
from handlers.keyboards import MAX_BUTTONS
from handlers.meetings.planner import cancel_waiting
from handlers.meetings.render import (
    button,
    day_keyboard,
    details,
    kind_keyboard,
    meeting_name,
    time_keyboard,
    when_text,
)
from handlers.publish_targets import publish_options, target_rows
from handlers.scope import load_leader
from handlers.study.inputs import await_input, drop_question, pending_for, question_data
from handlers.study.lookups import actor_today
from handlers.study.messaging import finish, refuse, stale
from storage.repositories import audit, pending_inputs, units
from storage.repositories import meetings as repo
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "DRAFT",
    "EDIT",
    "button_cancel_meeting",
    "button_day",
    "button_go",
    "button_hours",
    "button_kind",
    "button_move",
    "button_no_link",
    "button_online",
    "button_open",
    "button_place",
    "button_stop",
    "button_target",
    "button_time",
    "cmd_meeting",
    "cmd_meetings",
    "typed_draft",
    "typed_edit",
]

DRAFT = "meetings.draft"
EDIT = "meetings.edit"
HOUR_CHOICES = (1, 2, 4, 8)


def _stop_row(language: str, stamp: int) -> list[Any]:
    return [button(t(language, "meetings.btn_cancel"), "x", stamp)]


async def _ask(update: Update, language: str, key: str, stamp: int,
               markup: InlineKeyboardMarkup | None = None, **params: Any) -> None:
    await reply(update, language, key,
                reply_markup=markup or InlineKeyboardMarkup([_stop_row(language, stamp)]),
                **params)


async def _zone_of(services: Services, branch_id: int) -> Any:
    all_units = await units.list_units(services.db)
    return zone(study_rules.zone_finder(all_units, services.settings.general.default_timezone)(
        branch_id))


async def cmd_meeting(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start calling a meeting: ask which branches, or straight for its type."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    services = get_services(context)
    options = await publish_options(update, context, actor, "meetings.no_branches")
    if not options:
        return
    stamp = services.now_ts()
    if len(options) == 1:
        await await_input(services, actor.telegram_id, DRAFT, stamp,
                          {"step": "kind", "unit": options[0][0].id})
        await reply(update, actor.language, "meetings.ask_kind",
                    reply_markup=kind_keyboard(actor.language, stamp))
        return
    await await_input(services, actor.telegram_id, DRAFT, stamp, {"step": "target"})
    rows = target_rows(actor.language, options, "meetings.target_all",
                       lambda text, unit_id: button(text, "to", unit_id, stamp))
    await reply(update, actor.language, "meetings.ask_target",
                reply_markup=InlineKeyboardMarkup([*rows, _stop_row(actor.language, stamp)]))


async def _draft(update: Update, context: ContextTypes.DEFAULT_TYPE, stamp: str, step: str,
                 kinds: tuple[str, ...] = (DRAFT,)) -> tuple[Actor, PendingInput | None, dict]:
    actor = await load_actor(update, context)
    pending = await pending_for(update, context, stamp, kinds)
    data = question_data(pending) if pending else {}
    if pending is None or data.get("step") != step:
        await stale(update, actor.language)
        return actor, None, data
    return actor, pending, data


async def button_target(update: Update, context: ContextTypes.DEFAULT_TYPE,
                        args: list[str]) -> None:
    """Take the branch (or all branches under a unit) and ask for the type."""
    actor, pending, data = await _draft(update, context, args[1], "target")
    if pending is None:
        return
    branches = study_rules.publish_branches(actor, await load_units(context), int(args[0]))
    if not branches:
        await refuse(update, actor.language, "meetings.not_allowed")
        return
    data.update(step="kind", unit=int(args[0]))
    await await_input(get_services(context), actor.telegram_id, DRAFT, pending.started_at, data)
    await finish(update, actor.language, "meetings.target_chosen",
                 target=", ".join(b.name for b in branches))
    await reply(update, actor.language, "meetings.ask_kind",
                reply_markup=kind_keyboard(actor.language, pending.started_at))


async def _ask_day(update: Update, services: Services, actor: Actor, stamp: int) -> None:
    today = await actor_today(services, actor)
    await reply(update, actor.language, "meetings.ask_day",
                example=(today.replace(day=1) if today.day > 27 else today).isoformat(),
                reply_markup=day_keyboard(actor.language, rules.day_choices(today), stamp))


async def button_kind(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Take the type; a training asks its subject next, the rest the date."""
    actor, pending, data = await _draft(update, context, args[1], "kind")
    if pending is None:
        return
    services = get_services(context)
    kind = Kind(args[0])
    data.update(kind=kind.value, step="subject" if kind == Kind.TRAINING else "day")
    await await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
    await finish(update, actor.language, "meetings.kind_chosen",
                 what=meeting_name(actor.language, kind))
    if kind == Kind.TRAINING:
        await _ask(update, actor.language, "meetings.ask_subject", pending.started_at)
    else:
        await _ask_day(update, services, actor, pending.started_at)


async def button_day(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Take a day button (a new meeting or a move) and ask the time."""
    actor, pending, data = await _draft(update, context, args[1], "day", (DRAFT, EDIT))
    if pending is None:
        return
    try:
        day = datetime.strptime(args[0], "%Y%m%d").date()
    except ValueError:
        await stale(update, actor.language)
        return
    await _take_day(update, context, actor, pending, data, day)


async def _take_day(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                    pending: PendingInput, data: dict, day: date) -> None:
    services = get_services(context)
    data.update(day=day.isoformat(), step="time")
    await await_input(services, actor.telegram_id, pending.kind, pending.started_at, data)
    if update.callback_query is not None:
        await finish(update, actor.language, "meetings.day_chosen",
                     day=raw(_day_words(actor.language, day)))
    await reply(update, actor.language, "meetings.ask_time",
                reply_markup=time_keyboard(actor.language, pending.started_at))


def _day_words(language: str, day: date) -> str:
    return day_label(language, day)


async def button_time(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Take a time button and go on (to the place, or apply the move)."""
    actor, pending, data = await _draft(update, context, args[1], "time", (DRAFT, EDIT))
    if pending is None:
        return
    at = time(int(args[0][:2]), int(args[0][2:]))
    await update.callback_query.answer()
    await _take_time(update, context, actor, pending, data, at)


async def _take_time(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                     pending: PendingInput, data: dict, at: time) -> None:
    services = get_services(context)
    unit_id = int(data["unit"]) if "unit" in data else None
    if pending.kind == EDIT:
        meeting = await repo.get_meeting(services.db, int(data["meeting"]))
        if meeting is None:
            await reply(update, actor.language, "meetings.not_allowed")
            return
        tz = zone(meeting.timezone)
    else:
        tz = await _zone_of(services, _first_branch(actor, await load_units(context), unit_id))
    try:
        starts = rules.starts_at(date.fromisoformat(data["day"]), at, tz, services.clock.now())
    except InvalidInput as problem:
        await reply(update, actor.language, problem.key, **problem.params)
        await _ask_day(update, services, actor, pending.started_at)
        data.update(step="day")
        await await_input(services, actor.telegram_id, pending.kind, pending.started_at, data)
        return
    data.update(starts=int(starts.timestamp()), tz=tz.key)
    if pending.kind == EDIT:
        await _apply_change(update, context, actor, data, starts_at=int(starts.timestamp()))
        return
    data.update(step="place")
    await await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
    online = button(t(actor.language, "meetings.btn_online_only"), "on", pending.started_at)
    await _ask(update, actor.language, "meetings.ask_place", pending.started_at,
               InlineKeyboardMarkup([[online], _stop_row(actor.language, pending.started_at)]))


def _first_branch(actor: Actor, all_units: list[Unit], unit_id: int | None) -> int:
    branches = study_rules.publish_branches(actor, all_units, unit_id or 0)
    return branches[0].id if branches else (unit_id or 0)


async def button_online(update: Update, context: ContextTypes.DEFAULT_TYPE,
                        args: list[str]) -> None:
    """Only online: ask for the link (no place)."""
    actor, pending, data = await _draft(update, context, args[0], "place")
    if pending is None:
        return
    data.update(place=None, step="link", link_required=True)
    await await_input(get_services(context), actor.telegram_id, DRAFT, pending.started_at, data)
    await finish(update, actor.language, "meetings.online_chosen")
    await _ask(update, actor.language, "meetings.ask_link_only", pending.started_at)


async def button_no_link(update: Update, context: ContextTypes.DEFAULT_TYPE,
                         args: list[str]) -> None:
    """No online link: ask the topic."""
    actor, pending, data = await _draft(update, context, args[0], "link")
    if pending is None:
        return
    data.update(link=None, step="topic")
    await await_input(get_services(context), actor.telegram_id, DRAFT, pending.started_at, data)
    await finish(update, actor.language, "meetings.no_link_chosen")
    await _ask(update, actor.language, "meetings.ask_topic", pending.started_at)


async def button_hours(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Take the hours a 党课 or 培训 counts (in half hours on the button)."""
    actor, pending, data = await _draft(update, context, args[1], "hours")
    if pending is None:
        return
    await update.callback_query.answer()
    await _to_confirm(update, context, actor, pending, data, int(args[0]) / 2)


async def typed_draft(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                      pending: PendingInput, text: str) -> None:
    """Take the typed subject, date, time, place, link, topic or hours of the meeting."""
    services = get_services(context)
    data = question_data(pending)
    step = data.get("step")
    stamp = pending.started_at
    if step == "subject":
        data.update(subject=rules.clean_subject(text), step="day")
        await await_input(services, actor.telegram_id, DRAFT, stamp, data)
        await _ask_day(update, services, actor, stamp)
    elif step == "day":
        day = study_rules.parse_due(text, await actor_today(services, actor))
        await _take_day(update, context, actor, pending, data, day)
    elif step == "time":
        await _take_time(update, context, actor, pending, data, rules.parse_clock(text))
    elif step == "place":
        data.update(place=rules.clean_place(text), step="link")
        await await_input(services, actor.telegram_id, DRAFT, stamp, data)
        skip = button(t(actor.language, "meetings.btn_no_link"), "nl", stamp)
        await _ask(update, actor.language, "meetings.ask_link", stamp,
                   InlineKeyboardMarkup([[skip], _stop_row(actor.language, stamp)]))
    elif step == "link":
        data.update(link=rules.clean_link(text), step="topic")
        await await_input(services, actor.telegram_id, DRAFT, stamp, data)
        await _ask(update, actor.language, "meetings.ask_topic", stamp)
    elif step == "topic":
        data.update(topic=rules.clean_topic(text))
        if Kind(data["kind"]) in HOURS_KINDS:
            data.update(step="hours")
            await await_input(services, actor.telegram_id, DRAFT, stamp, data)
            rows = [[button(t(actor.language, "meetings.hours_button", hours=h), "h", h * 2,
                            stamp) for h in HOUR_CHOICES], _stop_row(actor.language, stamp)]
            await _ask(update, actor.language, "meetings.ask_hours", stamp,
                       InlineKeyboardMarkup(rows))
        else:
            await _to_confirm(update, context, actor, pending, data, 0.0)
    elif step == "hours":
        await _to_confirm(update, context, actor, pending, data, rules.parse_hours(text))
    else:
        await reply(update, actor.language, "meetings.use_buttons")


def _draft_meeting(data: dict, hours: float) -> repo.Meeting:
    """Return the draft as a Meeting, so the preview reads exactly like the notice."""
    return repo.Meeting(
        id=0, batch_id=None, branch_id=0, kind=data["kind"], subject=data.get("subject"),
        topic=data["topic"], starts_at=int(data["starts"]), timezone=data["tz"],
        place=data.get("place"), online_link=data.get("link"), hours=hours, version=1,
        announced_version=0, called_by=None, called_at=0, cancelled_at=None,
        confirmed_at=None, record=None,
    )


async def _to_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                      pending: PendingInput, data: dict, hours: float) -> None:
    services = get_services(context)
    data.update(hours=hours, step="confirm")
    await await_input(services, actor.telegram_id, DRAFT, pending.started_at, data)
    branches = study_rules.publish_branches(actor, await load_units(context), int(data["unit"]))
    preview = details(actor.language, _draft_meeting(data, hours), zone(data["tz"]),
                      ", ".join(b.name for b in branches))
    go = button(t(actor.language, "meetings.btn_go"), "go", pending.started_at)
    await reply(update, actor.language, "meetings.confirm", details=raw(preview),
                reply_markup=InlineKeyboardMarkup([[go], _stop_row(actor.language,
                                                                    pending.started_at)]))


async def button_go(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Call the confirmed meeting in every chosen branch; the planner sends the notices."""
    actor, pending, data = await _draft(update, context, args[0], "confirm")
    if pending is None:
        return
    services = get_services(context)
    branches = study_rules.publish_branches(actor, await load_units(context), int(data["unit"]))
    if not branches:
        await refuse(update, actor.language, "meetings.not_allowed")
        return
    now = services.now_ts()
    if int(data["starts"]) <= now:
        await refuse(update, actor.language, "meetings.time_past")
        return
    kind = Kind(data["kind"])
    calls = []
    for branch in branches:
        invited = (await repo.committee_member_ids(services.db, branch.id) if kind == Kind.COMMITTEE
                   else await repo.member_branch_ids(services.db, branch.id))
        calls.append((branch.id, invited))
    made = await repo.create_meetings(
        services.db, calls=calls, kind=kind.value, subject=data.get("subject"),
        topic=data["topic"], starts_at=int(data["starts"]), timezone=data["tz"],
        place=data.get("place"), online_link=data.get("link"), hours=float(data["hours"]),
        called_by=actor.person_id, now=now,
    )
    await pending_inputs.clear_pending(services.db, actor.telegram_id, DRAFT)
    await audit.record(services.db, at=now, actor=f"tg:{actor.telegram_id}",
                       action="meetings.call", subject=f"meeting:{made[0].id}",
                       detail={"branches": [b.id for b in branches], "kind": kind.value})
    await finish(update, actor.language, "meetings.called", branches=len(branches),
                 invited=sum(len(invited) for _, invited in calls))


async def button_stop(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Drop the meeting question in progress."""
    await drop_question(update, context, args[0], (DRAFT, EDIT), "meetings.stopped")


# ---------------------------------------------------------------- /meetings: change, cancel


async def _managed(update: Update, context: ContextTypes.DEFAULT_TYPE,
                   meeting_id: int) -> tuple[Actor, repo.Meeting | None]:
    """Return the meeting if the presser may manage its branch; the refusal reads the same."""
    actor = await load_actor(update, context)
    meeting = await repo.get_meeting(get_services(context).db, meeting_id)
    if meeting is None or not can_manage_branch(actor, meeting.branch_id,
                                                await load_units(context)):
        return actor, None
    return actor, meeting


async def cmd_meetings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the coming and recent meetings of the branches the leader manages."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    services = get_services(context)
    now = services.now_ts()
    found: list[repo.Meeting] = []
    names = {}
    for branch in managed_branches(actor, await load_units(context)):
        names[branch.id] = branch.name
        found += await repo.branch_meetings(services.db, branch.id, now - 30 * 86400,
                                            now + 366 * 86400)
    found = sorted(found, key=lambda m: m.starts_at)[:MAX_BUTTONS // 2]
    if not found:
        await reply(update, actor.language, "meetings.none")
        return
    rows = []
    for meeting in found:
        label = t(actor.language, "meetings.list_button",
                  what=meeting_name(actor.language, meeting.kind, meeting.subject),
                  when=when_text(actor.language, meeting, zone(meeting.timezone)),
                  branch=names[meeting.branch_id])
        rows.append([button(label, "open", meeting.id)])
    await reply(update, actor.language, "meetings.list", reply_markup=InlineKeyboardMarkup(rows))


async def button_open(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Show one meeting with what may be done to it."""
    actor, meeting = await _managed(update, context, int(args[0]))
    if meeting is None:
        await refuse(update, actor.language, "meetings.not_allowed")
        return
    await update.callback_query.answer()
    rows = []
    if meeting.cancelled_at is None and meeting.confirmed_at is None:
        rows.append([button(t(actor.language, "meetings.btn_move"), "mv", meeting.id),
                     button(t(actor.language, "meetings.btn_place"), "pl", meeting.id)])
        rows.append([button(t(actor.language, "meetings.btn_cancel_meeting"), "cx", meeting.id)])
    rows.append([button(t(actor.language, "meetings.btn_roster"), "att", meeting.id)])
    state = ("cancelled" if meeting.cancelled_at else "confirmed" if meeting.confirmed_at
             else "open")
    await reply(update, actor.language, "meetings.card",
                details=raw(details(actor.language, meeting, zone(meeting.timezone), "")),
                state=t(actor.language, f"meetings.state.{state}"),
                record=meeting.record or "—", id=meeting.id,
                reply_markup=InlineKeyboardMarkup(rows))


async def _start_edit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, raw_id: str, step: str
) -> tuple[Actor, int] | None:
    """Open the question changing a meeting still to come (`step`: day or place) and its stamp."""
    actor, meeting = await _managed(update, context, int(raw_id))
    # A cancelled or confirmed meeting is history: its buttons no longer change it.
    if meeting is None or meeting.cancelled_at or meeting.confirmed_at:
        await refuse(update, actor.language, "meetings.not_allowed")
        return None
    services = get_services(context)
    stamp = services.now_ts()
    await await_input(services, actor.telegram_id, EDIT, stamp,
                      {"meeting": meeting.id, "step": step})
    await update.callback_query.answer()
    return actor, stamp


async def button_move(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Change the time: ask the new day (then the time)."""
    started = await _start_edit(update, context, args[0], "day")
    if started is not None:
        actor, stamp = started
        await _ask_day(update, get_services(context), actor, stamp)


async def button_place(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Change the place: ask for it typed."""
    started = await _start_edit(update, context, args[0], "place")
    if started is not None:
        actor, stamp = started
        await _ask(update, actor.language, "meetings.ask_new_place", stamp)


async def typed_edit(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                     pending: PendingInput, text: str) -> None:
    """Take a typed new day, time or place of a meeting."""
    data = question_data(pending)
    step = data.get("step")
    services = get_services(context)
    if step == "day":
        day = study_rules.parse_due(text, await actor_today(services, actor))
        await _take_day(update, context, actor, pending, data, day)
    elif step == "time":
        await _take_time(update, context, actor, pending, data, rules.parse_clock(text))
    elif step == "place":
        await _apply_change(update, context, actor, data, place=rules.clean_place(text))
    else:
        await reply(update, actor.language, "meetings.use_buttons")


async def _apply_change(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                        data: dict, *, starts_at: int | None = None,
                        place: str | None = None) -> None:
    """Store the new time or place; the planner announces the new version once."""
    services = get_services(context)
    meeting = await repo.get_meeting(services.db, int(data["meeting"]))
    units_now = await load_units(context)
    await pending_inputs.clear_pending(services.db, actor.telegram_id, EDIT)
    if (meeting is None or meeting.cancelled_at or meeting.confirmed_at
            or not can_manage_branch(actor, meeting.branch_id, units_now)):
        await reply(update, actor.language, "meetings.not_allowed")
        return
    invited = [r.member_id for r in await repo.recipients(services.db, meeting.id)]
    # An older version's notice or reminder still waiting would contradict the new one.
    await cancel_waiting(services.db, meeting.id, invited)
    await repo.change(services.db, meeting.id, starts_at=starts_at or meeting.starts_at,
                      place=place if place is not None else meeting.place,
                      online_link=meeting.online_link, now=services.now_ts())
    await audit.record(services.db, at=services.now_ts(), actor=f"tg:{actor.telegram_id}",
                       action="meetings.change", subject=f"meeting:{meeting.id}",
                       detail={"starts_at": starts_at, "place": place})
    await reply(update, actor.language, "meetings.changed_ok", invited=len(invited))


async def button_cancel_meeting(update: Update, context: ContextTypes.DEFAULT_TYPE,
                                args: list[str]) -> None:
    """Ask to confirm a cancellation (cx), or cancel it (cxok)."""
    actor, meeting = await _managed(update, context, int(args[0]))
    if meeting is None or meeting.cancelled_at or meeting.confirmed_at:
        await refuse(update, actor.language, "meetings.not_allowed")
        return
    if len(args) == 1:
        sure = button(t(actor.language, "meetings.btn_cancel_sure"), "cx", meeting.id, 1)
        await update.callback_query.answer()
        await reply(update, actor.language, "meetings.cancel_ask",
                    what=meeting_name(actor.language, meeting.kind, meeting.subject),
                    reply_markup=InlineKeyboardMarkup([[sure]]))
        return
    services = get_services(context)
    await repo.cancel(services.db, meeting.id, by=actor.person_id, now=services.now_ts())
    await audit.record(services.db, at=services.now_ts(), actor=f"tg:{actor.telegram_id}",
                       action="meetings.cancel", subject=f"meeting:{meeting.id}", detail={})
    await finish(update, actor.language, "meetings.cancelled_ok")
