"""Helpers who act for a member everywhere (issue 11 item 2): /pair, /helpfor, helper links.

    /pair       secretary: member → their helpers (✖ to remove) · ➕ a branch under the
                same committee → a member there · 🙋 me · 🔗 a one-time 联系人 link
    /helpfor    helper (or secretary): member → 📖 学习 / 📝 承诺 / 📍 所在地 / 🏷 履岗
    /start helper_<code>   a relative or neighbour: consent → name → 联系人 (no membership)

Acting for a member reuses the member's own flows: /helpfor shows the
member's own buttons (the study reminder's ✅ / 🙋, /mypledges, the monthly
践诺 questions, the year-end self-rating, "still in 深圳?"), each naming the
member in a trailing `f<member id>` part (handlers.acting_for.carrying).
Those flows ask handlers.acting_for.subject_of whose record a press changes
(the member the press names, checked on every press; else the presser), and
store the helper as entered_by, so every record says "代为登记：X".  Nothing
is remembered between presses: the helper's own reminders stay their own.

Callback data (feature "hp"):

    hp:m:<member>  hp:b:<member>:<branch>  hp:add:<member>:<person>  hp:rm:<member>:<person>
    hp:lk:<member>  hp:for:<member>  hp:st:<member>  hp:si:<member>:<item>  hp:pl:<member>
    hp:rp:<member>  hp:rt:<member>  hp:wb:<member>  hp:po:<member>  hp:end:<0>
    hp:cy:<code>  hp:cn:<code>
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.callback_data import INT, TEXT, decode, pack, pattern
from bot.domain import helpers as rules
from bot.domain import joining
from bot.domain import study as study_rules
from bot.domain.free_text import require_text
from bot.domain.localtime import format_local, zone
from bot.domain.models import Category, Member, Unit
from bot.domain.permissions import Actor, can_manage_branch, managed_branch_ids
from bot.errors import InvalidInput
from bot.i18n import raw, t
from bot.report_parts import (
    RollupFigure,
    Sheet,
    add_digest_section,
    add_ledger_sheet,
    add_rollup_figure,
)
from bot.routing import send_to_person
from bot.services import Services, get_services
from handlers import awaiting, posts
from handlers.acting_for import Subject, acting, carrying
from handlers.common import clear_buttons, load_actor, load_units, reply, user_language
from handlers.keyboards import MAX_BUTTONS, button_grid, yes_no_keyboard
from handlers.pledges import reports as pledge_reports
from handlers.pledges import views as pledge_views
from handlers.pledges.acting import approved, current_year, load_me, open_month
from handlers.pledges.render import evaluation_ask, number_of, rating_keyboard
from handlers.scope import load_leader
from handlers.study.render import answer_keyboard, title_html
from handlers.whereabouts import ask_message
from storage.db import transaction
from storage.repositories import audit, helpers, members, people, study, units
from storage.repositories import offline_members as offline
from storage.repositories import pledges as pledge_repo
from storage.repositories import whereabouts as where_repo
from storage.repositories.pending_inputs import PendingInput
from storage.repositories.study import StudyItem

__all__ = ["FEATURE", "register"]

log = logging.getLogger(__name__)

FEATURE = "hp"
LINK_PREFIX = "helper_"
LINK_DAYS = 14  # a helper link works this long, once
NAME_KIND = "helpers.name"
NAME_MAX = 30
STUDY_DAYS = 7  # like /checkin: items due this long ago may still be answered

_Button = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]


def _button(label: str, action: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(label[:60], callback_data=pack(FEATURE, action, *args))


def _name(language: str, value: str | None) -> str:
    return value or t(language, "study.no_name")


async def _refuse(update: Update, language: str, key: str = "errors.button_not_allowed") -> None:
    await update.callback_query.answer(t(language, key), show_alert=True)


# ---------------------------------------------------------------- /pair (secretary)


async def cmd_pair(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pick a member of the managed branches whose helpers to change (elderly first)."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    db = get_services(context).db
    branch_ids = sorted(managed_branch_ids(actor, await load_units(context)))
    rows = [
        row for branch_id in branch_ids
        for row in await members.list_branch_members(db, branch_id, ("active",))
    ]
    # The elderly and those without Telegram need helpers most: they come first.
    rows.sort(key=lambda r: (r.member.category != Category.ELDERLY, r.telegram_id is not None))
    if not rows:
        await reply(update, actor.language, "helpers.pair_none")
        return
    buttons = [
        _button(_name(actor.language, row.name), "m", row.member.id) for row in rows[:MAX_BUTTONS]
    ]
    await reply(
        update, actor.language, "helpers.pick_member",
        reply_markup=InlineKeyboardMarkup(button_grid(buttons, 2)),
    )


async def _managed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, raw_member: str
) -> tuple[Actor, Member] | None:
    """Return (actor, member) if the actor leads the member's branch; else refuse."""
    actor = await load_actor(update, context)
    member = await members.get_member(get_services(context).db, int(raw_member))
    # Permission first: the same answer whether the member exists or not.
    if member is None or not can_manage_branch(actor, member.branch_id, await load_units(context)):
        await _refuse(update, actor.language)
        return None
    if member.status != "active":
        await _refuse(update, actor.language, "errors.stale_button")
        return None
    return actor, member


async def _member_screen(
    services: Services, actor: Actor, member: Member, all_units: Sequence[Unit]
) -> tuple[str, InlineKeyboardMarkup]:
    """Return the member's helpers and the buttons to add or remove one."""
    person = await people.get_person(services.db, member.person_id)
    current = await helpers.helpers_of(services.db, member.id)
    shown = "、".join(
        t(actor.language, f"helpers.kind_{h.kind}", name=_name(actor.language, h.name))
        for h in current
    ) or t(actor.language, "helpers.nobody")
    text = t(actor.language, "helpers.member_screen",
             name=_name(actor.language, person.name if person else None), helpers=shown)
    rows = [[_button(t(actor.language, "helpers.btn_remove", name=_name(actor.language, h.name)),
                     "rm", member.id, h.person_id)] for h in current]
    branches = [
        _button(t(actor.language, "helpers.btn_branch", branch=b.name), "b", member.id, b.id)
        for b in rules.helper_branches(all_units, member.branch_id)
    ]
    rows += button_grid(branches, 2)
    extra = [_button(t(actor.language, "helpers.btn_link"), "lk", member.id)]
    if actor.person_id is not None and actor.person_id != member.person_id and not any(
        h.person_id == actor.person_id for h in current
    ):
        extra.insert(0, _button(t(actor.language, "helpers.btn_self"), "add", member.id,
                                actor.person_id))
    rows.append(extra)
    return text, InlineKeyboardMarkup(rows)


async def button_member(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the member's helpers, with add and remove buttons."""
    found = await _managed(update, context, args[0])
    if found is None:
        return
    actor, member = found
    text, markup = await _member_screen(
        get_services(context), actor, member, await load_units(context)
    )
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(text, reply_markup=markup)


async def button_branch(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the members of a branch under the same committee who may help."""
    found = await _managed(update, context, args[0])
    if found is None:
        return
    actor, member = found
    db = get_services(context).db
    all_units = await load_units(context)
    branch_id = int(args[1])
    if not rules.may_help(all_units, member_branch=member.branch_id, helper_branch=branch_id):
        await _refuse(update, actor.language)
        return
    current = {h.person_id for h in await helpers.helpers_of(db, member.id)}
    # A helper needs Telegram: a member registered without it cannot press anything.
    candidates = [
        row for row in await members.list_branch_members(db, branch_id, ("active",))
        if row.member.id != member.id and row.telegram_id is not None
        and row.member.person_id not in current
    ][:MAX_BUTTONS]
    await update.callback_query.answer()
    person = await people.get_person(db, member.person_id)
    branch = next(u for u in all_units if u.id == branch_id)
    if not candidates:
        await update.callback_query.edit_message_text(
            t(actor.language, "helpers.no_candidates"),
            reply_markup=InlineKeyboardMarkup([[_button(t(actor.language, "helpers.btn_back"),
                                                        "m", member.id)]]),
        )
        return
    buttons = [
        _button(_name(actor.language, row.name), "add", member.id, row.member.person_id)
        for row in candidates
    ]
    await update.callback_query.edit_message_text(
        t(actor.language, "helpers.pick_helper", branch=branch.name,
          name=_name(actor.language, person.name if person else None)),
        reply_markup=InlineKeyboardMarkup(button_grid(buttons, 2)),
    )


async def _may_be_helper(
    services: Services, all_units: Sequence[Unit], actor: Actor, member: Member, person_id: int
) -> bool:
    """Tell whether this person may become the member's helper (a member under the committee)."""
    if person_id == member.person_id:
        return False
    if person_id == actor.person_id:
        return True  # the secretary themselves
    person = await people.get_person(services.db, person_id)
    membership = await members.current_membership(services.db, person_id)
    return (
        person is not None and person.telegram_id is not None and membership is not None
        and membership.status == "active"
        and rules.may_help(all_units, member_branch=member.branch_id,
                           helper_branch=membership.branch_id)
    )


async def button_add(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Make the chosen person a helper of the member and tell them."""
    found = await _managed(update, context, args[0])
    if found is None:
        return
    actor, member = found
    services = get_services(context)
    helper_id = int(args[1])
    if not await _may_be_helper(services, await load_units(context), actor, member, helper_id):
        # A forged press naming someone of another committee, or nobody.
        await _refuse(update, actor.language)
        return
    now = services.now_ts()
    await helpers.add_helper(services.db, member_id=member.id, helper_person_id=helper_id,
                             kind=helpers.HELPER, added_by=actor.person_id, now=now)
    await _tie_changed(update, context, actor, member, helper_id, now, "add")


async def button_remove(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """End a helper's (or 联系人's) tie to the member and tell them."""
    found = await _managed(update, context, args[0])
    if found is None:
        return
    actor, member = found
    services = get_services(context)
    helper_id = int(args[1])
    now = services.now_ts()
    if not await helpers.remove_helper(services.db, member_id=member.id,
                                       helper_person_id=helper_id, now=now):
        await _refuse(update, actor.language, "errors.stale_button")
        return
    await _tie_changed(update, context, actor, member, helper_id, now, "remove")


# A helper tie was added or removed: the audit action, the secretary's line, the helper's notice.
_TIE_WORDS = {
    "add": ("helper.add", "helpers.added", "helpers.added_notice"),
    "remove": ("helper.remove", "helpers.removed", "helpers.removed_notice"),
}


async def _tie_changed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, member: Member,
    helper_id: int, now: int, change: str,
) -> None:
    """Audit the added or removed tie, confirm it to the secretary and tell the helper."""
    services = get_services(context)
    action, done_key, notice_key = _TIE_WORDS[change]
    await audit.record(services.db, at=now, actor=f"tg:{actor.telegram_id}",
                       action=action, subject=f"member:{member.id}",
                       detail={"helper": helper_id})
    person = await people.get_person(services.db, member.person_id)
    helper = await people.get_person(services.db, helper_id)
    elderly = _name(actor.language, person.name if person else None)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(
        t(actor.language, done_key, name=elderly,
          helper=_name(actor.language, helper.name if helper else None))
    )
    # The secretary who made themselves the helper already sees the line above.
    if helper is not None and helper.telegram_id is not None and helper_id != actor.person_id:
        language = helper.language or services.settings.general.default_language
        await _tell(context, helper.telegram_id, t(language, notice_key, name=elderly))


async def button_link(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Make a one-time link through which a relative or neighbour becomes the member's 联系人."""
    found = await _managed(update, context, args[0])
    if found is None:
        return
    actor, member = found
    services = get_services(context)
    now = services.now_ts()
    link = await helpers.new_link(services.db, code=joining.new_code(12), member_id=member.id,
                                  created_by=actor.person_id, now=now,
                                  expires_at=now + LINK_DAYS * 86400)
    await audit.record(services.db, at=now, actor=f"tg:{actor.telegram_id}",
                       action="helper.link", subject=f"member:{member.id}")
    person = await people.get_person(services.db, member.person_id)
    await update.callback_query.answer()
    await reply(
        update, actor.language, "helpers.link",
        name=_name(actor.language, person.name if person else None), days=LINK_DAYS,
        link=f"https://t.me/{context.bot.username}?start={LINK_PREFIX}{link.code}",
    )


async def _tell(context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str) -> None:
    """Send a one-off notice (a reply to the secretary's own press, not a bulk send)."""
    try:
        await send_to_person(context, chat_id, text)
    except (Forbidden, BadRequest):
        # The helper blocked the bot or never opened it; the pairing stands.
        log.info("could not tell a helper about a change")
    except TelegramError:
        log.warning("could not tell a helper about a change", exc_info=True)


# ---------------------------------------------------------------- /helpfor


async def _my_members(services: Services, actor: Actor, all_units: Sequence[Unit]) -> list:
    """Return (member id, name) the actor may act for from /helpfor: theirs, and the phone-less."""
    found: dict[int, str | None] = {}
    if actor.person_id is not None:
        for row in await helpers.members_helped_by(services.db, actor.person_id):
            found[row.member_id] = row.name
    # A secretary acts for the members of their branches who have no Telegram.
    led = sorted(managed_branch_ids(actor, all_units))
    for row in await offline.list_offline(services.db, led):
        found.setdefault(row.member.id, row.name)
    return list(found.items())


async def cmd_helpfor(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the members the presser helps, each a button to their menu."""
    actor = await load_actor(update, context)
    services = get_services(context)
    mine = await _my_members(services, actor, await load_units(context))
    if not mine:
        await reply(update, actor.language, "helpers.helpfor_none")
        return
    buttons = [_button(_name(actor.language, n), "for", mid) for mid, n in mine[:MAX_BUTTONS]]
    await reply(update, actor.language, "helpers.helpfor_pick",
                reply_markup=InlineKeyboardMarkup(button_grid(buttons, 2)))


async def _helped(
    update: Update, context: ContextTypes.DEFAULT_TYPE, raw_member: str
) -> tuple[Actor, Member, str] | None:
    """Return (actor, member, member's name) if the actor may act for them; else refuse."""
    actor = await load_actor(update, context)
    db = get_services(context).db
    member = await members.get_member(db, int(raw_member))
    # Permission first, and one answer whether the member exists or is someone else's.
    is_helper = actor.person_id is not None and member is not None and \
        await helpers.is_helper_of(db, actor.person_id, member.id)
    if member is None or not rules.may_act_for(
        actor, member_branch=member.branch_id, is_helper=is_helper, units=await load_units(context)
    ):
        await _refuse(update, actor.language)
        return None
    if member.status != "active":
        await _refuse(update, actor.language, "errors.stale_button")
        return None
    person = await people.get_person(db, member.person_id)
    return actor, member, _name(actor.language, person.name if person else None)


async def _act(services: Services, actor: Actor, member: Member) -> Subject:
    """Return the subject the actor's buttons for this member name (checked again per press)."""
    # A leader known only by an admin id gets a people row to be named by (entered_by).
    helper = await people.ensure_person(services.db, telegram_id=actor.telegram_id,
                                        now=services.now_ts())
    return await acting(services, helper, member.id)


async def _say_acting(update: Update, actor: Actor, name: str) -> None:
    """Say, above the member's own buttons, whom the presser is acting for."""
    await reply(update, actor.language, "helpers.acting", name=name,
                who=_name(actor.language, actor.name))


async def button_for(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show what the helper can enter for this member: study, pledges, whereabouts."""
    found = await _helped(update, context, args[0])
    if found is None:
        return
    actor, member, name = found
    lang = actor.language
    rows = [[_button(t(lang, "helpers.btn_study"), "st", member.id),
             _button(t(lang, "helpers.btn_pledges"), "pl", member.id)],
            [_button(t(lang, "helpers.btn_report"), "rp", member.id),
             _button(t(lang, "helpers.btn_rate"), "rt", member.id)]]
    if member.category == Category.MOBILE:
        rows.append([_button(t(lang, "helpers.btn_where"), "wb", member.id)])
    # Only when a post they hold has this month's 履岗 report due and not yet in.
    if await posts.open_reports(get_services(context), [member.id]):
        rows.append([_button(t(lang, "helpers.btn_post"), "po", member.id)])
    rows.append([_button(t(lang, "helpers.btn_end"), "end", 0)])
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(
        t(lang, "helpers.menu", name=name, who=_name(lang, actor.name)),
        reply_markup=InlineKeyboardMarkup(rows),
    )


async def button_study(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """List the study items the member has not answered yet."""
    found = await _helped(update, context, args[0])
    if found is None:
        return
    actor, member, name = found
    services = get_services(context)
    branch = await units.get_unit(services.db, member.branch_id)
    today = services.clock.now().date()
    since = study_rules.lookback(today, STUDY_DAYS)
    items = [
        item for item in await study.open_items(services.db, [member.branch_id],
                                                 min_due=since.isoformat())
        if await study.get_answer(services.db, item.id, member.id) is None
    ]
    await update.callback_query.answer()
    if not items:
        await reply(update, actor.language, "helpers.study_none", name=name)
        return
    buttons = [
        _button(raw_title(actor.language, item), "si", member.id, item.id)
        for item in items[:MAX_BUTTONS]
    ]
    await reply(update, actor.language, "helpers.study_pick", name=name,
                branch=branch.name if branch else "",
                reply_markup=InlineKeyboardMarkup(button_grid(buttons, 1)))


def raw_title(language: str, item: StudyItem) -> str:
    """Return an item's title as plain text for a button."""
    return item.title or t(language, "helpers.weekly", date=item.due_date)


async def button_study_item(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the item with the member's own answer buttons (✅ · ⏰ · 🙋), acting for them."""
    found = await _helped(update, context, args[0])
    if found is None:
        return
    actor, member, name = found
    services = get_services(context)
    item = await study.get_item(services.db, int(args[1]))
    if item is None or item.branch_id != member.branch_id or item.is_withdrawn:
        await _refuse(update, actor.language, "errors.stale_button")
        return
    await _act(services, actor, member)
    await update.callback_query.answer()
    await reply(update, actor.language, "helpers.study_item", name=name,
                title=raw(title_html(actor.language, item)),
                reply_markup=carrying(answer_keyboard(actor.language, item.id), member.id))


async def button_pledges(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the member's pledges with their own buttons (templates, submit), acting for them."""
    found = await _helped(update, context, args[0])
    if found is None:
        return
    actor, member, name = found
    subject = await _act(get_services(context), actor, member)
    await update.callback_query.answer()
    await _say_acting(update, actor, name)
    await pledge_views.my_pledges(update, context, subject)


async def button_report(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Ask this month's 践诺 questions for the member, acting for them."""
    found = await _helped(update, context, args[0])
    if found is None:
        return
    actor, member, name = found
    services = get_services(context)
    me = await load_me(update, services, await _act(services, actor, member))
    if me is None:
        await _refuse(update, actor.language, "errors.stale_button")
        return
    await _say_acting(update, actor, name)
    await pledge_reports.ask_progress(update, services, me, open_month(me, services))


async def button_rate(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Ask the member's year-end self-rating of each approved pledge, acting for them."""
    found = await _helped(update, context, args[0])
    if found is None:
        return
    actor, member, name = found
    services = get_services(context)
    me = await load_me(update, services, await _act(services, actor, member))
    pledges = await approved(services, member.id, current_year(me, services)) if me else []
    open_ones = [p for p in pledges if p.secretary_rating is None]
    await update.callback_query.answer()
    if not open_ones:
        await reply(update, actor.language, "helpers.rate_none", name=name)
        return
    await _say_acting(update, actor, name)
    reports = await pledge_repo.reports_for(services.db, [p.id for p in open_ones])
    for pledge in open_ones:
        await update.effective_chat.send_message(
            evaluation_ask(actor.language, pledge, number_of(pledges, pledge.id), reports),
            reply_markup=carrying(rating_keyboard(actor.language, "self", pledge.id), member.id),
        )


async def button_where(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Ask the mobile member's "still in …?" with their own buttons, acting for them."""
    found = await _helped(update, context, args[0])
    if found is None:
        return
    actor, member, name = found
    services = get_services(context)
    if member.category != Category.MOBILE:
        await _refuse(update, actor.language, "errors.stale_button")
        return
    await _act(services, actor, member)
    base = await where_repo.last_answer_at(services.db, member.id)
    text, markup = ask_message(
        actor.language, member.place, base or member.decided_at or member.requested_at,
        subject=member.id,
    )
    await update.callback_query.answer()
    await _say_acting(update, actor, name)
    await update.effective_chat.send_message(text, reply_markup=markup)


async def button_post(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the holder's due 履岗 question with their own buttons, acting for them."""
    found = await _helped(update, context, args[0])
    if found is None:
        return
    actor, member, name = found
    services = get_services(context)
    await _act(services, actor, member)
    asks = await posts.report_asks(services, actor.language, member.id)
    await update.callback_query.answer()
    if not asks:
        await reply(update, actor.language, "helpers.post_none", name=name)
        return
    await _say_acting(update, actor, name)
    for text, markup in asks:
        await update.effective_chat.send_message(text, reply_markup=markup)


async def button_end(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Close the member's menu (nothing to undo: each button names whom it acts for)."""
    actor = await load_actor(update, context)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(t(actor.language, "helpers.ended"))


# ---------------------------------------------------------------- 联系人 links


async def _link_problem(services: Services, code: str) -> helpers.HelperLink | None:
    """Return the link if it can still be used, else None (unknown, used, expired, gone)."""
    link = await helpers.get_link(services.db, code)
    if link is None or link.used_at is not None or link.expires_at <= services.now_ts():
        return None
    member = await members.get_member(services.db, link.member_id)
    return link if member is not None and member.status == "active" else None


async def start_link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open a helper link: say what a 联系人 sees and does, and ask for consent."""
    services = get_services(context)
    code = (context.args or [""])[0][len(LINK_PREFIX):]
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    language = user_language(update, services, person.language if person else None)
    link = await _link_problem(services, code)
    if link is None:
        await reply(update, language, "helpers.link_invalid")
        return
    member = await members.get_member(services.db, link.member_id)
    subject = await people.get_person(services.db, member.person_id)
    branch = await units.get_unit(services.db, member.branch_id)
    await reply(
        update, language, "helpers.contact_intro", name=_name(language, subject.name),
        branch=branch.name if branch else "",
        reply_markup=yes_no_keyboard(
            t(language, "join.consent_yes"), pack(FEATURE, "cy", code),
            t(language, "join.consent_no"), pack(FEATURE, "cn", code),
        ),
    )


async def _finish_contact(
    update: Update, context: ContextTypes.DEFAULT_TYPE, code: str, name: str | None
) -> None:
    """Make the presser the member's 联系人 (named `name` if given) and tell the secretary."""
    services = get_services(context)
    user = update.effective_user
    language = user_language(update, services, None)
    now = services.now_ts()
    async with transaction(services.db):
        link = await _link_problem(services, code)
        if link is None:
            await reply(update, language, "helpers.link_invalid")
            return
        person = await people.ensure_person(services.db, telegram_id=user.id, now=now,
                                            name=name, language=language)
        if not await helpers.use_link(services.db, link.id, person.id, now):
            await reply(update, language, "helpers.link_invalid")
            return
        await helpers.add_helper(services.db, member_id=link.member_id,
                                 helper_person_id=person.id, kind=helpers.CONTACT,
                                 added_by=link.created_by, now=now, consent_at=now)
        await audit.record(services.db, at=now, actor=f"tg:{user.id}", action="helper.contact",
                           subject=f"member:{link.member_id}")
    await awaiting.done(services, user.id, NAME_KIND)
    member = await members.get_member(services.db, link.member_id)
    subject = await people.get_person(services.db, member.person_id)
    await reply(update, language, "helpers.contact_done", name=_name(language, subject.name))
    secretary = await people.get_person(services.db, link.created_by) if link.created_by else None
    if secretary is not None and secretary.telegram_id is not None:
        lang = secretary.language or services.settings.general.default_language
        await _tell(context, secretary.telegram_id, t(
            lang, "helpers.contact_notice", helper=person.name or "", name=subject.name or ""))


async def button_consent(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Agree to be the member's 联系人: ask for a name unless the bot knows it."""
    services = get_services(context)
    person = await people.get_person_by_telegram(services.db, update.effective_user.id)
    language = user_language(update, services, person.language if person else None)
    code = args[0]
    if await _link_problem(services, code) is None:
        # The alert says why at once; the message keeps it in the chat.
        await update.callback_query.answer(t(language, "helpers.link_invalid"), show_alert=True)
        await clear_buttons(update)
        await reply(update, language, "helpers.link_invalid")
        return
    await update.callback_query.answer()
    await clear_buttons(update)
    if person is not None and person.name:
        await _finish_contact(update, context, code, None)
        return
    await awaiting.expect(services, update.effective_user.id, NAME_KIND, code)
    await reply(update, language, "helpers.ask_name")


async def button_decline(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Decline: nothing is stored."""
    services = get_services(context)
    language = user_language(update, services, None)
    await update.callback_query.answer(t(language, "helpers.contact_declined"))
    await clear_buttons(update)
    await reply(update, language, "helpers.contact_declined")


async def typed_name(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Take the 联系人's name and finish their registration."""
    services = get_services(context)
    language = user_language(update, services, None)
    try:
        name = require_text(text, "helpers.name_empty", limit=NAME_MAX,
                            long_key="helpers.name_long")
    except InvalidInput as problem:
        await reply(update, language, problem.key, **problem.params)
        return
    await _finish_contact(update, context, pending.data or "", name)


# ---------------------------------------------------------------- digest and ledger

_WHAT = ("study", "pledge", "report", "rating", "whereabouts", "post")


async def digest_lines(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> list[str]:
    """Return the digest line naming who entered what for whom this week (代为登记)."""
    # A week "so far" ends at now, and what was entered this very second counts too.
    entries = await helpers.entries_on_behalf(services.db, branch_id, start=start, end=end + 1)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for entry in entries:
        key = (_name(language, entry.by_name), _name(language, entry.member_name))
        counts.setdefault(key, dict.fromkeys(_WHAT, 0))[entry.kind] += 1
    if not counts:
        return []
    lines = [
        t(language, "helpers.digest_line", by=by, name=name, what="、".join(
            t(language, f"helpers.what_{kind}", count=n) for kind, n in what.items() if n
        ))
        for (by, name), what in counts.items()
    ]
    return [t(language, "helpers.digest", lines=raw("；".join(lines)))]


async def rollup_figure(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> RollupFigure:
    """Return the roll-up's "代为登记 N" this week: information only, helping is no fault."""
    entries = await helpers.entries_on_behalf(services.db, branch_id, start=start, end=end + 1)
    return RollupFigure(t(language, "helpers.rollup", count=len(entries)), len(entries),
                        weighs=False)


def _month(detail: str) -> str:
    """Return a stored month key (202604) as the ledger writes it (2026-04)."""
    return f"{detail[:4]}-{detail[4:]}" if len(detail) == 6 else detail


def _entry_text(language: str, entry: helpers.Entry) -> str:
    """Return the ledger's words for one entry: what it was and its value."""
    detail = entry.detail or ""
    if entry.kind == "study":
        return t(language, "helpers.row_study", title=detail,
                 status=t(language, f"helpers.study_{entry.value}"))
    if entry.kind == "pledge":
        return t(language, "helpers.row_pledge", text=detail)
    if entry.kind == "report":
        return t(language, "helpers.row_report", month=_month(detail),
                 status=t(language, f"pledges.progress.{entry.value}"))
    if entry.kind == "post":
        return t(language, "helpers.row_post", month=_month(detail),
                 status=t(language, f"helpers.post_{entry.value}"))
    if entry.kind == "rating":
        return t(language, "helpers.row_rating", text=t(language, f"pledges.rating.{entry.value}"))
    return t(language, "helpers.row_where", kind=t(language, f"helpers.where_{entry.value}"),
             place=detail)


async def ledger_sheet(services: Services, branch_id: int) -> Sheet | None:
    """Return the ledger sheet of everything entered on a member's behalf, who entered it."""
    language = services.settings.general.default_language
    entries = await helpers.entries_on_behalf(services.db, branch_id)
    if not entries:
        return None
    tz = zone(None, services.settings.general.default_timezone)
    rows = [
        [format_local(entry.at, tz), _name(language, entry.member_name),
         _entry_text(language, entry), _name(language, entry.by_name),
         t(language, f"helpers.kind_label_{entry.by_kind or 'leader'}")]
        for entry in entries
    ]
    return Sheet(t(language, "helpers.sheet"), t(language, "helpers.head").split("|"), rows)


# ---------------------------------------------------------------- wiring

_BUTTONS: dict[str, tuple[tuple[object, ...], _Button]] = {
    "m": ((INT,), button_member),
    "b": ((INT, INT), button_branch),
    "add": ((INT, INT), button_add),
    "rm": ((INT, INT), button_remove),
    "lk": ((INT,), button_link),
    "for": ((INT,), button_for),
    "st": ((INT,), button_study),
    "si": ((INT, INT), button_study_item),
    "pl": ((INT,), button_pledges),
    "rp": ((INT,), button_report),
    "rt": ((INT,), button_rate),
    "wb": ((INT,), button_where),
    "po": ((INT,), button_post),
    "end": ((INT,), button_end),
    "cy": ((TEXT,), button_consent),
    "cn": ((TEXT,), button_decline),
}
_SHAPES = {action: shape for action, (shape, _) in _BUTTONS.items()}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a helpers button; malformed data raises MalformedButton (answered as stale)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    await _BUTTONS[pressed.action][1](update, context, pressed.args)


def register(app: Application) -> None:
    """Add /pair, /helpfor, /start helper_<code>, the 联系人's typed name and the buttons."""
    # Order matters: /start helper_… must be tried before onboarding's /start <code>,
    # which would take the link code for an invite code.
    app.add_handler(CommandHandler(
        "start", start_link, filters=filters.Regex(rf"^/start\s+{LINK_PREFIX}\S")
    ))
    app.add_handler(CommandHandler("pair", cmd_pair))
    app.add_handler(CommandHandler("helpfor", cmd_helpfor))
    awaiting.register(app)
    app.add_handler(awaiting.typed_answers(app, {NAME_KIND: typed_name}))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    add_digest_section("helpers", digest_lines)
    add_ledger_sheet("helpers", ledger_sheet)
    add_rollup_figure("helpers", rollup_figure)

