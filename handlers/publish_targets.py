"""Where a leader sends a study item or calls a meeting: a branch, or every branch under a unit.

    options = await publish_options(update, context, actor, "meetings.no_branches")
    rows = target_rows(actor.language, options, "meetings.target_all",
                       lambda text, unit_id: button(text, "to", unit_id, stamp))

Each feature keeps its own words and buttons; the choices and their labels are the same.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from telegram import InlineKeyboardButton, Update
from telegram.ext import ContextTypes

from bot.domain import study as rules
from bot.domain.models import Level, Unit
from bot.domain.permissions import Actor
from bot.i18n import t
from handlers.common import load_units, reply
from handlers.keyboards import MAX_BUTTONS

__all__ = ["publish_options", "target_label", "target_rows"]


async def publish_options(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, none_key: str
) -> list[tuple[Unit, int]]:
    """Return (unit, branches beneath) the leader may choose; say `none_key` when there are none."""
    options = rules.publish_targets(actor, await load_units(context))[:MAX_BUTTONS]
    if not options:
        await reply(update, actor.language, none_key)
    return options


def target_label(language: str, all_key: str, unit: Unit, count: int) -> str:
    """Return a choice as plain text: the branch's name, or `all_key` ("all N under X")."""
    if unit.level == Level.BRANCH:
        return unit.name
    # A button label is plain text: t()'s HTML escaping would show "&amp;" in a unit's name.
    return html.unescape(t(language, all_key, unit=unit.name, count=count))


def target_rows(
    language: str,
    options: Sequence[tuple[Unit, int]],
    all_key: str,
    to_button: Callable[[str, int], InlineKeyboardButton],
) -> list[list[InlineKeyboardButton]]:
    """Return one row per choice, each the feature's button for (label, unit id)."""
    return [
        [to_button(target_label(language, all_key, unit, count), unit.id)]
        for unit, count in options
    ]
