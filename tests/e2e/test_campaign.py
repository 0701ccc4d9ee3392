"""A service-star campaign (创先争优): open, nominate, vote once in secret, close, announce."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers import campaigns as campaign_feature
from storage.repositories import units
from tests.e2e.harness import BotHarness, say, tap
from tests.e2e.test_pledges_year import FAST, SECRETARY, add_member, find


@pytest.fixture
async def harness(tmp_path):
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    async with BotHarness.started(tmp_path, start=start, config=FAST) as h:
        yield h


async def test_nominate_vote_close_announce(harness: BotHarness) -> None:
    h = harness
    await add_member(h, 2301, "张伟")
    await add_member(h, 2302, "李娜")
    await add_member(h, 2303, "王芳")
    zhang, li, wang = h.user(2301), h.user(2302), h.user(2303)
    secretary = h.user(SECRETARY, "zh")

    await say(secretary, "/campaign 服务明星评比", "用法")
    await say(secretary, "/campaign 服务明星评比 14 1", "已发起服务明星评比")
    await h.tick()  # the invitation goes out through the outbox
    invite = find(zhang, "发起服务明星评比")
    assert invite.button_texts == ["🏅 提名", "🗳 投票"]

    # Nothing to vote for yet.
    await li.press("🗳 投票", find(li, "发起服务明星评比"))
    assert "还没有人被提名" in ((await li.wait_for_callback_answer()).text or "")

    # 张伟 nominates 李娜 from the roster, with a one-line reason.
    await zhang.press("🏅 提名", invite)
    roster = await zhang.wait_for_message(lambda m: "请选择您要提名的党员" in m.plain)
    assert "李娜" in roster.button_texts and "张伟" not in roster.button_texts
    await tap(zhang, "李娜", "提名理由")
    await say(zhang, "今年帮12户销售脐橙", "已提名 李娜")

    # Three votes: 张伟 and 王芳 for 李娜 … and nobody can vote twice.
    await zhang.press("🗳 投票", invite)
    ballot = await zhang.wait_for_message(lambda m: "请选择您投票的对象" in m.plain)
    assert "今年帮12户销售脐橙" in ballot.plain and ballot.button_texts == ["李娜"]
    await tap(zhang, "李娜", "已投票")
    await zhang.press("🗳 投票", invite)
    assert "已经投过票" in ((await zhang.wait_for_callback_answer()).text or "")
    await wang.press("🗳 投票", find(wang, "发起服务明星评比"))
    await wang.wait_for_message(lambda m: "请选择您投票的对象" in m.plain)
    await tap(wang, "李娜", "已投票")

    # The secretary sees counts and how many voted, never who voted for whom.
    await secretary.send_command("campaign")
    status = await secretary.wait_for_message(lambda m: "已投 2/3" in m.plain)
    assert "李娜：2 票" in status.plain
    assert "张伟" not in status.plain and "王芳" not in status.plain
    # … nor can the database tell: the voters and the tally share only the campaign.
    db = h.services.db
    voters = await db.execute_fetchall("SELECT * FROM campaign_voters")
    tally = await db.execute_fetchall("SELECT * FROM campaign_tally")
    assert {len(row) for row in voters} == {2} and [tuple(r)[2] for r in tally] == [2]

    branch = await units.get_unit_by_key(db, "renhe-citrus")
    assert branch is not None
    lines = await campaign_feature.digest_lines(h.services, branch.id, 0, 0, "zh")
    assert lines == ["⭐ 服务明星评比投票中：已投 2/3"]

    # Close, confirm, and the result reaches every member through the outbox.
    await tap(secretary, "🏁 结束评比：服务明星评比", "计票结果")
    await tap(secretary, "✅ 确认并公布", "已确认")
    await h.tick()
    for member in (zhang, li, wang):
        result = find(member, "服务明星评比结果公布")
        assert "🌟 李娜（2 票）" in result.plain
    await li.press("🗳 投票", find(li, "发起服务明星评比"))
    assert "已经结束" in ((await li.wait_for_callback_answer()).text or "")

    sheet = await campaign_feature.ledger_sheet(h.services, branch.id)
    assert sheet is not None and sheet.title == "创先争优"
    assert sheet.rows[0][4:7] == ["李娜", 2, "评上"]


async def test_gongshi_picture_reaches_the_secretary(harness: BotHarness) -> None:
    h = harness
    await add_member(h, 2311, "张伟")
    secretary = h.user(SECRETARY, "zh")
    await secretary.send_command("gongshi")
    picture = await secretary.wait_for_message(lambda m: "公示" in m.plain)
    assert picture.kind == "photo" and (picture.file_bytes or b"")[:8] == b"\x89PNG\r\n\x1a\n"
    stranger = h.user(2312)
    await stranger.send_command("gongshi")
    await stranger.wait_for_message(lambda m: "没有可公示的支部" in m.plain)
