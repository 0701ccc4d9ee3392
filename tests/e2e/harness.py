"""Run the real Application against the local Bot API emulator, with a fake clock.

async with BotHarness.started(tmp_path) as h:
    member = h.user(2001, "zh")
    await member.send_command("start", code)
    await member.wait_for_message(lambda m: "姓名" in m.plain)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import Settings, parse_settings
from bot.emulator import BotApiEmulator, EmulatedUser, SentMessage
from bot.org_file import parse_org_file
from bot.scheduling import JOB_NAME, TickReport, stop_delivery_worker, tick
from bot.services import SERVICES_KEY, Services
from storage.repositories import units
from tests.pg import fresh_schema, server_url

__all__ = ["ADMIN_ID", "COUNTY", "BotHarness", "say", "tap"]

ADMIN_ID = 900001
COUNTY = Path(__file__).resolve().parents[2] / "bot" / "data" / "county.toml"
TELEGRAM_LANGUAGE = {"zh": "zh-hans", "en": "en"}


@dataclass
class BotHarness:
    """A running bot, its emulator, its clock and the users playing against it."""

    emulator: BotApiEmulator
    clock: FakeClock
    settings: Settings
    database: Path
    app: Application | None = None
    users: dict[int, EmulatedUser] = field(default_factory=dict)

    @classmethod
    @asynccontextmanager
    async def started(
        cls,
        tmp_path: Path,
        *,
        start: datetime | None = None,
        config: dict[str, Any] | None = None,
        seed_county: bool = True,
    ) -> AsyncIterator[BotHarness]:
        """Start an emulator and the bot; stop both afterwards."""
        async with contextlib.AsyncExitStack() as stack:
            # BRANCHBOT_TEST_DATABASE: the bot runs on a fresh PostgreSQL schema.
            server = server_url()
            database = (
                await stack.enter_async_context(fresh_schema(server)) if server
                else str(tmp_path / "branchbot.sqlite3")
            )
            async with cls._started(
                tmp_path, database, start=start, config=config, seed_county=seed_county
            ) as harness:
                yield harness

    @classmethod
    @asynccontextmanager
    async def _started(
        cls,
        tmp_path: Path,
        database: str,
        *,
        start: datetime | None,
        config: dict[str, Any] | None,
        seed_county: bool,
    ) -> AsyncIterator[BotHarness]:
        clock = FakeClock(start or datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
        emulator = BotApiEmulator(clock=clock.timestamp)
        await emulator.start()
        raw: dict[str, Any] = {
            "telegram": {
                "api_base_url": emulator.base_url,
                "api_base_file_url": emulator.base_file_url,
            },
            "storage": {"database": database},
            "general": {"admins": [ADMIN_ID]},
            # Tests drive the scheduler with tick() after moving the clock;
            # the background job would only race them.  Per-chat pacing is
            # real time, so fake-clock tests would wait a second per repeat:
            # the pacing tests set it back to Telegram's 1/s explicitly.
            "delivery": {"tick_seconds": 3600, "per_chat_per_second": 1000},
        }
        for section, values in (config or {}).items():
            raw.setdefault(section, {}).update(values)
        settings = parse_settings(raw)
        harness = cls(
            emulator=emulator,
            clock=clock,
            settings=settings,
            database=Path(settings.storage.database),
        )
        try:
            await harness.start_bot()
            if seed_county:
                await harness.seed(COUNTY)
            yield harness
        finally:
            await harness.stop_bot()
            await emulator.stop()

    @property
    def services(self) -> Services:
        """The running bot's services (database, clock, settings)."""
        assert self.app is not None
        return self.app.bot_data[SERVICES_KEY]

    async def start_bot(self) -> None:
        """Build and start the Application, polling the emulator."""
        self.app = build_application(self.settings, clock=self.clock)
        await self.app.initialize()
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0, timeout=1)
        # Tests tick by hand: drop the background job, and let a start-up tick
        # that already began finish before the test acts (tick() takes its lock).
        for job in self.app.job_queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        await stop_delivery_worker(self.app)  # if the first job run started it
        await tick(self.app)

    async def stop_bot(self) -> None:
        """Stop polling and shut the Application down (a clean restart's first half)."""
        if self.app is None:
            return
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        self.app = None

    async def restart(self) -> None:
        """Stop the bot and start a fresh Application on the same database."""
        await self.stop_bot()
        await self.start_bot()

    async def tick(self) -> TickReport:
        """Run one scheduler tick now: plan what is due at the fake clock's now, deliver it."""
        assert self.app is not None
        return await tick(self.app)

    async def advance(self, **delta: float) -> TickReport:
        """Move the fake clock forward and run a tick."""
        self.clock.advance(**delta)
        return await self.tick()

    async def seed(self, path: Path) -> None:
        """Import an organisation file into the bot's database."""
        db = self.services.db
        specs = parse_org_file(path, known=await units.unit_keys(db))
        await units.upsert_units(db, specs, now=int(self.clock.now().timestamp()), actor="test")

    def user(
        self,
        user_id: int,
        language: str = "zh",
        *,
        first_name: str = "",
        last_name: str | None = None,
    ) -> EmulatedUser:
        """Return (creating once) an emulated Telegram user with a zh or en client."""
        if user_id not in self.users:
            self.users[user_id] = self.emulator.add_user(
                user_id,
                first_name=first_name or f"user{user_id}",
                last_name=last_name,
                language_code=TELEGRAM_LANGUAGE[language],
            )
        return self.users[user_id]


async def say(
    user: EmulatedUser, text: str, expect: str | Callable[[SentMessage], bool]
) -> SentMessage:
    """Send text and wait for the reply whose plain text contains `expect` (or matches it)."""
    await user.send_text(text)
    return await user.wait_for_message(_matcher(expect))


async def tap(
    user: EmulatedUser, button: str, expect: str | Callable[[SentMessage], bool]
) -> SentMessage:
    """Press a button and wait for the message (new or edited) matching `expect`."""
    await user.press(button)
    return await user.wait_for_message(_matcher(expect))


def _matcher(expect: str | Callable[[SentMessage], bool]) -> Callable[[SentMessage], bool]:
    if callable(expect):
        return expect
    return lambda message: expect in message.plain
