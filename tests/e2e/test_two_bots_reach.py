"""Several bots: the digest names who no bot can reach yet; the ledger shows each person's bot.

Under `[[bots]]` a bot may not write first, so a secretary imported from the
org file who has written to no bot gets nothing.  乙县's branch secretary is
such a one: the county secretary invites and approves a member in her stead,
then the city secretary's roll-up counts her on the branch's line (by name)
and the branch digest says what to do: ask her to send 乙县's bot (by its
@username) one message.  The ledger's 本县机器人 sheet shows everyone's bot.
With one default bot (tests/e2e/harness) nothing of this appears.
"""

from __future__ import annotations

import io

from openpyxl import load_workbook

from handlers import bot_reach
from storage.repositories import units
from tests.e2e import test_two_bots as two
from tests.e2e.flows import APPROVE_BUTTON, invite_by_command, join
from tests.e2e.harness import BotHarness
from tests.e2e.multibot import Deployment
from tests.e2e.test_rollup_figures import NOW, _members
from tests.e2e.test_two_bots import (
    BRANCH,
    CITY_SECRETARY,
    COUNTY_SECRETARY,
    SECRETARY,
    _register,
)

# The same deployment: one emulator with two county bots, one database, one city.
deployment = two.deployment

WAITING_B = "乙支书（书记）"


async def test_the_rollup_and_branch_digest_name_whom_no_bot_can_reach_yet(
    deployment: Deployment,
):
    d = deployment
    city, county_b = d.user(CITY_SECRETARY, "a"), d.user(COUNTY_SECRETARY["b"], "b")
    for user in (city, county_b):
        await user.send_command("start")
        await user.wait_for_message(lambda m: True)
    await _register(d, "a", 3001, "甲县张伟")  # 甲支书 writes through bot A to invite
    # 乙支书 never writes: the join request waits for her, so the county secretary decides.
    code = await invite_by_command(county_b, "b-farm")
    member = d.user(3101, "b")
    await join(d, member, code, "乙县李娜", "regular")  # type: ignore[arg-type]
    await county_b.send_command("pending")
    request = await county_b.wait_for_message(
        lambda m: "乙县李娜" in m.plain and APPROVE_BUTTON["zh"] in m.button_texts)
    await county_b.press(APPROVE_BUTTON["zh"], request)
    await member.wait_for_message(lambda m: "的支部助手登记！" in m.plain)

    await city.send_command("digest")
    rollup = await city.wait_for_message(lambda m: "汇总周报" in m.plain)
    lines = {line.split("：")[0].split(". ", 1)[1]: line
             for line in rollup.plain.splitlines() if ". " in line and "：" in line}
    # Counted per branch, by name: the city secretary knows whom to phone.
    assert f"未给机器人发过消息 1 人：{WAITING_B} · 得分" in lines[BRANCH["b"]]
    assert "未给机器人发过消息" not in lines[BRANCH["a"]]

    await city.press(BRANCH["b"], rollup)
    digest = await city.wait_for_message(lambda m: "还收不到支部助手消息" in m.plain)
    assert (f"📵 还收不到支部助手消息的有 1 人：{WAITING_B}。机器人不能先开口，请电话联系，"
            "请其向本县机器人 @county_b_bot 发一条消息，之后提醒和周报就能送到。") in digest.plain
    assert digest.bot_id == city.bot_id  # the city secretary reads it from their own bot

    # Once she writes to her county's bot, she is no longer listed.
    await d.user(SECRETARY["b"], "b").send_command("start")
    await d.user(SECRETARY["b"], "b").wait_for_message(lambda m: True)
    branch_b = await units.get_unit_by_key(d.services.db, "b-farm")
    assert await bot_reach.digest_lines(d.services, branch_b.id, 0, 1, "zh") == []

    # The county B secretary's ledger of the branch: each person and their bot.
    await county_b.send_command("export", "b-farm")
    document = await county_b.wait_for_message(lambda m: m.kind == "document")
    book = load_workbook(io.BytesIO(document.file_bytes))
    rows = [[c.value for c in row] for row in book["本县机器人"].iter_rows()]
    assert rows[0] == ["姓名", "身份", "本县机器人", "待办"]
    assert sorted(rows[1:]) == [["乙县李娜", "党员", "@county_b_bot", None],
                                ["乙支书", "书记", "@county_b_bot", None]]


async def test_the_ledger_shows_who_still_has_no_bot_and_what_to_do(deployment: Deployment):
    d = deployment
    branch_b = await units.get_unit_by_key(d.services.db, "b-farm")
    sheet = await bot_reach.ledger_sheet(d.services, branch_b.id)
    assert sheet is not None and sheet.title == "本县机器人"
    assert sheet.rows == [["乙支书", "书记", "尚未发过消息",
                           "请其向本县机器人 @county_b_bot 发一条消息"]]
    lines = await bot_reach.digest_lines(d.services, branch_b.id, 0, 1, "en")
    assert lines[1].startswith(
        "📵 1 cannot get messages from the assistant yet: 乙支书 (secretary).")


async def test_with_one_default_bot_nothing_is_added(tmp_path):
    async with BotHarness.started(tmp_path, start=NOW) as h:
        # Members stored without a bot ('') and a secretary who never wrote: one bot reaches all.
        await _members(h, "renhe-citrus", 4100, ["张伟", "王芳"])
        citrus = await units.get_unit_by_key(h.services.db, "renhe-citrus")
        assert await bot_reach.digest_lines(h.services, citrus.id, 0, 1, "zh") == []
        assert await bot_reach.rollup_figure(h.services, citrus.id, 0, 1, "zh") is None
        assert await bot_reach.ledger_sheet(h.services, citrus.id) is None
        top = h.user(910001, "zh")
        await top.send_command("digest")
        rollup = await top.wait_for_message(lambda m: "汇总周报" in m.plain)
        assert "机器人" not in rollup.plain
