"""Member self-service: /me, /language, /timezone, /away, /leave and /forget.

    /timezone            → asks for a place (a `pending_inputs` row of kind "timezone")
      typed city / IANA name, a picked place, or a shared location
                         → people.timezone, and members.place for mobile members
    /timezone 深圳 | /timezone Europe/Madrid   → the same, in one step
    /away 30 | 2026-05-01 | 05-01 | off       → members.away_until (member's local date)
    /leave, /forget      → ✅ / ❌ confirmation → status 'left' (+ data erased), audit row

The open question is a `pending_inputs` row (see handlers.awaiting), so a
restart between question and answer loses nothing; typed text and locations
reach this module only while that row is open.  Onboarding's location handler
(group 0) takes every location and ignores those outside registration, so the
location answer is registered in LOCATION_GROUP, after it.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.callback_data import INT, TEXT, decode, pack, pattern
from bot.domain.away import is_away, parse_away
from bot.domain.free_text import echo
from bot.domain.humane import clock_label, day_label, iso_day_label, moment_label, zone_label
from bot.domain.localtime import canonical_timezone, local_date, zone
from bot.domain.models import Category, Member, MemberStatus, Person
from bot.domain.outgoing import LEADER_KINDS
from bot.domain.places import (
    Place,
    find_place,
    is_place_in_zone,
    nearest_place,
    place_by_key,
    popular_places,
    suggest_places,
    timezone_for_location_async,
)
from bot.errors import InvalidInput
from bot.i18n import LANGUAGES, raw, t
from bot.routing import send_to_person
from bot.services import Services, get_services
from handlers import awaiting, offline_members
from handlers.awaiting import AwaitedInputHandler
from handlers.basics import publish_menu
from handlers.common import reply, user_language
from handlers.keyboards import location_keyboard, place_keyboard, place_name, yes_no_keyboard
from handlers.privacy import who_sees_text
from storage.db import transaction
from storage.repositories import (
    audit,
    drafts,
    erasure,
    members,
    outbox,
    people,
    roles,
    units,
)
from storage.repositories.erasure import Erasure
from storage.repositories.pending_inputs import PendingInput

__all__ = ["PENDING_TIMEZONE", "register"]

log = logging.getLogger(__name__)

PENDING_TIMEZONE = "timezone"
LOCATION_GROUP = 1
AWAY_CHOICES = (7, 30, 90)

# What each button's args must look like, per feature prefix; anything else is
# answered as a stale button (bot.callback_data.decode → handlers.errors).
_SHAPES = {
    "lang": {"set": (frozenset(LANGUAGES),)},
    "tz": {"place": (TEXT, INT), "cancel": (INT,)},
    "away": {"days": (frozenset(str(days) for days in AWAY_CHOICES),), "off": ()},
    "leave": {"yes": (INT,), "no": (INT,)},
    "forget": {"yes": (INT,), "no": (INT,)},
}


def _pressed(update: Update, feature: str) -> tuple[str, list[str]]:
    """Return the pressed button's action and args, or raise MalformedButton."""
    pressed = decode(update.callback_query.data, feature, _SHAPES[feature])
    return pressed.action, pressed.args


# ---------------------------------------------------------------- who is asking

async def _me(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Services, Person | None, str]:
    """Return the services, the person behind the update (or None) and their language."""
    services = get_services(context)
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    return services, person, user_language(update, services, person.language if person else None)


def _zone_name(services: Services, person: Person) -> str:
    return person.timezone or services.settings.general.default_timezone


def _local_now(services: Services, timezone: str, language: str) -> str:
    """Return the time of day there now, as people say it ("晚上8:00")."""
    moment = datetime.fromtimestamp(services.now_ts(), UTC).astimezone(zone(timezone))
    return clock_label(language, moment.time())


def _zone_words(services: Services, timezone: str, language: str) -> str:
    """Name the zone by its distance from Beijing ("北京时间"), never "Asia/Shanghai"."""
    return zone_label(language, timezone, services.now_ts())


# ---------------------------------------------------------------- /me

async def show_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show everything the bot stores about the sender."""
    services, person, language = await _me(update, context)
    if person is None:
        await reply(update, language, "errors.not_member")
        return
    membership = await members.current_membership(services.db, person.id)
    led = await roles.led_unit_ids(services.db, person.id)
    tz_name = _zone_name(services, person)
    tz = zone(tz_name)
    unknown = t(language, "me.unknown")
    lines = [t(language, "me.title"), t(language, "me.name", name=person.name or unknown)]
    if membership is None:
        lines.append(t(language, "me.no_branch"))
    else:
        branch = await units.get_unit(services.db, membership.branch_id)
        lines += [
            t(language, "me.branch", branch=branch.name if branch else unknown),
            t(language, "me.category", category=t(language, f"category.{membership.category}")),
            t(language, "me.status", status=t(language, f"status.{membership.status}")),
        ]
        if membership.category == Category.MOBILE:
            lines.append(t(language, "me.place", place=membership.place or unknown))
    lines += [
        # The IANA name stays, on its own line, as the detail /me promises to show.
        t(language, "me.timezone", zone=_zone_words(services, tz_name, language), timezone=tz_name,
          local_time=_local_now(services, tz_name, language)),
        t(language, "me.language", language=t(language, f"language.{language}")),
    ]
    if membership is not None:
        today = local_date(services.now_ts(), tz)
        lines.append(
            t(language, "me.away",
              until=iso_day_label(language, membership.away_until, today=today))
            if is_away(membership.away_until, today)
            else t(language, "me.not_away")
        )
    if person.last_contact_at is not None:
        lines.append(t(language, "me.last_contact",
                       when=moment_label(language, person.last_contact_at, tz)))
    if membership is not None:
        joined = membership.status == MemberStatus.ACTIVE and membership.decided_at is not None
        stamp = membership.decided_at if joined else membership.requested_at
        lines.append(t(language, "me.joined" if joined else "me.requested",
                       date=day_label(language, local_date(stamp or 0, tz))))
    if led:
        all_units = await units.list_units(services.db)
        lines += [t(language, "me.leads", units=u.name) for u in all_units if u.id in led]
    lines += await offline_members.me_lines(services, language, person)  # registered by others
    lines += ["", who_sees_text(language), "", t(language, "me.footer")]
    await update.effective_chat.send_message("\n".join(lines))


# ---------------------------------------------------------------- /language

async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer 中文 / English as buttons."""
    services, person, language = await _me(update, context)
    if person is None and not services.settings.is_admin(update.effective_user.id):
        await reply(update, language, "errors.not_member")
        return
    buttons = [
        InlineKeyboardButton(t(code, f"language.{code}"), callback_data=pack("lang", "set", code))
        for code in LANGUAGES
    ]
    await update.effective_chat.send_message(
        t(language, "language.choose"), reply_markup=InlineKeyboardMarkup([buttons])
    )


async def on_language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    _, args = _pressed(update, "lang")
    services, person, language = await _me(update, context)
    user = update.effective_user
    chosen = args[0] if args else ""
    is_admin = services.settings.is_admin(user.id)
    if chosen not in LANGUAGES or (person is None and not is_admin):
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    if person is None:
        # Admins need not be members; they get a person row to keep their choice.
        person = await people.ensure_person(services.db, telegram_id=user.id, now=services.now_ts())
    await people.set_language(services.db, person.id, chosen)
    await query.answer()
    await query.edit_message_text(t(chosen, "language.set"))
    # The chat's menu follows the new language (and shows what the user's roles allow).
    await publish_menu(context.application, services, user.id)


# ---------------------------------------------------------------- /timezone

async def change_timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask where the member is now, or take `/timezone <city | IANA zone>` at once."""
    services, person, language = await _me(update, context)
    if person is None:
        await reply(update, language, "errors.not_member")
        return
    typed = " ".join(context.args or []).strip()
    if typed:
        await _take_typed_place(update, context, person, language, typed)
        return
    tz_name = _zone_name(services, person)
    membership = await members.current_membership(services.db, person.id)
    local_time = _local_now(services, tz_name, language)
    if membership is not None and membership.category == Category.MOBILE and membership.place:
        await reply(update, language, "timezone.current", place=membership.place,
                    timezone=_zone_words(services, tz_name, language), local_time=local_time)
    else:
        await reply(update, language, "timezone.current_zone",
                    timezone=_zone_words(services, tz_name, language),
                    local_time=local_time)
    pending = await awaiting.expect(services, update.effective_user.id, PENDING_TIMEZONE)
    await update.effective_chat.send_message(
        t(language, "timezone.ask"),
        reply_markup=location_keyboard(t(language, "timezone.share_location")),
    )
    await update.effective_chat.send_message(
        t(language, "timezone.pick"),
        reply_markup=_places_markup(language, pending, popular_places()),
    )


def _places_markup(
    language: str, pending: PendingInput, places: list[Place]
) -> InlineKeyboardMarkup:
    cancel = InlineKeyboardButton(
        t(language, "timezone.cancel"), callback_data=pack("tz", "cancel", pending.started_at)
    )
    return place_keyboard(
        language, places, lambda place: pack("tz", "place", place.key, pending.started_at),
        extra_rows=[[cancel]],
    )


async def _take_typed_place(
    update: Update, context: ContextTypes.DEFAULT_TYPE, person: Person, language: str, typed: str
) -> None:
    """Apply a typed IANA zone or city; otherwise say so, offer places and keep asking."""
    services = get_services(context)
    zone_name = canonical_timezone(typed)
    if zone_name is not None:
        await _apply(update, context, person, language, None, zone_name)
        return
    if "/" in typed:
        await reply(update, language, "timezone.unknown_zone", timezone=echo(typed))
        return
    place = find_place(typed)
    if place is not None:
        await _apply(update, context, person, language, place_name(place, language), place.timezone)
        return
    user_id = update.effective_user.id
    pending = await awaiting.current(services, user_id, PENDING_TIMEZONE)
    if pending is None:
        pending = await awaiting.expect(services, user_id, PENDING_TIMEZONE)
    await reply(
        update, language, "timezone.unknown", place=echo(typed),
        reply_markup=_places_markup(language, pending, suggest_places(typed) or popular_places()),
    )


async def _apply(
    update: Update, context: ContextTypes.DEFAULT_TYPE, person: Person, language: str,
    place: str | None, timezone: str,
) -> None:
    """Store the new zone (and a mobile member's place) and confirm with the local time."""
    services = get_services(context)
    db = services.db
    place_cleared = False
    async with transaction(db):
        await people.set_timezone(db, person.id, timezone)
        membership = await members.current_membership(db, person.id)
        if membership is not None and membership.category == Category.MOBILE:
            if place is not None:
                await members.set_place(db, membership.id, place)
            elif membership.place and not is_place_in_zone(membership.place, timezone):
                # A zone alone: the old city is no longer where the member is.
                await members.set_place(db, membership.id, None)
                place_cleared = True
        await awaiting.done(services, update.effective_user.id, PENDING_TIMEZONE)
    local_time = _local_now(services, timezone, language)
    words = _zone_words(services, timezone, language)
    text = (
        t(language, "timezone.set", place=place, timezone=words, local_time=local_time)
        if place is not None
        else t(language, "timezone.set_zone", timezone=words, local_time=local_time)
    )
    if place_cleared:
        text += "\n" + t(language, "timezone.place_cleared", place=membership.place)
    await update.effective_chat.send_message(text, reply_markup=ReplyKeyboardRemove())


async def on_city_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take typed text as the city (or IANA zone) /timezone asked for."""
    _, person, language = await _me(update, context)
    if person is not None:
        text = update.effective_message.text or ""
        await _take_typed_place(update, context, person, language, text)


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a shared location as the answer to /timezone; its zone is found offline."""
    services, person, language = await _me(update, context)
    if person is None or await drafts.get_draft(services.db, update.effective_user.id):
        # Registration (handlers.onboarding) owns locations while a draft is open.
        return
    location = update.effective_message.location
    timezone = await timezone_for_location_async(location.latitude, location.longitude)
    near = nearest_place(location.latitude, location.longitude)
    place = t(language, "timezone.near_place", place=place_name(near, language))
    await _apply(update, context, person, language, place, timezone)


async def on_timezone_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a picked place or the cancel button of the current /timezone question."""
    query = update.callback_query
    action, args = _pressed(update, "tz")
    services, person, language = await _me(update, context)
    pending = await awaiting.current(services, update.effective_user.id, PENDING_TIMEZONE)
    if person is None or pending is None or not args or args[-1] != str(pending.started_at):
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    place = place_by_key(args[0]) if action == "place" else None
    if action == "place" and place is None:
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    await query.answer()
    await query.edit_message_reply_markup(None)
    if place is not None:
        await _apply(update, context, person, language, place_name(place, language), place.timezone)
        return
    await awaiting.done(services, update.effective_user.id, PENDING_TIMEZONE)
    await update.effective_chat.send_message(
        t(language, "timezone.cancelled"), reply_markup=ReplyKeyboardRemove()
    )


# ---------------------------------------------------------------- /away

async def _active_membership(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Services, Person | None, Member | None, str]:
    services, person, language = await _me(update, context)
    membership = await members.current_membership(services.db, person.id) if person else None
    if membership is not None and membership.status != MemberStatus.ACTIVE:
        membership = None
    return services, person, membership, language


async def set_away(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Mark the member away until a date (excused, not missed), or end it with `off`."""
    services, person, membership, language = await _active_membership(update, context)
    if person is None or membership is None:
        await reply(update, language, "errors.not_member")
        return
    today = local_date(services.now_ts(), zone(_zone_name(services, person)))
    typed = " ".join(context.args or [])
    if not typed.strip():
        await _show_away(update, language, membership, today)
        return
    try:
        until = parse_away(typed, today)
    except InvalidInput as problem:
        await reply(update, language, problem.key, **problem.params)
        return
    await _store_away(update, services, language, membership, until.isoformat() if until else None)


async def _show_away(update: Update, language: str, membership: Member, today: date) -> None:
    away = is_away(membership.away_until, today)
    status = (
        t(language, "away.status_away", until=iso_day_label(language, membership.away_until))
        if away
        else t(language, "away.status_home")
    )
    buttons = [
        InlineKeyboardButton(t(language, "away.days_button", days=days),
                             callback_data=pack("away", "days", days))
        for days in AWAY_CHOICES
    ]
    rows = [buttons]
    if away:
        rows.append([InlineKeyboardButton(t(language, "away.off_button"),
                                          callback_data=pack("away", "off"))])
    text = "\n\n".join([status, t(language, "away.usage"), t(language, "away.pick")])
    await update.effective_chat.send_message(text, reply_markup=InlineKeyboardMarkup(rows))


async def _store_away(
    update: Update, services: Services, language: str, membership: Member, until: str | None
) -> None:
    if until is None and membership.away_until is None:
        await reply(update, language, "away.not_away")
        return
    await members.set_away(services.db, membership.id, until)
    if until is None:
        await reply(update, language, "away.off")
    else:
        await reply(update, language, "away.set", until=iso_day_label(language, until))


async def on_away_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a one-tap absence (7 / 30 / 90 days) or "I'm back"."""
    query = update.callback_query
    action, args = _pressed(update, "away")
    services, person, membership, language = await _active_membership(update, context)
    days = args[0] if action == "days" and args else None
    if (
        person is None or membership is None
        or (action == "days" and days not in {str(choice) for choice in AWAY_CHOICES})
        or action not in ("days", "off")
    ):
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    today = local_date(services.now_ts(), zone(_zone_name(services, person)))
    until = parse_away(days, today) if days is not None else None
    await query.answer()
    await query.edit_message_reply_markup(None)
    await _store_away(update, services, language, membership, until.isoformat() if until else None)


# ---------------------------------------------------------------- /leave

async def leave(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask the member to confirm leaving their branch."""
    services, person, language = await _me(update, context)
    membership = await members.current_membership(services.db, person.id) if person else None
    if membership is None:
        await reply(update, language, "errors.not_member")
        return
    branch = await units.get_unit(services.db, membership.branch_id)
    await reply(
        update, language, "leave.confirm", branch=branch.name,
        reply_markup=yes_no_keyboard(
            t(language, "leave.yes"), pack("leave", "yes", membership.id),
            t(language, "leave.no"), pack("leave", "no", membership.id),
        ),
    )


async def on_leave_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Leave the branch (✅) or stay (❌); an old or repeated press changes nothing."""
    query = update.callback_query
    action, args = _pressed(update, "leave")
    services, person, language = await _me(update, context)
    membership = await members.current_membership(services.db, person.id) if person else None
    if membership is None or not args or str(membership.id) != args[0]:
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    branch = await units.get_unit(services.db, membership.branch_id)
    if action != "yes":
        await query.answer()
        await query.edit_message_text(t(language, "leave.cancelled", branch=branch.name))
        return
    now = services.now_ts()
    async with transaction(services.db):
        ended = await members.end_membership(services.db, membership.id, MemberStatus.LEFT, now)
        if ended:
            # Nothing queued for them as a member may still go out.
            await outbox.cancel_for_person(
                services.db, membership.person_id, keep_kinds=LEADER_KINDS
            )
            await audit.record(
                services.db, at=now, actor=f"tg:{update.effective_user.id}",
                action="member.leave", subject=f"member:{membership.id}",
                detail=f"branch:{branch.id}",
            )
    if not ended:
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(t(language, "leave.done", branch=branch.name))
    await _tell_leaders(
        context, services, branch.id, "leave.told_secretary", name=person.name or ""
    )


async def _tell_leaders(
    context: ContextTypes.DEFAULT_TYPE, services: Services, branch_id: int, key: str, **params: str
) -> None:
    """Tell the branch's secretary (or, if it has none on Telegram, the nearest one above)."""
    branch = await units.get_unit(services.db, branch_id)
    for _, telegram_id, language in await roles.nearest_leaders(services.db, branch_id):
        lang = language or services.settings.general.default_language
        try:
            await send_to_person(context, telegram_id, t(lang, key, branch=branch.name, **params))
        except TelegramError:
            log.warning("could not tell a secretary that a member left", exc_info=True)


# ---------------------------------------------------------------- /forget

async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain what /forget deletes and keeps, and ask to confirm."""
    services, person, language = await _me(update, context)
    if person is None:
        await reply(update, language, "errors.not_member")
        return
    membership = await members.current_membership(services.db, person.id)
    membership_line = ""
    if membership is not None:
        branch = await units.get_unit(services.db, membership.branch_id)
        membership_line = t(language, "forget.membership_line", branch=branch.name)
    await reply(
        update, language, "forget.confirm", membership_line=raw(membership_line),
        reply_markup=yes_no_keyboard(
            t(language, "forget.yes"), pack("forget", "yes", person.id),
            t(language, "forget.no"), pack("forget", "no", person.id),
        ),
    )


async def on_forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erase the person's data (✅) or keep it (❌); records stay, without the name."""
    query = update.callback_query
    action, args = _pressed(update, "forget")
    services, person, language = await _me(update, context)
    user_id = update.effective_user.id
    if person is None or not args or str(person.id) != args[0]:
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    await query.answer()
    if action != "yes":
        await query.edit_message_text(t(language, "forget.cancelled"))
        return
    db = services.db
    now = services.now_ts()
    # Texts that stay (a digest still to be sent) name "(deleted)" instead;
    # whose language they are in is not known, so the branch default is used.
    erased = Erasure(
        person_id=person.id, telegram_id=user_id, name=person.name, now=now,
        placeholder=t(services.settings.general.default_language, "forget.erased_name"),
    )
    async with transaction(db):
        membership = await members.current_membership(db, person.id)
        if membership is not None:
            await members.end_membership(db, membership.id, MemberStatus.LEFT, now)
        # Every table, in one place (storage.repositories.erasure says what goes
        # and what stays, matching forget.confirm).
        await erasure.erase_person(db, erased)
        await audit.record(
            db, at=now, actor=f"person:{person.id}", action="person.forget",
            subject=f"person:{person.id}",
            detail=f"member:{membership.id}" if membership is not None else None,
        )
    await erasure.scrub_files(db)
    await query.edit_message_text(t(language, "forget.done"))
    if membership is not None:
        await _tell_leaders(
            context, services, membership.branch_id, "forget.told_secretary", name=person.name or ""
        )


# ---------------------------------------------------------------- wiring

def register(app: Application) -> None:
    """Add the self-service commands, their buttons, and the /timezone answers."""
    app.add_handler(CommandHandler("me", show_me))
    app.add_handler(CommandHandler("language", choose_language))
    app.add_handler(CommandHandler("timezone", change_timezone))
    app.add_handler(CommandHandler("away", set_away))
    app.add_handler(CommandHandler("leave", leave))
    app.add_handler(CommandHandler("forget", forget))
    app.add_handler(CallbackQueryHandler(on_language_button, pattern=pattern("lang")))
    app.add_handler(CallbackQueryHandler(on_timezone_button, pattern=pattern("tz")))
    app.add_handler(CallbackQueryHandler(on_away_button, pattern=pattern("away")))
    app.add_handler(CallbackQueryHandler(on_leave_button, pattern=pattern("leave")))
    app.add_handler(CallbackQueryHandler(on_forget_button, pattern=pattern("forget")))
    # Answers to /timezone.  Text: before onboarding's catch-all, which
    # register_all adds last; locations: after onboarding's (module docstring).
    awaiting.register(app)
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(AwaitedInputHandler(app, PENDING_TIMEZONE, text, on_city_text))
    app.add_handler(
        AwaitedInputHandler(app, PENDING_TIMEZONE, filters.LOCATION, on_location),
        group=LOCATION_GROUP,
    )

