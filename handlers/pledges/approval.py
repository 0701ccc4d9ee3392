"""The secretary approves submitted pledges, or returns one with a typed comment."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.domain import pledges as rules
from bot.domain.models import Member, Person
from bot.domain.permissions import Actor
from bot.domain.pledges import Pledge
from bot.i18n import t
from bot.services import Services, get_services
from handlers import awaiting
from handlers.common import load_actor, reply
from handlers.pledges.acting import leads, pledge_and_member, secretary_of
from handlers.pledges.inputs import RETURNING, answer_data, await_answer
from handlers.pledges.messaging import (
    edit,
    parse_or_explain,
    stale,
    tell_leaders,
    tell_person,
)
from handlers.pledges.render import approval, number_of, numbered, review
from storage.db import transaction
from storage.repositories import audit, members, people, units
from storage.repositories import pledges as repo
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "ask_approval",
    "button_approve",
    "button_approve_all",
    "button_return",
    "typed_return",
]

log = logging.getLogger(__name__)


async def ask_approval(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    member: Member,
    person: Person,
    year: int,
    pledges: Sequence[Pledge],
) -> None:
    """Send the submitted pledges to the branch's secretary with approve/return buttons."""
    branch = await units.get_unit(services.db, member.branch_id)
    await tell_leaders(
        context,
        services,
        member.branch_id,
        lambda language: approval(
            language, person.name or "", branch.name, year, pledges, member.id
        ),
    )


async def _refresh_approval(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    language: str,
    member: Member,
    year: int,
    *,
    update: Update | None = None,
    chat_id: int | None = None,
    message_id: int | None = None,
) -> list[Pledge]:
    """Redraw the approval message (the pressed one, or chat/message ids) and return the list."""
    person = await people.get_person(services.db, member.person_id)
    branch = await units.get_unit(services.db, member.branch_id)
    pledges = await repo.member_pledges(services.db, member.id, year)
    text, markup = approval(
        language, person.name if person else "", branch.name, year, pledges, member.id
    )
    if update is not None:
        await edit(update, text, markup)
    elif chat_id is not None and message_id is not None:
        try:
            await context.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except BadRequest:
            # The message was deleted or is unchanged; the decision itself is stored.
            log.info("could not redraw approval message %s", message_id)
    return pledges


async def button_approve(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Approve one submitted pledge."""
    found = await secretary_of(update, context, int(args[0]), "pledges.not_secretary")
    if found is None:
        return
    actor, pledge, member = found
    await _decide(update, context, actor, member, pledge.year, [pledge.id])


async def button_approve_all(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Approve every submitted pledge of a member's year."""
    services = get_services(context)
    member_id, year = int(args[0]), int(args[1])
    actor = await load_actor(update, context)
    member = await members.get_member(services.db, member_id)
    # Permission first: "already decided" would tell anyone who has submitted pledges.
    if member is None or not await leads(context, actor, member):
        await stale(update, actor.language, "pledges.not_secretary")
        return
    pledges = [
        p
        for p in await repo.member_pledges(services.db, member_id, year)
        if p.status == "submitted"
    ]
    if not pledges:
        await stale(update, actor.language, "pledges.already_decided")
        return
    await _decide(update, context, actor, member, year, [p.id for p in pledges])


async def _decide(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    member: Member,
    year: int,
    pledge_ids: Sequence[int],
) -> None:
    """Approve the pledges still waiting, redraw the message, and tell a fully approved member."""
    services = get_services(context)
    now = services.now_ts()
    async with transaction(services.db):
        decided = [
            pid
            for pid in pledge_ids
            if await repo.decide_pledge(services.db, pid, approve=True, by=actor.person_id, now=now)
        ]
        if decided:
            await audit.record(
                services.db,
                at=now,
                actor=f"tg:{actor.telegram_id}",
                action="pledge.approve",
                subject=f"member:{member.id}",
                detail={"pledges": decided},
            )
    if not decided:
        await stale(update, actor.language, "pledges.already_decided")
        return
    await update.callback_query.answer(t(actor.language, "pledges.approved_one"))
    pledges = await _refresh_approval(
        context, services, actor.language, member, year, update=update
    )
    await _tell_if_all_approved(context, services, member, year, pledges)


async def _tell_if_all_approved(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    member: Member,
    year: int,
    pledges: Sequence[Pledge],
) -> None:
    """Send the member their list once every pledge of the year is approved."""
    if not pledges or any(p.status != "approved" for p in pledges):
        return

    def render(language: str) -> tuple[str, None]:
        lines = [t(language, "pledges.all_approved", year=year), *numbered(language, pledges)]
        return "\n".join(lines), None

    person = await people.get_person(services.db, member.person_id)
    await tell_person(context, services, person, render)


async def button_return(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Await the secretary's typed reason for returning a pledge."""
    found = await secretary_of(update, context, int(args[0]), "pledges.not_secretary")
    if found is None:
        return
    actor, pledge, member = found
    if pledge.status != "submitted":
        await stale(update, actor.language, "pledges.already_decided")
        return
    services = get_services(context)
    await update.callback_query.answer()
    message = update.callback_query.message
    await await_answer(
        services,
        actor.telegram_id,
        RETURNING,
        p=pledge.id,
        c=message.chat_id if message else None,
        mid=message.message_id if message else None,
    )
    pledges = await repo.member_pledges(services.db, member.id, pledge.year)
    person = await people.get_person(services.db, member.person_id)
    await reply(
        update,
        actor.language,
        "pledges.ask_return_comment",
        n=number_of(pledges, pledge.id),
        text=pledge.text,
        name=person.name if person else "",
    )


async def typed_return(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Return the pledge with the typed comment and tell the member what to fix."""
    services = get_services(context)
    actor = await load_actor(update, context)
    data = answer_data(pending)
    pledge, member = await pledge_and_member(services, int(data.get("p", 0)))
    if pledge is None or member is None or pledge.status != "submitted":
        await awaiting.done(services, actor.telegram_id, RETURNING)
        await reply(update, actor.language, "pledges.already_decided")
        return
    if not await leads(context, actor, member):
        await awaiting.done(services, actor.telegram_id, RETURNING)
        await reply(update, actor.language, "pledges.not_secretary")
        return
    comment = await parse_or_explain(update, actor.language, rules.clean_comment, text)
    if comment is None:
        return
    now = services.now_ts()
    async with transaction(services.db):
        await repo.decide_pledge(
            services.db, pledge.id, approve=False, by=actor.person_id, now=now, comment=comment
        )
        await audit.record(
            services.db,
            at=now,
            actor=f"tg:{actor.telegram_id}",
            action="pledge.return",
            subject=f"pledge:{pledge.id}",
        )
    await awaiting.done(services, actor.telegram_id, RETURNING)
    person = await people.get_person(services.db, member.person_id)
    pledges = await _refresh_approval(
        context,
        services,
        actor.language,
        member,
        pledge.year,
        chat_id=data.get("c"),
        message_id=data.get("mid"),
    )
    await reply(update, actor.language, "pledges.returned_ok", name=person.name if person else "")
    number = number_of(pledges, pledge.id)

    def render(language: str) -> tuple[str, InlineKeyboardMarkup | None]:
        header = t(
            language, "pledges.returned_to_member", n=number, text=pledge.text, comment=comment
        )
        return review(language, pledge.year, pledges, header)

    await tell_person(context, services, person, render)
