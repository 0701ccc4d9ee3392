"""承诺: a member writes, picks, edits and deletes the year's pledges, then submits them."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.domain import pledges as rules
from bot.errors import InvalidInput
from bot.i18n import t
from bot.services import Services, get_services
from handlers import awaiting
from handlers.acting_for import carrying
from handlers.common import reply
from handlers.pledges.acting import Me, current_year, load_me, member_or_stale, own_pledge
from handlers.pledges.approval import ask_approval
from handlers.pledges.inputs import ADDING, EDITING, answer_data, await_answer, expired
from handlers.pledges.messaging import edit, parse_or_explain, stale
from handlers.pledges.render import button, number_of, numbered, review, templates
from storage.db import transaction
from storage.repositories import audit
from storage.repositories import pledges as repo
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "button_add",
    "button_delete",
    "button_edit",
    "button_submit",
    "button_template_add",
    "button_templates",
    "typed_edit",
    "typed_pledge",
]


async def _drafting(update: Update, services: Services, year: int) -> Me | None:
    """Return the member drafting `year`'s pledges, or answer the button as stale."""
    me = await member_or_stale(update, services)
    if me is not None and year != current_year(me, services):
        await stale(update, me.language)
        return None
    return me


async def _show_review(
    update: Update, services: Services, me: Me, year: int, header_key: str, **params: Any
) -> None:
    """Send the year's draft review under the header `header_key`."""
    pledges = await repo.member_pledges(services.db, me.member.id, year)
    text, markup = review(me.language, year, pledges, t(me.language, header_key, **params))
    await update.effective_chat.send_message(text, reply_markup=carrying(markup, me.subject))


async def button_add(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Await typed pledges for the year."""
    services = get_services(context)
    year = int(args[0])
    me = await _drafting(update, services, year)
    if me is None:
        return
    count = await repo.count_pledges(services.db, me.member.id, year)
    await update.callback_query.answer()
    number = await parse_or_explain(update, me.language, rules.next_draft_number, count)
    if number is None:
        return
    await await_answer(services, me.chat_id, ADDING, subject=me.subject, y=year)
    await reply(update, me.language, "pledges.ask_text", n=number, limit=rules.MAX_TEXT)


async def button_templates(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Show the common pledges as buttons."""
    services = get_services(context)
    year = int(args[0])
    me = await _drafting(update, services, year)
    if me is None:
        return
    await update.callback_query.answer()
    rows = [[button(text, "tpa", year, i)] for i, text in enumerate(templates(me.language))]
    await reply(
        update, me.language, "pledges.templates_title",
        reply_markup=carrying(InlineKeyboardMarkup(rows), me.subject),
    )


async def button_template_add(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Add a common pledge to the draft."""
    services = get_services(context)
    year, index = int(args[0]), int(args[1])
    me = await _drafting(update, services, year)
    if me is None:
        return
    offered = templates(me.language)
    if not 0 <= index < len(offered):
        await stale(update, me.language)
        return
    existing = await repo.member_pledges(services.db, me.member.id, year)
    if any(p.text == offered[index] for p in existing):
        await stale(update, me.language, "pledges.template_already")
        return
    try:
        number = rules.next_draft_number(len(existing))
    except InvalidInput as problem:
        await stale(update, me.language, problem.key, **problem.params)
        return
    await update.callback_query.answer(t(me.language, "pledges.template_added"))
    parsed = rules.parse_pledge(offered[index])
    await repo.add_pledge(
        services.db, member_id=me.member.id, year=year, parsed=parsed, now=services.now_ts(),
        entered_by=me.entered_by,
    )
    await _show_review(update, services, me, year, "pledges.added", n=number)


async def typed_pledge(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Add a typed pledge to the draft; a bad one is explained and nothing is lost."""
    services = get_services(context)
    me = await load_me(update, services)
    year = answer_data(pending).get("y")
    if me is None or year != current_year(me, services):
        await expired(update, services, me, ADDING)
        return
    count = await repo.count_pledges(services.db, me.member.id, year)
    number = await parse_or_explain(update, me.language, rules.next_draft_number, count)
    if number is None:
        return
    parsed = await parse_or_explain(update, me.language, rules.parse_pledge, text)
    if parsed is None:
        return
    await repo.add_pledge(
        services.db, member_id=me.member.id, year=year, parsed=parsed, now=services.now_ts(),
        entered_by=me.entered_by,
    )
    # Each pledge keeps the question open for the next one a while longer.
    await await_answer(services, me.chat_id, ADDING, subject=me.subject, y=year)
    await _show_review(update, services, me, year, "pledges.added", n=number)


async def button_edit(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Await the new text of one pledge."""
    services = get_services(context)
    me, pledge = await own_pledge(update, services, int(args[0]))
    if me is None or pledge is None:
        return
    if not pledge.is_editable:
        await stale(update, me.language, "pledges.not_editable")
        return
    await update.callback_query.answer()
    pledges = await repo.member_pledges(services.db, me.member.id, pledge.year)
    await await_answer(services, me.chat_id, EDITING, subject=me.subject, p=pledge.id)
    await reply(
        update,
        me.language,
        "pledges.ask_edit",
        n=number_of(pledges, pledge.id),
        text=pledge.text,
        limit=rules.MAX_TEXT,
    )


async def typed_edit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Replace a pledge's text; a bad one is explained and the old text stays."""
    services = get_services(context)
    me = await load_me(update, services)
    pledge = await repo.get_pledge(services.db, int(answer_data(pending).get("p", 0)))
    if me is None or pledge is None or pledge.member_id != me.member.id or not pledge.is_editable:
        await expired(update, services, me, EDITING)
        return
    parsed = await parse_or_explain(update, me.language, rules.parse_pledge, text)
    if parsed is None:
        return
    await repo.update_pledge_text(services.db, pledge.id, parsed, services.now_ts())
    await awaiting.done(services, me.chat_id, EDITING)
    pledges = await repo.member_pledges(services.db, me.member.id, pledge.year)
    await _show_review(
        update, services, me, pledge.year, "pledges.edited", n=number_of(pledges, pledge.id)
    )


async def button_delete(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Delete one draft pledge and redraw the review in place."""
    services = get_services(context)
    me, pledge = await own_pledge(update, services, int(args[0]))
    if me is None or pledge is None:
        return
    if not await repo.delete_pledge(services.db, pledge.id):
        await stale(update, me.language, "pledges.not_editable")
        return
    await update.callback_query.answer(t(me.language, "pledges.deleted"))
    pledges = await repo.member_pledges(services.db, me.member.id, pledge.year)
    text, markup = review(me.language, pledge.year, pledges)
    await edit(update, text, carrying(markup, me.subject))


async def button_submit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Submit the year's draft for approval when it holds 2–5 pledges."""
    services = get_services(context)
    me = await member_or_stale(update, services)
    if me is None:
        return
    year = int(args[0])
    pledges = await repo.member_pledges(services.db, me.member.id, year)
    if year != current_year(me, services) or not any(p.is_editable for p in pledges):
        await stale(update, me.language, "pledges.nothing_to_submit")
        return
    try:
        rules.check_submit_count(len(pledges))
    except InvalidInput as problem:
        await update.callback_query.answer()
        await reply(update, me.language, problem.key, **problem.params)
        return
    now = services.now_ts()
    async with transaction(services.db):
        submitted = await repo.submit_pledges(
            services.db, member_id=me.member.id, year=year, now=now
        )
        await audit.record(
            services.db,
            at=now,
            actor=f"tg:{me.chat_id}",
            action="pledge.submit",
            subject=f"member:{me.member.id}",
            detail={"year": year, "pledges": submitted},
        )
    for kind in (ADDING, EDITING):
        await awaiting.done(services, me.chat_id, kind)
    await update.callback_query.answer()
    pledges = await repo.member_pledges(services.db, me.member.id, year)
    lines = [
        t(me.language, "pledges.submitted", year=year),
        *numbered(me.language, pledges, marked=True),
    ]
    await edit(update, "\n".join(lines))
    await ask_approval(context, services, me.member, me.person, year, pledges)
