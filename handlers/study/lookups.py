"""What a study action reads before it acts: zones and today, the subject a button names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from functools import wraps
from typing import TypeVar
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain import study as rules
from bot.domain.localtime import local_date, zone
from bot.domain.permissions import Actor
from bot.services import Services
from handlers.common import load_actor
from storage.repositories import people, units

__all__ = [
    "Button",
    "actor_today",
    "branch_zone",
    "member_zone",
    "on_subject",
]

S = TypeVar("S")
# A button's handler: (update, context, the callback data's args).
Button = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]
# Finds what a button's first argument names, or refuses and returns None.
Find = Callable[[Update, ContextTypes.DEFAULT_TYPE, Actor, str], Awaitable[S | None]]
Action = Callable[[Update, ContextTypes.DEFAULT_TYPE, Actor, S, list[str]], Awaitable[None]]


async def actor_today(services: Services, actor: Actor) -> date:
    """Return today's date where the actor lives (their zone, else the default)."""
    person = await people.get_person(services.db, actor.person_id) if actor.person_id else None
    tz = zone(person.timezone if person else None, services.settings.general.default_timezone)
    return local_date(services.now_ts(), tz)


async def branch_zone(services: Services, branch_id: int) -> ZoneInfo:
    """Return the branch's zone: its own, else the nearest unit above's, else the default."""
    all_units = await units.list_units(services.db)
    default = services.settings.general.default_timezone
    return zone(rules.zone_finder(all_units, default)(branch_id))


async def member_zone(services: Services, person_timezone: str | None, branch_id: int) -> ZoneInfo:
    """Return a member's zone: their own, else their branch's."""
    if person_timezone:
        # Most members have their own zone: skip reading the tree on every press.
        return zone(person_timezone, services.settings.general.default_timezone)
    return await branch_zone(services, branch_id)


def on_subject(find: Find[S]) -> Callable[[Action[S]], Button]:
    """Return a decorator running a button's action on what args[0] names, once `find` allows."""

    def decorate(action: Action[S]) -> Button:
        @wraps(action)
        async def handler(
            update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
        ) -> None:
            actor = await load_actor(update, context)
            subject = await find(update, context, actor, args[0])
            if subject is not None:
                await action(update, context, actor, subject, args)

        return handler

    return decorate
