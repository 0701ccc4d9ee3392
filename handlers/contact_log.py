"""Contact that counts offline: 📞 / 🏠 / 👥 recorded for a member, and the search ladder.

    warning, call task, /mobile, digest detail
        →  [📞 电话联系上] [🏠 上门走访] [👥 见面] [📵 联系不上]
    reached  →  [📍 仍在原地] [🔄 换了地方] → a typed city (bot.domain.places)
    planner: silence ≥ ask_helpers_days → each helper / 联系人: "您最近联系上 X 了吗？"
             silence ≥ call_task_days (or a helper could not, or no helper) → the secretary:
             "请致电 X" with the record buttons

Only the member's branch secretaries (and those above) and the member's
helpers may record; everyone else, and every id that names nothing, gets the
one refusal.  A reached attempt restarts the silence clock (see
storage.repositories.contacts).  Callback data:

    ct:m:<member>            open the record buttons for a member
    ct:r:<member>:<method>   reached by phone | visit | meeting
    ct:n:<member>            tried, not reached
    ct:hy:<member>  ct:hn:<member>   a helper's answer to the ladder's question
    ct:ps:<attempt>  ct:pc:<attempt>  ct:pl:<place key>:<attempt>   the place after a contact
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, filters

from bot.callback_data import INT, TEXT, decode, pack, parse_id, pattern
from bot.config import WhereaboutsSettings
from bot.domain import contact_ladder as ladder
from bot.domain import whereabouts as silence
from bot.domain.free_text import clean_text, echo
from bot.domain.humane import day_label, zone_label
from bot.domain.localtime import local_date, zone
from bot.domain.models import Category
from bot.domain.outgoing import OutgoingMessage, occurrence_key
from bot.domain.permissions import Actor, can_manage_branch
from bot.domain.places import find_place, place_by_key, popular_places, suggest_places
from bot.domain.pledges import member_hours
from bot.i18n import raw, t, tr
from bot.ledger import LEDGER_LANGUAGE as LEDGER
from bot.report_parts import (
    RollupFigure,
    Sheet,
    add_digest_section,
    add_ledger_sheet,
    add_rollup_figure,
)
from bot.schedule_rules import look_again_if_rules_changed
from bot.scheduling import add_planner
from bot.services import Services, get_services
from handlers import awaiting
from handlers.awaiting import AwaitedInputHandler
from handlers.common import clear_buttons, load_actor, load_units, reply
from handlers.keyboards import button_grid, place_keyboard, place_name
from storage.repositories import contacts, members, outbox, people, roles, schedule, units
from storage.repositories import whereabouts as where_repo

__all__ = ["offer_members", "plan_contact_ladder", "record_markup", "register"]

log = logging.getLogger(__name__)

FEATURE = "ct"
WAITING_PLACE = "contact.place"
INPUT_TTL = 24 * 3600
METHOD = frozenset(ladder.OFFLINE_METHODS)
# /mobile and the digest offer at most this many members (longest silent first).
MEMBERS_OFFERED = 24
_DAY = 86400


# ---------------------------------------------------------------- keyboards


def record_markup(language: str, member_id: int) -> InlineKeyboardMarkup:
    """Return the four record buttons for one member."""
    buttons = [
        InlineKeyboardButton(t(language, f"contact_log.btn_{method}"),
                             callback_data=pack(FEATURE, "r", member_id, method))
        for method in ladder.OFFLINE_METHODS
    ]
    buttons.append(InlineKeyboardButton(t(language, "contact_log.btn_not_reached"),
                                        callback_data=pack(FEATURE, "n", member_id)))
    return InlineKeyboardMarkup(button_grid(buttons, 2))


async def offer_members(
    update: Update, language: str, found: Sequence[tuple[int, str | None]]
) -> None:
    """Send one button per member to open their record buttons (from /mobile, the digest)."""
    if not found:
        return
    buttons = [
        InlineKeyboardButton(t(language, "contact_log.member_button", name=name or "—"),
                             callback_data=pack(FEATURE, "m", member_id))
        for member_id, name in found[:MEMBERS_OFFERED]
    ]
    await reply(update, language, "contact_log.offer",
                reply_markup=InlineKeyboardMarkup(button_grid(buttons, 2)))


# ---------------------------------------------------------------- permission


@dataclass(frozen=True, slots=True)
class _Allowed:
    actor: Actor
    target: contacts.Target
    # A helper may record, but the member's place is for the branch's leaders
    # only (bot.domain.visibility "place"), so a helper is never shown it.
    sees_place: bool = True


async def _allowed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, member_id: int
) -> _Allowed | None:
    """Return the actor and member if the actor may record for them; else refuse and None.

    The refusal is the same whether the member exists, left, or is someone
    else's, so a forged id learns nothing.
    """
    services = get_services(context)
    actor = await load_actor(update, context)
    target = await contacts.get_target(services.db, member_id)
    if target is not None:
        helpers = (await contacts.helpers_by_member(services.db, [member_id])).get(member_id, [])
        all_units = await load_units(context)
        if ladder.can_record_contact(actor, target.branch_id,
                                     {h.person_id for h in helpers}, all_units):
            return _Allowed(actor, target,
                            sees_place=can_manage_branch(actor, target.branch_id, all_units))
    await update.callback_query.answer(t(actor.language, "contact_log.not_allowed"),
                                       show_alert=True)
    return None


# ---------------------------------------------------------------- recording


async def _open(update: Update, context: ContextTypes.DEFAULT_TYPE, member_id: int) -> None:
    """Show the record buttons for one member."""
    allowed = await _allowed(update, context, member_id)
    if allowed is None:
        return
    services = get_services(context)
    language, target = allowed.actor.language, allowed.target
    await update.callback_query.answer()
    start = silence.silence_start(target.last_contact_at, target.approved_at)
    await reply(update, language, "contact_log.record_prompt", name=target.name or "—",
                last=_day(services, language, start),
                reply_markup=record_markup(language, member_id))


def _day(services: Services, language: str, stamp: int | None) -> str:
    if stamp is None:
        return "—"
    tz = zone(None, services.settings.general.default_timezone)
    return day_label(language, local_date(stamp, tz))


async def _record(
    update: Update, context: ContextTypes.DEFAULT_TYPE, member_id: int, method: str, reached: bool
) -> None:
    """Store one attempt; after a contact, offer the place update."""
    allowed = await _allowed(update, context, member_id)
    if allowed is None:
        return
    services = get_services(context)
    language, target = allowed.actor.language, allowed.target
    now = services.now_ts()
    outcome = ladder.Outcome.REACHED if reached else ladder.Outcome.NOT_REACHED
    attempt_id = await contacts.record_attempt(
        services.db, member_id=member_id, by_person_id=allowed.actor.person_id,
        method=method, outcome=outcome, place=None, now=now,
    )
    await update.callback_query.answer(t(language, "contact_log.recorded_short"))
    await clear_buttons(update)
    params = {"name": target.name or "—", "method": t(language, f"contact_log.method_{method}"),
              "day": _day(services, language, now)}
    if not reached:
        await reply(update, language, "contact_log.recorded_failed", **params)
        return
    markup = None
    if target.category == Category.MOBILE:
        markup = InlineKeyboardMarkup([[
            InlineKeyboardButton(t(language, "contact_log.btn_same_place"),
                                 callback_data=pack(FEATURE, "ps", attempt_id)),
            InlineKeyboardButton(t(language, "contact_log.btn_new_place"),
                                 callback_data=pack(FEATURE, "pc", attempt_id)),
        ]])
    key = "contact_log.recorded"
    if markup is not None:
        key = "contact_log.recorded_mobile" if allowed.sees_place else "contact_log.recorded_moved"
    await reply(update, language, key, place=target.place or "—", reply_markup=markup, **params)


# ---------------------------------------------------------------- the place after a contact


async def _own_attempt(
    update: Update, context: ContextTypes.DEFAULT_TYPE, attempt_id: int
) -> tuple[_Allowed, int] | None:
    """Return the recorder's attempt (still theirs to complete), or refuse as everywhere."""
    services = get_services(context)
    attempt = await contacts.get_attempt(services.db, attempt_id)
    actor = await load_actor(update, context)
    if (
        attempt is None
        or attempt.outcome != ladder.Outcome.REACHED
        or actor.person_id is None
        or attempt.by_person_id != actor.person_id
    ):
        await update.callback_query.answer(t(actor.language, "contact_log.not_allowed"),
                                           show_alert=True)
        return None
    allowed = await _allowed(update, context, attempt.member_id)
    return None if allowed is None else (allowed, attempt_id)


async def _same_place(update: Update, context: ContextTypes.DEFAULT_TYPE, attempt_id: int) -> None:
    """The member is where the register says."""
    found = await _own_attempt(update, context, attempt_id)
    if found is None:
        return
    (allowed, attempt_id), services = found, get_services(context)
    language, target = allowed.actor.language, allowed.target
    if target.place:
        await contacts.set_attempt_place(services.db, attempt_id, target.place)
    await update.callback_query.answer()
    await clear_buttons(update)
    await reply(update, language,
                "contact_log.place_same" if allowed.sees_place else "contact_log.place_kept",
                name=target.name or "—", place=target.place or "—")


async def _new_place(update: Update, context: ContextTypes.DEFAULT_TYPE, attempt_id: int) -> None:
    """Ask for the city the member is in now."""
    found = await _own_attempt(update, context, attempt_id)
    if found is None:
        return
    (allowed, attempt_id), services = found, get_services(context)
    await awaiting.expect(services, allowed.actor.telegram_id, WAITING_PLACE, str(attempt_id))
    await update.callback_query.answer()
    await clear_buttons(update)
    await _offer_places(update, allowed, attempt_id, popular_places(), "contact_log.ask_place",
                        name=allowed.target.name or "—")


async def _offer_places(update: Update, allowed: _Allowed, attempt_id: int, places, key: str,
                        **params: str) -> None:
    language = allowed.actor.language
    markup = place_keyboard(language, places,
                            lambda place: pack(FEATURE, "pl", place.key, attempt_id))
    await reply(update, language, key, reply_markup=markup, **params)


async def _picked(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, attempt_id: int
) -> None:
    """A place button after 换了地方."""
    found = await _own_attempt(update, context, attempt_id)
    if found is None:
        return
    allowed, attempt_id = found
    place = place_by_key(key)
    if place is None:
        await update.callback_query.answer(t(allowed.actor.language, "errors.stale_button"),
                                           show_alert=True)
        return
    await update.callback_query.answer()
    await clear_buttons(update)
    await _apply_place(update, get_services(context), allowed, attempt_id,
                       place_name(place, allowed.actor.language), place.timezone)


async def _apply_place(update: Update, services: Services, allowed: _Allowed, attempt_id: int,
                       place: str, timezone: str) -> None:
    target = allowed.target
    await contacts.set_attempt_place(services.db, attempt_id, place)
    await members.set_place(services.db, target.member_id, place)
    await people.set_timezone(services.db, target.person_id, timezone)
    await awaiting.done(services, allowed.actor.telegram_id, WAITING_PLACE)
    await reply(update, allowed.actor.language, "contact_log.place_set", name=target.name or "—",
                place=place,
                timezone=zone_label(allowed.actor.language, timezone, services.now_ts()))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take the typed city after 换了地方 (the existing place lookup)."""
    services = get_services(context)
    pending = await awaiting.current(services, update.effective_user.id, WAITING_PLACE, INPUT_TTL)
    text = clean_text(update.effective_message.text or "")
    attempt = (
        await contacts.get_attempt(services.db, int(pending.data))
        if pending is not None and parse_id(pending.data or "") is not None else None
    )
    actor = await load_actor(update, context)
    target = await contacts.get_target(services.db, attempt.member_id) if attempt else None
    if attempt is None or target is None or attempt.by_person_id != actor.person_id:
        await awaiting.done(services, update.effective_user.id, WAITING_PLACE)
        await reply(update, actor.language, "errors.stale_button")
        return
    allowed = _Allowed(actor, target)
    place = find_place(text)
    if place is None:
        await _offer_places(update, allowed, attempt.id, suggest_places(text) or popular_places(),
                            "contact_log.place_unknown", place=echo(text))
        return
    await _apply_place(update, services, allowed, attempt.id,
                       place_name(place, actor.language), place.timezone)


# ---------------------------------------------------------------- routing


_SHAPES = {
    "m": (INT,), "r": (INT, METHOD), "n": (INT,), "hy": (INT,), "hn": (INT,),
    "ps": (INT,), "pc": (INT,), "pl": (TEXT, INT),
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a contact button; malformed data raises MalformedButton (answered as stale)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    action, values = pressed.action, pressed.values
    if action == "m":
        await _open(update, context, values[0])
    elif action == "r":
        await _record(update, context, values[0], values[1], reached=True)
    elif action == "n":
        await _record(update, context, values[0], "phone", reached=False)
    elif action in ("hy", "hn"):
        await _record(update, context, values[0], "helper", reached=action == "hy")
    elif action == "ps":
        await _same_place(update, context, values[0])
    elif action == "pc":
        await _new_place(update, context, values[0])
    else:
        await _picked(update, context, values[0], values[1])


# ---------------------------------------------------------------- the ladder planner


SCHEDULE_KIND = "contact_ladder"
_DAY = 86_400


def _next_rung(start: int, now_ts: int, steps: frozenset[ladder.Step], *, has_helpers: bool,
               rules: WhereaboutsSettings) -> int:
    """Return when this silence's next rung falls due, or NEVER once none is left."""
    # A new attempt, helper or contact (which moves the silence start) makes
    # the member due again through migration 0018's triggers, so only the
    # passing of time needs a moment here.
    if not steps:
        return start + rules.ask_helpers_days * _DAY
    if ladder.Step.CALL_TASK not in steps and has_helpers:
        return max(start + rules.call_task_days * _DAY, now_ts + 1)
    return schedule.NEVER


async def plan_contact_ladder(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the helpers' questions and the secretaries' call tasks due now.

    Only members whose ladder schedule is due are read (issue 14: an idle tick
    costs what is due); each is then given the moment of its next rung.
    """
    db = services.db
    # The rungs' days (settings) or the code may differ from the last run's.
    await look_again_if_rules_changed(
        services, SCHEDULE_KIND, sections=("general", "study", "whereabouts"),
        modules=(__name__, ladder.__name__, silence.__name__))
    now_ts = int(now.timestamp())
    due_ids = await schedule.due_members(db, SCHEDULE_KIND, now_ts)
    if not due_ids:
        return []
    settings = services.settings
    rules = settings.whereabouts
    # Not mobile, not active: nothing until a change of facts brings them back.
    next_at = dict.fromkeys(due_ids, schedule.NEVER)
    silent = []
    for row in await where_repo.mobile_members(db, member_ids=due_ids):
        start = silence.silence_start(row.last_contact_at, row.approved_at)
        # As for warnings: a member without Telegram cannot be silent towards the bot.
        if start is None or row.telegram_id is None:
            continue
        if silence.silence_days(start, now) >= rules.ask_helpers_days:
            silent.append((row, start))
        else:
            next_at[row.member_id] = start + rules.ask_helpers_days * _DAY
    if not silent:
        await schedule.set_next(db, SCHEDULE_KIND, next_at)
        return []
    ids = [row.member_id for row, _ in silent]
    helpers = await contacts.helpers_by_member(db, ids)
    attempts = await contacts.attempts_since(db, ids, min(start for _, start in silent))
    # Helpers' and secretaries' zones are not at hand here: the branch default's
    # daytime, as soon as the step falls due (a restart sends what came due meanwhile).
    tz = zone(None, settings.general.default_timezone)
    hours = member_hours(Category.REGULAR, settings.study)
    due_at = int(hours.first_allowed(now, tz).timestamp())
    found: list[tuple[int, OutgoingMessage]] = []
    leaders: dict[int, list[tuple[int, int, str]]] = {}
    for row, start in silent:
        on_telegram = [h for h in helpers.get(row.member_id, []) if h.telegram_id is not None]
        steps = ladder.due_steps(start=start, now=now, attempts=attempts.get(row.member_id, []),
                                 has_helpers=bool(on_telegram), settings=rules)
        next_at[row.member_id] = _next_rung(start, now_ts, steps,
                                            has_helpers=bool(on_telegram), rules=rules)
        days = silence.silence_days(start, now)
        if ladder.Step.ASK_HELPERS in steps:
            for helper in on_telegram:
                language = helper.language or settings.general.default_language
                found.append((row.member_id, OutgoingMessage(
                    dedupe_key=occurrence_key("contact.ask", row.member_id, f"s{start}",
                                              f"p{helper.person_id}"),
                    kind="contact.ask", person_id=helper.person_id, chat_id=helper.telegram_id,
                    text=t(language, "contact_log.helper_ask", name=row.name or "—", days=days),
                    due_at=due_at,
                    reply_markup=InlineKeyboardMarkup([[
                        InlineKeyboardButton(t(language, "contact_log.btn_helper_yes"),
                                             callback_data=pack(FEATURE, "hy", row.member_id)),
                        InlineKeyboardButton(t(language, "contact_log.btn_helper_no"),
                                             callback_data=pack(FEATURE, "hn", row.member_id)),
                    ]]).to_dict(),
                )))
        if ladder.Step.CALL_TASK in steps:
            if row.branch_id not in leaders:
                leaders[row.branch_id] = await _leaders(services, row.branch_id)
            branch = await units.get_unit(db, row.branch_id)
            for person_id, telegram_id, language in leaders[row.branch_id]:
                found.append((row.member_id, OutgoingMessage(
                    dedupe_key=occurrence_key("contact.call", row.member_id, f"s{start}",
                                              f"p{person_id}"),
                    kind="contact.call", person_id=person_id, chat_id=telegram_id,
                    text=t(language, "contact_log.call_task", name=row.name or "—",
                           branch=branch.name if branch else "", days=days,
                           place=row.place or "—",
                           last=day_label(language, local_date(start, tz))),
                    due_at=due_at,
                    reply_markup=record_markup(language, row.member_id).to_dict(),
                )))
    known = await outbox.known_keys(db, (m.dedupe_key for _, m in found))
    fresh = [(member_id, m) for member_id, m in found if m.dedupe_key not in known]
    for member_id, _ in fresh:
        # Looked at again next tick: moves on only once what it owes is queued.
        next_at[member_id] = now_ts
    await schedule.set_next(db, SCHEDULE_KIND, next_at)
    return [m for _, m in fresh]


async def _leaders(services: Services, branch_id: int) -> list[tuple[int, int, str]]:
    """Return (person id, chat id, language) of whoever gets a branch's call tasks."""
    default = services.settings.general.default_language
    return [
        (person_id, telegram_id, language or default)
        for person_id, telegram_id, language in await roles.nearest_leaders(services.db, branch_id)
        if telegram_id is not None
    ]


# ---------------------------------------------------------------- digest and ledger


def _entry(language: str, attempt: ladder.Attempt) -> str:
    return t(language, "contact_log.digest_entry",
             name=attempt.member_name or t(language, "digest.anonymous"),
             method=t(language, f"contact_log.method_{attempt.method}"),
             by=attempt.by_name or t(language, "digest.anonymous"))


async def digest_lines(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> list[str]:
    """Return the week's lines: members reached offline, and attempts that did not reach."""
    # A week "so far" ends now: what was recorded this very second belongs in it.
    until = end + 1 if end >= services.now_ts() else end
    week = await contacts.branch_attempts(services.db, branch_id, since=start, until=until)
    lines = []
    separator = t(language, "digest.separator")
    reached = [a for a in week if a.is_reached]
    failed = [a for a in week if not a.is_reached]
    if reached:
        lines.append(t(language, "contact_log.digest_reached",
                       count=len({a.member_id for a in reached}),
                       names=raw(separator.join(_entry(language, a) for a in reached))))
    if failed:
        lines.append(t(language, "contact_log.digest_failed", count=len(failed),
                       names=raw(separator.join(_entry(language, a) for a in failed))))
    return lines


async def rollup_figure(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> RollupFigure:
    """Return the roll-up's "联系未果 N 人": members a recorded attempt this week did not reach.

    A failed attempt puts the secretary's call task on the ladder (contact_ladder.due_steps),
    so these are the open call tasks; one reached later in the week is no longer counted.
    """
    until = end + 1 if end >= services.now_ts() else end
    week = await contacts.branch_attempts(services.db, branch_id, since=start, until=until)
    reached = {a.member_id for a in week if a.is_reached}
    open_tasks = {a.member_id for a in week if not a.is_reached} - reached
    return RollupFigure(t(language, "contact_log.rollup", count=len(open_tasks)),
                        len(open_tasks))


async def ledger_sheet(services: Services, branch_id: int) -> Sheet | None:
    """Return the 联系记录 sheet (date, member, method, by whom, outcome, place); None if empty."""
    branch = await units.get_unit(services.db, branch_id)
    tz = zone(branch.timezone if branch else None, services.settings.general.default_timezone)
    rows = [
        [datetime.fromtimestamp(a.at, UTC).astimezone(tz).replace(tzinfo=None),
         a.member_name or tr(LEDGER, "digest.anonymous"),
         tr(LEDGER, f"contact_log.method_{a.method}"),
         a.by_name or tr(LEDGER, "digest.anonymous"),
         tr(LEDGER, f"contact_log.outcome_{a.outcome}"),
         a.place or ""]
        for a in await contacts.branch_attempts(services.db, branch_id)
    ]
    if not rows:
        return None
    return Sheet(title=tr(LEDGER, "contact_log.ledger_sheet"),
                 head=tr(LEDGER, "contact_log.ledger_head").split("|"), rows=rows)


# ---------------------------------------------------------------- wiring


def register(app: Application) -> None:
    """Add the contact buttons, the typed city after 换了地方, and the ladder's planner."""
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    awaiting.register(app)
    app.add_handler(AwaitedInputHandler(app, WAITING_PLACE, filters.TEXT & ~filters.COMMAND,
                                        on_text, ttl=INPUT_TTL))
    add_planner(app, "contact_ladder", plan_contact_ladder)
    add_digest_section("contact", digest_lines)
    add_ledger_sheet("contact", ledger_sheet)
    add_rollup_figure("contact", rollup_figure)
