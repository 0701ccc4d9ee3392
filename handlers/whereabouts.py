"""Mobile members' whereabouts: the periodic "还在<place>吗？", lost-contact warnings, /mobile.

    planner: every interval_days  →  ✅ 是 / 📍 换地方了 (location or city) / ✈️ 回家了
    planner: silence passes 90, 150 days  →  ⚠️ to the secretary;  180 days  →  🔴 失联
    /mobile (secretaries): mobile members, longest silent first

Buttons carry the time of the member's last answer (`wh:yes:<base>`), so an
ask answered already is recognised as stale.  Callback data:

    wh:yes:<base>  wh:move:<base>  wh:home:<base>  wh:pl:<place key>:<base>

Any update from the member counts as contact (handlers.contact stamps it);
a warning's dedupe key holds the silence's start, so contact starts a new
episode whose marks warn again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.callback_data import INT, TEXT, decode, optional_subject, pack, pattern
from bot.domain import whereabouts as rules
from bot.domain.free_text import echo
from bot.domain.humane import day_label, zone_label
from bot.domain.localtime import local_date, zone
from bot.domain.models import Category, Member, Person
from bot.domain.outgoing import OutgoingMessage, occurrence_key, quiet_hours
from bot.domain.permissions import managed_branch_ids
from bot.domain.places import (
    Place,
    find_place,
    nearest_place,
    place_by_key,
    popular_places,
    suggest_places,
    timezone_for_location_async,
)
from bot.domain.pledges import member_hours, send_time
from bot.domain.text import split_message
from bot.i18n import t
from bot.schedule_rules import look_again_if_rules_changed
from bot.scheduling import add_planner
from bot.services import Services, get_services
from handlers import awaiting, contact_log
from handlers.acting_for import carrying, subject_of
from handlers.awaiting import AwaitedInputHandler
from handlers.common import load_units, reply, user_language
from handlers.keyboards import location_keyboard, place_keyboard, place_name
from handlers.scope import load_leader
from storage.db import transaction
from storage.repositories import members, outbox, people, roles, schedule, units
from storage.repositories import whereabouts as repo

__all__ = ["SCHEDULE_KIND", "plan_whereabouts", "register"]

SCHEDULE_KIND = "whereabouts"

log = logging.getLogger(__name__)

FEATURE = "wh"
WAITING_PLACE = "where.place"
# A member who tapped "moved" may look the city up first; a day is plenty.
INPUT_TTL = 24 * 3600
# Onboarding's location handler (group 0) takes every location and ignores
# those outside registration, so awaited locations are answered after it.
LOCATION_GROUP = 1


@dataclass(frozen=True, slots=True)
class _Mobile:
    """The mobile member behind an update, and the answer their buttons refer to."""

    person: Person
    member: Member
    language: str
    base: int  # last answer, else approval: what the current ask counts from
    entered_by: int | None = None  # a helper answering for the member (handlers.acting_for)
    chat_id: int = 0  # the presser's chat, where a typed place is awaited
    subject: int | None = None  # the member a helper's press named; their buttons name them too


async def _load_mobile(update: Update, services: Services) -> _Mobile | None:
    """Return the active mobile member behind the update (or the one a helper acts for)."""
    subject = await subject_of(update, services)
    person = subject.person
    if person is None:
        return None
    member = await members.current_membership(services.db, person.id)
    if member is None or member.status != "active" or member.category != Category.MOBILE:
        return None
    base = await repo.last_answer_at(services.db, member.id)
    return _Mobile(
        person=person,
        member=member,
        language=user_language(update, services, (subject.helper or person).language),
        base=base or member.decided_at or member.requested_at,
        entered_by=subject.entered_by,
        chat_id=update.effective_user.id,
        subject=subject.member_id,
    )


def _ask_keyboard(language: str, base: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, f"whereabouts.btn_{action}"),
                    callback_data=pack(FEATURE, action, base),
                )
            ]
            for action in ("yes", "move", "home")
        ]
    )


def ask_message(
    language: str, place: str | None, base: int, subject: int | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """Return the "still in …?" question and its buttons (naming `subject` for a helper)."""
    return _ask_text(language, place), carrying(_ask_keyboard(language, base), subject)


def _ask_text(language: str, place: str | None) -> str:
    if place:
        return t(language, "whereabouts.ask", place=place)
    return t(language, "whereabouts.ask_no_place")


# ---------------------------------------------------------------- answers


async def _answering(
    update: Update, context: ContextTypes.DEFAULT_TYPE, base: str
) -> _Mobile | None:
    """Return the member if the pressed ask is the current one; else answer it as stale."""
    services = get_services(context)
    mobile = await _load_mobile(update, services)
    if mobile is None or str(mobile.base) != base:
        person = (
            mobile.person
            if mobile
            else await people.get_person_by_telegram(services.db, update.effective_user.id)
        )
        language = user_language(update, services, person.language if person else None)
        await update.callback_query.answer(t(language, "whereabouts.stale"), show_alert=True)
        return None
    return mobile


async def _edit(update: Update, text: str) -> None:
    try:
        await update.callback_query.edit_message_text(text)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, base: str) -> None:
    """The member is still where we thought."""
    mobile = await _answering(update, context, base)
    if mobile is None:
        return
    services = get_services(context)
    await repo.record_answer(
        services.db,
        member_id=mobile.member.id,
        kind="confirmed",
        place=mobile.member.place,
        timezone=mobile.person.timezone,
        now=services.now_ts(),
        entered_by=mobile.entered_by,
    )
    await update.callback_query.answer(t(mobile.language, "whereabouts.thanks"))
    await _edit(
        update, t(mobile.language, "whereabouts.confirmed", place=mobile.member.place or "—")
    )


async def _moving(update: Update, context: ContextTypes.DEFAULT_TYPE, base: str) -> None:
    """Ask where the member is now: a shared location, a typed city or a popular place."""
    mobile = await _answering(update, context, base)
    if mobile is None:
        return
    services = get_services(context)
    await awaiting.expect(
        services, mobile.chat_id, WAITING_PLACE, str(mobile.base), subject=mobile.subject
    )
    await update.callback_query.answer()
    await _edit(update, t(mobile.language, "whereabouts.moving"))
    await update.effective_chat.send_message(
        t(mobile.language, "whereabouts.ask_place"),
        reply_markup=location_keyboard(t(mobile.language, "whereabouts.share_location")),
    )
    await _offer_places(update, mobile, popular_places(), "whereabouts.pick_place")


async def _offer_places(
    update: Update, mobile: _Mobile, places: list[Place], key: str, **params: str
) -> None:
    markup = place_keyboard(
        mobile.language, places, lambda place: pack(FEATURE, "pl", place.key, mobile.base)
    )
    await reply(update, mobile.language, key, reply_markup=carrying(markup, mobile.subject),
                **params)


async def _home(update: Update, context: ContextTypes.DEFAULT_TYPE, base: str) -> None:
    """The member is back in the hometown: the branch's zone applies again."""
    mobile = await _answering(update, context, base)
    if mobile is None:
        return
    services = get_services(context)
    branch = await units.get_unit(services.db, mobile.member.branch_id)
    timezone = (branch.timezone if branch else None) or services.settings.general.default_timezone
    place = t(mobile.language, "whereabouts.hometown")
    await update.callback_query.answer()
    await _store_move(services, mobile, place, timezone, kind="home")
    await _edit(update, t(mobile.language, "whereabouts.home_set", place=place,
                          timezone=zone_label(mobile.language, timezone, services.now_ts())))
    # Coming home changes the category once the secretary confirms (handlers.life_changes).
    from handlers.life_changes import request_home

    await request_home(context, services, mobile.person, mobile.member)


async def _picked_place(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, base: str
) -> None:
    """A place button: move there."""
    mobile = await _answering(update, context, base)
    place = place_by_key(key)
    if mobile is None:
        return
    if place is None:
        await update.callback_query.answer(t(mobile.language, "whereabouts.stale"), show_alert=True)
        return
    await update.callback_query.answer()
    try:
        await update.callback_query.edit_message_reply_markup(None)
    except BadRequest:
        log.info("place buttons could not be cleared")
    await _moved(
        update, get_services(context), mobile, place_name(place, mobile.language), place.timezone
    )


async def _store_move(
    services: Services, mobile: _Mobile, place: str, timezone: str, *, kind: str
) -> None:
    async with transaction(services.db):
        await people.set_timezone(services.db, mobile.person.id, timezone)
        await members.set_place(services.db, mobile.member.id, place)
        await repo.record_answer(
            services.db,
            member_id=mobile.member.id,
            kind=kind,
            place=place,
            timezone=timezone,
            now=services.now_ts(),
            entered_by=mobile.entered_by,
        )
    await awaiting.done(services, mobile.chat_id, WAITING_PLACE)


async def _moved(
    update: Update, services: Services, mobile: _Mobile, place: str, timezone: str
) -> None:
    """Store the new place and zone, and say that reminders follow the new zone."""
    await _store_move(services, mobile, place, timezone, kind="moved")
    await update.effective_chat.send_message(
        t(mobile.language, "whereabouts.moved", place=place,
          timezone=zone_label(mobile.language, timezone, services.now_ts())),
        reply_markup=ReplyKeyboardRemove(),
    )


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a typed city when the member said they moved; otherwise leave the text alone."""
    services = get_services(context)
    mobile = await _load_mobile(update, services)
    text = update.effective_message.text or ""
    if mobile is None:
        await awaiting.done(services, update.effective_user.id, WAITING_PLACE)
        await reply(update, user_language(update, services), "whereabouts.stale")
        return
    place = find_place(text)
    if place is None:
        suggestions = suggest_places(text) or popular_places()
        await _offer_places(
            update, mobile, suggestions, "whereabouts.place_unknown", place=echo(text)
        )
    else:
        await _moved(update, services, mobile, place_name(place, mobile.language), place.timezone)


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a shared location when the member said they moved; its zone is found offline."""
    services = get_services(context)
    mobile = await _load_mobile(update, services)
    if mobile is None:
        await awaiting.done(services, update.effective_user.id, WAITING_PLACE)
        return
    location = update.effective_message.location
    timezone = await timezone_for_location_async(location.latitude, location.longitude)
    near = nearest_place(location.latitude, location.longitude)
    place = t(mobile.language, "whereabouts.near_place", place=place_name(near, mobile.language))
    await _moved(update, services, mobile, place, timezone)


_Answer = Callable[[Update, ContextTypes.DEFAULT_TYPE, str], Awaitable[None]]
_ACTIONS: dict[str, _Answer] = {"yes": _confirm, "move": _moving, "home": _home}


# What each action's args must look like; anything else is answered as a stale
# button (bot.callback_data.decode → handlers.errors) before a handler runs.
# A helper's press also names the member it acts for (handlers.acting_for).
_SHAPES = optional_subject({**dict.fromkeys(_ACTIONS, (INT,)), "pl": (TEXT, INT)})


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a whereabouts button; malformed data raises MalformedButton (answered as stale)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    args = pressed.args
    if pressed.action == "pl":
        await _picked_place(update, context, args[0], args[1])
    else:
        await _ACTIONS[pressed.action](update, context, args[0])


# ---------------------------------------------------------------- the secretary's view


async def show_mobile(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the mobile members I lead: place, zone, last contact, days silent (longest first)."""
    services = get_services(context)
    actor = await load_leader(update, context)
    if actor is None:
        return
    all_units = await load_units(context)
    branch_ids = sorted(managed_branch_ids(actor, all_units))
    rows = await repo.mobile_members(services.db, branch_ids)
    if not rows:
        await reply(update, actor.language, "whereabouts.none")
        return
    now = services.clock.now()
    settings = services.settings.whereabouts
    branch_names = {unit.id: unit.name for unit in all_units}
    person = await people.get_person_by_telegram(services.db, actor.telegram_id)
    my_tz = zone(person.timezone if person else None, services.settings.general.default_timezone)

    def silence(row: repo.MobileMember) -> int:
        start = rules.silence_start(row.last_contact_at, row.approved_at)
        return -1 if start is None else rules.silence_days(start, now)

    lines = [t(actor.language, "whereabouts.list_title", count=len(rows))]
    for row in sorted(rows, key=lambda r: (-silence(r), r.name or "")):
        days = silence(row)
        level = rules.silence_level(max(days, 0), settings)
        last = row.last_contact_at or row.approved_at
        lines.append(
            t(
                actor.language,
                "whereabouts.list_line",
                icon=t(actor.language, f"whereabouts.icon_{level.value}"),
                name=(row.name or "—")
                + ("" if row.telegram_id else t(actor.language, "offline.mobile_marker")),
                branch=branch_names.get(row.branch_id, ""),
                place=row.place or "—",
                timezone=zone_label(actor.language, row.timezone or
                                    services.settings.general.default_timezone, services.now_ts()),
                last=day_label(actor.language, local_date(last, my_tz)) if last else "—",
                days=max(days, 0),
            )
        )
    lines.append(
        t(
            actor.language,
            "whereabouts.list_legend",
            warn=min(settings.warn_days, default=settings.lost_days),
            lost=settings.lost_days,
        )
    )
    for part in split_message("\n".join(lines)):
        await update.effective_chat.send_message(part)
    await contact_log.offer_members(
        update, actor.language,
        [(r.member_id, r.name) for r in sorted(rows, key=lambda r: (-silence(r), r.name or ""))],
    )


# ---------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class _Candidate:
    key: str
    build: Callable[[], OutgoingMessage]
    member_id: int  # whose schedule waits for this message to be queued


async def plan_whereabouts(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the whereabouts asks and silence warnings due now.

    Only members whose schedule row is due are read (issue 14: an idle tick
    costs what is due, not the county); each is then given its next moment.
    """
    db = services.db
    # Settings (interval, marks) or code may differ from the last run's.
    await look_again_if_rules_changed(
        services, SCHEDULE_KIND, sections=("general", "study", "whereabouts"),
        modules=(__name__, rules.__name__, "bot.domain.pledges"))
    now_ts = int(now.timestamp())
    due_ids = await schedule.due_members(db, SCHEDULE_KIND, now_ts)
    if not due_ids:
        return []
    # Not mobile, not active: nothing until a change of facts brings them back.
    next_at = dict.fromkeys(due_ids, schedule.NEVER)
    rows = await repo.mobile_members(db, member_ids=due_ids)
    settings = services.settings
    default_tz = settings.general.default_timezone
    hours = member_hours(Category.MOBILE, settings.study)
    leader_hours = member_hours(Category.REGULAR, settings.study)
    leaders: dict[int, list[tuple[Person, str]]] = {}
    branch_names: dict[int, str] = {}
    candidates: list[_Candidate] = []
    for row in rows:
        tz = zone(row.timezone, default_tz)
        base = row.confirmed_at or row.approved_at
        asked = base is not None and row.telegram_id is not None and row.is_reachable
        upcoming = rules.next_planning_moment(
            now=now,
            ask_base=base if asked else None,
            silence_from=rules.silence_start(row.last_contact_at, row.approved_at)
            if row.telegram_id is not None else None,
            interval_days=settings.whereabouts.interval_days,
            tz=tz,
            hours=hours,
            settings=settings.whereabouts,
        )
        next_at[row.member_id] = schedule.NEVER if upcoming is None else upcoming
        if asked:
            ask = rules.next_ask(
                base=base,
                now=now,
                interval_days=settings.whereabouts.interval_days,
                tz=tz,
                hours=hours,
            )
            if ask is not None:
                due = send_time(ask.due_at, now, tz, hours)
                candidates.append(_ask_candidate(services, row, base, ask, due))
        start = rules.silence_start(row.last_contact_at, row.approved_at)
        mark = (
            None
            if start is None
            else rules.passed_mark(rules.silence_days(start, now), settings.whereabouts)
        )
        # No warning about a member without Telegram (registered by the secretary):
        # they cannot answer the bot, so "N days without a reply" says nothing.
        if start is None or mark is None or row.telegram_id is None:
            continue
        if row.branch_id not in leaders:
            leaders[row.branch_id] = await _leaders(services, row.branch_id)
            branch = await units.get_unit(services.db, row.branch_id)
            branch_names[row.branch_id] = branch.name if branch else ""
        for leader, language in leaders[row.branch_id]:
            leader_tz = zone(leader.timezone, default_tz)
            due = rules.warning_due(start, mark, leader_tz, leader_hours)
            if due > now:
                # The mark has passed but this leader's daytime has not come.
                next_at[row.member_id] = min(next_at[row.member_id], int(due.timestamp()))
            else:
                due = send_time(due, now, leader_tz, leader_hours)
                candidates.append(
                    _warning_candidate(
                        services,
                        row,
                        start,
                        mark,
                        leader,
                        language,
                        leader_tz,
                        branch_names[row.branch_id],
                        due,
                    )
                )
    known = await outbox.known_keys(db, (c.key for c in candidates))
    fresh = [c for c in candidates if c.key not in known]
    for candidate in fresh:
        # Looked at again next tick: moves on only once what it owes is queued.
        next_at[candidate.member_id] = now_ts
    await schedule.set_next(db, SCHEDULE_KIND, next_at)
    return [c.build() for c in fresh]


async def _leaders(services: Services, branch_id: int) -> list[tuple[Person, str]]:
    """Return the people who get a branch's warnings, with their language."""
    found = []
    for person_id, _, language in await roles.nearest_leaders(services.db, branch_id):
        person = await people.get_person(services.db, person_id)
        if person is not None and person.telegram_id is not None:
            found.append((person, language or services.settings.general.default_language))
    return found


def _ask_candidate(
    services: Services, row: repo.MobileMember, base: int, ask: rules.Ask, due: datetime
) -> _Candidate:
    key = occurrence_key("where.ask", row.member_id, base, ask.number)
    language = row.language or services.settings.general.default_language

    def build() -> OutgoingMessage:
        return OutgoingMessage(
            dedupe_key=key,
            kind="where.ask",
            person_id=row.person_id,
            chat_id=row.telegram_id,
            text=_ask_text(language, row.place),
            due_at=int(due.timestamp()),
            reply_markup=_ask_keyboard(language, base).to_dict(),
            expires_at=int(ask.next_due_at.timestamp()),
            # Mobile members, never elderly; their own zone, else the default.
            **quiet_hours(zone(row.timezone, services.settings.general.default_timezone)),
        )

    return _Candidate(key, build, row.member_id)


def _warning_candidate(
    services: Services,
    row: repo.MobileMember,
    start: int,
    mark: int,
    leader: Person,
    language: str,
    leader_tz: ZoneInfo,
    branch: str,
    due: datetime,
) -> _Candidate:
    # One key per (member, silence start, mark, recipient): contact moves the
    # start, so a later silence warns again; a mark never warns twice.
    key = occurrence_key("where.warn", row.member_id, f"s{start}", f"{mark}d.p{leader.id}")
    lost = mark >= services.settings.whereabouts.lost_days

    def build() -> OutgoingMessage:
        text = t(
            language,
            "whereabouts.lost" if lost else "whereabouts.warning",
            name=row.name or "—",
            branch=branch,
            days=mark,
            place=row.place or "—",
            timezone=zone_label(language, row.timezone or
                                services.settings.general.default_timezone, services.now_ts()),
            last=day_label(language, local_date(start, leader_tz)),
            lost_days=services.settings.whereabouts.lost_days,
        )
        return OutgoingMessage(
            dedupe_key=key,
            kind="where.lost" if lost else "where.warn",
            person_id=leader.id,
            chat_id=leader.telegram_id,
            text=text,
            due_at=int(due.timestamp()),
            # One tap from the warning to record a call, visit or meeting.
            reply_markup=contact_log.record_markup(language, row.member_id).to_dict(),
        )

    return _Candidate(key, build, row.member_id)


# ---------------------------------------------------------------- wiring


def register(app: Application) -> None:
    """Add /mobile, the whereabouts buttons, typed cities, locations and the planner."""
    app.add_handler(CommandHandler("mobile", show_mobile))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    # Answers after "📍 moved": text before onboarding's catch-all (added last
    # to group 0); locations after onboarding's (see LOCATION_GROUP).
    awaiting.register(app)
    app.add_handler(
        AwaitedInputHandler(
            app, WAITING_PLACE, filters.TEXT & ~filters.COMMAND, on_text, ttl=INPUT_TTL
        )
    )
    app.add_handler(
        AwaitedInputHandler(app, WAITING_PLACE, filters.LOCATION, on_location, ttl=INPUT_TTL),
        group=LOCATION_GROUP,
    )
    add_planner(app, "whereabouts", plan_whereabouts)
