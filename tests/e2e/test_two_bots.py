"""Two bot tokens in one deployment (issue 15): each county hears only from its own bot.

A city committee (one unit) with two counties beneath it, each served by its
own `[[bots]]` entry.  Members register through their county's bot; a study
reminder and the weekly digests go out; every message a county's people get
comes from their bot, and the city secretary's roll-up covers both counties.
The Applications are built as `branchbot run` builds them (bot.app), one per
token, on one database; only the first plans.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import PLANS_KEY, SIBLINGS_KEY, build_application
from bot.clock import FakeClock
from bot.config import Settings, parse_settings
from bot.emulator import BotApiEmulator, EmulatedUser
from bot.errors import ConfigError
from bot.org_file import parse_org_file
from bot.scheduling import JOB_NAME, drain, plan, stop_delivery_worker
from bot.services import SERVICES_KEY, Services
from storage.health import open_checked_database
from storage.repositories import members, people, study, units
from tests.e2e.flows import APPROVE_BUTTON, invite_by_command, join
from tests.pg import fresh_schema, server_url

SUNDAY_NOON = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
MONDAY_8 = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # the digest's 08:00 in Beijing
BOT_A, BOT_B = 7000000001, 7000000002  # A is the emulator's own bot
TOKENS = {"a": f"{BOT_A}:AAFakeTokenCountyA_000", "b": f"{BOT_B}:AAFakeTokenCountyB_000"}
CITY_SECRETARY = 810001
SECRETARY = {"a": 810004, "b": 810005}  # branch secretaries
COUNTY_SECRETARY = {"a": 810002, "b": 810003}
BRANCH = {"a": "甲县农机合作社党支部", "b": "乙县茶叶合作社党支部"}
ORG = f"""
[[unit]]
key = "city"
level = "committee"
name = "某市委组织部"
kind = "agency"
secretary = "市书记"
secretary_telegram_id = {CITY_SECRETARY}

[[unit]]
key = "county-a"
parent = "city"
level = "general_branch"
name = "甲县党总支"
kind = "agency"
secretary = "甲县书记"
secretary_telegram_id = {COUNTY_SECRETARY["a"]}

[[unit]]
key = "county-b"
parent = "city"
level = "general_branch"
name = "乙县党总支"
kind = "agency"
secretary = "乙县书记"
secretary_telegram_id = {COUNTY_SECRETARY["b"]}

[[unit]]
key = "a-farm"
parent = "county-a"
level = "branch"
name = "{BRANCH["a"]}"
kind = "industry"
secretary = "甲支书"
secretary_telegram_id = {SECRETARY["a"]}

[[unit]]
key = "b-farm"
parent = "county-b"
level = "branch"
name = "{BRANCH["b"]}"
kind = "industry"
secretary = "乙支书"
secretary_telegram_id = {SECRETARY["b"]}
"""


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
                user_id, first_name=f"user{user_id}", bot_id=BOT_A if county == "a" else BOT_B
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


def _raw(emulator: BotApiEmulator, database: str, bots: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "telegram": {
            "api_base_url": emulator.base_url, "api_base_file_url": emulator.base_file_url,
        },
        "storage": {"database": database},
        "delivery": {"tick_seconds": 3600, "per_chat_per_second": 1000},
        "bots": bots,
    }


@contextlib.asynccontextmanager
async def _database(tmp_path: Path) -> AsyncIterator[str]:
    server = server_url()
    if server:
        async with fresh_schema(server) as url:
            yield url
    else:
        yield str(tmp_path / "branchbot.sqlite3")


async def _seed(database: str, clock: FakeClock) -> None:
    """Import the city and its two counties before the bots start (they check their units)."""
    db = await open_checked_database(database, migrated=True)
    try:
        specs = parse_org_file_text(ORG, await units.unit_keys(db))
        await units.upsert_units(db, specs, now=int(clock.now().timestamp()), actor="test")
    finally:
        await db.close()


def parse_org_file_text(text: str, known: Any) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "org.toml"
        path.write_text(text, encoding="utf-8")
        return parse_org_file(path, known=known)


@pytest.fixture
async def deployment(tmp_path) -> AsyncIterator[Deployment]:
    clock = FakeClock(SUNDAY_NOON)
    async with contextlib.AsyncExitStack() as stack:
        database = await stack.enter_async_context(_database(tmp_path))
        emulator = BotApiEmulator(clock=clock.timestamp)
        emulator.add_bot(BOT_B, username="county_b_bot", first_name="乙县支部助手")
        await emulator.start()
        stack.push_async_callback(emulator.stop)
        await _seed(database, clock)
        settings = parse_settings(_raw(emulator, database, [
            {"name": "a", "token": TOKENS["a"], "unit": "county-a"},
            {"name": "b", "token": TOKENS["b"], "unit": "county-b"},
        ]))
        d = Deployment(emulator=emulator, clock=clock, settings=settings)
        # As bot.app._serve builds them: one per bot, only the first plans.
        d.apps = [build_application(settings, clock=clock, bot=bot) for bot in settings.bots]
        d.apps[1].bot_data[PLANS_KEY] = False
        for app in d.apps:
            app.bot_data[SIBLINGS_KEY] = d.apps
            await stack.enter_async_context(app)
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            stack.push_async_callback(_stop, app)
            # Tests tick by hand (see tests/e2e/harness.py).
            for job in app.job_queue.get_jobs_by_name(JOB_NAME):
                job.schedule_removal()
            await stop_delivery_worker(app)
        yield d


async def _stop(app: Application) -> None:
    if app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()


async def _register(d: Deployment, county: str, user_id: int, name: str) -> EmulatedUser:
    """Invite, register and approve a member, all through the county's own bot."""
    secretary = d.user(SECRETARY[county], county)
    member = d.user(user_id, county)
    code = await invite_by_command(secretary)
    await join(d, member, code, name, "regular")  # type: ignore[arg-type]
    request = await secretary.wait_for_message(
        lambda m: name in m.plain and APPROVE_BUTTON["zh"] in m.button_texts
    )
    await secretary.press(APPROVE_BUTTON["zh"], request)
    await member.wait_for_message(lambda m: "的支部助手登记！" in m.plain)
    return member


async def test_each_county_hears_only_from_its_own_bot_and_the_city_rollup_covers_both(
    deployment: Deployment,
):
    d = deployment
    # Leaders write to their own bot first (first contact makes it theirs).
    city = d.user(CITY_SECRETARY, "a")
    for user in (city, d.user(COUNTY_SECRETARY["a"], "a"), d.user(COUNTY_SECRETARY["b"], "b")):
        await user.send_command("start")
        await user.wait_for_message(lambda m: True)
    a1 = await _register(d, "a", 3001, "甲县张伟")
    b1 = await _register(d, "b", 3101, "乙县李娜")
    b2 = await _register(d, "b", 3102, "乙县王芳")

    db = d.services.db
    for user_id, bot in ((3001, "a"), (3101, "b"), (3102, "b"), (SECRETARY["a"], "a"),
                         (SECRETARY["b"], "b"), (CITY_SECRETARY, "a")):
        async with db.execute("SELECT bot FROM people WHERE telegram_id = ?", (user_id,)) as cur:
            assert (await cur.fetchone())[0] == bot, user_id

    # A study item in both branches, its reminder at 13:00 Beijing today.
    now = int(d.clock.now().timestamp())
    branches = [await units.get_unit_by_key(db, key) for key in ("a-farm", "b-farm")]
    await study.create_items(
        db, branch_ids=[b.id for b in branches], title="学习新修订的条例", body="正文",
        due_date="2026-03-12", remind_at={b.id: "13:00" for b in branches}, created_by=None,
        now=now,
    )
    await d.advance_to(datetime(2026, 3, 8, 5, 1, tzinfo=UTC))
    for member in (a1, b1, b2):
        await member.wait_for_message(lambda m: "学习新修订的条例" in m.plain)

    await d.advance_to(MONDAY_8)
    digest = await city.wait_for_message(lambda m: "周报" in m.plain and BRANCH["b"] in m.plain,
                                         )
    # The city's roll-up crosses bots: county B's branch is in it, sent by bot A.
    assert BRANCH["a"] in digest.plain and BRANCH["b"] in digest.plain
    assert digest.bot_id == BOT_A
    for county in ("a", "b"):
        await d.user(SECRETARY[county], county).wait_for_message(
            lambda m: "周报" in m.plain
        )

    # Each county's people heard only from their own bot, never from the other.
    for user in d.users.values():
        assert user.messages, user
        assert {m.bot_id for m in user.messages} == {user.bot_id}, user
    assert {m.bot_id for m in d.emulator.all_sent} == {BOT_A, BOT_B}
    # Both counties' branch members were counted: two in B, one in A.
    assert (await members.current_membership(
        db, (await people.get_person_by_telegram(db, 3102)).id
    )).status == "active"


async def test_a_bot_whose_unit_is_not_in_the_database_stops_the_start(tmp_path):
    clock = FakeClock(SUNDAY_NOON)
    async with contextlib.AsyncExitStack() as stack:
        database = await stack.enter_async_context(_database(tmp_path))
        emulator = await stack.enter_async_context(BotApiEmulator(clock=clock.timestamp))
        await _seed(database, clock)
        settings = parse_settings(_raw(emulator, database, [
            {"name": "a", "token": TOKENS["a"], "unit": "county-a"},
            {"name": "z", "token": TOKENS["b"], "unit": "no-such-county"},
        ]))
        app = build_application(settings, clock=clock, bot=settings.bots[1])
        with pytest.raises(ConfigError) as caught:
            async with app:
                pass
        message = str(caught.value)
        assert message == (
            "config error: [[bots]] \"z\".unit = 'no-such-county'; expected the key of a unit"
            " in the database (see branchbot org show)"
        )
        assert TOKENS["b"] not in message
