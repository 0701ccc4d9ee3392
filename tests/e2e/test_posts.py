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


async def test_a_helper_files_a_phone_less_holders_report(harness: BotHarness) -> None:
    """A holder without Telegram (issue 13.5): the monthly ask goes to her helper, labelled
    "代 X 汇报"; the helper, a member of another branch of the same committee, files it with a
    typed count through /helpfor; the secretary can file it from the post's card; the
    设岗定责 sheet and the digest name the helper (代为登记)."""
    from handlers import helpers as helpers_feature
    from storage.repositories import helpers, people
    from tests.e2e.test_offline_members import register_offline
    from tests.e2e.test_study import member_in_db

    h = harness
    secretary = h.user(SECRETARY, "zh")
    await register_offline(secretary, "王秀英", "老龄党员", None)
    helper = await member_in_db(h, 4101, "赵敏", "Asia/Shanghai", branch_key="renhe-pigs")
    helper_person = await people.get_person_by_telegram(h.services.db, 4101)
    async with h.services.db.execute(
        "SELECT m.id FROM members m JOIN people p ON p.id = m.person_id WHERE p.name = '王秀英'"
    ) as cur:
        ((member_id,),) = await cur.fetchall()
    await helpers.add_helper(h.services.db, member_id=member_id,
                             helper_person_id=helper_person.id, kind=helpers.HELPER,
                             added_by=None, now=int(h.clock.now().timestamp()))

    # The secretary sets the post; a holder without Telegram holds it at once.
    created = await say(secretary, POST, "已设岗")
    await secretary.press("王秀英", created)
    await secretary.wait_for_message(lambda m: "王秀英 已确认担任" in m.plain)

    # Before the month's ask, /helpfor offers no 履岗.
    await helper.send_command("helpfor")
    pick = await helper.wait_for_message(lambda m: "王秀英" in m.button_texts)
    await helper.press("王秀英", pick)
    menu = await helper.wait_for_message(lambda m: "📖 学习" in m.button_texts)
    assert "🏷 履岗" not in menu.button_texts

    # March's ask goes to her helper, saying whom it is for.
    h.clock.set(datetime(2026, 3, 25, 2, 0, tzinfo=UTC))
    await h.tick()
    asked = find(helper, "2026年3月履岗")
    assert "代 王秀英 汇报" in asked.plain
    assert asked.button_texts == ["✅ 按要求履岗", "📝 说说做了什么", "🙋 本月未能履岗：原因"]
    # The secretary may file it from the post's card.
    await secretary.send_command("posts")
    card = await secretary.wait_for_message(lambda m: "设岗定责" in m.plain)
    assert card.button_texts == ["🏷 代 王秀英 汇报履岗"]

    # The helper files it through /helpfor: ✅, then a typed count.
    await helper.send_command("helpfor")
    pick = await helper.wait_for_message(lambda m: "王秀英" in m.button_texts)
    await helper.press("王秀英", pick)
    menu = await helper.wait_for_message(lambda m: "🏷 履岗" in m.button_texts)
    await helper.press("🏷 履岗", menu)
    ask = await helper.wait_for_message(
        lambda m: "代 王秀英 汇报" in m.plain and "✅ 按要求履岗" in m.button_texts
    )
    await helper.press("✅ 按要求履岗", ask)
    counting = await helper.wait_for_message(lambda m: "技术指导：本月做了多少户次" in m.plain)
    assert counting.button_texts[:4] == ["+1", "+2", "+3", "+5"]
    await say(helper, "4", "技术指导 +4 户次（全年已计 4/12）")
    await helper.wait_for_message(lambda m: "已记下2026年3月的履岗汇报" in m.plain)
    await helper.wait_for_message(lambda m: "代为登记：赵敏" in m.plain)

    # Filed: the card's button and the /helpfor entry are gone.
    await secretary.send_command("posts")
    card = await secretary.wait_for_message(
        lambda m: "设岗定责" in m.plain and m.message_id != card.message_id
    )
    assert card.button_texts == []

    branch = await units.get_unit_by_key(h.services.db, "renhe-citrus")
    assert branch is not None
    sheet = await posts_feature.ledger_sheet(h.services, branch.id)
    assert sheet is not None
    row = sheet.rows[0]
    assert row[4] == "王秀英" and row[6] == 1 and row[8] == "技术指导 4/12"
    assert sheet.head[10] == "代为登记" and row[10] == "赵敏"
    end = int(h.clock.now().timestamp())
    lines = await helpers_feature.digest_lines(h.services, branch.id, end - 86400, end, "zh")
    assert len(lines) == 1 and "赵敏 为 王秀英 登记了履岗 1 次" in lines[0], lines
    assert await posts_feature.digest_lines(h.services, branch.id, 0, 0, "zh") == []
