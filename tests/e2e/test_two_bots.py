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
from datetime import UTC, datetime

import pytest

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import parse_settings
from bot.emulator import BotApiEmulator, EmulatedUser
from bot.errors import ConfigError
from storage.repositories import members, people, study, units
from tests.e2e import multibot
from tests.e2e.flows import APPROVE_BUTTON, invite_by_command, join
from tests.e2e.multibot import BOT_A, BOT_B, SUNDAY_NOON, TOKENS, Deployment

MONDAY_8 = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # the digest's 08:00 in Beijing
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


@pytest.fixture
async def deployment(tmp_path) -> AsyncIterator[Deployment]:
    async with multibot.deployment(tmp_path, ORG) as d:
        yield d


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
        database = await stack.enter_async_context(multibot.database(tmp_path))
        emulator = await stack.enter_async_context(BotApiEmulator(clock=clock.timestamp))
        await multibot.seed(database, clock, ORG)
        settings = parse_settings(multibot.raw_settings(emulator, database, [
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
