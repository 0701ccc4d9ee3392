"""A whole pledge year for one branch, through the emulator with the fake clock.

承诺 in January (one pledge returned once with a comment, fixed, approved),
践诺 every month on the 25th (May answered late, after two follow-ups),
评诺 from 28 December (member first, then the secretary), and /mypledges.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.models import Category
from bot.emulator import EmulatedUser, SentMessage
from storage.repositories import members, people, units
from storage.repositories import pledges as pledge_repo
from tests.e2e.harness import BotHarness, say, tap

SECRETARY = 910003  # 陈秀兰, secretary of 梦公塘早蜜柑脐橙种植党支部 (bot/data/county.toml)
OTHER_SECRETARY = 910004  # 王德明, another branch's secretary
BRANCH = "renhe-citrus"
# The delivery engine paces each chat to 1 message/s of real time; a year of
# monthly asks would make this test slow for no benefit.
FAST = {"delivery": {"per_chat_per_second": 50}}


async def add_member(
    h: BotHarness,
    telegram_id: int,
    name: str,
    *,
    language: str = "zh",
    category: Category = Category.REGULAR,
    branch: str = BRANCH,
    approved: datetime = datetime(2025, 12, 1, tzinfo=UTC),
) -> int:
    """Create an approved member directly in the database (long tests skip the join chat)."""
    db = h.services.db
    unit = await units.get_unit_by_key(db, branch)
    assert unit is not None
    now = int(approved.timestamp())
    person = await people.ensure_person(
        db,
        telegram_id=telegram_id,
        now=now,
        name=name,
        language=language,
        timezone="Asia/Shanghai",
    )
    member = await members.add_member(
        db,
        person_id=person.id,
        branch_id=unit.id,
        category=category,
        place=None,
        invite_id=None,
        now=now,
    )
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)
    h.user(telegram_id, language, first_name=name)
    return member.id


def find(user: EmulatedUser, *needles: str) -> SentMessage:
    """Return the newest message whose text contains every needle."""
    for message in reversed(user.messages):
        if all(needle in message.plain for needle in needles):
            return message
    raise AssertionError(f"no message with {needles}; latest: {user.texts[-3:]}")


def count(user: EmulatedUser, *needles: str) -> int:
    return sum(all(n in m.plain for n in needles) for m in user.messages)


@pytest.fixture
async def harness(tmp_path):
    start = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)  # 10:00 Beijing, the day before start_day
    async with BotHarness.started(tmp_path, start=start, config=FAST) as h:
        yield h


async def report_month(
    h: BotHarness, member: EmulatedUser, month: int, *, first: SentMessage, second: SentMessage
) -> None:
    """Answer both pledges' monthly questions: status, a number, and a note (or skip)."""
    label = f"2026年{month}月"
    await member.press("🔄 进行中" if month < 12 else "✅ 已完成", first)
    await member.wait_for_message(lambda m: "目前完成了多少户" in m.plain)
    await say(member, str(min(month // 2, 5) if month < 12 else 5), "还有什么要说明的吗")
    await tap(member, "⏭ 跳过", "这个月还有 1 条没汇报")
    await member.press("✅ 已完成", second)
    await member.wait_for_message(lambda m: "目前完成了多少次" in m.plain)
    await say(member, str(month), "还有什么要说明的吗")
    await say(member, "按时参加", f"{label}的践诺已全部汇报")


def month_asks(member: EmulatedUser, month: int) -> tuple[SentMessage, SentMessage]:
    label = f"2026年{month}月践诺"
    return find(member, label, "第 1 条"), find(member, label, "第 2 条")


async def test_a_whole_pledge_year(harness: BotHarness) -> None:
    h = harness
    member_id = await add_member(h, 2101, "张伟")
    await add_member(h, 2102, "Li Na", language="en")
    zhang = h.user(2101)
    li = h.user(2102)
    secretary = h.user(SECRETARY, "zh")

    # Before the year's start day nobody is asked.
    await h.tick()
    assert not zhang.messages

    # --- 承诺: 15 January, 10:00 Beijing ---------------------------------------
    h.clock.set(datetime(2026, 1, 15, 2, 0, tzinfo=UTC))
    await h.tick()
    ask = find(zhang, "2026 年党员承诺")
    assert ask.button_texts == ["✍️ 写一条承诺", "📋 常用承诺"]

    await tap(zhang, "✍️ 写一条承诺", "请发送第 1 条承诺")
    reply = await say(zhang, "长" * 201, "太长了")
    assert "201 字" in reply.plain and "200" in reply.plain
    review = await say(zhang, "带动5户群众改造果园", "已记下第 1 条")
    assert "1. 带动5户群众改造果园（目标：5 户）" in review.plain
    await tap(zhang, "📤 提交支部审核", "至少要 2 条")
    await say(zhang, "每月参加组织生活 | 很多", "不是数字目标")
    review = await say(zhang, "每月参加一次组织生活", "已记下第 2 条")
    assert "2. 每月参加一次组织生活" in review.plain
    assert "目标" not in review.plain.split("\n")[-2]  # 一次 is not a target
    assert review.button_texts[:4] == ["✏️ 改第1条", "🗑 删第1条", "✏️ 改第2条", "🗑 删第2条"]

    # The draft lives in the database: a restart loses nothing.
    await h.restart()
    submitted = await tap(zhang, "📤 提交支部审核", "已提交 2026 年承诺")
    assert submitted.button_texts == []
    approval = await secretary.wait_for_message(
        lambda m: "张伟" in m.plain and "请逐条审核" in m.plain
    )
    assert approval.button_texts == [
        "✅ 通过第1条",
        "↩️ 退回第1条",
        "✅ 通过第2条",
        "↩️ 退回第2条",
        "✅ 全部通过",
    ]

    # The secretary approves the first and returns the second with a typed comment.
    edited = await tap(secretary, "✅ 通过第1条", lambda m: m.message_id == approval.message_id)
    assert "✅ 已通过" in edited.plain
    assert edited.button_texts == ["✅ 通过第2条", "↩️ 退回第2条"]
    await tap(secretary, "↩️ 退回第2条", "请输入退回第 2 条的意见")
    await say(secretary, "请写清楚每月几次、全年多少次", "已退回")
    assert secretary.message(approval.message_id).button_texts == []
    returned = await zhang.wait_for_message(lambda m: "书记退回了您的第 2 条承诺" in m.plain)
    assert "请写清楚每月几次、全年多少次" in returned.plain
    assert "✏️ 改第2条" in returned.button_texts and "✏️ 改第1条" not in returned.button_texts

    await tap(zhang, "✏️ 改第2条", "请发送第 2 条的新内容")
    fixed = await say(zhang, "每月参加一次支部组织生活 | 12 次", "第 2 条已修改")
    assert "2. 每月参加一次支部组织生活（目标：12 次）" in fixed.plain
    await tap(zhang, "📤 提交支部审核", "已提交")
    second = await secretary.wait_for_message(lambda m: "请逐条审核" in m.plain)
    assert second.button_texts == ["✅ 通过第2条", "↩️ 退回第2条"]
    await secretary.press("✅ 通过第2条", second)
    done = await zhang.wait_for_message(lambda m: "已全部通过支部审核" in m.plain)
    assert "带动5户群众改造果园" in done.plain

    # Approved pledges are public in the branch: another member sees them (in English).
    await li.send_command("pledges")
    public = await li.wait_for_message(lambda m: "member pledges 2026" in m.plain)
    assert "张伟" in public.plain and "带动5户群众改造果园 (target: 5 户)" in public.plain

    # No follow-up ask once pledges are submitted.
    h.clock.set(datetime(2026, 1, 18, 2, 0, tzinfo=UTC))
    await h.tick()
    assert count(zhang, "还没有提交") == 0

    # --- 践诺: the 25th of every month -------------------------------------------
    for month in range(1, 13):
        h.clock.set(datetime(2026, month, 25, 2, 0, tzinfo=UTC))
        await h.tick()
        first, second_ask = month_asks(zhang, month)
        assert first.button_texts == ["✅ 已完成", "🔄 进行中", "⏸ 未开始"]
        assert "带动5户群众改造果园" in first.plain
        if month == 2:
            # Wrong numbers are explained and asked again; nothing is lost.
            await zhang.press("🔄 进行中", first)
            await zhang.wait_for_message(lambda m: "目前完成了多少户" in m.plain)
            await say(zhang, "6", "超过了目标 5 户")
            await say(zhang, "-1", "不能是负数")
            await say(zhang, "很多", "不是数字")
            await say(zhang, "1", "还有什么要说明的吗")
            await tap(zhang, "⏭ 跳过", "还有 1 条没汇报")
            await zhang.press("✅ 已完成", second_ask)
            await zhang.wait_for_message(lambda m: "目前完成了多少次" in m.plain)
            await say(zhang, "2", "还有什么要说明的吗")
            await tap(zhang, "⏭ 跳过", "2026年2月的践诺已全部汇报")
            continue
        if month == 5:
            # May is late: two follow-ups three days apart, then no more.
            for day in (28, 31):
                h.clock.set(datetime(2026, 5, day, 2, 0, tzinfo=UTC))
                await h.tick()
            h.clock.set(datetime(2026, 6, 3, 2, 0, tzinfo=UTC))
            await h.tick()
            assert count(zhang, "2026年5月的践诺还有 2 条没汇报") == 2
            await secretary.send_command("pledges")
            status = await secretary.wait_for_message(lambda m: "年党员承诺" in m.plain)
            assert "张伟：2026年5月践诺 ⚠️ 逾期未报" in status.plain
            await zhang.press("📊 现在汇报")
            resent = await zhang.wait_for_messages(
                2, predicate=lambda m: "2026年5月践诺" in m.plain
            )
            assert count(zhang, "2026年5月践诺") == 4  # the original two and the two sent again
            await report_month(h, zhang, 5, first=resent[0], second=resent[1])
            await secretary.send_command("pledges")
            status = await secretary.wait_for_message(lambda m: "年党员承诺" in m.plain)
            assert "张伟：2026年5月践诺 ✅ 已汇报" in status.plain
            continue
        if month == 6:
            # A May button pressed in June is stale and changes nothing.
            may_first = next(m for m in zhang.messages if "2026年5月践诺" in m.plain)
            await zhang.press("⏸ 未开始", may_first)
            answer = await zhang.wait_for_callback_answer()
            assert "2026年5月的汇报按钮，已经过期了" in (answer.text or "")
            assert answer.show_alert
            [pledge, _] = await pledge_repo.member_pledges(h.services.db, member_id, 2026)
            may = await pledge_repo.get_report(h.services.db, pledge.id, 202605)
            assert may is not None and may.status == "ongoing"
        if month == 3:
            # A restart between the status and the number loses nothing.
            await zhang.press("🔄 进行中", first)
            await zhang.wait_for_message(lambda m: "目前完成了多少户" in m.plain)
            await h.restart()
            await say(zhang, "1", "还有什么要说明的吗")
            await say(zhang, "已联系2户", "还有 1 条没汇报")
            await zhang.press("✅ 已完成", second_ask)
            await zhang.wait_for_message(lambda m: "目前完成了多少次" in m.plain)
            await say(zhang, "3", "还有什么要说明的吗")
            await tap(zhang, "⏭ 跳过", "2026年3月的践诺已全部汇报")
            continue
        await report_month(h, zhang, month, first=first, second=second_ask)

    await secretary.send_command("pledges")
    status = await secretary.wait_for_message(lambda m: "年党员承诺" in m.plain)
    assert "张伟：2026年12月践诺 ✅ 已汇报（已通过 2 条）" in status.plain
    assert "Li Na：2026年12月践诺 —（未到期）（未提承诺）" in status.plain
    [one, two] = await pledge_repo.member_pledges(h.services.db, member_id, 2026)
    reports = await pledge_repo.reports_for(h.services.db, [one.id, two.id])
    assert len(reports) == 24
    assert count(zhang, "践诺还有") == 2  # only May was followed up

    # --- 评诺: from 28 December ----------------------------------------------------
    h.clock.set(datetime(2026, 12, 28, 2, 0, tzinfo=UTC))
    await h.tick()
    rate_one = find(zhang, "2026 年评诺", "第 1 条")
    rate_two = find(zhang, "2026 年评诺", "第 2 条")
    assert rate_one.button_texts == ["全部兑现", "基本兑现", "部分兑现", "未兑现"]
    assert "共汇报 12 个月" in rate_one.plain and "✅ 已完成，5/5 户" in rate_one.plain

    await zhang.press("全部兑现", rate_one)
    mine = await zhang.wait_for_message(lambda m: m.message_id == rate_one.message_id)
    assert "自评：全部兑现 ✓" in mine.plain and mine.button_texts == []
    ask_secretary = await secretary.wait_for_message(
        lambda m: "本人自评：全部兑现" in m.plain and "第 1 条" in m.plain
    )
    assert ask_secretary.button_texts == ["全部兑现", "基本兑现", "部分兑现", "未兑现"]

    # Someone who does not lead the branch cannot rate, even holding the button.
    outsider = h.user(OTHER_SECRETARY, "zh")
    await outsider.press("未兑现", ask_secretary)
    refused = await outsider.wait_for_callback_answer()
    assert "只有本支部书记" in (refused.text or "") and refused.show_alert
    assert (await pledge_repo.get_pledge(h.services.db, one.id)).secretary_rating is None

    await tap(secretary, "基本兑现", "可以再写一句评语")
    assert "书记评价：基本兑现 ✓" in secretary.message(ask_secretary.message_id).plain
    await say(secretary, "带动效果明显，明年继续", "评语已保存")
    await zhang.wait_for_message(lambda m: "评语：带动效果明显" in m.plain)
    assert count(zhang, "书记评价了您 2026 年的第 1 条承诺", "基本兑现") == 1

    await zhang.press("基本兑现", rate_two)
    ask_two = await secretary.wait_for_message(
        lambda m: "本人自评：基本兑现" in m.plain and "第 2 条" in m.plain
    )
    await secretary.press("全部兑现", ask_two)
    await secretary.wait_for_message(lambda m: "可以再写一句评语" in m.plain)
    await secretary.press("⏭ 跳过")
    await secretary.wait_for_callback_answer()

    # The member sees the year's result.
    await h.advance(days=10)
    await zhang.send_command("mypledges", "2026")
    result = await zhang.wait_for_message(lambda m: "我的 2026 年承诺" in m.plain)
    assert "1. 带动5户群众改造果园（目标：5 户） ✅ 已通过" in result.plain
    assert "评诺：自评 全部兑现 · 书记 基本兑现（带动效果明显，明年继续）" in result.plain
    assert "评诺：自评 基本兑现 · 书记 全部兑现" in result.plain
    assert "共汇报 12 个月" in result.plain
    await zhang.send_command("mypledges", "明年")
    await zhang.wait_for_message(lambda m: "用法：/mypledges" in m.plain)


async def test_elderly_member_pledges_and_reports_by_buttons_only(tmp_path) -> None:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    async with BotHarness.started(tmp_path, start=start, config=FAST) as h:
        # An English-speaking elderly member approved mid-year is asked on approval.
        await add_member(
            h,
            2201,
            "Old Zhou",
            language="en",
            category=Category.ELDERLY,
            approved=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
        )
        elder = h.user(2201)
        secretary = h.user(SECRETARY, "zh")
        await h.tick()
        ask = find(elder, "Member pledges for 2026")
        assert ask.button_texts == ["✍️ Write a pledge", "📋 Common pledges"]

        menu = await tap(elder, "📋 Common pledges", "tap one to add it")
        assert menu.button_texts[0] == "Attend branch meetings and group study on time"
        await elder.press("Attend branch meetings and group study on time", menu)
        await elder.wait_for_message(lambda m: "Pledge no. 1 noted" in m.plain)
        await elder.press("Pair up with 2 households in difficulty and help them", menu)
        review = await elder.wait_for_message(lambda m: "Pledge no. 2 noted" in m.plain)
        assert "(target: 2 households)" in review.plain
        await elder.press("Pair up with 2 households in difficulty and help them", menu)
        again = await elder.wait_for_callback_answer()
        assert "already among your pledges" in (again.text or "")
        await tap(elder, "📤 Submit for branch review", "were submitted")

        approval = await secretary.wait_for_message(lambda m: "Old Zhou" in m.plain)
        await secretary.press("✅ 全部通过", approval)
        await elder.wait_for_message(lambda m: "All your 2026 pledges are approved" in m.plain)

        # 25 March: the elderly window still allows 10:00; buttons only, no typing asked.
        h.clock.set(datetime(2026, 3, 25, 2, 0, tzinfo=UTC))
        await h.tick()
        first = find(elder, "Progress for 3/2026", "pledge no. 1")
        second = find(elder, "Progress for 3/2026", "pledge no. 2")
        assert first.button_texts == ["✅ Done", "🔄 Under way", "⏸ Not started"]
        await elder.press("✅ Done", first)
        await elder.wait_for_message(lambda m: "1 pledge(s) still to report" in m.plain)
        await elder.press("🔄 Under way", second)
        await elder.wait_for_message(lambda m: "fully reported" in m.plain)
        assert not any("How many" in text or "Anything to add" in text for text in elder.texts)
        assert elder.message(second.message_id).plain.endswith("Your answer: 🔄 Under way")


async def test_submitting_more_than_five_is_refused_and_nothing_is_lost(tmp_path) -> None:
    start = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    async with BotHarness.started(tmp_path, start=start, config=FAST) as h:
        await add_member(h, 2301, "Wang", language="en")
        member = h.user(2301)
        await member.send_command("mypledges")
        await member.wait_for_message(lambda m: "no pledges for 2026 yet" in m.plain)
        await tap(member, "✍️ Write a pledge", "Please send pledge no. 1")
        for number in range(1, 7):
            await say(member, f"Pledge number {number}", f"Pledge no. {number} noted")
        await tap(member, "📤 Submit for branch review", "at most 5 can be submitted")
        review = await tap(member, "🗑 Delete 6", lambda m: "Pledge number 6" not in m.plain)
        assert "5. Pledge number 5" in review.plain
        await tap(member, "📤 Submit for branch review", "were submitted")
        [*pledges] = await pledge_repo.member_pledges(
            h.services.db,
            (
                await members.current_membership(
                    h.services.db, (await people.get_person_by_telegram(h.services.db, 2301)).id
                )
            ).id,
            2026,
        )
        assert [p.status for p in pledges] == ["submitted"] * 5
