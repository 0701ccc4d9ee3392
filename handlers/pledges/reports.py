"""践诺: each month a member reports progress per pledge: a status, then a number and a note."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain import pledges as rules
from bot.domain.pledges import Pledge, format_number
from bot.i18n import t
from bot.services import Services, get_services
from handlers import awaiting
from handlers.acting_for import carrying
from handlers.common import reply
from handlers.pledges.acting import (
    Me,
    approved,
    approved_number,
    is_due_in,
    language_of,
    load_me,
    member_or_stale,
    month_is_open,
    open_month,
    own_pledge,
)
from handlers.pledges.inputs import (
    AMOUNT,
    NOTE,
    answer_data,
    await_answer,
    expired,
    open_question,
)
from handlers.pledges.messaging import clear_buttons, edit, parse_or_explain, stale
from handlers.pledges.render import (
    month_label,
    number_of,
    progress_keyboard,
    report_ask,
    skip_keyboard,
)
from storage.repositories import pledges as repo
from storage.repositories.pending_inputs import PendingInput

__all__ = [
    "ask_progress",
    "button_again",
    "button_report",
    "button_skip_amount",
    "button_skip_note",
    "typed_amount",
    "typed_note",
]


async def button_report(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Record a pledge's progress for the open month, then ask for a number and a note."""
    services = get_services(context)
    me, pledge = await own_pledge(update, services, int(args[0]))
    if me is None or pledge is None:
        return
    month, status = int(args[1]), args[2]
    if not await month_is_open(update, services, me, month, "pledges.report_stale"):
        return
    if status not in rules.PROGRESS or not is_due_in(pledge, month, me, services):
        await stale(update, me.language)
        return
    await repo.save_report_status(
        services.db, pledge.id, month, status, now=services.now_ts(), entered_by=me.entered_by
    )
    await update.callback_query.answer(t(me.language, "pledges.report_recorded"))
    number = await approved_number(services, pledge)
    chosen = t(
        me.language, "pledges.report_chosen", status=t(me.language, f"pledges.progress.{status}")
    )
    await edit(update, report_ask(me.language, month, number, pledge) + "\n" + chosen)
    if me.is_elderly:
        # Elderly members answer by buttons only: no number, no note.
        await _finish_report(update, services, me, month)
    elif pledge.target is not None and status != "not_started":
        await _ask_amount(update, services, me, pledge, month)
    else:
        await _ask_note(update, services, me, pledge, month)


async def _ask(
    update: Update,
    services: Services,
    me: Me,
    pledge: Pledge,
    month: int,
    kind: str,
    *,
    key: str,
    skip: str,
    **params: Any,
) -> None:
    """Await the typed answer `kind` about a pledge's month, with a `skip` button for none."""
    await await_answer(services, me.chat_id, kind, subject=me.subject, p=pledge.id, m=month)
    await reply(
        update,
        me.language,
        key,
        reply_markup=carrying(skip_keyboard(me.language, skip, pledge.id, month), me.subject),
        **params,
    )


async def _ask_amount(
    update: Update, services: Services, me: Me, pledge: Pledge, month: int
) -> None:
    """Ask for the number reached (a pledge with a target)."""
    await _ask(
        update,
        services,
        me,
        pledge,
        month,
        AMOUNT,
        key="pledges.ask_amount",
        skip="ska",
        unit=pledge.unit or "",
        target=format_number(pledge.target or 0),
    )


async def _ask_note(update: Update, services: Services, me: Me, pledge: Pledge, month: int) -> None:
    """Ask for a short note on the month's progress."""
    await _ask(update, services, me, pledge, month, NOTE, key="pledges.ask_note", skip="skn")


async def _finish_report(update: Update, services: Services, me: Me, month: int) -> None:
    """Thank the member, saying whether the month is now complete."""
    missing = await _unreported(services, me, month)
    if missing:
        await reply(update, me.language, "pledges.report_saved", left=len(missing))
    else:
        await reply(
            update, me.language, "pledges.month_done", month=month_label(me.language, month)
        )


async def _unreported(services: Services, me: Me, month: int) -> list[Pledge]:
    """Return the member's pledges due in `month` that have no report yet."""
    due = [
        p
        for p in await repo.member_pledges(services.db, me.member.id, month // 100)
        if is_due_in(p, month, me, services)
    ]
    done = {r.pledge_id for r in await repo.reports_for(services.db, [p.id for p in due], month)}
    return [p for p in due if p.id not in done]


async def _report_input(
    update: Update, services: Services, pending: PendingInput, kind: str
) -> tuple[Me, Pledge, int] | None:
    """Return the member, pledge and month a typed report answer is for, or explain it expired."""
    me = await load_me(update, services)
    data = answer_data(pending)
    pledge = await repo.get_pledge(services.db, int(data.get("p", 0)))
    month = int(data.get("m", 0))
    if (
        me is None
        or pledge is None
        or pledge.member_id != me.member.id
        or month != open_month(me, services)
    ):
        await expired(update, services, me, kind)
        return None
    return me, pledge, month


async def typed_amount(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Record the number reached; a wrong one is explained and asked again."""
    services = get_services(context)
    found = await _report_input(update, services, pending, AMOUNT)
    if found is None:
        return
    me, pledge, month = found
    amount = await parse_or_explain(
        update, me.language, rules.parse_amount, text, pledge.target, unit=pledge.unit or ""
    )
    if amount is None:
        return
    await repo.save_report_amount(services.db, pledge.id, month, amount)
    await _ask_note(update, services, me, pledge, month)


async def typed_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Record the note and finish this pledge's report."""
    services = get_services(context)
    found = await _report_input(update, services, pending, NOTE)
    if found is None:
        return
    me, pledge, month = found
    note = await parse_or_explain(update, me.language, rules.clean_comment, text)
    if note is None:
        return
    await repo.save_report_note(services.db, pledge.id, month, note)
    await awaiting.done(services, me.chat_id, NOTE)
    await _finish_report(update, services, me, month)


async def _button_skip(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str], kind: str
) -> None:
    """Answer the open number or note question of a pledge's month with nothing."""
    services = get_services(context)
    pending = await open_question(services, update.effective_user.id, kind, p=args[0], m=args[1])
    me = await load_me(update, services)
    if me is None or pending is None:
        await stale(update, language_of(update, services, me.person if me else None))
        return
    await update.callback_query.answer()
    await clear_buttons(update)
    pledge = await repo.get_pledge(services.db, int(args[0]))
    month = int(args[1])
    if kind == AMOUNT and pledge is not None:
        await _ask_note(update, services, me, pledge, month)
    else:
        await awaiting.done(services, me.chat_id, kind)
        await _finish_report(update, services, me, month)


async def button_skip_amount(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Go on to the note without a number."""
    await _button_skip(update, context, args, AMOUNT)


async def button_skip_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Finish the pledge's report without a note."""
    await _button_skip(update, context, args, NOTE)


async def button_again(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Send the progress questions again for the pledges not yet reported this month."""
    services = get_services(context)
    me = await member_or_stale(update, services)
    if me is None:
        return
    await ask_progress(update, services, me, int(args[0]))


async def ask_progress(update: Update, services: Services, me: Me, month: int) -> None:
    """Ask the month's progress of each pledge not yet reported (for me.subject, a helper's)."""
    if not await month_is_open(update, services, me, month, "pledges.report_stale"):
        return
    missing = await _unreported(services, me, month)
    await update.callback_query.answer()
    if not missing:
        await reply(
            update, me.language, "pledges.month_done", month=month_label(me.language, month)
        )
        return
    numbering = await approved(services, me.member.id, month // 100)
    for pledge in missing:
        await update.effective_chat.send_message(
            report_ask(me.language, month, number_of(numbering, pledge.id), pledge),
            reply_markup=carrying(progress_keyboard(me.language, pledge.id, month), me.subject),
        )
