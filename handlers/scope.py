"""Which branch(es) a leader's command means, and whether they may see them.

    actor = await load_leader(update, context)       # None: refused already
    branches = await branches_in_scope(update, actor, all_units, typed_key(context), WORDS)
    branch = await one_branch(update, actor.language, branches, WORDS,
                              limit=MAX_BUTTONS, callback=lambda b: pack("dg", "x", b.id))

The rules are bot.domain.permissions'; this module only turns them into the
answers a feature gives, in that feature's own catalogue texts (ScopeText).
A button may outlive the role, so buttons are checked again (refuse_button).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.domain.free_text import echo
from bot.domain.models import Unit
from bot.domain.permissions import Actor, can_manage, is_leader, managed_branches
from bot.domain.tree import branches_under
from bot.i18n import t
from handlers.common import load_actor, reply
from handlers.keyboards import button_grid

__all__ = [
    "ScopeText",
    "branches_in_scope",
    "load_leader",
    "named_unit",
    "one_branch",
    "refuse_button",
    "secretary_words",
    "typed_key",
]


@dataclass(frozen=True, slots=True)
class ScopeText:
    """The catalogue keys a feature answers scope questions with."""

    unknown: str  # no unit has the typed key
    echo: Callable[[str], Mapping[str, str]]  # the typed key as `unknown`'s parameters
    refused: str  # the unit lies outside what the actor leads
    no_branches: str  # nothing beneath the units the actor leads
    too_many: str  # more branches than buttons; gets `example`, a branch key
    pick: str  # the question above the branch buttons


def secretary_words(pick: str) -> ScopeText:
    """Return the secretary's words for "which of your branches?", with the feature's question."""
    return ScopeText(
        unknown="secretary.unknown_branch",
        echo=lambda key: {"unit_key": echo(key)},
        refused="errors.not_your_branch",
        no_branches="secretary.no_branches",
        too_many="secretary.too_many_branches",
        pick=pick,
    )


def typed_key(context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """Return the command's first argument (a unit key), or None."""
    return (context.args or [None])[0]


async def load_leader(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Actor | None:
    """Return the actor if they lead something (or are an admin); else refuse and return None."""
    actor = await load_actor(update, context)
    if not is_leader(actor):
        await reply(update, actor.language, "errors.not_secretary")
        return None
    return actor


async def named_unit(
    update: Update, actor: Actor, all_units: Sequence[Unit], key: str, text: ScopeText
) -> Unit | None:
    """Return the unit `key` names if the actor may manage it; else refuse and return None."""
    unit = next((u for u in all_units if u.key == key), None)
    if unit is None:
        await reply(update, actor.language, text.unknown, **text.echo(key))
        return None
    if not can_manage(actor, unit, all_units):
        await reply(update, actor.language, text.refused)
        return None
    return unit


async def branches_in_scope(
    update: Update, actor: Actor, all_units: Sequence[Unit], key: str | None, text: ScopeText
) -> list[Unit] | None:
    """Return the branches a command covers: all the actor manages, or those under `key`."""
    if key is None:
        return managed_branches(actor, all_units)
    unit = await named_unit(update, actor, all_units, key, text)
    return None if unit is None else branches_under(all_units, unit.id)


async def one_branch(
    update: Update, language: str, branches: Sequence[Unit], text: ScopeText, *,
    limit: int, callback: Callable[[Unit], str], **too_many: object,
) -> Unit | None:
    """Return the only branch; else answer (none, name one, or pick a button) and return None."""
    if len(branches) == 1:
        return branches[0]
    if not branches:
        await reply(update, language, text.no_branches)
    elif len(branches) > limit:
        await reply(update, language, text.too_many, example=branches[0].key, **too_many)
    else:
        buttons = [
            InlineKeyboardButton(branch.name, callback_data=callback(branch))
            for branch in branches
        ]
        await reply(update, language, text.pick,
                    reply_markup=InlineKeyboardMarkup(button_grid(buttons, 1)))
    return None


async def refuse_button(update: Update, actor: Actor, text: ScopeText) -> None:
    """Answer a button whose branch the presser may not manage (or who leads nothing now)."""
    key = text.refused if is_leader(actor) else "errors.not_secretary"
    await update.callback_query.answer(t(actor.language, key), show_alert=True)
