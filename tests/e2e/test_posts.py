"""A post's whole year (设岗定责), through the emulator with the fake clock.

The secretary sets 柑桔种植技术服务岗 with a numeric target; 张伟 consents;
March is ✅ with a tapped count, April a typed note and a typed count, May
missed with a tapped reason, June unreported (the digest names him); on 28
December the secretary assesses him on the pledges' 兑现 scale.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers import posts as posts_feature
from storage.repositories import units
from tests.e2e.harness import BotHarness, say, tap
from tests.e2e.test_pledges_year import FAST, SECRETARY, add_member, find

POST = "/post 柑桔种植技术服务岗\n负责全村柑桔技术指导\n技术指导 ≥ 12 户次/年"


@pytest.fixture
async def harness(tmp_path):
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    async with BotHarness.started(tmp_path, start=start, config=FAST) as h:
        yield h


async def test_a_posts_whole_year(harness: BotHarness) -> None:
    h = harness
    await add_member(h, 2201, "张伟")
    await add_member(h, 2202, "李娜")
    zhang, li = h.user(2201), h.user(2202)
    secretary = h.user(SECRETARY, "zh")

    # --- define and consent ------------------------------------------------------
    created = await say(secretary, POST, "已设岗")
    assert "技术指导 ≥ 12 户次/年" in created.plain and "负责全村柑桔技术指导" in created.plain
    assert "张伟" in created.button_texts and "李娜" in created.button_texts
    await secretary.press("张伟", created)
    await secretary.wait_for_message(lambda m: "已请 张伟 确认" in m.plain)
    ask = await zhang.wait_for_message(lambda m: "请您担任" in m.plain)
    assert ask.button_texts == ["✅ 愿意担任", "❌ 暂不担任"]
    await tap(zhang, "✅ 愿意担任", "已确认担任柑桔种植技术服务岗")
    await secretary.wait_for_message(lambda m: "张伟 已确认担任" in m.plain)

    # Public: another member sees the post and its holder.
    await li.send_command("posts")
    public = await li.wait_for_message(lambda m: "设岗定责" in m.plain)
    assert "柑桔种植技术服务岗" in public.plain and "岗位人：张伟" in public.plain

    # --- March: ✅ and a tapped count ----------------------------------------------
    h.clock.set(datetime(2026, 3, 25, 2, 0, tzinfo=UTC))
    await h.tick()
    march = find(zhang, "2026年3月履岗")
    assert march.button_texts == ["✅ 按要求履岗", "📝 说说做了什么", "🙋 本月未能履岗：原因"]
    assert li.messages == [] or not any(
        "履岗" in m.plain and "2026年3月" in m.plain for m in li.messages
    )
    await zhang.press("✅ 按要求履岗", march)
    counting = await zhang.wait_for_message(lambda m: "技术指导：本月做了多少户次" in m.plain)
    assert counting.button_texts[:4] == ["+1", "+2", "+3", "+5"]
    await tap(zhang, "+3", "技术指导 +3 户次（全年已计 3/12）")
    await zhang.wait_for_message(lambda m: "已记下2026年3月的履岗汇报" in m.plain)

    # A stale March button in April is refused with why.
    h.clock.set(datetime(2026, 4, 25, 2, 0, tzinfo=UTC))
    await h.tick()
    april = find(zhang, "2026年4月履岗")

    # --- April: a typed note and a typed count ---------------------------------------
    await zhang.press("📝 说说做了什么", april)
    await zhang.wait_for_message(lambda m: "说说本月做了什么" in m.plain)
    await say(zhang, "到3户果园指导修剪", "本月做了多少户次")
    await say(zhang, "很多", "不是数字")
    await say(zhang, "2", "技术指导 +2 户次（全年已计 5/12）")
    await zhang.wait_for_message(lambda m: "已记下2026年4月的履岗汇报" in m.plain)

    # --- May: missed, with a tapped reason ----------------------------------------------
    h.clock.set(datetime(2026, 5, 25, 2, 0, tzinfo=UTC))
    await h.tick()
    may = find(zhang, "2026年5月履岗")
    await zhang.press("🙋 本月未能履岗：原因", may)
    await zhang.wait_for_message(lambda m: "未能履岗的原因" in m.plain)
    await tap(zhang, "外出", "已记下：2026年5月未能履岗（外出）")

    # --- June: silence; a follow-up, and the digest names him ----------------------------
    h.clock.set(datetime(2026, 6, 25, 2, 0, tzinfo=UTC))
    await h.tick()
    find(zhang, "2026年6月履岗")
    h.clock.set(datetime(2026, 6, 28, 2, 0, tzinfo=UTC))
    await h.tick()
    find(zhang, "2026年6月的履岗汇报还没有收到")
    branch = await units.get_unit_by_key(h.services.db, "renhe-citrus")
    assert branch is not None
    lines = await posts_feature.digest_lines(h.services, branch.id, 0, 0, "zh")
    assert lines == ["🏷 岗位 1 个，本月履岗汇报 0/1；未报：张伟"]

    # The holder sees their own progress.
    await zhang.send_command("posts")
    mine = await zhang.wait_for_message(lambda m: "我的岗位" in m.plain)
    assert "已汇报 2 个月" in mine.plain and "技术指导 5/12 户次" in mine.plain

    # --- 28 December: the secretary assesses ---------------------------------------------
    h.clock.set(datetime(2026, 12, 28, 2, 0, tzinfo=UTC))
    await h.tick()
    assess = await secretary.wait_for_message(lambda m: "2026 年岗位考核" in m.plain)
    assert "张伟" in assess.plain and "履岗汇报 2/12 个月，未能履岗 1 个月" in assess.plain
    assert assess.button_texts == ["全部兑现", "基本兑现", "部分兑现", "未兑现"]
    await tap(secretary, "基本兑现", "已评定：张伟 · 柑桔种植技术服务岗：基本兑现")
    await zhang.wait_for_message(lambda m: "2026 年考核结果：基本兑现" in m.plain)

    # The ledger's 设岗定责 sheet has the year.
    sheet = await posts_feature.ledger_sheet(h.services, branch.id)
    assert sheet is not None and sheet.title == "设岗定责"
    row = sheet.rows[0]
    assert row[0] == "柑桔种植技术服务岗" and row[4] == "张伟"
    assert row[6:10] == [2, 1, "技术指导 5/12", "基本兑现"]
