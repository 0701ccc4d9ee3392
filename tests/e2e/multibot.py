"""Two county bots on one database, for the several-bots e2e tests (issue 15).

One emulator holds both bots (A is its own, B is added); the Applications are
built and started as `branchbot run` starts them (bot.demo_bots.start_bots,
which the demo's scene uses too), ticked by hand.  Each test brings its own
org (a city over `county-a` and `county-b`), seeded before the bots start.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.clock import FakeClock
from bot.config import Settings, parse_settings
from bot.demo_bots import seed_org, start_bots
from bot.emulator import BotApiEmulator, EmulatedUser
from bot.scheduling import drain, plan
from bot.services import SERVICES_KEY, Services
from tests.pg import fresh_schema, server_url

SUNDAY_NOON = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
BOT_A, BOT_B = 7000000001, 7000000002  # A is the emulator's own bot
BOT_IDS = {"a": BOT_A, "b": BOT_B}
TOKENS = {"a": f"{BOT_A}:AAFakeTokenCountyA_000", "b": f"{BOT_B}:AAFakeTokenCountyB_000"}
# Bot a serves county-a, bot b county-b.
COUNTY_BOTS = [
    {"name": "a", "token": TOKENS["a"], "unit": "county-a"},
    {"name": "b", "token": TOKENS["b"], "unit": "county-b"},
]


@dataclass
class Deployment:
    """One emulator holding two bots, and one Application per bot on one database."""

    emulator: BotApiEmulator
    clock: FakeClock
    settings: Settings
    apps: list[Application] = field(default_factory=list)
    users: dict[int, EmulatedUser] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.apps[0].bot_data[SERVICES_KEY]

    def user(self, user_id: int, county: str) -> EmulatedUser:
        """Return (creating once) a Telegram user who writes to the county's bot."""
        if user_id not in self.users:
            self.users[user_id] = self.emulator.add_user(
                user_id, first_name=f"user{user_id}", bot_id=BOT_IDS[county]
            )
        return self.users[user_id]

    async def tick(self) -> None:
        """Plan once (the first Application), then let every bot deliver its own rows."""
        await plan(self.apps[0])
        for app in self.apps:
            await drain(app)

    async def advance_to(self, moment: datetime) -> None:
        self.clock.set(moment)
        await self.tick()


def raw_settings(
    emulator: BotApiEmulator, database: str, bots: list[dict[str, Any]] = COUNTY_BOTS
) -> dict[str, Any]:
    return {
        "telegram": {
            "api_base_url": emulator.base_url, "api_base_file_url": emulator.base_file_url,
        },
        "storage": {"database": database},
        "delivery": {"tick_seconds": 3600, "per_chat_per_second": 1000},
        "bots": bots,
    }


@contextlib.asynccontextmanager
async def database(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database on the test engine: a PostgreSQL schema, else a SQLite file."""
    server = server_url()
    if server:
        async with fresh_schema(server) as url:
            yield url
    else:
        yield str(tmp_path / "branchbot.sqlite3")


async def seed(database: str, clock: FakeClock, org: str) -> None:
    """Import the org before the bots start (they check their units)."""
    await seed_org(database, org, now=int(clock.timestamp()), actor="test")


async def two_bot_emulator(stack: contextlib.AsyncExitStack, clock: FakeClock) -> BotApiEmulator:
    """A started emulator holding bot A (its own) and county B's bot; `stack` stops it."""
    emulator = BotApiEmulator(clock=clock.timestamp)
    emulator.add_bot(BOT_B, username="county_b_bot", first_name="乙县支部助手")
    await emulator.start()
    stack.push_async_callback(emulator.stop)
    return emulator


@contextlib.asynccontextmanager
async def deployment(
    tmp_path: Path, org: str, *, one_process: bool = True
) -> AsyncIterator[Deployment]:
    """Bots A (county-a) and B (county-b) on one database, polling; in one process or in two."""
    clock = FakeClock(SUNDAY_NOON)
    async with contextlib.AsyncExitStack() as stack:
        db_url = await stack.enter_async_context(database(tmp_path))
        emulator = await two_bot_emulator(stack, clock)
        await seed(db_url, clock, org)
        settings = parse_settings(raw_settings(emulator, db_url))
        d = Deployment(emulator=emulator, clock=clock, settings=settings)
        d.apps = await start_bots(stack, settings, clock, one_process=one_process)
        yield d
