"""Joining a branch: the registration conversation and the secretary's approval.

    /start <code>  →  ASKING name → category (buttons) → [mobile: place] → consent
                   →  pending  →  secretary presses ✅ / ❌  →  member is told

The conversation's state is a row in `registration_drafts`, not memory, so a
member halfway through continues where they were after the bot restarts.
Buttons carry the draft's start stamp, so a button from an earlier attempt
is recognised as stale and changes nothing.
"""

from __future__ import annotations

import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.callback_data import INT, TEXT, decode, pack, pattern
from bot.domain import joining
from bot.domain.free_text import echo
from bot.domain.humane import zone_label
from bot.domain.joining import InviteProblem, Step
from bot.domain.models import Category, Member, Person
from bot.domain.permissions import can_manage_branch
from bot.domain.places import (
    Place,
    find_place,
    nearest_place,
    place_by_key,
    popular_places,
    suggest_places,
    timezone_for_location_async,
)
from bot.errors import InvalidInput
from bot.i18n import raw, t
from bot.routing import send_to_person
from bot.services import Services, get_services
from handlers.basics import publish_menu
from handlers.common import load_actor, load_units, reply, user_language
from handlers.keyboards import (
    approval_keyboard,
    join_request_text,
    location_keyboard,
    place_keyboard,
    place_name,
    yes_no_keyboard,
)
from handlers.privacy import who_sees_text
from storage.db import transaction
from storage.repositories import audit, drafts, invites, members, people, roles, units
from storage.repositories.drafts import Draft

__all__ = ["register", "register_text"]

log = logging.getLogger(__name__)

FEATURE = "join"
SECRETARY_CLAIM_PREFIX = "sec_"


# ---------------------------------------------------------------- keyboards


def _category_keyboard(language: str, draft: Draft) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, f"category.{category.value}"),
                    callback_data=pack(FEATURE, "cat", category.value, draft.started_at),
                )
            ]
            for category in Category
        ]
    )


def _place_keyboard(language: str, draft: Draft, places: list[Place]) -> InlineKeyboardMarkup:
    """Return place buttons that carry the draft's stamp (an older attempt's are stale)."""
    return place_keyboard(
        language, places, lambda place: pack(FEATURE, "place", place.key, draft.started_at)
    )


# ---------------------------------------------------------------- asking


async def _ask(update: Update, language: str, draft: Draft) -> None:
    """Ask the question of the draft's current step."""
    chat = update.effective_chat
    if draft.step == Step.NAME:
        await chat.send_message(t(language, "join.ask_name"))
    elif draft.step == Step.CATEGORY:
        await chat.send_message(
            t(language, "join.ask_category", name=draft.name),
            reply_markup=_category_keyboard(language, draft),
        )
    elif draft.step == Step.PLACE:
        await chat.send_message(
            t(language, "join.ask_place"),
            reply_markup=location_keyboard(t(language, "join.share_location")),
        )
        await chat.send_message(
            t(language, "join.pick_place"),
            reply_markup=_place_keyboard(language, draft, popular_places()),
        )
    elif draft.step == Step.CONSENT:
        await chat.send_message(
            t(language, "join.consent", **_consent_params(language, draft)),
            reply_markup=yes_no_keyboard(
                t(language, "join.consent_yes"),
                pack(FEATURE, "consent", "yes", draft.started_at),
                t(language, "join.consent_no"),
                pack(FEATURE, "consent", "no", draft.started_at),
            ),
        )


def _consent_params(language: str, draft: Draft) -> dict[str, str]:
    place_line = (
        t(language, "join.consent_place", place=draft.place or "",
          # The draft's start is minutes ago: close enough to tell summer from winter time.
          timezone=zone_label(language, draft.timezone, draft.started_at))
        if draft.category == Category.MOBILE
        else ""
    )
    return {
        "name": draft.name or "",
        "category": t(language, f"category.{draft.category}"),
        "place_line": raw(place_line),
        # The same who-sees-what block as /me, read off bot.domain.visibility.
        "who": raw(who_sees_text(language)),
    }


# ---------------------------------------------------------------- starting


async def _invite_refusal(update: Update, language: str, problem: InviteProblem) -> None:
    await reply(update, language, f"join.code_{problem.value}")


async def start_with_code(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open registration (or a secretary appointment) from a deep-link code."""
    code = context.args[0] if context.args else ""
    if code.startswith(SECRETARY_CLAIM_PREFIX):
        await _claim_secretary(update, context, code)
        return
    await _begin_registration(update, context, code)


async def _begin_registration(
    update: Update, context: ContextTypes.DEFAULT_TYPE, code: str
) -> None:
    services = get_services(context)
    user = update.effective_user
    person = await people.get_person_by_telegram(services.db, user.id)
    language = user_language(update, services, person.language if person else None)
    now = services.now_ts()

    invite = await invites.get_invite(services.db, code)
    problem = joining.invite_problem(invite, now)
    if problem is not None:
        await _invite_refusal(update, language, problem)
        return
    if person is not None:
        existing = await members.current_membership(services.db, person.id)
        if existing is not None:
            await _refuse_second_membership(update, context, language, existing, invite.branch_id)
            return
    draft = Draft(
        telegram_id=user.id,
        invite_code=code,
        started_at=now,
        step=Step.NAME,
        language=language,
    )
    await drafts.save_draft(services.db, draft, now)
    branch = await units.get_unit(services.db, invite.branch_id)
    await reply(update, language, "join.welcome", branch=branch.name)
    await _ask(update, language, draft)


async def _refuse_second_membership(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    language: str,
    existing: Member,
    wanted_branch_id: int,
) -> None:
    services = get_services(context)
    branch = await units.get_unit(services.db, existing.branch_id)
    if existing.branch_id == wanted_branch_id:
        key = "join.already_member" if existing.status == "active" else "join.already_pending"
    else:
        key = "join.member_elsewhere" if existing.status == "active" else "join.pending_elsewhere"
    await reply(update, language, key, branch=branch.name)


# ---------------------------------------------------------------- answers


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take typed text: the awaited answer of a registration, or a code from a stranger."""
    services = get_services(context)
    user = update.effective_user
    draft = await drafts.get_draft(services.db, user.id)
    text = update.effective_message.text or ""
    if await _is_usable_code(services, text):
        # A valid invite code starts (or restarts) registration whatever came
        # before: no name or city is ever spelt like a live code.
        await _begin_registration(update, context, text.strip())
        return
    if draft is None:
        await _text_without_draft(update, context, text)
        return
    language = draft.language or user_language(update, services)
    if draft.step == Step.NAME:
        try:
            name = joining.clean_name(text)
        except InvalidInput as problem:
            await reply(update, language, problem.key, **problem.params)
            await _ask(update, language, draft)
            return
        draft = draft.moved_to(Step.CATEGORY, name=name)
        await drafts.save_draft(services.db, draft, services.now_ts())
        await _ask(update, language, draft)
    elif draft.step == Step.PLACE:
        await _answer_place_text(update, context, draft, language, text)
    else:
        # Category and consent are buttons; say so and show them again.
        await reply(update, language, "join.use_buttons")
        await _ask(update, language, draft)


async def _text_without_draft(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str
) -> None:
    """A stranger may type the invite code after a bare /start; others get a pointer."""
    services = get_services(context)
    user = update.effective_user
    person = await people.get_person_by_telegram(services.db, user.id)
    candidate = text.strip()
    if _looks_like_code(candidate) and await _is_unattached(services, person):
        await _begin_registration(update, context, candidate)
        return
    language = user_language(update, services, person.language if person else None)
    await reply(update, language, "errors.unexpected_text")


async def _is_unattached(services: Services, person: Person | None) -> bool:
    """Tell whether the user has no branch and no role, so one typed word may be a code.

    Someone the bot knows only from an earlier attempt (e.g. a person row made
    before this check existed) is told a wrong code is wrong, like a stranger.
    """
    if person is None:
        return True
    if await members.current_membership(services.db, person.id) is not None:
        return False
    return not await roles.led_unit_ids(services.db, person.id)


def _looks_like_code(text: str) -> bool:
    """Tell whether typed text could be an invite code: one short word."""
    return bool(text) and " " not in text and len(text) <= 64


async def _is_usable_code(services: Services, text: str) -> bool:
    """Tell whether typed text is an invite code that may be used now."""
    candidate = text.strip()
    if not _looks_like_code(candidate):
        return False
    invite = await invites.get_invite(services.db, candidate)
    return invite is not None and joining.invite_problem(invite, services.now_ts()) is None


async def _answer_place_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft, language: str, text: str
) -> None:
    place = find_place(text)
    if place is None:
        suggestions = suggest_places(text) or popular_places()
        await reply(
            update,
            language,
            "join.place_unknown",
            place=echo(text),
            reply_markup=_place_keyboard(language, draft, suggestions),
        )
        return
    await _set_place(update, context, draft, language, place_name(place, language), place.timezone)


async def _set_place(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    draft: Draft,
    language: str,
    place_name: str,
    timezone: str,
) -> None:
    services = get_services(context)
    draft = draft.moved_to(Step.CONSENT, place=place_name, timezone=timezone)
    await drafts.save_draft(services.db, draft, services.now_ts())
    await update.effective_chat.send_message(
        t(language, "join.place_set", place=place_name,
          timezone=zone_label(language, timezone, services.now_ts())),
        reply_markup=ReplyKeyboardRemove(),
    )
    await _ask(update, language, draft)


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a shared location as a mobile member's place; its time zone is found offline."""
    services = get_services(context)
    draft = await drafts.get_draft(services.db, update.effective_user.id)
    if draft is None or draft.step != Step.PLACE:
        # Outside registration a location belongs to other features (whereabouts, /timezone).
        return
    language = draft.language or user_language(update, services)
    location = update.effective_message.location
    timezone = await timezone_for_location_async(location.latitude, location.longitude)
    near = nearest_place(location.latitude, location.longitude)
    near_name = t(language, "join.near_place", place=place_name(near, language))
    await _set_place(update, context, draft, language, near_name, timezone)


# What each action's args must look like; anything else is answered as a stale
# button (bot.callback_data.decode → handlers.errors) before a handler runs.
_SHAPES = {
    "ok": (INT,),
    "no": (INT,),
    "cat": (frozenset(Category), INT),
    "place": (TEXT, INT),
    "consent": (frozenset({"yes", "no"}), INT),
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a registration or approval button."""
    query = update.callback_query
    pressed = decode(query.data, FEATURE, _SHAPES)
    action, args = pressed.action, pressed.args
    if action in ("ok", "no"):
        await _decide(update, context, approve=action == "ok", member_id=int(args[0]))
        return
    services = get_services(context)
    draft = await drafts.get_draft(services.db, update.effective_user.id)
    language = (draft.language if draft else None) or user_language(update, services)
    expected_step = {"cat": Step.CATEGORY, "place": Step.PLACE, "consent": Step.CONSENT}.get(action)
    if draft is None or str(draft.started_at) != args[-1] or draft.step != expected_step:
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    await query.answer()
    if action == "cat":
        category = Category(args[0])
        draft = draft.moved_to(joining.step_after_category(category), category=category.value)
        await drafts.save_draft(services.db, draft, services.now_ts())
        await query.edit_message_text(
            t(language, "join.category_chosen", category=t(language, f"category.{category.value}"))
        )
        await _ask(update, language, draft)
    elif action == "place":
        place = place_by_key(args[0])
        if place is None:
            await query.answer(t(language, "errors.stale_button"), show_alert=True)
            return
        await query.edit_message_reply_markup(None)
        await _set_place(
            update, context, draft, language, place_name(place, language), place.timezone
        )
    elif action == "consent":
        await query.edit_message_reply_markup(None)
        if args[0] == "yes":
            await _submit(update, context, draft, language)
        else:
            await drafts.delete_draft(services.db, draft.telegram_id)
            await reply(update, language, "join.consent_declined")


# ---------------------------------------------------------------- submitting


async def _submit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft, language: str
) -> None:
    """Turn the finished draft into a pending membership and ask the secretary."""
    services = get_services(context)
    now = services.now_ts()
    db = services.db
    refusal: str | None = None
    member: Member | None = None
    async with transaction(db):
        invite = await invites.get_invite(db, draft.invite_code)
        problem = joining.invite_problem(invite, now)
        if problem is not None or not await invites.count_use(db, invite.id):
            refusal = f"join.code_{(problem or InviteProblem.USED_UP).value}"
        else:
            branch = await units.get_unit(db, invite.branch_id)
            timezone = (
                draft.timezone or branch.timezone or services.settings.general.default_timezone
            )
            person = await people.ensure_person(
                db,
                telegram_id=draft.telegram_id,
                now=now,
                name=draft.name,
                language=language,
                timezone=timezone,
                # Registering through a bot makes it the member's bot (`[[bots]]`).
                bot=services.bot_name,
            )
            if await members.current_membership(db, person.id) is not None:
                refusal = "join.already_pending"
            else:
                member = await members.add_member(
                    db,
                    person_id=person.id,
                    branch_id=branch.id,
                    category=Category(draft.category),
                    place=draft.place,
                    invite_id=invite.id,
                    now=now,
                )
                await audit.record(
                    db,
                    at=now,
                    actor=f"tg:{draft.telegram_id}",
                    action="member.request",
                    subject=f"member:{member.id}",
                    detail=f"branch:{branch.id}",
                )
        await drafts.delete_draft(db, draft.telegram_id)
    if refusal is not None or member is None:
        await reply(update, language, refusal or "errors.generic")
        return
    branch = await units.get_unit(db, member.branch_id)
    await reply(update, language, "join.submitted", branch=branch.name)
    await _notify_approvers(context, services, member, draft)


async def _notify_approvers(
    context: ContextTypes.DEFAULT_TYPE, services: Services, member: Member, draft: Draft
) -> None:
    """Send the join request to the branch's secretary, else to leaders above, else admins."""
    recipients = await _approvers(services, member.branch_id)
    branch = await units.get_unit(services.db, member.branch_id)
    for telegram_id, language in recipients:
        lang = language or services.settings.general.default_language
        text = join_request_text(
            lang, name=draft.name or "", branch=branch.name, category=draft.category or "",
            place=draft.place, timezone=draft.timezone, at=services.now_ts(),
        )
        try:
            await send_to_person(
                context, telegram_id, text, reply_markup=approval_keyboard(lang, member.id)
            )
        except Forbidden:
            log.warning("approver %s has blocked the bot", telegram_id)
        except TelegramError:
            log.warning("could not send a join request to an approver", exc_info=True)


async def _approvers(services: Services, branch_id: int) -> list[tuple[int, str | None]]:
    leaders = await roles.nearest_leaders(services.db, branch_id)
    if leaders:
        return [(telegram_id, language) for _, telegram_id, language in leaders]
    return [(admin, None) for admin in services.settings.general.admins]


async def _decide(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, approve: bool, member_id: int
) -> None:
    """Approve or reject a join request, once, by someone who leads the branch."""
    services = get_services(context)
    query = update.callback_query
    actor = await load_actor(update, context)
    member = await members.get_member(services.db, member_id)
    # Permission first, with one answer whether the request exists or not, and
    # before "already decided" (which would tell a stranger who asked to join).
    if member is None or not can_manage_branch(actor, member.branch_id, await load_units(context)):
        await query.answer(t(actor.language, "errors.button_not_allowed"), show_alert=True)
        return
    now = services.now_ts()
    async with transaction(services.db):
        decided = await members.decide_member(
            services.db, member_id, approve=approve, decided_by=actor.person_id, now=now
        )
        if decided:
            await audit.record(
                services.db,
                at=now,
                actor=f"tg:{actor.telegram_id}",
                action="member.approve" if approve else "member.reject",
                subject=f"member:{member_id}",
            )
    if not decided:
        current = await members.get_member(services.db, member_id)
        await query.answer(
            t(
                actor.language,
                "join.already_decided",
                status=t(actor.language, f"status.{current.status}"),
            ),
            show_alert=True,
        )
        return
    await query.answer()
    person = await people.get_person(services.db, member.person_id)
    branch = await units.get_unit(services.db, member.branch_id)
    verdict = "join.approved_by" if approve else "join.rejected_by"
    await query.edit_message_text(
        query.message.text_html
        + "\n\n"
        + t(actor.language, verdict, who=actor.name or update.effective_user.first_name),
        reply_markup=None,
    )
    if person is not None and person.telegram_id is not None:
        language = person.language or services.settings.general.default_language
        key = "join.welcome_approved" if approve else "join.you_were_rejected"
        try:
            await send_to_person(context, person.telegram_id, t(language, key, branch=branch.name))
        except TelegramError:
            log.warning("could not tell member %s about the decision", member_id, exc_info=True)
        if approve:  # elderly members get the big buttons straight away (issue 11, item 5)
            from handlers.elderly_keyboard import send_keyboard

            await send_keyboard(context, services, person, member.category)


# ---------------------------------------------------------------- secretaries


async def _claim_secretary(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str) -> None:
    """Make the user secretary of the unit behind a secretary invite."""
    services = get_services(context)
    user = update.effective_user
    now = services.now_ts()
    language = user_language(update, services)
    try:
        claimed = await _claim_in_transaction(services, user, code, now)
    except _UnknownClaim:
        # Rolled back: a bogus code leaves no half profile behind.
        await reply(update, language, "join.code_unknown")
        return
    unit = await units.get_unit(services.db, claimed[0])
    await reply(
        update, language, "appoint.claimed", unit=unit.name, role=t(language, f"role.{claimed[1]}")
    )
    await publish_menu(context.application, services, user.id)


class _UnknownClaim(Exception):
    """No unclaimed role has this code; raised to roll back the person row made for it."""


async def _claim_in_transaction(
    services: Services, user: User, code: str, now: int
) -> tuple[int, str]:
    """Claim the role behind `code` for the user; raise _UnknownClaim (and roll back) if none."""
    async with transaction(services.db):
        known = await people.get_person_by_telegram(services.db, user.id)
        person = await people.ensure_person(
            services.db,
            telegram_id=user.id,
            now=now,
            # The Telegram name only stands in for a name the bot has not been told:
            # a member's registered real name is kept.
            name=(
                None
                if known is not None and known.name
                else " ".join(filter(None, [user.first_name, user.last_name])) or None
            ),
            bot=services.bot_name,  # a secretary hears from the bot they claimed through
        )
        claimed = await roles.claim_role(
            services.db, code=code[len(SECRETARY_CLAIM_PREFIX) :], person_id=person.id, now=now
        )
        if claimed is None:
            raise _UnknownClaim
        await audit.record(
            services.db,
            at=now,
            actor=f"tg:{user.id}",
            action="role.claim",
            subject=f"unit:{claimed[0]}",
            detail=claimed[1],
        )
    return claimed


# ---------------------------------------------------------------- wiring


def register(app: Application) -> None:
    """Add /start <code>, the registration buttons and shared locations."""
    # Order matters: this must precede basics' plain /start.
    app.add_handler(
        CommandHandler("start", start_with_code, filters=filters.Regex(r"^/start\s+\S"))
    )
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    app.add_handler(MessageHandler(filters.LOCATION, on_location))


def register_text(app: Application) -> None:
    """Add the catch-all for typed text; registered after every other text handler."""
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
