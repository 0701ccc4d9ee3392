"""/studies: recent items with ✅/🙋/⏳ counts; open one, edit title, text or due date, withdraw.

An item published to several branches is shown, edited and withdrawn as one
batch, within the branches the secretary manages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.domain import study as rules
from bot.domain.permissions import Actor, managed_branch_ids
from bot.domain.study import Answer
from bot.domain.text import split_message
from bot.i18n import raw, t
from bot.services import get_services
from handlers.common import load_actor, load_units, reply
from handlers.keyboards import button_grid
from handlers.scope import load_leader
from handlers.study.inputs import EDIT, ask, ask_due, await_input, question_data
from handlers.study.lookups import actor_today, on_subject
from handlers.study.messaging import finish, refuse
from handlers.study.planner import cancel_scheduled
from handlers.study.recording import audit_action
from handlers.study.render import (
    body_html,
    button,
    name,
    names,
    reason_text,
    title_html,
    title_label,
)
from storage.repositories import pending_inputs, study
from storage.repositories.pending_inputs import PendingInput
from storage.repositories.study import AnswerRecord, CheckinCandidate, ItemCounts, StudyItem

__all__ = [
    "apply_edit",
    "button_edit",
    "button_keep",
    "button_open",
    "button_withdraw",
    "button_withdraw_confirmed",
    "cmd_studies",
    "typed_edit",
]

LIST_DAYS = 30  # /studies reaches back this far by due date
_FIELDS = ("title", "body", "due")


# ---------------------------------------------------------------- rendering


def _withdrawn_mark(language: str, withdrawn: bool) -> str:
    return t(language, "study.list_withdrawn") if withdrawn else ""


def _list(
    language: str, batches: Sequence[Sequence[ItemCounts]]
) -> tuple[str, InlineKeyboardMarkup]:
    """Return the /studies list, a line per batch with its counts, and a button per batch."""
    lines = [t(language, "study.list_title")]
    buttons = []
    for number, batch in enumerate(batches, start=1):
        first = batch[0].item
        withdrawn = all(counts.item.is_withdrawn for counts in batch)
        lines.append(
            t(
                language, "study.list_line", n=number, title=raw(title_html(language, first)),
                due=first.due_date, done=sum(c.done for c in batch),
                excused=sum(c.excused for c in batch), missing=sum(c.missing for c in batch),
                state=raw(_withdrawn_mark(language, withdrawn)),
            )
        )
        shown = f"{number}. {title_label(language, first)}"[:60]
        buttons.append(button(shown, "open", first.batch))
    return "\n".join(lines), InlineKeyboardMarkup(button_grid(buttons, 1))


def _branch_lines(
    language: str,
    branch: str,
    counts: ItemCounts,
    unanswered: Sequence[CheckinCandidate],
    answers: Sequence[AnswerRecord],
) -> list[str]:
    """Return one branch's part of an item: counts, who has not answered, excused, entered for."""
    lines = [
        t(
            language, "study.detail_branch", branch=branch,
            done=counts.done, excused=counts.excused, missing=counts.missing,
        )
    ]
    missing = [name(language, c.name) for c in unanswered]
    if missing:
        lines.append(t(language, "study.detail_missing", names=names(language, missing)))
    excused = [
        t(language, "study.excused_name", name=name(language, a.name),
          reason=a.note or reason_text(language, a.reason))
        for a in answers if a.status == Answer.EXCUSED
    ]
    if excused:
        lines.append(t(language, "study.detail_excused", names=raw(names(language, excused))))
    by_others = [
        t(language, "study.on_behalf_name", name=name(language, a.name),
          who=name(language, a.entered_by_name))
        for a in answers if a.on_behalf
    ]
    if by_others:
        lines.append(t(language, "study.detail_on_behalf", names=raw(names(language, by_others))))
    return lines


def _detail_keyboard(
    language: str, first: StudyItem, withdrawn: bool
) -> InlineKeyboardMarkup | None:
    """Return edit (a published item's title, text, due date) and withdraw; None once withdrawn."""
    if withdrawn:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    if first.kind == "item":
        rows.append([
            button(t(language, "study.btn_edit_title"), "edit", first.batch, "title"),
            button(t(language, "study.btn_edit_body"), "edit", first.batch, "body"),
        ])
        rows.append([button(t(language, "study.btn_edit_due"), "edit", first.batch, "due")])
    rows.append([button(t(language, "study.btn_withdraw"), "wd", first.batch)])
    return InlineKeyboardMarkup(rows)


# ---------------------------------------------------------------- the list and one item


async def cmd_studies(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List recent study items of the actor's branches with their answer counts."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    services = get_services(context)
    branch_ids = sorted(managed_branch_ids(actor, await load_units(context)))
    since = rules.lookback(await actor_today(services, actor), LIST_DAYS)
    batches = await study.list_items(services.db, branch_ids, min_due=since.isoformat())
    if not batches:
        await reply(update, actor.language, "study.list_empty")
        return
    text, keyboard = _list(actor.language, batches)
    await update.effective_chat.send_message(text, reply_markup=keyboard)


async def _items_in_reach(
    context: ContextTypes.DEFAULT_TYPE, actor: Actor, batch: str | int
) -> list[StudyItem]:
    """Return the batch's items in the branches the actor manages."""
    branch_ids = managed_branch_ids(actor, await load_units(context))
    items = await study.batch_items(get_services(context).db, int(batch))
    return [item for item in items if item.branch_id in branch_ids]


async def _batch(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, raw_batch: str
) -> list[StudyItem] | None:
    """Return the batch's items the actor manages, or None after saying why not."""
    items = await _items_in_reach(context, actor, raw_batch)
    if not items:
        await refuse(update, actor.language, "errors.not_your_branch")
        return None
    return items


@on_subject(_batch)
async def button_open(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, items: list[StudyItem],
    args: list[str],
) -> None:
    """Show one item (all its branches): counts, who has not answered, who is excused."""
    db = get_services(context).db
    branch_names = {unit.id: unit.name for unit in await load_units(context)}
    counts = await study.item_counts(db, [item.id for item in items])
    first, language = items[0], actor.language
    withdrawn = all(item.is_withdrawn for item in items)
    lines = [
        t(
            language, "study.detail", title=raw(title_html(language, first)),
            body=raw(body_html(language, first)), due=first.due_date,
            state=raw(_withdrawn_mark(language, withdrawn)),
        )
    ]
    for item in items:
        lines.extend(
            _branch_lines(
                language, branch_names.get(item.branch_id, "?"), counts[item.id],
                await study.unanswered_members(db, item.id), await study.answers_for(db, item.id),
            )
        )
    await update.callback_query.answer()
    # A batch over many branches can outgrow one message; the buttons go on the last part.
    parts = split_message("\n".join(lines))
    for part in parts[:-1]:
        await update.effective_chat.send_message(part)
    await update.effective_chat.send_message(
        parts[-1], reply_markup=_detail_keyboard(language, first, withdrawn)
    )


# ---------------------------------------------------------------- editing


@on_subject(_batch)
async def button_edit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, items: list[StudyItem],
    args: list[str],
) -> None:
    """Ask for the new title, text or due date of an item."""
    field = args[1]
    if field not in _FIELDS:
        return
    services = get_services(context)
    stamp = services.now_ts()
    await await_input(
        services, actor.telegram_id, EDIT, stamp, {"batch": items[0].batch, "field": field}
    )
    await update.callback_query.answer()
    if field == "due":
        await ask_due(update, services, actor, "study.ask_new_due", stamp)
    else:
        await ask(update, actor.language, f"study.ask_new_{field}", stamp)


async def typed_edit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, pending: PendingInput,
    text: str,
) -> None:
    """Take the typed new title, text or due date."""
    data = question_data(pending)
    field = data.get("field")
    if field == "title":
        await apply_edit(update, context, actor, data, title=rules.clean_title(text))
    elif field == "body":
        await apply_edit(update, context, actor, data, body=rules.clean_body(text))
    else:
        due = rules.parse_due(text, await actor_today(get_services(context), actor))
        await apply_edit(update, context, actor, data, due=due.isoformat())


async def apply_edit(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    data: dict[str, Any],
    *,
    title: str | None = None,
    body: str | None = None,
    due: str | None = None,
) -> None:
    """Change the batch's items the actor manages (not withdrawn ones) and close the question."""
    services = get_services(context)
    items = [
        item for item in await _items_in_reach(context, actor, data["batch"])
        if not item.is_withdrawn
    ]
    await pending_inputs.clear_pending(services.db, actor.telegram_id, EDIT)
    if not items:
        await reply(update, actor.language, "errors.not_your_branch")
        return
    now = services.now_ts()
    await study.update_items(
        services.db, [item.id for item in items], now=now, title=title, body=body, due_date=due
    )
    await audit_action(
        services, actor, "edit", at=now, subject=f"study:{items[0].batch}",
        detail={"field": data.get("field")},
    )
    await reply(update, actor.language, "study.edited", title=title or items[0].title or "")


# ---------------------------------------------------------------- withdrawing


@on_subject(_batch)
async def button_withdraw(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, items: list[StudyItem],
    args: list[str],
) -> None:
    """Ask to confirm withdrawing an item."""
    await update.callback_query.answer()
    keyboard = InlineKeyboardMarkup([[
        button(t(actor.language, "study.btn_confirm_withdraw"), "wdok", items[0].batch),
        button(t(actor.language, "study.btn_back"), "nowd", items[0].batch),
    ]])
    await reply(
        update, actor.language, "study.confirm_withdraw",
        title=raw(title_html(actor.language, items[0])), reply_markup=keyboard,
    )


async def button_keep(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Do not withdraw after all."""
    actor = await load_actor(update, context)
    await finish(update, actor.language, "study.cancelled")


@on_subject(_batch)
async def button_withdraw_confirmed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, items: list[StudyItem],
    args: list[str],
) -> None:
    """Withdraw the item in the actor's branches and cancel every reminder still waiting."""
    services = get_services(context)
    now = services.now_ts()
    for item in items:
        for member_id in await study.withdraw_items(
            services.db, [item.id], by=actor.person_id, now=now
        ):
            await cancel_scheduled(services.db, member_id, item.id)
    await audit_action(
        services, actor, "withdraw", at=now, subject=f"study:{items[0].batch}",
        detail={"items": [item.id for item in items]},
    )
    await finish(
        update, actor.language, "study.withdrawn_done",
        title=raw(title_html(actor.language, items[0])),
    )
