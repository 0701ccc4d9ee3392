"""Two bots, one deployment: what one person's action sends straight to another (issue 15).

A city secretary who talks to bot A leads county B too.  A member of county B
registers through bot B; the county has no secretary on Telegram, so the join
request goes to the city secretary, who approves, and later removes, the
member.  The secretary hears everything from bot A, the member everything from
bot B, never from A: directly when one process serves both bots, and through
the outbox when bot B is served by another process (`branchbot run --bots`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.emulator import EmulatedUser
from bot.routing import DIRECT_KIND
from bot.scheduling import drain
from storage.repositories import members, outbox, people
from tests.e2e import multibot
from tests.e2e.flows import APPROVE_BUTTON, invite_in_db, join
from tests.e2e.multibot import BOT_A, BOT_B, Deployment

CITY_SECRETARY = 820001
COUNTY_A_SECRETARY = 820002
MEMBER = 3201
# County B and its branch have no secretary on Telegram: the city decides for them.
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
secretary_telegram_id = {COUNTY_A_SECRETARY}

[[unit]]
key = "county-b"
parent = "city"
level = "general_branch"
name = "乙县党总支"
kind = "agency"

[[unit]]
key = "b-farm"
parent = "county-b"
level = "branch"
name = "乙县茶叶合作社党支部"
kind = "industry"
"""


async def _city_secretary(d: Deployment) -> EmulatedUser:
    city = d.user(CITY_SECRETARY, "a")
    await city.send_command("start")
    await city.wait_for_message(lambda m: True)
    return city


async def _queued(d: Deployment, bot: str, count: int) -> list[outbox.OutboxRow]:
    """Return the bot's due outbox rows once there are `count` (or what is there after 5 s)."""
    rows: list[outbox.OutboxRow] = []
    for _ in range(100):
        rows = await outbox.due_rows(d.services.db, int(d.clock.timestamp()), bot=bot)
        if len(rows) >= count:
            break
        await asyncio.sleep(0.05)
    return rows


def _from_a(user: EmulatedUser) -> list[str]:
    return [m.plain for m in user.messages if m.bot_id == BOT_A]


async def test_a_city_secretary_on_bot_a_decides_for_a_county_b_member_heard_from_bot_b(
    tmp_path: Path,
):
    async with multibot.deployment(tmp_path, ORG, one_process=True) as d:
        city = await _city_secretary(d)
        member = d.user(MEMBER, "b")
        await join(d, member, await invite_in_db(d, "b-farm"), "乙县李娜", "regular")  # type: ignore[arg-type]
        # The member wrote to bot B; the request reaches the city secretary from bot A.
        request = await city.wait_for_message(
            lambda m: "乙县李娜" in m.plain and APPROVE_BUTTON["zh"] in m.button_texts
        )
        assert request.bot_id == BOT_A
        await city.press(APPROVE_BUTTON["zh"], request)
        welcome = await member.wait_for_message(lambda m: "🎉 您已在" in m.plain)
        assert welcome.bot_id == BOT_B

        await city.send_command("remove", "乙县李娜")
        confirm = await city.wait_for_message(lambda m: "确定把" in m.plain)
        await city.press("✅ 确定移出名单", confirm)
        told = await member.wait_for_message(lambda m: "书记已把您移出" in m.plain)
        assert told.bot_id == BOT_B

        # Each heard only from their own bot, and straight away (nothing was queued).
        assert _from_a(member) == []
        assert {m.bot_id for m in member.messages} == {BOT_B}
        assert {m.bot_id for m in city.messages} == {BOT_A}
        async with d.services.db.execute(
            "SELECT COUNT(*) FROM outbox WHERE kind = ?", (DIRECT_KIND,)
        ) as cur:
            assert (await cur.fetchone())[0] == 0


async def test_a_bot_served_by_another_process_gets_the_message_through_the_outbox(
    tmp_path: Path,
):
    async with multibot.deployment(tmp_path, ORG, one_process=False) as d:
        a, b = d.apps
        city = await _city_secretary(d)
        member = d.user(MEMBER, "b")
        # Elderly: on approval the member also gets the big buttons (a reply keyboard).
        await join(d, member, await invite_in_db(d, "b-farm"), "乙县赵奶奶", "elderly")  # type: ignore[arg-type]
        # Bot B's process does not serve bot A: the request waits for A's delivery.
        assert [row.kind for row in await _queued(d, "a", 1)] == [DIRECT_KIND]
        assert not any("乙县赵奶奶" in m.plain for m in city.messages)
        await drain(a)
        request = await city.wait_for_message(
            lambda m: "乙县赵奶奶" in m.plain and APPROVE_BUTTON["zh"] in m.button_texts
        )
        assert request.bot_id == BOT_A
        await city.press(APPROVE_BUTTON["zh"], request)
        db = d.services.db
        # The handler edits the request first, then tells the member: wait for both rows.
        queued = await _queued(d, "b", 2)
        assert [row.kind for row in queued] == [DIRECT_KIND, DIRECT_KIND]
        assert not any("🎉 您已在" in m.plain for m in member.messages)
        person = await people.get_person_by_telegram(db, MEMBER)
        assert (await members.current_membership(db, person.id)).status == "active"
        assert {row.priority for row in queued} == {0}

        await drain(b)
        welcome = await member.wait_for_message(lambda m: "🎉 您已在" in m.plain)
        buttons = await member.wait_for_message(lambda m: "keyboard" in (m.reply_markup or {}))
        assert welcome.bot_id == buttons.bot_id == BOT_B
        assert _from_a(member) == []
        assert {m.bot_id for m in member.messages} == {BOT_B}
        assert {m.bot_id for m in city.messages} == {BOT_A}
        # Sent once each: a second drain finds nothing more.
        await drain(b)
        assert sum("🎉 您已在" in m.plain for m in member.messages) == 1
