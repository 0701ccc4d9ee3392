"""Members without Telegram: a secretary registers them, and they may claim the record later.

    /addmember [branch_key]  → [branch buttons] → name (typed) → category (buttons)
                             → [mobile: place, typed or buttons] → note (typed, or ⏭ skip)
                             → active member with no chat + a one-time claim link
    /offline [branch_key]    → the branch's members without Telegram → a member's entry
                             → 🔗 a new claim link (older links stop working)
    /start claim_<code>      → the registration consent text → ✅ attaches this Telegram
                               account to the record (history kept) · ❌ nothing stored

Such a member has people.telegram_id NULL and people.registered_at set (see
0010_offline_members.sql).  Nothing is ever sent to them: every planner skips
a person without a chat.  The secretary, or the helper paired with them (/pair),
records their study with /checkin; the record names who entered it, and the
digest lists them as "无 Telegram（由 X 代为登记）", not as unreachable.

The /addmember conversation is a `pending_inputs` row of kind "offline.add"
whose data (JSON) holds the answers so far, so it survives a restart; its
buttons carry the row's start stamp, so a button of an earlier attempt is
stale.  Every step checks again that the secretary may manage the branch.
Callback data (feature "om"):

    om:br:<branch>  om:cat:<category>:<stamp>  om:pl:<place key>:<stamp>  om:skip:<stamp>
    om:m:<member>   om:link:<member>           om:cy:<code>  om:cn:<code>
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.callback_data import INT, TEXT, decode, pack, parse_id, pattern
from bot.domain import joining
from bot.domain.free_text import clean_text, echo
from bot.domain.humane import day_label
from bot.domain.localtime import local_date, zone
from bot.domain.models import Category, Person, Unit
from bot.domain.permissions import Actor, can_manage_branch, is_leader
from bot.domain.places import Place, find_place, place_by_key, popular_places, suggest_places
from bot.domain.study import earliest_open_due
from bot.errors import InvalidInput
from bot.i18n import raw, t
from bot.routing import send_to_person
from bot.services import Services, get_services
from handlers import awaiting
from handlers.common import clear_buttons, load_actor, load_units, reply, user_language
from handlers.keyboards import (
    MAX_BUTTONS,
    button_grid,
    place_keyboard,
    place_name,
    yes_no_keyboard,
)
from handlers.privacy import who_sees_text
from handlers.scope import (
    branches_in_scope,
    load_leader,
    one_branch,
    secretary_words,
    typed_key,
)
from storage.db import transaction
from storage.repositories import audit, members, pending_inputs, people, roles, study, units
from storage.repositories import offline_members as repo
from storage.repositories.pending_inputs import PendingInput

__all__ = ["CLAIM_PREFIX", "me_lines", "register"]

log = logging.getLogger(__name__)

FEATURE = "om"
KIND = "offline.add"
CLAIM_PREFIX = "claim_"
CLAIM_DAYS = 30  # a claim link works this long, once
NOTE_MAX = 100
PICK_LIMIT = 24

WORDS = secretary_words("offline.pick_branch")


class _Refused(Exception):
    """Rolls a claim back: the code or the record changed while the member read the consent."""


# ---------------------------------------------------------------- /addmember


async def cmd_addmember(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Register a member who has no Telegram: `/addmember [branch_key]`."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    branch = await _branch(update, context, actor, "br")
    if branch is not None:
        await _begin(update, context, actor, branch)


async def _branch(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, action: str
) -> Unit | None:
    branches = await branches_in_scope(
        update, actor, await load_units(context), typed_key(context), WORDS
    )
    if branches is None:
        return None
    return await one_branch(
        update, actor.language, branches, WORDS, limit=PICK_LIMIT, command=action,
        callback=lambda branch: pack(FEATURE, action, branch.id),
    )


async def _begin(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, branch: Unit
) -> None:
    services = get_services(context)
    draft = json.dumps({"b": branch.id, "s": "name"})
    await awaiting.expect(services, actor.telegram_id, KIND, draft)
    await reply(update, actor.language, "offline.ask_name", branch=branch.name)


def _data(pending: PendingInput) -> dict[str, object]:
    try:
        data = json.loads(pending.data or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def _save(services: Services, pending: PendingInput, data: dict[str, object]) -> None:
    # Same kind and stamp: the buttons already shown stay valid for the next step.
    await pending_inputs.set_pending(
        services.db, PendingInput(pending.telegram_id, KIND, pending.started_at, json.dumps(data))
    )


async def _managed_branch(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, data: dict[str, object]
) -> Unit | None:
    """Return the draft's branch if the actor still manages it, else None (caller refuses)."""
    branch_id = data.get("b")
    if not isinstance(branch_id, int):
        return None
    all_units = await load_units(context)
    if not can_manage_branch(actor, branch_id, all_units):
        return None
    return next((unit for unit in all_units if unit.id == branch_id), None)


async def _ask(
    update: Update, language: str, pending: PendingInput, data: dict[str, object]
) -> None:
    """Ask the question of the draft's current step."""
    chat = update.effective_chat
    stamp = pending.started_at
    step = data.get("s")
    if step == "name":
        await chat.send_message(t(language, "offline.ask_name_again"))
    elif step == "cat":
        buttons = [
            [InlineKeyboardButton(t(language, f"category.{category.value}"),
                                  callback_data=pack(FEATURE, "cat", category.value, stamp))]
            for category in Category
        ]
        await chat.send_message(
            t(language, "offline.ask_category", name=str(data.get("n", ""))),
            reply_markup=InlineKeyboardMarkup(buttons),
        )
    elif step == "place":
        await chat.send_message(
            t(language, "offline.ask_place"),
            reply_markup=_places(language, stamp, popular_places()),
        )
    elif step == "note":
        await chat.send_message(
            t(language, "offline.ask_note"),
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton(t(language, "offline.skip_note"),
                                       callback_data=pack(FEATURE, "skip", stamp))]]
            ),
        )


def _places(language: str, stamp: int, places: Sequence[Place]) -> InlineKeyboardMarkup:
    return place_keyboard(language, places, lambda place: pack(FEATURE, "pl", place.key, stamp))


async def typed_answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Take the typed name, place or note of a registration in progress."""
    services = get_services(context)
    actor = await load_actor(update, context)
    data = _data(pending)
    if await _managed_branch(update, context, actor, data) is None:
        await awaiting.done(services, actor.telegram_id, KIND)
        await reply(update, actor.language, "errors.not_your_branch")
        return
    step = data.get("s")
    if step == "name":
        try:
            data["n"] = joining.clean_name(text)
        except InvalidInput as problem:
            await reply(update, actor.language, problem.key, **problem.params)
            return
        data["s"] = "cat"
    elif step == "place":
        place = find_place(text)
        if place is None:
            suggestions = suggest_places(text) or popular_places()
            await reply(update, actor.language, "join.place_unknown", place=echo(text),
                        reply_markup=_places(actor.language, pending.started_at, suggestions))
            return
        data.update(p=place_name(place, actor.language), z=place.timezone, s="note")
    elif step == "note":
        note = clean_text(text)
        if len(note) > NOTE_MAX:
            await reply(update, actor.language, "offline.note_too_long", limit=NOTE_MAX)
            return
        await _finish(update, context, actor, pending, data, note or None)
        return
    else:
        await reply(update, actor.language, "join.use_buttons")
    await _save(services, pending, data)
    await _ask(update, actor.language, pending, data)


async def _button_step(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, action: str,
    args: list[str],
) -> None:
    """Take a category, place or skip button of the registration in progress."""
    services = get_services(context)
    query = update.callback_query
    pending = await awaiting.current(services, actor.telegram_id, KIND)
    data = _data(pending) if pending is not None else {}
    wanted = {"cat": "cat", "pl": "place", "skip": "note"}[action]
    fresh = pending is not None and bool(args) and args[-1] == str(pending.started_at)
    if not fresh or data.get("s") != wanted:
        await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
        return
    if await _managed_branch(update, context, actor, data) is None:
        await query.answer(t(actor.language, "errors.not_your_branch"), show_alert=True)
        return
    if action == "cat":
        if args[0] not in {c.value for c in Category}:
            await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
            return
        data["c"] = args[0]
        data["s"] = "place" if args[0] == Category.MOBILE else "note"
        await query.answer()
        await query.edit_message_text(t(actor.language, "join.category_chosen",
                                        category=t(actor.language, f"category.{args[0]}")))
    elif action == "pl":
        place = place_by_key(args[0]) if len(args) == 2 else None
        if place is None:
            await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)
            return
        data.update(p=place_name(place, actor.language), z=place.timezone, s="note")
        await query.answer()
        await clear_buttons(update)
    else:
        await query.answer()
        await clear_buttons(update)
        await _finish(update, context, actor, pending, data, None)
        return
    await _save(services, pending, data)
    await _ask(update, actor.language, pending, data)


async def _finish(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, pending: PendingInput,
    data: dict[str, object], note: str | None,
) -> None:
    """Store the member (active, no chat), a claim link, the audit; show both to the secretary."""
    services = get_services(context)
    branch = await _managed_branch(update, context, actor, data)
    name, category = data.get("n"), data.get("c")
    if branch is None or not isinstance(name, str) or category not in {c.value for c in Category}:
        await awaiting.done(services, actor.telegram_id, KIND)
        await reply(update, actor.language, "errors.stale_button")
        return
    now = services.now_ts()
    place = data.get("p") if category == Category.MOBILE else None
    tz = data.get("z") if category == Category.MOBILE else None
    async with transaction(services.db):
        member = await repo.register_offline(
            services.db, name=name, branch_id=branch.id, category=Category(category),
            place=place if isinstance(place, str) else None,
            timezone=tz if isinstance(tz, str) else None, note=note,
            registered_by=actor.person_id, language=None, now=now,
        )
        await audit.record(
            services.db, at=now, actor=f"tg:{actor.telegram_id}",
            action="member.register_offline", subject=f"member:{member.id}",
            detail={"branch": branch.key, "category": category},
        )
        claim = await _new_claim(services, actor, member.person_id, member.id, now)
        await awaiting.done(services, actor.telegram_id, KIND)
    language = actor.language
    note_line = t(language, "offline.note_line", note=note) if note else ""
    place_line = t(language, "offline.place_line", place=place) if place else ""
    await reply(
        update, language, "offline.registered", name=name, branch=branch.name,
        category=t(language, f"category.{category}"), place_line=raw(place_line),
        note_line=raw(note_line), who=actor.name or "",
    )
    await _send_link(update, context, language, name, claim)


async def _new_claim(
    services: Services, actor: Actor, person_id: int, member_id: int, now: int
) -> repo.Claim:
    claim = await repo.new_claim(
        services.db, person_id=person_id, code=joining.new_code(12), created_by=actor.person_id,
        now=now, expires_at=now + CLAIM_DAYS * 86400,
    )
    await audit.record(
        services.db, at=now, actor=f"tg:{actor.telegram_id}", action="member.claim_link",
        subject=f"member:{member_id}",
    )
    return claim


async def _send_link(
    update: Update, context: ContextTypes.DEFAULT_TYPE, language: str, name: str,
    claim: repo.Claim,
) -> None:
    services = get_services(context)
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    tz = zone(person.timezone if person else None, services.settings.general.default_timezone)
    await reply(
        update, language, "offline.claim_link", name=name, days=CLAIM_DAYS,
        link=f"https://t.me/{context.bot.username}?start={CLAIM_PREFIX}{claim.code}",
        expires=day_label(language, local_date(claim.expires_at, tz)),
    )


# ---------------------------------------------------------------- /offline and a member's entry


async def cmd_offline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the members without Telegram of the branches I lead, each a button to their entry."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    branches = await branches_in_scope(
        update, actor, await load_units(context), typed_key(context), WORDS
    )
    if branches is None:
        return
    found = await repo.list_offline(get_services(context).db, [b.id for b in branches])
    if not found:
        await reply(update, actor.language, "offline.none")
        return
    buttons = [
        InlineKeyboardButton(row.name or t(actor.language, "members.no_name"),
                             callback_data=pack(FEATURE, "m", row.member.id))
        for row in found[:MAX_BUTTONS]
    ]
    await reply(update, actor.language, "offline.list", count=len(found),
                reply_markup=InlineKeyboardMarkup(button_grid(buttons)))


async def _offline_in_scope(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, raw_id: str
) -> repo.OfflineMember | None:
    """Return the member without Telegram the button names, if the actor manages their branch."""
    query = update.callback_query
    member_id = parse_id(raw_id)
    found = (
        None if member_id is None
        else await repo.offline_member(get_services(context).db, member_id)
    )
    # Permission first, and the same refusal whatever exists (no probing member ids).
    if found is None or not can_manage_branch(actor, found.member.branch_id,
                                              await load_units(context)):
        await query.answer(t(actor.language, "errors.not_your_branch"), show_alert=True)
        return None
    return found


async def _entry(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, raw_id: str
) -> None:
    found = await _offline_in_scope(update, context, actor, raw_id)
    if found is None:
        return
    services = get_services(context)
    language = actor.language
    branch = await units.get_unit(services.db, found.member.branch_id)
    studied, excused, _behalf = await repo.study_history(services.db, found.member.person_id)
    lines = [
        t(language, "offline.entry", name=found.name or "", branch=branch.name if branch else "",
          category=t(language, f"category.{found.member.category}")),
        t(language, "offline.marker", who=found.registered_by or t(language, "members.no_name")),
    ]
    if found.member.place:
        lines.append(t(language, "offline.place_line", place=found.member.place).strip())
    if found.note:
        lines.append(t(language, "offline.note_line", note=found.note).strip())
    lines.append(t(language, "offline.history", studied=studied, excused=excused))
    await update.callback_query.answer()
    await reply(
        update, language, "offline.entry_wrap", text=raw("\n".join(lines)),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
            t(language, "offline.link_button"),
            callback_data=pack(FEATURE, "link", found.member.id),
        )]]),
    )


async def _link(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, raw_id: str
) -> None:
    found = await _offline_in_scope(update, context, actor, raw_id)
    if found is None:
        return
    services = get_services(context)
    async with transaction(services.db):
        claim = await _new_claim(services, actor, found.member.person_id, found.member.id,
                                 services.now_ts())
    await update.callback_query.answer()
    await _send_link(update, context, actor.language, found.name or "", claim)


# ---------------------------------------------------------------- claiming


async def _claim_problem(
    services: Services, claim: repo.Claim | None, now: int
) -> str | None:
    """Return why this code cannot claim a record now (catalogue suffix), or None."""
    if claim is None:
        return "unknown"
    if claim.used_at is not None:
        return "used"
    if claim.revoked_at is not None:
        return "revoked"
    if claim.expires_at <= now:
        return "expired"
    person = await people.get_person(services.db, claim.person_id)
    membership = await members.current_membership(services.db, claim.person_id)
    if person is None or person.telegram_id is not None or membership is None \
            or membership.status != "active":
        return "gone"
    return None


async def _already_registered(services: Services, person: Person | None) -> bool:
    """Tell whether this Telegram account is already someone in the bot (member or leader)."""
    if person is None:
        return False
    if await members.current_membership(services.db, person.id) is not None:
        return True
    return bool(await roles.led_unit_ids(services.db, person.id))


async def start_claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open a personal claim link: show the record and the consent question; store nothing yet."""
    services = get_services(context)
    code = (context.args or [""])[0][len(CLAIM_PREFIX):]
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    language = user_language(update, services, person.language if person else None)
    claim = await repo.get_claim(services.db, code)
    problem = await _claim_problem(services, claim, services.now_ts())
    if problem is not None:
        await reply(update, language, f"offline.claim_{problem}")
        return
    if await _already_registered(services, person):
        await reply(update, language, "offline.claim_already_member")
        return
    record = await people.get_person(services.db, claim.person_id)
    membership = await members.current_membership(services.db, claim.person_id)
    branch = await units.get_unit(services.db, membership.branch_id)
    place_line = (
        t(language, "join.consent_place", place=membership.place or "",
          timezone=record.timezone or "")
        if membership.category == Category.MOBILE else ""
    )
    await reply(update, language, "offline.claim_intro", branch=branch.name if branch else "")
    await reply(
        update, language, "join.consent", name=record.name or "",
        category=t(language, f"category.{membership.category}"), place_line=raw(place_line),
        who=raw(who_sees_text(language)),
        reply_markup=yes_no_keyboard(
            t(language, "join.consent_yes"), pack(FEATURE, "cy", code),
            t(language, "join.consent_no"), pack(FEATURE, "cn", code),
        ),
    )


async def _claim_answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, agree: bool, code: str
) -> None:
    services = get_services(context)
    query = update.callback_query
    user = update.effective_user
    person = await people.get_person_by_telegram(services.db, user.id)
    language = user_language(update, services, person.language if person else None)
    if not agree:
        await query.answer(t(language, "offline.claim_declined"))
        await clear_buttons(update)
        await reply(update, language, "offline.claim_declined")
        return
    now = services.now_ts()
    claim = await repo.get_claim(services.db, code)
    try:
        async with transaction(services.db):
            problem = await _claim_problem(services, claim, now)
            if problem is not None:
                raise _Refused(f"offline.claim_{problem}")
            person = await people.get_person_by_telegram(services.db, user.id)
            if await _already_registered(services, person):
                raise _Refused("offline.claim_already_member")
            if person is not None:
                # A bare profile (an earlier /start, a member who left): the claimed
                # record is who they are now; the bare row keeps its history, unnamed.
                await repo.detach_telegram(services.db, user.id)
            if not await repo.use_claim(services.db, claim, telegram_id=user.id,
                                        language=language, now=now):
                raise _Refused("offline.claim_used")
            membership = await members.current_membership(services.db, claim.person_id)
            # Study items still open were closed for her while she had no chat:
            # from now on she is reminded of them like everyone else.
            await study.reopen_for_member(
                services.db, membership.id,
                min_due=earliest_open_due(services.clock.now()).isoformat())
            await audit.record(
                services.db, at=now, actor=f"tg:{user.id}", action="member.claim",
                subject=f"member:{membership.id}",
            )
    except _Refused as refusal:
        # The alert says why at once; the message keeps it in the chat.
        await query.answer(t(language, str(refusal)), show_alert=True)
        await clear_buttons(update)
        await reply(update, language, str(refusal))
        return
    await query.answer()
    await clear_buttons(update)
    branch = await units.get_unit(services.db, membership.branch_id)
    record = await people.get_person(services.db, claim.person_id)
    await reply(update, language, "offline.claimed", name=record.name or "",
                branch=branch.name if branch else "")
    # An elderly record gets its big buttons now, as on approval (its category is unchanged).
    from handlers.elderly_keyboard import send_keyboard  # imports study and pledges handlers

    await send_keyboard(context, services, record, membership.category)
    await _tell_registrar(context, services, claim, record.name or "")


async def _tell_registrar(
    context: ContextTypes.DEFAULT_TYPE, services: Services, claim: repo.Claim, name: str
) -> None:
    """Let whoever made the link know it was used (a reply to their own action, not planned)."""
    registrar = await people.get_person(services.db, claim.created_by) if claim.created_by \
        else None
    if registrar is None or registrar.telegram_id is None:
        return
    language = registrar.language or services.settings.general.default_language
    try:
        await send_to_person(
            context, registrar.telegram_id, t(language, "offline.claimed_notice", name=name)
        )
    except TelegramError:
        log.info("could not tell the registrar about a claim", exc_info=True)


# ---------------------------------------------------------------- /me


async def me_lines(services: Services, language: str, person: Person) -> list[str]:
    """Return /me's lines about a record someone else registered: by whom, and its history."""
    registration = await repo.registration_of(services.db, person.id)
    if registration is None:
        return []
    by_name, registered_at, claimed_at = registration
    tz = zone(person.timezone, services.settings.general.default_timezone)
    lines = [t(language, "offline.me_registered", who=by_name or t(language, "members.no_name"),
               date=day_label(language, local_date(registered_at, tz)))]
    if claimed_at is not None:
        lines.append(t(language, "offline.me_claimed",
                       date=day_label(language, local_date(claimed_at, tz))))
    studied, excused, behalf = await repo.study_history(services.db, person.id)
    lines.append(t(language, "offline.me_history", studied=studied, excused=excused,
                   behalf=behalf))
    return lines


# ---------------------------------------------------------------- buttons and wiring


_SHAPES = {
    "cy": (TEXT,), "cn": (TEXT,), "br": (INT,), "m": (INT,), "link": (INT,),
    "cat": (frozenset(c.value for c in Category), INT), "pl": (TEXT, INT), "skip": (INT,),
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route an `om:` button; permission is checked again on every press."""
    query = update.callback_query
    # Any data may arrive here: decode by shape (errors.py answers MalformedButton).
    pressed = decode(query.data, FEATURE, _SHAPES)
    action, args = pressed.action, pressed.args
    if action in ("cy", "cn"):
        await _claim_answer(update, context, action == "cy", args[0])
        return
    actor = await load_actor(update, context)
    if not is_leader(actor):
        await query.answer(t(actor.language, "errors.not_secretary"), show_alert=True)
        return
    if action == "br":
        all_units = await load_units(context)
        branch = next((u for u in all_units if u.id == int(args[0])), None)
        if branch is None or not can_manage_branch(actor, branch.id, all_units):
            await query.answer(t(actor.language, "errors.not_your_branch"), show_alert=True)
            return
        await query.answer()
        await query.edit_message_text(t(actor.language, "secretary.picked", branch=branch.name))
        await _begin(update, context, actor, branch)
    elif action in ("cat", "pl", "skip"):
        await _button_step(update, context, actor, action, args)
    elif action == "m":
        await _entry(update, context, actor, args[0])
    elif action == "link":
        await _link(update, context, actor, args[0])
    else:
        await query.answer(t(actor.language, "errors.stale_button"), show_alert=True)


def register(app: Application) -> None:
    """Add /addmember, /offline, /start claim_<code>, the typed answers and the buttons."""
    # Order matters: /start claim_… must be tried before onboarding's /start <code>,
    # which would take the claim code for an invite code.
    app.add_handler(CommandHandler(
        "start", start_claim, filters=filters.Regex(rf"^/start\s+{CLAIM_PREFIX}\S")
    ))
    app.add_handler(CommandHandler("addmember", cmd_addmember))
    app.add_handler(CommandHandler("offline", cmd_offline))
    awaiting.register(app)
    app.add_handler(awaiting.typed_answers(app, {KIND: typed_answer}))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
