"""Lives change (issue 11, item 4): home, leaving for work, turning elderly, another branch.

    ✈️ 回家了 (whereabouts)  → the secretary ✅/❌ → a local member; whereabouts asks stop
    /moving (a local member) → city (typed or a button) → mobile at once; the secretary is told
    /elderly (secretaries)   → a button per member → the elderly experience (big buttons)
    /transfer [branch key]   → both secretaries ✅ → the membership row moves, history with it

Leaving is recorded at once and the secretary only told: the member knows
where they work, and waiting for a confirmation would only delay the monthly
asks that keep contact.  Coming home stops those asks, so it waits for the
secretary.  A transfer changes which branch uses 支部助手 with the member, never
组织关系; every text says so.  Each change is a life_changes row and an audit
row, shown in both branches' digests (本周变动) and the ledger (变动记录).
Callback data:

    lc:ok:<change id>  lc:no:<change id>   a secretary confirms / refuses
    lc:pl:<place key>  lc:x:0              /moving: a city button / cancel
    lc:eld:<member id>                     /elderly: this member
    lc:to:<branch id>                      /transfer: this branch
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.callback_data import INT, TEXT, decode, pack, pattern
from bot.domain.free_text import echo
from bot.domain.humane import zone_label
from bot.domain.localtime import zone
from bot.domain.models import Category, Level, Member, Person, Unit
from bot.domain.permissions import Actor, can_manage_branch, managed_branch_ids
from bot.domain.places import Place, find_place, place_by_key, popular_places, suggest_places
from bot.domain.tree import ancestors, branches_under
from bot.i18n import t
from bot.ledger import LEDGER_LANGUAGE
from bot.report_parts import (
    RollupFigure,
    Sheet,
    add_digest_section,
    add_ledger_sheet,
    add_rollup_figure,
)
from bot.routing import send_to_person
from bot.services import Services, get_services
from handlers import awaiting
from handlers.awaiting import AwaitedInputHandler
from handlers.common import clear_buttons, load_actor, load_units, reply, user_language
from handlers.elderly_keyboard import send_keyboard
from handlers.keyboards import MAX_BUTTONS, button_grid, place_keyboard, place_name
from handlers.scope import load_leader
from storage.db import transaction
from storage.repositories import audit, life_changes, members, people, roles, units
from storage.repositories import whereabouts as whereabouts_repo
from storage.repositories.life_changes import ChangeLine, LifeChange

__all__ = ["register", "request_home"]

log = logging.getLogger(__name__)

FEATURE = "lc"
WAITING_CITY = "life.city"
_SHAPES = {
    "ok": (INT,), "no": (INT,), "pl": (TEXT,), "x": (INT,), "eld": (INT,), "to": (INT,),
}


def _btn(language: str, key: str, action: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(html.unescape(t(language, key)),
                                callback_data=pack(FEATURE, action, *args))


def _decision_keyboard(language: str, change_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_btn(language, "life.btn_confirm", "ok", change_id),
                                  _btn(language, "life.btn_refuse", "no", change_id)]])


async def _active(services: Services, telegram_id: int) -> tuple[Person, Member] | None:
    person = await people.get_person_by_telegram(services.db, telegram_id)
    if person is None:
        return None
    member = await members.current_membership(services.db, person.id)
    if member is None or member.status != "active":
        return None
    return person, member


async def _active_and_language(
    update: Update, services: Services
) -> tuple[tuple[Person, Member] | None, str]:
    """Return the presser's active (person, membership), or None, and the language to answer in."""
    found = await _active(services, update.effective_user.id)
    return found, user_language(update, services, found[0].language if found else None)


async def _leaders(services: Services, branch_id: int) -> list[tuple[int, str]]:
    """Return (telegram id, language) of whoever confirms for the branch."""
    default = services.settings.general.default_language
    return [(tg, lang or default) for _, tg, lang in await roles.nearest_leaders(
        services.db, branch_id)]


async def _tell(context: Any, chat_id: int, text: str, markup: Any = None) -> None:
    """Send one immediate message (a request or its outcome) through the recipient's bot.

    A failure is only logged.
    """
    try:
        await send_to_person(context, chat_id, text, reply_markup=markup)
    except TelegramError:
        log.warning("a life-change message could not be sent", exc_info=True)


async def _tell_member(context: Any, services: Services, person: Person | None, key: str,
                       **params: object) -> None:
    if person is None or person.telegram_id is None:
        return
    language = person.language or services.settings.general.default_language
    await _tell(context, person.telegram_id, t(language, key, **params))


def _branch_name(branch: Unit | None) -> str:
    return branch.name if branch else "—"


# ---------------------------------------------------------------- coming home


async def request_home(context: Any, services: Services, person: Person, member: Member) -> None:
    """After "✈️ 回家了": ask the branch's secretary to confirm the member is local now."""
    if member.category != Category.MOBILE:
        return
    if await life_changes.pending_for(services.db, member.id, "home") is None:
        now = services.now_ts()
        async with transaction(services.db):
            change = await life_changes.create(
                services.db, person_id=person.id, member_id=member.id, kind="home",
                from_branch=member.branch_id, from_category=member.category,
                to_category=Category.REGULAR.value, requested_by=person.id, now=now)
            await audit.record(services.db, at=now, actor=f"tg:{person.telegram_id}",
                               action="life.home_request", subject=f"member:{member.id}")
        branch = await units.get_unit(services.db, member.branch_id)
        for telegram_id, language in await _leaders(services, member.branch_id):
            await _tell(context, telegram_id,
                        t(language, "life.home_request", name=person.name or "—",
                          branch=_branch_name(branch)),
                        _decision_keyboard(language, change.id))
    await _tell_member(context, services, person, "life.home_asked")


# ---------------------------------------------------------------- leaving for work


async def cmd_moving(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/moving: a local member going to work elsewhere; ask the city."""
    services = get_services(context)
    found, language = await _active_and_language(update, services)
    if found is None:
        await reply(update, language, "errors.not_member")
        return
    _, member = found
    if member.category == Category.MOBILE:
        await reply(update, language, "life.moving_already")
        return
    await awaiting.expect(services, update.effective_user.id, WAITING_CITY)
    await _offer_cities(update, language, popular_places(), "life.moving_ask")


async def _offer_cities(update: Update, language: str, places: Sequence[Place], key: str,
                        **params: str) -> None:
    markup = place_keyboard(language, places, lambda place: pack(FEATURE, "pl", place.key),
                            extra_rows=[[_btn(language, "life.btn_cancel", "x", 0)]])
    await reply(update, language, key, reply_markup=markup, **params)


async def on_city(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed city after /moving: found → mobile; else suggestions."""
    services = get_services(context)
    text = update.effective_message.text or ""
    _, language = await _active_and_language(update, services)
    place = find_place(text)
    if place is None:
        await _offer_cities(update, language, suggest_places(text) or popular_places(),
                            "life.moving_unknown", place=echo(text))
        return
    await _leave_for(update, context, place)


async def _leave_for(update: Update, context: ContextTypes.DEFAULT_TYPE, place: Place) -> None:
    """Record the member as mobile in `place`, its zone following; tell the secretary."""
    services = get_services(context)
    await awaiting.done(services, update.effective_user.id, WAITING_CITY)
    found, language = await _active_and_language(update, services)
    if found is None or found[1].category == Category.MOBILE:
        await reply(update, language, "errors.stale_button")
        return
    person, member = found
    name = place_name(place, language)
    now = services.now_ts()
    async with transaction(services.db):
        await life_changes.create(
            services.db, person_id=person.id, member_id=member.id, kind="leaving",
            from_branch=member.branch_id, from_category=member.category,
            to_category=Category.MOBILE.value, place=name, requested_by=person.id, now=now,
            status="done")
        await life_changes.apply_category(services.db, member.id, Category.MOBILE.value,
                                          place=name)
        await people.set_timezone(services.db, person.id, place.timezone)
        # The first whereabouts answer: the monthly asks count from today.
        await whereabouts_repo.record_answer(services.db, member_id=member.id, kind="moved",
                                             place=name, timezone=place.timezone, now=now)
        await audit.record(services.db, at=now, actor=f"tg:{person.telegram_id}",
                           action="life.leaving", subject=f"member:{member.id}",
                           detail={"place": name})
    await reply(update, language, "life.moving_done", place=name,
                timezone=zone_label(language, place.timezone, now))
    branch = await units.get_unit(services.db, member.branch_id)
    for telegram_id, leader_language in await _leaders(services, member.branch_id):
        await _tell(context, telegram_id, t(
            leader_language, "life.moving_notice", name=person.name or "—",
            branch=_branch_name(branch), place=place_name(place, leader_language)))
    await send_keyboard(context, services, person, Category.MOBILE, was=member.category)


# ---------------------------------------------------------------- turning elderly


async def cmd_elderly(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/elderly: the secretary picks a member to move to the elderly experience."""
    services = get_services(context)
    actor = await load_leader(update, context)
    if actor is None:
        return
    branch_ids = sorted(managed_branch_ids(actor, await load_units(context)))
    rows = [row for row in await members.list_members_in(services.db, branch_ids, ("active",))
            if row.member.category != Category.ELDERLY][:MAX_BUTTONS]
    if not rows:
        await reply(update, actor.language, "life.elderly_none")
        return
    buttons = [InlineKeyboardButton(row.name or "—", callback_data=pack(FEATURE, "eld",
                                                                         row.member.id))
               for row in rows]
    await reply(update, actor.language, "life.elderly_pick",
                reply_markup=InlineKeyboardMarkup(button_grid(buttons)))


async def _make_elderly(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                        member_id: int) -> None:
    services = get_services(context)
    member = await members.get_member(services.db, member_id)
    if member is None or not can_manage_branch(actor, member.branch_id, await load_units(context)):
        await _refuse(update, actor)
        return
    person = await people.get_person(services.db, member.person_id)
    name = (person.name if person else None) or "—"
    await update.callback_query.answer()
    if member.status != "active" or member.category == Category.ELDERLY:
        await reply(update, actor.language, "life.elderly_already", name=name)
        return
    now = services.now_ts()
    async with transaction(services.db):
        await life_changes.create(
            services.db, person_id=member.person_id, member_id=member.id, kind="elderly",
            from_branch=member.branch_id, from_category=member.category,
            to_category=Category.ELDERLY.value, requested_by=actor.person_id, now=now,
            status="done")
        await life_changes.apply_category(services.db, member.id, Category.ELDERLY.value,
                                          place=None)
        await audit.record(services.db, at=now, actor=f"tg:{actor.telegram_id}",
                           action="life.elderly", subject=f"member:{member.id}")
    await clear_buttons(update)
    await reply(update, actor.language, "life.elderly_done", name=name)
    await _tell_member(context, services, person, "life.elderly_member")
    if person is not None:
        await send_keyboard(context, services, person, Category.ELDERLY, was=member.category)


# ---------------------------------------------------------------- another branch


def _transfer_choices(all_units: Sequence[Unit], branch_id: int) -> list[Unit]:
    """Return the branches under the same committee (流动党员党支部 first), not the own one."""
    by_id = {u.id: u for u in all_units}
    chain = [by_id[branch_id], *ancestors(all_units, branch_id)] if branch_id in by_id else []
    top = next((u for u in reversed(chain) if u.level == Level.COMMITTEE), chain[-1] if chain
               else None)
    found = [] if top is None else [b for b in branches_under(all_units, top.id)
                                    if b.id != branch_id]
    return sorted(found, key=lambda b: b.kind != "mobile")[:MAX_BUTTONS]


async def cmd_transfer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/transfer [branch key]: ask to use 支部助手 with another branch; both secretaries confirm."""
    services = get_services(context)
    found, language = await _active_and_language(update, services)
    if found is None:
        await reply(update, language, "errors.not_member")
        return
    _, member = found
    all_units = await load_units(context)
    key = (context.args or [None])[0]
    if key:
        target = next((u for u in all_units if u.key == key and u.level == Level.BRANCH), None)
        if target is None:
            await reply(update, language, "life.transfer_unknown", key=echo(key))
            return
        await _request_transfer(update, context, target.id)
        return
    choices = _transfer_choices(all_units, member.branch_id)
    if not choices:
        await reply(update, language, "life.transfer_none")
        return
    buttons = [InlineKeyboardButton(u.name, callback_data=pack(FEATURE, "to", u.id))
               for u in choices]
    await reply(update, language, "life.transfer_pick",
                reply_markup=InlineKeyboardMarkup(button_grid(buttons, columns=1)))


async def _request_transfer(update: Update, context: ContextTypes.DEFAULT_TYPE,
                            to_branch: int) -> None:
    services = get_services(context)
    found, language = await _active_and_language(update, services)
    target = await units.get_unit(services.db, to_branch)
    if found is None or target is None or target.level != Level.BRANCH:
        await reply(update, language, "errors.stale_button")
        return
    person, member = found
    if target.id == member.branch_id:
        await reply(update, language, "life.transfer_same")
        return
    pending = await life_changes.pending_for(services.db, member.id, "transfer")
    if pending is not None:
        other = await units.get_unit(services.db, pending.to_branch or 0)
        await reply(update, language, "life.transfer_pending", to=_branch_name(other))
        return
    now = services.now_ts()
    async with transaction(services.db):
        change = await life_changes.create(
            services.db, person_id=person.id, member_id=member.id, kind="transfer",
            from_branch=member.branch_id, to_branch=target.id, from_category=member.category,
            to_category=member.category, requested_by=person.id, now=now)
        await audit.record(services.db, at=now, actor=f"tg:{person.telegram_id}",
                           action="life.transfer_request", subject=f"member:{member.id}",
                           detail={"to": target.key})
    source = await units.get_unit(services.db, member.branch_id)
    await reply(update, language, "life.transfer_asked", to=target.name)
    told: set[int] = set()
    for branch_id in (member.branch_id, target.id):
        for telegram_id, leader_language in await _leaders(services, branch_id):
            if telegram_id in told:
                continue  # a general-branch secretary above both gets one request
            told.add(telegram_id)
            await _tell(context, telegram_id,
                        t(leader_language, "life.transfer_request", name=person.name or "—",
                          from_branch=_branch_name(source), to_branch=target.name),
                        _decision_keyboard(leader_language, change.id))


# ---------------------------------------------------------------- secretaries decide


async def _refuse(update: Update, actor: Actor) -> None:
    """The one refusal, whether the change exists or not."""
    await update.callback_query.answer(t(actor.language, "errors.button_not_allowed"),
                                       show_alert=True)


def _sides(actor: Actor, change: LifeChange, all_units: Sequence[Unit]) -> list[str]:
    """Return which sides of the change the actor may confirm ('from', 'to')."""
    sides = []
    if change.from_branch is not None and can_manage_branch(actor, change.from_branch, all_units):
        sides.append("from")
    if (change.kind == "transfer" and change.to_branch is not None
            and can_manage_branch(actor, change.to_branch, all_units)):
        sides.append("to")
    return sides


async def _decide(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor,
                  change_id: int, approve: bool) -> None:
    services = get_services(context)
    all_units = await load_units(context)
    change = await life_changes.get(services.db, change_id)
    # Permission before anything else, with one refusal whatever exists.
    sides = [] if change is None else _sides(actor, change, all_units)
    if change is None or not sides:
        await _refuse(update, actor)
        return
    if not change.is_pending:
        await update.callback_query.answer(t(actor.language, "life.already_closed"),
                                           show_alert=True)
        await clear_buttons(update)
        return
    now = services.now_ts()
    person = await people.get_person(services.db, change.person_id or 0)
    name = (person.name if person else None) or "—"
    who = actor.name or update.effective_user.first_name
    if not approve:
        async with transaction(services.db):
            closed = await life_changes.finish(services.db, change.id, "refused", now)
            if closed:
                await audit.record(services.db, at=now, actor=f"tg:{actor.telegram_id}",
                                   action=f"life.{change.kind}_refused",
                                   subject=f"member:{change.member_id}")
        await update.callback_query.answer()
        await _stamp(update, actor.language, "life.refused_by", who)
        if closed:
            await _tell_refused(context, services, change, person, name, who)
        return
    async with transaction(services.db):
        for side in sides:
            await life_changes.decide_side(services.db, change.id, side, by=actor.person_id,
                                           now=now)
        fresh = await life_changes.get(services.db, change.id)
        assert fresh is not None
        complete = fresh.from_decided_at is not None and (
            fresh.kind != "transfer" or fresh.to_decided_at is not None)
        if complete and await life_changes.finish(services.db, change.id, "done", now):
            await _apply(services, fresh)
            await audit.record(services.db, at=now, actor=f"tg:{actor.telegram_id}",
                               action=f"life.{change.kind}", subject=f"member:{change.member_id}",
                               detail={"from": change.from_branch, "to": change.to_branch})
        else:
            complete = False
    await update.callback_query.answer()
    await _stamp(update, actor.language, "life.confirmed_by", who)
    if not complete:
        await reply(update, actor.language, "life.transfer_waiting")
        return
    await _tell_done(context, services, fresh, person, name)


async def _apply(services: Services, change: LifeChange) -> None:
    """Make a confirmed change (inside the caller's transaction)."""
    assert change.member_id is not None
    if change.kind == "home":
        await life_changes.apply_category(services.db, change.member_id, Category.REGULAR.value,
                                          place=None)
    elif change.kind == "transfer" and change.to_branch is not None:
        await life_changes.move_branch(services.db, change.member_id, change.to_branch)


async def _stamp(update: Update, language: str, key: str, who: str) -> None:
    """Write who decided under the request and take its buttons away."""
    query = update.callback_query
    try:
        await query.edit_message_text(query.message.text_html + "\n\n" + t(language, key, who=who),
                                      reply_markup=None)
    except TelegramError:
        log.info("a life-change request could not be edited")


async def _tell_done(context: ContextTypes.DEFAULT_TYPE, services: Services, change: LifeChange,
                     person: Person | None, name: str) -> None:
    source = await units.get_unit(services.db, change.from_branch or 0)
    if change.kind == "home":
        await _tell_member(context, services, person, "life.home_done_member")
        if person is not None:
            await send_keyboard(context, services, person, Category.REGULAR,
                                was=Category.MOBILE)
        return
    target = await units.get_unit(services.db, change.to_branch or 0)
    await _tell_member(context, services, person, "life.transfer_done_member",
                       to=_branch_name(target))
    told: set[int] = set()
    for branch_id in (change.from_branch, change.to_branch):
        for telegram_id, language in await _leaders(services, branch_id or 0):
            if telegram_id not in told:
                told.add(telegram_id)
                await _tell(context, telegram_id, t(
                    language, "life.transfer_done_leader", name=name,
                    from_branch=_branch_name(source), to=_branch_name(target)))


async def _tell_refused(context: ContextTypes.DEFAULT_TYPE, services: Services,
                        change: LifeChange, person: Person | None, name: str, who: str) -> None:
    source = await units.get_unit(services.db, change.from_branch or 0)
    if change.kind == "home":
        await _tell_member(context, services, person, "life.home_refused_member")
        return
    target = await units.get_unit(services.db, change.to_branch or 0)
    await _tell_member(context, services, person, "life.transfer_refused_member",
                       to=_branch_name(target), from_branch=_branch_name(source))


# ---------------------------------------------------------------- buttons


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a life-change button; malformed data is answered as stale (handlers.errors)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    value = pressed.values[0]
    services = get_services(context)
    if pressed.action in ("ok", "no", "eld"):
        actor = await load_actor(update, context)
        if pressed.action == "eld":
            await _make_elderly(update, context, actor, int(value))
        else:
            await _decide(update, context, actor, int(value), pressed.action == "ok")
        return
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    language = user_language(update, services, person.language if person else None)
    query = update.callback_query
    if pressed.action == "x":
        await awaiting.done(services, update.effective_user.id, WAITING_CITY)
        await query.answer(t(language, "life.cancelled"))
        await clear_buttons(update)
        return
    found = await _active(services, update.effective_user.id)
    place = place_by_key(str(value)) if pressed.action == "pl" else None
    target = await units.get_unit(services.db, int(value)) if pressed.action == "to" else None
    usable = found is not None and (
        place is not None if pressed.action == "pl"
        else target is not None and target.level == Level.BRANCH)
    if not usable:
        # Every press gets an alert saying why, never a silent spinner.
        await query.answer(t(language, "errors.stale_button"), show_alert=True)
        return
    await query.answer()
    await clear_buttons(update)
    if place is not None:
        await _leave_for(update, context, place)
    elif target is not None:
        await _request_transfer(update, context, target.id)


# ---------------------------------------------------------------- digest and ledger


def _digest_line(language: str, line: ChangeLine, branch_id: int) -> str:
    change, name = line.change, line.name or t(language, "digest.anonymous")
    if change.kind == "transfer":
        incoming = change.to_branch == branch_id
        return t(language, "life.digest_transfer_in" if incoming else "life.digest_transfer_out",
                 name=name, other=(line.from_name if incoming else line.to_name) or "—")
    return t(language, f"life.digest_{change.kind}", name=name, place=change.place or "—")


async def digest_lines(services: Services, branch_id: int, start: int, end: int,
                       language: str) -> list[str]:
    """Return the branch's 本周变动 lines (nothing when nothing changed)."""
    now = services.now_ts()
    # A week still running ends "now": include what was decided this very second.
    rows = await life_changes.done_between(services.db, branch_id, start,
                                           now + 1 if end >= now else end)
    if not rows:
        return []
    return ["", t(language, "life.digest_title"),
            *(_digest_line(language, row, branch_id) for row in rows)]


async def rollup_figure(services: Services, branch_id: int, start: int, end: int,
                        language: str) -> RollupFigure:
    """Return the roll-up's "本周变动 N": information only, a change is no fault."""
    now = services.now_ts()
    rows = await life_changes.done_between(services.db, branch_id, start,
                                           now + 1 if end >= now else end)
    return RollupFigure(t(language, "life.rollup", count=len(rows)), len(rows), weighs=False)


async def ledger_sheet(services: Services, branch_id: int) -> Sheet | None:
    """Return the 变动记录 sheet: every change that concerns the branch (None: there is none)."""
    branch = await units.get_unit(services.db, branch_id)
    tz = zone(branch.timezone if branch else None, services.settings.general.default_timezone)
    z = LEDGER_LANGUAGE

    def when(at: int | None) -> datetime | None:
        # Excel has no time zones: the branch's wall time, as the ledger's other sheets.
        return None if at is None else datetime.fromtimestamp(at, UTC).astimezone(tz).replace(
            tzinfo=None)

    def plain(key: str) -> str:
        return html.unescape(t(z, key))

    rows = [
        [row.name or plain("digest.anonymous"), plain(f"life.kind_{row.change.kind}"),
         row.from_name or "", row.to_name or row.from_name or "",
         plain(f"category.{row.change.from_category}") if row.change.from_category else "",
         plain(f"category.{row.change.to_category}") if row.change.to_category else "",
         row.change.place or "", when(row.change.requested_at),
         plain(f"life.result_{row.change.status}"), when(row.change.decided_at)]
        for row in await life_changes.history(services.db, branch_id)
    ]
    if not rows:
        return None  # no sheet for a branch where nothing changed
    return Sheet(plain("life.ledger_sheet"), plain("life.ledger_head").split("|"), rows)


# ---------------------------------------------------------------- wiring


def register(app: Application) -> None:
    """Add /moving, /elderly, /transfer, the lc: buttons, the typed city and report parts."""
    app.add_handler(CommandHandler("moving", cmd_moving))
    app.add_handler(CommandHandler("elderly", cmd_elderly))
    app.add_handler(CommandHandler("transfer", cmd_transfer))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    awaiting.register(app)
    app.add_handler(AwaitedInputHandler(app, WAITING_CITY, filters.TEXT & ~filters.COMMAND,
                                        on_city))
    add_digest_section("life", digest_lines)
    add_ledger_sheet("life", ledger_sheet)
    add_rollup_figure("life", rollup_figure)
