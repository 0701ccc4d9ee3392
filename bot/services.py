"""What every handler and job needs, kept in one object on the Application.

    services = get_services(context)
    now = services.clock.now()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.clock import Clock
from bot.config import Settings

__all__ = ["SERVICES_KEY", "Services", "get_services"]

SERVICES_KEY = "branchbot.services"


@dataclass(slots=True)
class Services:
    """Settings, clock and the open database of a running bot."""

    settings: Settings
    clock: Clock
    db: aiosqlite.Connection
    # The [[bots]] name this Application sends as ('' = the one default bot):
    # it delivers only outbox rows of this bot, and people who first write to
    # it become its people.
    bot_name: str = ""

    def now_ts(self) -> int:
        """Return the clock's now as UTC unix seconds (how the database stores time)."""
        return int(self.clock.now().timestamp())


def get_services(context: Any) -> Services:
    """Return the Services of the Application behind a handler or job context."""
    return context.application.bot_data[SERVICES_KEY]
