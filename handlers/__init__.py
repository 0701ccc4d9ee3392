"""Telegram handlers, one module per feature, each exposing `register(app)`.

`register_all` is the one ordered list of registrations; order matters
where noted.
"""

from __future__ import annotations

import asyncio

from telegram.ext import Application

from bot.domain.places import warm_up_timezone_finder
from bot.scheduling import start_scheduler
from bot.services import Services
from handlers import (
    basics,
    bot_reach,
    campaigns,
    contact,
    contact_log,
    digest,
    elderly_keyboard,
    errors,
    gongshi,
    helpers,
    households,
    life_changes,
    meetings,
    offline_members,
    onboarding,
    org,
    pledges,
    posts,
    secretary,
    self_service,
    study,
    whereabouts,
)

__all__ = ["on_startup", "register_all"]


def register_all(app: Application) -> None:
    """Register every feature's handlers in the order they must be tried."""
    contact.register(app)  # group -1: sees every update first
    errors.register(app)
    # Order matters: /start with a code (joining, secretary invites) must be
    # tried before the plain /start greeting in basics.
    offline_members.register(app)  # members without Telegram; /start claim_… before onboarding's
    helpers.register(app)  # /pair, /helpfor; /start helper_… before onboarding's
    onboarding.register(app)
    basics.register(app)
    self_service.register(app)
    secretary.register(app)
    digest.register(app)
    study.register(app)
    pledges.register(app)
    whereabouts.register(app)
    meetings.register(app)  # branch life (issue 12): /meeting, /meetings, /mymeetings
    contact_log.register(app)  # offline contact and the search ladder (issue 11)
    org.register(app)
    households.register(app)  # 结对帮扶: /households, /household, visits (issue 13)
    posts.register(app)  # 设岗定责: /post, /posts, monthly 履岗 (issue 13)
    campaigns.register(app)  # 创先争优: /campaign, secret vote (issue 13)
    gongshi.register(app)  # 公示 picture for the notice board (issue 13)
    life_changes.register(app)  # /moving, /elderly, /transfer; ✈️ 回家了 confirmations
    bot_reach.register(app)  # [[bots]]: who no bot can reach yet (digest, roll-up, ledger)
    # Big-button texts: after every feature's awaited answers (an open question
    # takes typed text first), before onboarding's "I don't understand".
    elderly_keyboard.register(app)
    # Must stay last in group 0: it answers commands nobody else took, and text
    # that no conversation awaits.
    onboarding.register_text(app)
    basics.register_fallback(app)
    # Last: a button whose data no feature's pattern matches (forged, or from an
    # older version) is answered "no longer works" instead of spinning.
    errors.register_unknown_buttons(app)


async def on_startup(app: Application, services: Services) -> None:
    """Run once the database is open: publish the command menu, start the scheduler."""
    await basics.set_commands(app, services)
    # The digest tells people which bot to write to by its @username (getMe, at initialize).
    bot_reach.remember_username(services.bot_name, app.bot.username)
    start_scheduler(app, services)
    # Loading the time-zone polygons takes about half a second; do it now, in a
    # thread, so the first member who shares a location is not the one who waits.
    # (A plain task: the application is not running yet, so PTB's create_task
    # would warn; the reference in bot_data keeps it from being collected.)
    app.bot_data["branchbot.warm_up"] = asyncio.get_running_loop().create_task(
        asyncio.to_thread(warm_up_timezone_finder), name="warm-up-timezones"
    )
