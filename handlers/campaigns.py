"""The service-star campaign (创先争优): open, nominate, vote in secret, confirm, announce.

    /campaign 服务明星评比 14 3     secretary (or a higher one): title, days, stars
        → every member beneath is invited (planner, outbox): [🏅 提名] [🗳 投票]
    🏅 → a roster button → a one-line reason          🗳 → one nominee button, once
    /campaign                       members: open campaigns; leaders: counts and 🏁
    🏁 → the count with the top N → ✅ → announced to every member (planner, outbox)

The ballot is secret (storage.repositories.campaigns, migration 0012): the
vote button says whom, but what is stored is only "this person voted" and
"this nominee has one more vote", in two unlinked tables.  Leaders see the
counts and how many voted, never who voted for whom.

Callback data (feature "cp"):

    cp:n:<campaign>  cp:p:<campaign>:<member>  cp:v:<campaign>  cp:b:<campaign>:<member>
    cp:x:<campaign>  cp:k:<campaign>
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callback_data import INT, decode, pack, pattern
from bot.domain import pledges as cycle
from bot.domain.commands import is_number
from bot.domain.free_text import clean_text
from bot.domain.humane import day_label
from bot.domain.localtime import zone
from bot.domain.models import Unit
from bot.domain.outgoing import OutgoingMessage, occurrence_key
from bot.domain.permissions import can_manage_unit, is_leader, top_led_units
from bot.domain.tree import branches_under
from bot.i18n import raw, t
from bot.ledger import LEDGER_LANGUAGE
from bot.report_parts import (
    CAMPAIGN_LAST_DAYS,
    RollupFigure,
    Sheet,
    add_digest_section,
    add_ledger_sheet,
    add_rollup_figure,
)
from bot.scheduling import add_planner
from bot.services import Services, get_services
from handlers import awaiting
from handlers.awaiting import TypedAnswer
from handlers.common import clear_buttons, load_actor, load_units, reply
from handlers.keyboards import MAX_BUTTONS, button_grid
from handlers.pledges.acting import language_of, load_me
from handlers.pledges.inputs import INPUT_TTL, answer_data, await_answer, expired
from handlers.pledges.messaging import edit, stale
from storage.repositories import campaigns as repo
from storage.repositories import members, roles, units
from storage.repositories.campaigns import Campaign
from storage.repositories.pending_inputs import PendingInput

__all__ = ["digest_lines", "ledger_sheet", "plan_campaigns", "register"]

FEATURE = "cp"
REASON = "campaign.reason"  # {"c": campaign, "n": nominee member}
MAX_TITLE = 30
MAX_DAYS = 90
MAX_STARS = 20
RESULT_DAYS = 7


def _button(text: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=pack(FEATURE, *(str(a) for a in args)))


def _closes(language: str, campaign: Campaign, timezone: str | None) -> str:
    """Return the closing day as people say it ("4月5日（周日）"), in the reader's zone."""
    local = datetime.fromtimestamp(campaign.closes_at, UTC).astimezone(zone(timezone))
    return day_label(language, local.date())


async def _scope(services: Services, unit_id: int) -> list[int]:
    """Return the branch ids a campaign of `unit_id` covers (the unit itself, or all beneath)."""
    all_units = await units.list_units(services.db)
    return [u.id for u in branches_under(all_units, unit_id)]


async def _voters(services: Services, campaign: Campaign) -> list[members.MemberRow]:
    return await members.list_members_in(
        services.db, await _scope(services, campaign.unit_id), ("active",)
    )


# ---------------------------------------------------------------- /campaign


def _member_buttons(language: str, campaign_id: int) -> list[InlineKeyboardButton]:
    """Return a member's row for an open campaign: 提名 and 投票 (the list and the invitation)."""
    return [
        _button(t(language, "campaign.btn_nominate"), "n", campaign_id),
        _button(t(language, "campaign.btn_vote"), "v", campaign_id),
    ]


def _tally_lines(language: str, tally: list[tuple[int, str | None, int]]) -> list[str]:
    """Return one "name: N votes" line per nominee, as the leader sees the count."""
    return [
        t(language, "campaign.tally_line", name=name or "", votes=votes)
        for _, name, votes in tally
    ]


async def cmd_campaign(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open a campaign (leaders, with arguments), or show the open ones."""
    actor = await load_actor(update, context)
    if context.args:
        await _open(update, context, actor.language)
        return
    services = get_services(context)
    all_units = await load_units(context)
    by_id = {u.id: u for u in all_units}
    lines = [t(actor.language, "campaign.list_title")]
    markup_rows = []
    if is_leader(actor):
        led = [u.id for u in all_units if can_manage_unit(actor, u.id, all_units)]
        for campaign in await repo.unit_campaigns(services.db, led):
            if campaign.status != "open":
                continue
            unit = by_id.get(campaign.unit_id)
            voters = await _voters(services, campaign)
            tally = await repo.tally_of(services.db, campaign.id)
            lines.append(
                t(
                    actor.language,
                    "campaign.status_line",
                    title=campaign.title,
                    unit=unit.name if unit else "",
                    closes=_closes(actor.language, campaign, unit.timezone if unit else None),
                    voted=await repo.voter_count(services.db, campaign.id),
                    voters=len(voters),
                    nominees=len(tally),
                )
            )
            lines += _tally_lines(actor.language, tally)
            markup_rows.append(
                [
                    _button(
                        t(actor.language, "campaign.btn_close", title=campaign.title),
                        "x",
                        campaign.id,
                    )
                ]
            )
    elif actor.member_branch_ids:
        branch_id = next(iter(actor.member_branch_ids))
        for campaign in await _member_campaigns(services, branch_id, all_units):
            unit = by_id.get(campaign.unit_id)
            lines.append(
                t(
                    actor.language,
                    "campaign.member_line",
                    title=campaign.title,
                    unit=unit.name if unit else "",
                    closes=_closes(actor.language, campaign, unit.timezone if unit else None),
                )
            )
            markup_rows.append(_member_buttons(actor.language, campaign.id))
    else:
        await reply(update, actor.language, "errors.not_member")
        return
    if len(lines) == 1:
        lines.append(t(actor.language, "campaign.none"))
    await update.effective_chat.send_message(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(markup_rows) if markup_rows else None
    )


async def _member_campaigns(
    services: Services, branch_id: int, all_units: list[Unit]
) -> list[Campaign]:
    """Return the open campaigns covering a branch (its own, or a unit's above it)."""
    return [
        c for c in await _member_campaigns_all(services, branch_id, all_units) if c.status == "open"
    ]


async def _open(update: Update, context: ContextTypes.DEFAULT_TYPE, language: str) -> None:
    services = get_services(context)
    actor = await load_actor(update, context)
    all_units = await load_units(context)
    tops = top_led_units(actor, all_units)
    if not tops:
        await reply(update, language, "errors.not_secretary")
        return
    args = list(context.args or [])
    if len(args) < 3 or not is_number(args[-1]) or not is_number(args[-2]):
        await reply(update, language, "campaign.usage")
        return
    days, stars = int(args[-2]), int(args[-1])
    title = clean_text(" ".join(args[:-2]))
    unit = tops[0]
    if args[0] in {u.key for u in all_units} and len(args) > 3:
        named = next(u for u in all_units if u.key == args[0])
        if can_manage_unit(actor, named.id, all_units):
            unit, title = named, clean_text(" ".join(args[1:-2]))
    if not 1 <= days <= MAX_DAYS or not 1 <= stars <= MAX_STARS or not title:
        await reply(update, language, "campaign.bad_numbers")
        return
    if len(title) > MAX_TITLE:
        await reply(update, language, "campaign.title_too_long", length=len(title), limit=MAX_TITLE)
        return
    now = services.now_ts()
    campaign_id = await repo.open_campaign(
        services.db,
        unit_id=unit.id,
        title=title,
        stars=stars,
        opens_at=now,
        closes_at=int((services.clock.now() + timedelta(days=days)).timestamp()),
        by=actor.person_id,
    )
    campaign = await repo.get_campaign(services.db, campaign_id)
    assert campaign is not None
    await reply(
        update,
        language,
        "campaign.opened",
        title=title,
        unit=unit.name,
        closes=_closes(language, campaign, unit.timezone),
        stars=stars,
    )


# ---------------------------------------------------------------- nominate and vote


async def _open_campaign_for(
    update: Update, services: Services, campaign_id: int
) -> tuple[object, Campaign] | None:
    """Return (member, campaign) if the presser is a member it covers and it is open."""
    me = await load_me(update, services)
    campaign = await repo.get_campaign(services.db, campaign_id) if me is not None else None
    # One refusal whether the campaign exists, covers another branch, or the presser is no member.
    if (
        me is None
        or campaign is None
        or me.member.branch_id not in await _scope(services, campaign.unit_id)
    ):
        language = me.language if me else language_of(update, services, None)
        await stale(update, language, "errors.button_not_allowed")
        return None
    if campaign.status != "open" or services.now_ts() >= campaign.closes_at:
        await stale(update, me.language, "campaign.closed")
        return None
    return me, campaign


async def button_nominate(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Offer the presser's branch roster to nominate from."""
    services = get_services(context)
    found = await _open_campaign_for(update, services, int(args[0]))
    if found is None:
        return
    me, campaign = found
    roster = await members.list_branch_members(services.db, me.member.branch_id, ("active",))
    keys = [
        _button(row.name or str(row.member.id), "p", campaign.id, row.member.id)
        for row in roster[:MAX_BUTTONS]
        if row.member.id != me.member.id
    ]
    await update.callback_query.answer()
    await reply(
        update,
        me.language,
        "campaign.pick_nominee",
        reply_markup=InlineKeyboardMarkup(button_grid(keys)),
    )


async def button_pick(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Take the nominee and ask for the one-line reason."""
    services = get_services(context)
    found = await _open_campaign_for(update, services, int(args[0]))
    if found is None:
        return
    me, campaign = found
    nominee = await members.get_member(services.db, int(args[1]))
    if (
        nominee is None
        or nominee.status != "active"
        or nominee.branch_id not in await _scope(services, campaign.unit_id)
    ):
        await stale(update, me.language)
        return
    await update.callback_query.answer()
    await clear_buttons(update)
    await await_answer(services, me.chat_id, REASON, c=campaign.id, n=nominee.id)
    await reply(update, me.language, "campaign.ask_reason")


async def typed_reason(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Record the nomination with its reason (one line)."""
    services = get_services(context)
    me = await load_me(update, services)
    data = answer_data(pending)
    campaign = await repo.get_campaign(services.db, int(data.get("c", 0)))
    nominee = await members.get_member(services.db, int(data.get("n", 0)))
    if me is None or campaign is None or nominee is None or campaign.status != "open":
        await expired(update, services, me, REASON)
        return
    reason = clean_text(text)[: cycle.MAX_TEXT]
    if not reason:
        await reply(update, me.language, "campaign.ask_reason")
        return
    await repo.nominate(
        services.db,
        campaign.id,
        member_id=nominee.id,
        by=me.person.id,
        reason=reason,
        now=services.now_ts(),
    )
    await awaiting.done(services, me.chat_id, REASON)
    name = next(
        (
            n.name
            for n in await repo.nominations(services.db, campaign.id)
            if n.member_id == nominee.id
        ),
        None,
    )
    await reply(update, me.language, "campaign.nominated", name=name or "")


async def button_vote(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Show the nominees, one button each (unless the presser has voted)."""
    services = get_services(context)
    found = await _open_campaign_for(update, services, int(args[0]))
    if found is None:
        return
    me, campaign = found
    if await repo.has_voted(services.db, campaign.id, me.person.id):
        await stale(update, me.language, "campaign.already_voted")
        return
    nominees = await repo.nominations(services.db, campaign.id)
    if not nominees:
        await stale(update, me.language, "campaign.no_nominees")
        return
    await update.callback_query.answer()
    lines = "\n".join(
        t(me.language, "campaign.nominee_line", name=n.name or "", reasons="；".join(n.reasons))
        for n in nominees
    )
    keys = [
        _button(n.name or str(n.member_id), "b", campaign.id, n.member_id)
        for n in nominees[:MAX_BUTTONS]
    ]
    await reply(
        update,
        me.language,
        "campaign.pick_vote",
        title=campaign.title,
        nominees=raw(lines),
        reply_markup=InlineKeyboardMarkup(button_grid(keys)),
    )


async def button_ballot(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Count one secret vote; a second vote is refused."""
    services = get_services(context)
    found = await _open_campaign_for(update, services, int(args[0]))
    if found is None:
        return
    me, campaign = found
    nominees = {n.member_id for n in await repo.nominations(services.db, campaign.id)}
    if int(args[1]) not in nominees:
        await stale(update, me.language)
        return
    # A helper acting for a member does not vote for them: the vote is the presser's own.
    if me.entered_by is not None or not await repo.cast_vote(
        services.db, campaign.id, voter=me.person.id, nominee=int(args[1])
    ):
        await stale(update, me.language, "campaign.already_voted")
        return
    await update.callback_query.answer()
    # The pressed message named the nominees; the answer names nobody.
    await edit(update, t(me.language, "campaign.voted"))


# ---------------------------------------------------------------- close and announce


async def _leader_campaign(
    update: Update, context: ContextTypes.DEFAULT_TYPE, campaign_id: int
) -> tuple[str, Campaign] | None:
    actor = await load_actor(update, context)
    campaign = (
        await repo.get_campaign(get_services(context).db, campaign_id) if is_leader(actor) else None
    )
    if campaign is None or not can_manage_unit(actor, campaign.unit_id, await load_units(context)):
        await stale(update, actor.language, "errors.button_not_allowed")
        return None
    if campaign.status != "open":
        await stale(update, actor.language, "campaign.closed")
        return None
    return actor.language, campaign


def _winners(
    campaign: Campaign, tally: list[tuple[int, str | None, int]]
) -> list[tuple[int, str | None, int]]:
    """Return the top `stars` nominees with at least one vote (ties at the edge all in)."""
    voted = [row for row in tally if row[2] > 0]
    if len(voted) <= campaign.stars:
        return voted
    edge = voted[campaign.stars - 1][2]
    return [row for row in voted if row[2] >= edge]


async def button_close(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Show the count and the stars it gives, with ✅ to confirm."""
    services = get_services(context)
    found = await _leader_campaign(update, context, int(args[0]))
    if found is None:
        return
    language, campaign = found
    tally = await repo.tally_of(services.db, campaign.id)
    lines = "\n".join(_tally_lines(language, tally)) or t(language, "campaign.no_stars")
    await update.callback_query.answer()
    await reply(
        update,
        language,
        "campaign.result_preview",
        title=campaign.title,
        stars=campaign.stars,
        lines=raw(lines),
        reply_markup=InlineKeyboardMarkup(
            [[_button(t(language, "campaign.btn_confirm"), "k", campaign.id)]]
        ),
    )


async def button_confirm(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Confirm the result; the planner announces it to every member the campaign covers."""
    services = get_services(context)
    found = await _leader_campaign(update, context, int(args[0]))
    if found is None:
        return
    language, campaign = found
    actor = await load_actor(update, context)
    winners = _winners(campaign, await repo.tally_of(services.db, campaign.id))
    await repo.confirm_result(
        services.db,
        campaign.id,
        [(m, v) for m, _, v in winners],
        by=actor.person_id,
        now=services.now_ts(),
    )
    await update.callback_query.answer()
    await clear_buttons(update)
    await reply(update, language, "campaign.confirmed")


# ---------------------------------------------------------------- the planner


async def plan_campaigns(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return invitations to open campaigns, close reminders, and confirmed results."""
    found: list[OutgoingMessage] = []
    ts = int(now.timestamp())
    default = services.settings.general.default_language
    # A result is announced within a week of its confirmation (after that, the
    # send log has it or the bot was down too long for it to be news).
    recent = await repo.open_campaigns(services.db)
    recent += await repo.confirmed_since(services.db, ts - RESULT_DAYS * 86400)
    for campaign in recent:
        unit = await units.get_unit(services.db, campaign.unit_id)
        stars = await repo.stars_of(services.db, campaign.id) if campaign.status == "closed" else []
        for row in await _voters(services, campaign):
            if row.telegram_id is None:
                continue
            language = row.language or default
            if campaign.status == "open" and ts < campaign.closes_at:
                text = t(
                    language,
                    "campaign.announce",
                    unit=unit.name if unit else "",
                    title=campaign.title,
                    closes=_closes(language, campaign, row.timezone),
                    stars=campaign.stars,
                )
                markup = InlineKeyboardMarkup([_member_buttons(language, campaign.id)])
                found.append(
                    OutgoingMessage(
                        dedupe_key=occurrence_key(
                            "star.open", row.member.id, f"c{campaign.id}", 0
                        ),
                        kind="star.open",
                        person_id=row.member.person_id,
                        chat_id=row.telegram_id,
                        text=text,
                        due_at=max(ts, campaign.opens_at),
                        reply_markup=markup.to_dict(),
                        expires_at=campaign.closes_at,
                    )
                )
            elif campaign.status == "closed":
                stars_text = "\n".join(
                    t(language, "campaign.star_line", name=name or "", votes=votes)
                    for _, name, votes in stars
                ) or t(language, "campaign.no_stars")
                found.append(
                    OutgoingMessage(
                        dedupe_key=occurrence_key(
                            "star.result", row.member.id, f"c{campaign.id}", 0
                        ),
                        kind="star.result",
                        person_id=row.member.person_id,
                        chat_id=row.telegram_id,
                        text=t(
                            language, "campaign.result", title=campaign.title, stars=raw(stars_text)
                        ),
                        due_at=ts,
                    )
                )
        if campaign.status == "open" and ts >= campaign.closes_at:
            for person_id, telegram_id, language in await roles.nearest_leaders(
                services.db, campaign.unit_id
            ):
                lang = language or default
                found.append(
                    OutgoingMessage(
                        dedupe_key=f"star.close|c{campaign.id}|p{person_id}",
                        kind="star.close",
                        person_id=person_id,
                        chat_id=telegram_id,
                        text=t(lang, "campaign.due_close", title=campaign.title),
                        due_at=ts,
                        reply_markup=InlineKeyboardMarkup(
                            [
                                [
                                    _button(
                                        t(lang, "campaign.btn_close", title=campaign.title),
                                        "x",
                                        campaign.id,
                                    )
                                ]
                            ]
                        ).to_dict(),
                    )
                )
    return found


# ---------------------------------------------------------------- digest and ledger


async def _branch_campaigns(services: Services, branch_id: int) -> list[Campaign]:
    """Return the campaigns covering a branch (its own and its ancestors'), newest first."""
    all_units = await units.list_units(services.db)
    return await _member_campaigns_all(services, branch_id, all_units)


async def _member_campaigns_all(
    services: Services, branch_id: int, all_units: list[Unit]
) -> list[Campaign]:
    by_id = {u.id: u for u in all_units}
    chain, unit = [], by_id.get(branch_id)
    while unit is not None:
        chain.append(unit.id)
        unit = by_id.get(unit.parent_id) if unit.parent_id else None
    return await repo.unit_campaigns(services.db, chain)


async def digest_lines(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> list[str]:
    """Return "⭐ 服务明星评比投票中：已投 9/15" for each open campaign covering the branch."""
    lines = []
    for campaign in await _branch_campaigns(services, branch_id):
        if campaign.status != "open":
            continue
        lines.append(
            t(
                language,
                "campaign.digest_line",
                title=campaign.title,
                voted=await repo.voter_count(services.db, campaign.id),
                voters=len(await _voters(services, campaign)),
            )
        )
    return lines


async def rollup_figure(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> RollupFigure:
    """Return the roll-up's "投票未投 N" (this branch's members); it weighs only near the close."""
    outstanding, closing = 0, False
    last_days = CAMPAIGN_LAST_DAYS * 86_400
    people = [m.member.person_id
              for m in await members.list_members_in(services.db, [branch_id], ("active",))]
    for campaign in await _branch_campaigns(services, branch_id):
        if campaign.status != "open":
            continue
        outstanding += len(people) - await repo.voted_among(services.db, campaign.id, people)
        closing |= services.now_ts() >= campaign.closes_at - last_days
    return RollupFigure(t(language, "campaign.rollup", count=outstanding), outstanding,
                        weighs=closing)


async def ledger_sheet(services: Services, branch_id: int) -> Sheet | None:
    """Return the 创先争优 sheet: each campaign covering the branch, one row per nominee."""
    z = LEDGER_LANGUAGE
    all_units = await units.list_units(services.db)
    by_id = {u.id: u for u in all_units}
    rows = []
    for campaign in await _member_campaigns_all(services, branch_id, all_units):
        unit = by_id.get(campaign.unit_id)
        stars = {m for m, _, _ in await repo.stars_of(services.db, campaign.id)}
        reasons = {n.member_id: n.reasons for n in await repo.nominations(services.db, campaign.id)}
        closes = (
            datetime.fromtimestamp(campaign.closes_at, UTC)
            .astimezone(zone(unit.timezone if unit else None))
            .date()
        )
        for member_id, name, votes in await repo.tally_of(services.db, campaign.id):
            rows.append(
                [
                    campaign.title,
                    unit.name if unit else "",
                    closes,
                    campaign.stars,
                    name or html.unescape(t(z, "digest.anonymous")),
                    votes,
                    html.unescape(t(z, "campaign.ledger_star")) if member_id in stars else "",
                    "；".join(reasons.get(member_id, ())),
                ]
            )
    if not rows:
        return None
    return Sheet(
        html.unescape(t(z, "campaign.ledger_sheet")),
        html.unescape(t(z, "campaign.ledger_head")).split("|"),
        rows,
    )


# ---------------------------------------------------------------- wiring

_Button = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]
_BUTTONS: dict[str, tuple[tuple[object, ...], _Button]] = {
    "n": ((INT,), button_nominate),
    "p": ((INT, INT), button_pick),
    "v": ((INT,), button_vote),
    "b": ((INT, INT), button_ballot),
    "x": ((INT,), button_close),
    "k": ((INT,), button_confirm),
}
_SHAPES = {action: shape for action, (shape, _) in _BUTTONS.items()}
_TYPED: dict[str, TypedAnswer] = {REASON: typed_reason}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a campaign button; malformed data raises MalformedButton (answered as stale)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    await _BUTTONS[pressed.action][1](update, context, pressed.args)


def register(app: Application) -> None:
    """Add /campaign, the cp: buttons, the typed reason, the planner and report parts."""
    app.add_handler(CommandHandler("campaign", cmd_campaign))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    awaiting.register(app)
    app.add_handler(awaiting.typed_answers(app, _TYPED, ttl=INPUT_TTL))
    add_planner(app, "campaigns", plan_campaigns)
    add_digest_section("campaigns", digest_lines)
    add_ledger_sheet("campaigns", ledger_sheet)
    add_rollup_figure("campaigns", rollup_figure)
