"""评诺: from 28 December the member rates each pledge, then the secretary rates and comments.

The secretary rates after the member's own rating, or without it from
[pledges].secretary_rates_after_days after rating opens (the planner then
asks the secretary about each pledge still unrated).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain import pledges as rules
from bot.domain.localtime import zone
from bot.i18n import t
from bot.services import get_services
from handlers import awaiting
from handlers.common import load_actor, reply
from handlers.pledges.acting import (
    approved_number,
    leads,
    own_pledge,
    pledge_and_member,
    secretary_of,
)
from handlers.pledges.inputs import RATE_COMMENT, answer_data, await_answer, open_question
from handlers.pledges.messaging import (
    clear_buttons,
    edit,
    parse_or_explain,
    stale,
    tell_leaders,
    tell_person,
)
from handlers.pledges.render import (
    evaluation_ask,
    rating_keyboard,
    rating_label,
    secretary_rate_ask,
    skip_keyboard,
)
from storage.repositories import audit, people, units
from storage.repositories import pledges as repo
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "button_no_comment",
    "button_secretary_rating",
    "button_self_rating",
    "typed_rate_comment",
]


async def button_self_rating(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Store the member's own rating of a pledge and pass it to the secretary."""
    services = get_services(context)
    me, pledge = await own_pledge(update, services, int(args[0]))
    if me is None or pledge is None:
        return
    rating = args[1]
    now = services.clock.now()
    if pledge.status != "approved" or rating not in rules.RATINGS:
        await stale(update, me.language)
        return
    if not rules.is_evaluation_open(pledge.year, now, me.tz, me.hours):
        await stale(update, me.language, "pledges.rating_not_open")
        return
    if not await repo.set_self_rating(
        services.db, pledge.id, rating, services.now_ts(), entered_by=me.entered_by
    ):
        await stale(update, me.language, "pledges.already_rated")
        return
    await update.callback_query.answer(t(me.language, "pledges.rating_saved"))
    number = await approved_number(services, pledge)
    reports = await repo.reports_for(services.db, [pledge.id])
    rated = t(me.language, "pledges.self_rated", rating=rating_label(me.language, rating))
    await edit(update, evaluation_ask(me.language, pledge, number, reports) + "\n" + rated)
    branch = await units.get_unit(services.db, me.member.branch_id)
    await tell_leaders(
        context,
        services,
        me.member.branch_id,
        lambda language: (
            secretary_rate_ask(
                language, me.person.name or "", branch.name, pledge, number, reports, rating
            ),
            rating_keyboard(language, "sec", pledge.id),
        ),
    )


async def button_secretary_rating(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Store the secretary's rating, tell the member, and offer a comment."""
    found = await secretary_of(update, context, int(args[0]), "pledges.rate_not_secretary")
    if found is None:
        return
    actor, pledge, member = found
    services = get_services(context)
    rating = args[1]
    if actor.person_id == member.person_id:
        await stale(update, actor.language, "pledges.rate_own")
        return
    if pledge.status != "approved" or rating not in rules.RATINGS:
        await stale(update, actor.language)
        return
    person = await people.get_person(services.db, member.person_id)
    branch = await units.get_unit(services.db, member.branch_id)
    member_tz = zone(
        person.timezone if person else None,
        branch.timezone or services.settings.general.default_timezone,
    )
    hours = rules.member_hours(member.category, services.settings.study)
    now = services.clock.now()
    if not rules.is_evaluation_open(pledge.year, now, member_tz, hours):
        await stale(update, actor.language, "pledges.rating_not_open")
        return
    if not rules.may_secretary_rate(pledge, now, member_tz, hours, services.settings.pledges):
        opens = rules.secretary_rating_moment(
            pledge.year, member_tz, hours, services.settings.pledges
        ).astimezone(member_tz)
        await stale(update, actor.language, "pledges.rate_waits_self",
                    month=opens.month, day=opens.day)
        return
    await repo.set_secretary_rating(
        services.db, pledge.id, rating, by=actor.person_id, now=services.now_ts()
    )
    await audit.record(
        services.db,
        at=services.now_ts(),
        actor=f"tg:{actor.telegram_id}",
        action="pledge.rate",
        subject=f"pledge:{pledge.id}",
        detail=rating,
    )
    await update.callback_query.answer(t(actor.language, "pledges.rating_saved"))
    number = await approved_number(services, pledge)
    reports = await repo.reports_for(services.db, [pledge.id])
    name = person.name if person and person.name else ""
    asked = secretary_rate_ask(
        actor.language, name, branch.name, pledge, number, reports, pledge.self_rating
    )
    rated = t(
        actor.language, "pledges.secretary_rated", rating=rating_label(actor.language, rating)
    )
    await edit(update, asked + "\n" + rated)
    await await_answer(services, actor.telegram_id, RATE_COMMENT, p=pledge.id)
    await reply(
        update,
        actor.language,
        "pledges.ask_rate_comment",
        reply_markup=skip_keyboard(actor.language, "nocm", pledge.id),
    )
    await tell_person(
        context,
        services,
        person,
        lambda language: (
            t(
                language,
                "pledges.rated_to_member",
                year=pledge.year,
                n=number,
                text=pledge.text,
                rating=rating_label(language, rating),
            ),
            None,
        ),
    )


async def typed_rate_comment(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Store the secretary's comment on a rating and pass it to the member."""
    services = get_services(context)
    actor = await load_actor(update, context)
    pledge, member = await pledge_and_member(services, int(answer_data(pending).get("p", 0)))
    if pledge is None or member is None or not await leads(context, actor, member):
        await awaiting.done(services, actor.telegram_id, RATE_COMMENT)
        await reply(update, actor.language, "pledges.input_expired")
        return
    comment = await parse_or_explain(update, actor.language, rules.clean_comment, text)
    if comment is None:
        return
    await repo.set_secretary_comment(services.db, pledge.id, comment)
    await awaiting.done(services, actor.telegram_id, RATE_COMMENT)
    await reply(update, actor.language, "pledges.comment_saved")
    person = await people.get_person(services.db, member.person_id)
    await tell_person(
        context,
        services,
        person,
        lambda language: (
            t(language, "pledges.comment_to_member", text=pledge.text, comment=comment),
            None,
        ),
    )


async def button_no_comment(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Leave the rating without a comment."""
    services = get_services(context)
    actor = await load_actor(update, context)
    if await open_question(services, actor.telegram_id, RATE_COMMENT, p=args[0]) is None:
        await stale(update, actor.language)
        return
    await awaiting.done(services, actor.telegram_id, RATE_COMMENT)
    await update.callback_query.answer(t(actor.language, "pledges.rating_saved"))
    await clear_buttons(update)
