"""Secretary commands: /invite, /invites, /revoke, /members, /pending and /remove.

    /invite [branch_key] [days] [uses]   → code + t.me deep link, expiry in the secretary's zone
    /invites [key], /revoke CODE         → list with 🚫 buttons; revoke
    /members [branch_key]                → roster, split under Telegram's limit
    /pending [key]                       → one message per request with join:ok / join:no
                                           (decided by handlers.onboarding, as for new requests)
    /remove [branch_key | member name]   → member buttons → ✅ / ❌ → status 'removed'

Every action on a branch asks bot.domain.permissions.can_manage_branch once,
again on every button press (a button may outlive the role).  A member or
stranger gets errors.not_secretary; a leader naming a branch outside what they
lead gets errors.not_your_branch.  Leaders of several branches name one by its
unit key or pick it from buttons; a branch secretary's own branch is the default.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callback_data import INT, TEXT, decode, pack, pattern
from bot.domain import joining
from bot.domain.away import is_away
from bot.domain.commands import check_invite_limits, parse_invite_args, same_name
from bot.domain.free_text import echo
from bot.domain.humane import iso_day_label, moment_label, zone_label
from bot.domain.localtime import days_since, local_date, zone
from bot.domain.models import Category, Invite, Member, MemberStatus, Unit
from bot.domain.outgoing import LEADER_KINDS
from bot.domain.permissions import Actor, can_manage_branch, is_leader, managed_branches
from bot.domain.text import split_message
from bot.errors import InvalidInput
from bot.i18n import raw, t
from bot.routing import send_to_person
from bot.services import Services, get_services
from handlers.common import load_actor, load_units, reply
from handlers.keyboards import (
    MAX_BUTTONS,
    approval_keyboard,
    button_grid,
    join_request_text,
    yes_no_keyboard,
)
from handlers.scope import (
    branches_in_scope,
    load_leader,
    one_branch,
    refuse_button,
    secretary_words,
    typed_key,
)
from storage.db import transaction
from storage.repositories import audit, invites, members, outbox, people
from storage.repositories.members import MemberRow

__all__ = ["register"]

log = logging.getLogger(__name__)

FEATURE = "sec"
# More branches than this are named by key rather than offered as buttons.
PICK_LIMIT = 24
PAST_INVITES_SHOWN = 10
PENDING_SHOWN = 20


# ---------------------------------------------------------------- which branch

WORDS = secretary_words("secretary.pick_branch")


async def _one_branch(
    update: Update, actor: Actor, all_units: Sequence[Unit], key: str | None,
    command: str, *extra: object,
) -> Unit | None:
    """Return the one branch a command acts on, or answer (refusal, picker) and return None."""
    branches = await branches_in_scope(update, actor, all_units, key, WORDS)
    if branches is None:
        return None
    # The pick carries the command and its arguments, so _on_pick can finish it.
    return await one_branch(
        update, actor.language, branches, WORDS, limit=PICK_LIMIT, command=command,
        callback=lambda branch: pack(FEATURE, "pick", command, branch.id, *extra),
    )


async def _actor_zone(services: Services, actor: Actor) -> str:
    person = await people.get_person(services.db, actor.person_id) if actor.person_id else None
    return (person.timezone if person else None) or services.settings.general.default_timezone


# ---------------------------------------------------------------- /invite

async def invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Make an invite link for a branch: `/invite [branch_key] [days] [uses]`."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    defaults = get_services(context).settings.invites
    try:
        args = parse_invite_args(context.args or [])
    except InvalidInput as problem:
        await reply(update, actor.language, problem.key, **problem.params)
        return
    days = args.days or defaults.expiry_days
    uses = args.uses or defaults.max_uses
    branch = await _one_branch(
        update, actor, await load_units(context), args.branch_key, "invite", days, uses
    )
    if branch is not None:
        await _create_invite(update, context, actor, branch, days, uses)


async def _create_invite(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, branch: Unit,
    days: int, uses: int,
) -> None:
    services = get_services(context)
    now = services.now_ts()
    code = joining.new_code()
    async with transaction(services.db):
        created = await invites.create_invite(
            services.db, code=code, branch_id=branch.id, created_by=actor.person_id, now=now,
            expires_at=now + days * 86400, max_uses=uses,
        )
        await audit.record(
            services.db, at=now, actor=f"tg:{actor.telegram_id}", action="invite.create",
            subject=f"invite:{created.id}",
            detail={"branch": branch.key, "days": days, "uses": uses},
        )
    tz_name = await _actor_zone(services, actor)
    await reply(
        update, actor.language, "invite.created",
        branch=branch.name, code=code, uses=uses,
        timezone=zone_label(actor.language, tz_name, created.expires_at),
        link=f"https://t.me/{context.bot.username}?start={code}",
        expires=moment_label(actor.language, created.expires_at, zone(tz_name)),
    )


# ---------------------------------------------------------------- /invites, /revoke

async def list_invites(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List active and recent past invites, each active one with a 🚫 revoke button."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    services = get_services(context)
    all_units = await load_units(context)
    branches = await branches_in_scope(update, actor, all_units, typed_key(context), WORDS)
    if branches is None:
        return
    found = await invites.list_invites(services.db, [branch.id for branch in branches])
    if not found:
        await reply(update, actor.language, "invite.list_empty")
        return
    now = services.now_ts()
    tz = zone(await _actor_zone(services, actor))
    names = {unit.id: unit.name for unit in all_units}
    active = [item for item in found if joining.invite_problem(item, now) is None]
    past = [item for item in found if joining.invite_problem(item, now) is not None]
    lines = [t(actor.language, "invite.list_title")]
    if active:
        lines += ["", t(actor.language, "invite.active_title")]
        lines += [_invite_line(actor.language, item, names, now, tz) for item in active]
    if past:
        shown = past[:PAST_INVITES_SHOWN]
        lines += ["", t(actor.language, "invite.past_title", count=len(shown))]
        lines += [_invite_line(actor.language, item, names, now, tz) for item in shown]
    buttons = [
        InlineKeyboardButton(t(actor.language, "invite.revoke_button", code=item.code),
                             callback_data=pack(FEATURE, "revoke", item.code))
        for item in active[:MAX_BUTTONS]
    ]
    parts = split_message("\n".join(lines))
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        markup = InlineKeyboardMarkup(button_grid(buttons, 1)) if last and buttons else None
        await update.effective_chat.send_message(part, reply_markup=markup)


def _invite_line(
    language: str, item: Invite, names: dict[int, str], now: int, tz: ZoneInfo
) -> str:
    problem = joining.invite_problem(item, now)
    expires = moment_label(language, item.expires_at, tz)
    state = t(language, f"invite.state_{problem.value if problem else 'active'}", expires=expires)
    return t(language, "invite.line", code=item.code, branch=names.get(item.branch_id, "?"),
             uses=item.uses, max_uses=item.max_uses, state=raw(state))


async def revoke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Revoke an invite by code: `/revoke CODE`."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    if len(context.args or []) != 1:
        await reply(update, actor.language, "invite.revoke_usage")
        return
    key, params = await _revoke(context, actor, context.args[0])
    await reply(update, actor.language, key, **params)


async def _revoke(
    context: ContextTypes.DEFAULT_TYPE, actor: Actor, code: str
) -> tuple[str, dict[str, object]]:
    """Revoke the invite if the actor manages its branch; return the reply's key and params."""
    services = get_services(context)
    found = await invites.get_invite(services.db, code)
    if found is None:
        return "invite.unknown_code", {"code": echo(code)}
    all_units = await load_units(context)
    if not can_manage_branch(actor, found.branch_id, all_units):
        return "errors.not_your_branch", {}
    if found.revoked_at is not None:
        return "invite.already_revoked", {}
    now = services.now_ts()
    async with transaction(services.db):
        await invites.revoke_invite(services.db, found.id, now)
        await audit.record(
            services.db, at=now, actor=f"tg:{actor.telegram_id}", action="invite.revoke",
            subject=f"invite:{found.id}",
        )
    branch = next(unit.name for unit in all_units if unit.id == found.branch_id)
    return "invite.revoked", {"code": found.code, "branch": branch}


async def _on_revoke_button(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                            code: str) -> None:
    query = update.callback_query
    key, params = await _revoke(context, actor, code)
    if key != "invite.revoked":
        await query.answer(t(actor.language, key, **params), show_alert=True)
        return
    await query.answer()
    # Drop the pressed button; the list's other buttons stay usable.
    data = pack(FEATURE, "revoke", code)
    markup = query.message.reply_markup
    rows = [
        [button for button in row if button.callback_data != data]
        for row in (markup.inline_keyboard if markup else [])
    ]
    await query.edit_message_reply_markup(InlineKeyboardMarkup([row for row in rows if row]))
    await reply(update, actor.language, key, **params)


# ---------------------------------------------------------------- /members

async def show_members(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show a branch's roster: `/members [branch_key]`."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    branch = await _one_branch(
        update, actor, await load_units(context), typed_key(context), "members"
    )
    if branch is not None:
        await _send_roster(update, context, actor, branch)


async def _send_roster(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, branch: Unit
) -> None:
    services = get_services(context)
    rows = await members.list_branch_members(services.db, branch.id)
    if not rows:
        await reply(update, actor.language, "members.empty", branch=branch.name)
        return
    now = services.now_ts()
    language = actor.language
    # Only registered members are the roster; requests still awaiting review
    # are listed apart and not counted.
    registered = [row for row in rows if row.member.status == MemberStatus.ACTIVE]
    waiting = [row for row in rows if row.member.status != MemberStatus.ACTIVE]
    if registered:
        lines = [t(language, "members.title", branch=branch.name, count=len(registered))]
        lines += [_roster_line(language, row, now) for row in registered]
    else:
        lines = [t(language, "members.empty", branch=branch.name)]
    if waiting:
        lines += ["", t(language, "members.pending_title", count=len(waiting))]
        lines += [_roster_line(language, row, now) for row in waiting]
    if any(_is_unreachable(row) for row in rows):
        lines += ["", t(language, "members.legend")]
    for part in split_message("\n".join(lines)):
        await update.effective_chat.send_message(part)


def _is_unreachable(row: MemberRow) -> bool:
    # A member registered without Telegram is not unreachable: others act for them.
    return not row.offline and (not row.is_reachable or row.telegram_id is None)


def _roster_line(language: str, row: MemberRow, now: int) -> str:
    member = row.member
    if row.last_contact_at is None:
        contact = t(language, "members.contact_never")
    elif (days := days_since(row.last_contact_at, now)) == 0:
        contact = t(language, "members.contact_today")
    else:
        contact = t(language, "members.contact_days", days=days)
    if row.offline:
        contact = t(language, "offline.marker",
                    who=row.registered_by or t(language, "members.no_name"))
    details = ""
    if member.category == Category.MOBILE and member.place:
        details += t(language, "members.place", place=member.place)
    if is_away(member.away_until, local_date(now, zone(row.timezone))):
        details += t(language, "members.away", until=iso_day_label(language, member.away_until))
    return t(
        language, "members.line",
        warning=raw(t(language, "members.unreachable")) if _is_unreachable(row) else "",
        name=row.name or t(language, "members.no_name"),
        category=t(language, f"category.{member.category}"),
        status=t(language, f"status.{member.status}"),
        contact=raw(contact), details=raw(details),
    )


# ---------------------------------------------------------------- /pending

async def show_pending(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show every pending join request the secretary may decide, each with ✅ / ❌."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    services = get_services(context)
    all_units = await load_units(context)
    branches = await branches_in_scope(update, actor, all_units, typed_key(context), WORDS)
    if branches is None:
        return
    requests = await members.list_members_in(
        services.db, [branch.id for branch in branches], ("pending",)
    )
    if not requests:
        await reply(update, actor.language, "pending.none")
        return
    language = actor.language
    names = {unit.id: unit.name for unit in all_units}
    await reply(update, language, "pending.title", count=len(requests))
    for row in requests[:PENDING_SHOWN]:
        text = join_request_text(
            language, name=row.name or t(language, "members.no_name"),
            branch=names.get(row.member.branch_id, "?"), category=row.member.category,
            place=row.member.place, timezone=row.timezone, at=services.now_ts(),
        )
        await update.effective_chat.send_message(
            text, reply_markup=approval_keyboard(language, row.member.id)
        )
    if len(requests) > PENDING_SHOWN:
        await reply(update, language, "pending.more", count=len(requests) - PENDING_SHOWN)


# ---------------------------------------------------------------- /remove

async def remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove a member: `/remove` (buttons), `/remove branch_key` or `/remove member name`."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    all_units = await load_units(context)
    typed = " ".join(context.args or []).strip()
    if typed and not any(unit.key == typed for unit in all_units):
        await _remove_by_name(update, context, actor, all_units, typed)
        return
    branch = await _one_branch(update, actor, all_units, typed or None, "remove")
    if branch is not None:
        await _offer_members(update, context, actor, branch)


async def _offer_members(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, branch: Unit
) -> None:
    rows = await members.list_branch_members(get_services(context).db, branch.id, ("active",))
    if not rows:
        await reply(update, actor.language, "remove.empty", branch=branch.name)
        return
    buttons = [
        InlineKeyboardButton(row.name or t(actor.language, "members.no_name"),
                             callback_data=pack(FEATURE, "rmask", row.member.id))
        for row in rows[:MAX_BUTTONS]
    ]
    await reply(update, actor.language, "remove.pick", branch=branch.name,
                reply_markup=InlineKeyboardMarkup(button_grid(buttons)))


async def _remove_by_name(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
    all_units: Sequence[Unit], typed: str,
) -> None:
    managed = [unit.id for unit in managed_branches(actor, all_units)]
    rows = await members.list_members_in(get_services(context).db, managed, ("active",))
    matches = [row for row in rows if same_name(typed, row.name)]
    if not matches:
        await reply(update, actor.language, "remove.not_found", name=echo(typed, 64))
    elif len(matches) == 1:
        await _confirm_remove(update, actor, matches[0].member, matches[0].name or "", all_units)
    else:
        names = {unit.id: unit.name for unit in all_units}
        buttons = [
            InlineKeyboardButton(
                # A button label is plain text, not HTML: nothing to escape.
                t(actor.language, "remove.member_button", name=raw(row.name or ""),
                  branch=raw(names.get(row.member.branch_id, "?"))),
                callback_data=pack(FEATURE, "rmask", row.member.id),
            )
            for row in matches[:MAX_BUTTONS]
        ]
        await reply(update, actor.language, "remove.ambiguous", name=echo(typed, 64),
                    count=len(matches), reply_markup=InlineKeyboardMarkup(button_grid(buttons, 1)))


async def _confirm_remove(
    update: Update, actor: Actor, member: Member, name: str, all_units: Sequence[Unit]
) -> None:
    branch = next(unit.name for unit in all_units if unit.id == member.branch_id)
    await reply(
        update, actor.language, "remove.confirm", name=name, branch=branch,
        reply_markup=yes_no_keyboard(
            t(actor.language, "remove.yes"), pack(FEATURE, "rmyes", member.id),
            t(actor.language, "remove.no"), pack(FEATURE, "rmno", member.id),
        ),
    )


async def _on_remove_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, action: str,
    member_id: int, all_units: Sequence[Unit],
) -> None:
    services = get_services(context)
    query = update.callback_query
    member = await members.get_member(services.db, member_id)
    # One answer whether the member exists or is another branch's (ids are sequential).
    if member is None or not can_manage_branch(actor, member.branch_id, all_units):
        await refuse_button(update, actor, WORDS)
        return
    if action == "rmno":
        await query.answer()
        await query.edit_message_text(t(actor.language, "remove.cancelled"))
        return
    status = t(actor.language, f"status.{member.status}")
    if member.status != MemberStatus.ACTIVE:
        await query.answer(t(actor.language, "remove.already", status=status), show_alert=True)
        return
    person = await people.get_person(services.db, member.person_id)
    name = (person.name if person else None) or t(actor.language, "members.no_name")
    if action == "rmask":
        await query.answer()
        await _confirm_remove(update, actor, member, name, all_units)
        return
    now = services.now_ts()
    async with transaction(services.db):
        removed = await members.end_membership(services.db, member.id, MemberStatus.REMOVED, now)
        if removed:
            # Nothing queued for them as a member may still go out.
            await outbox.cancel_for_person(services.db, member.person_id, keep_kinds=LEADER_KINDS)
            await audit.record(
                services.db, at=now, actor=f"tg:{actor.telegram_id}", action="member.remove",
                subject=f"member:{member.id}", detail=f"branch:{member.branch_id}",
            )
    if not removed:
        await query.answer(t(actor.language, "remove.already", status=status), show_alert=True)
        return
    await query.answer()
    branch = next(unit.name for unit in all_units if unit.id == member.branch_id)
    await query.edit_message_text(t(actor.language, "remove.done", name=name, branch=branch))
    if person is not None and person.telegram_id is not None:
        language = person.language or services.settings.general.default_language
        try:
            await send_to_person(
                context, person.telegram_id, t(language, "remove.you_were_removed", branch=branch)
            )
        except TelegramError:
            log.warning("could not tell member %s they were removed", member.id, exc_info=True)


# ---------------------------------------------------------------- buttons

# What each action's args must look like; anything else is answered as a stale
# button (bot.callback_data.decode → handlers.errors) before a handler runs.
_SHAPES = {
    "revoke": (TEXT,),
    "rmask": (INT,),
    "rmyes": (INT,),
    "rmno": (INT,),
    # pick:<command>:<branch>, and for invite the days and uses /invite was given
    "pick": [(frozenset({"members", "remove"}), INT), (frozenset({"invite"}), INT, INT, INT)],
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a branch pick, a revoke, or a remove step; permission is checked again."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    action, args = pressed.action, pressed.args
    actor = await load_actor(update, context)
    if not is_leader(actor):
        await refuse_button(update, actor, WORDS)
        return
    if action == "revoke":
        await _on_revoke_button(update, context, actor, args[0])
        return
    all_units = await load_units(context)
    if action == "pick":
        await _on_pick(update, context, actor, all_units, args[0], int(args[1]), args[2:])
    else:
        await _on_remove_button(update, context, actor, action, int(args[0]), all_units)


async def _on_pick(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, all_units: Sequence[Unit],
    command: str, branch_id: int, extra: list[str],
) -> None:
    query = update.callback_query
    branch = next((unit for unit in all_units if unit.id == branch_id), None)
    if branch is None or not can_manage_branch(actor, branch.id, all_units):
        await refuse_button(update, actor, WORDS)
        return
    if command == "invite":
        try:
            # The days and uses come from the client: the same bounds as typed ones.
            check_invite_limits(int(extra[0]), int(extra[1]))
        except InvalidInput as problem:
            await query.answer(t(actor.language, problem.key, **problem.params), show_alert=True)
            return
    await query.answer()
    await query.edit_message_text(t(actor.language, "secretary.picked", branch=branch.name))
    if command == "invite":
        await _create_invite(update, context, actor, branch, int(extra[0]), int(extra[1]))
    elif command == "members":
        await _send_roster(update, context, actor, branch)
    elif command == "remove":
        await _offer_members(update, context, actor, branch)


# ---------------------------------------------------------------- wiring

def register(app: Application) -> None:
    """Add the secretary commands and their buttons."""
    app.add_handler(CommandHandler("invite", invite))
    app.add_handler(CommandHandler("invites", list_invites))
    app.add_handler(CommandHandler("revoke", revoke))
    app.add_handler(CommandHandler("members", show_members))
    app.add_handler(CommandHandler("pending", show_pending))
    app.add_handler(CommandHandler("remove", remove))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
