"""Lives change (issue 11, item 4) through the emulator.

A mobile member taps "✈️ 回家了"; once the secretary confirms they are a
local member and the monthly "where are you" asks stop; later they leave
again with /moving, pick a city, and are mobile there, the zone following.
A member of the citrus branch moves to the mobile branch: both secretaries
confirm, a third cannot, and what the member did before stays with them.
Each change shows in the branches' digests and in the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.domain.models import Category
from bot.emulator import EmulatedUser
from storage.repositories import audit, study, units
from tests.e2e.harness import BotHarness, say, tap
from tests.e2e.membership import admitted, stored

MOBILE_SECRETARY = 910005  # 刘海涛, 人和村流动党员党支部
CITRUS_SECRETARY = 910003  # 陈秀兰, 梦公塘早蜜柑脐橙种植党支部
PIGS_SECRETARY = 910004  # 王德明, 生猪养殖党支部 (neither side of the transfer)


def asks(member: EmulatedUser) -> int:
    """Count the whereabouts asks the member has received (an answered one shows the answer)."""
    return sum(1 for m in member.messages if m.plain.startswith(("📍 您好！", "🏠 欢迎回家")))


async def test_mobile_home_then_mobile_again(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        member = await admitted(h, "renhe-mobile", 3101, "赵磊", "mobile", city="深圳")
        secretary = h.user(MOBILE_SECRETARY)
        await h.advance(days=31)
        ask = await member.wait_for_message(lambda m: "✈️ 回家了" in m.button_texts)
        await tap(member, "✈️ 回家了", "已告诉支部书记您回家了")
        request = await secretary.wait_for_message(lambda m: "说已回到家乡" in m.plain)
        assert "赵磊" in request.plain and "✅ 确认" in request.button_texts
        # Until the secretary confirms, the member is still mobile.
        assert (await stored(h, 3101)).membership.category == Category.MOBILE
        await secretary.press("✅ 确认", request)
        await member.wait_for_message(lambda m: "已按本地党员登记" in m.plain)
        assert (await stored(h, 3101)).membership.category == Category.REGULAR
        digest = await say(secretary, "/digest", "本周变动")
        assert "🏠 赵磊 回到家乡" in digest.plain

        before = asks(member)
        assert before >= 1 and ask is not None
        for _ in range(3):
            await h.advance(days=35)
        assert asks(member) == before, "a local member is no longer asked where they are"

        await say(member, "/moving", "哪个城市")
        done = await say(member, "成都", "按流动党员联系")
        assert "成都" in done.plain
        notice = await secretary.wait_for_message(lambda m: "外出到" in m.plain)
        assert "赵磊" in notice.plain and "成都" in notice.plain
        now_mobile = await stored(h, 3101)
        assert now_mobile.membership.category == Category.MOBILE
        assert now_mobile.membership.place == "成都"
        assert now_mobile.person.timezone == "Asia/Shanghai"
        digest = await say(secretary, "/digest", "本周变动")
        assert "✈️ 赵磊 外出到 成都" in digest.plain
        # Mobile again: the monthly asks come back, counted from the move.
        await h.advance(days=31)
        await member.wait_for_message(lambda m: "✈️ 回家了" in m.button_texts)
        actions = [entry.action for entry in await audit.recent(h.services.db)]
        assert {"life.home_request", "life.home", "life.leaving"} <= set(actions)


async def test_refused_home_keeps_the_member_mobile(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        member = await admitted(h, "renhe-mobile", 3102, "钱程", "mobile", city="深圳")
        secretary = h.user(MOBILE_SECRETARY)
        await h.advance(days=31)
        await member.wait_for_message(lambda m: "✈️ 回家了" in m.button_texts)
        await tap(member, "✈️ 回家了", "已告诉支部书记")
        request = await secretary.wait_for_message(lambda m: "钱程" in m.plain
                                                   and "✅ 确认" in m.button_texts)
        await secretary.press("❌ 不对", request)
        await member.wait_for_message(lambda m: "仍按流动党员联系" in m.plain)
        assert (await stored(h, 3102)).membership.category == Category.MOBILE


async def test_transfer_confirmed_by_both_secretaries_keeps_history(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        member = await admitted(h, "renhe-citrus", 3103, "孙倩")
        db = h.services.db
        citrus = await units.get_unit_by_key(db, "renhe-citrus")
        mobile = await units.get_unit_by_key(db, "renhe-mobile")
        now = int(h.clock.now().timestamp())
        [item] = await study.create_items(
            db, branch_ids=[citrus.id], title="学习党章", body="第一章", due_date="2026-03-08",
            remind_at={citrus.id: "09:00"}, created_by=None, now=now)
        await h.advance(hours=1)
        await member.wait_for_message(lambda m: "学习党章" in m.plain)
        await tap(member, "✅ 已学习", lambda m: "学习党章" in m.plain or "已记录" in m.plain)
        before = await stored(h, 3103)
        assert await study.get_answer(db, item.id, before.membership.id) is not None

        pick = await say(member, "/transfer", "改到哪个支部")
        assert "不影响组织关系" in pick.plain
        assert pick.button_texts[0] == "人和村流动党员党支部"  # a 流动党员党支部 first
        await tap(member, "人和村流动党员党支部", "已把申请发给两个支部的书记")
        citrus_secretary, mobile_secretary = h.user(CITRUS_SECRETARY), h.user(MOBILE_SECRETARY)
        old_side = await citrus_secretary.wait_for_message(lambda m: "孙倩 申请从" in m.plain)
        new_side = await mobile_secretary.wait_for_message(lambda m: "孙倩 申请从" in m.plain)
        assert "组织关系转接按规定办理" in new_side.plain

        # A secretary of neither branch cannot confirm, and the refusal says nothing.
        outsider = h.user(PIGS_SECRETARY)
        await h.app.bot.send_message(outsider.id, "buttons")
        await outsider.wait_for_message(lambda m: m.plain == "buttons")
        query = await outsider.press_data(new_side.find_button("✅ 确认")["callback_data"])
        refusal = await outsider.wait_for_callback_answer(query)
        assert "不能使用" in refusal.text

        await citrus_secretary.press("✅ 确认", old_side)
        await citrus_secretary.wait_for_message(lambda m: "还在等另一个支部" in m.plain)
        assert (await stored(h, 3103)).membership.branch_id == citrus.id
        await mobile_secretary.press("✅ 确认", new_side)
        await member.wait_for_message(
            lambda m: "现在在「人和村流动党员党支部」使用支部助手" in m.plain)
        after = await stored(h, 3103)
        # The same membership row moved: every record keyed by it came along.
        assert after.membership.id == before.membership.id
        assert after.membership.branch_id == mobile.id
        assert await study.get_answer(db, item.id, after.membership.id) is not None

        roster = await say(mobile_secretary, "/members", "孙倩")
        assert "孙倩" in roster.plain
        new_digest = await say(mobile_secretary, "/digest", "本周变动")
        assert "孙倩 从「梦公塘早蜜柑脐橙种植党支部」改到本支部" in new_digest.plain
        old_digest = await say(citrus_secretary, "/digest", "本周变动")
        assert "孙倩 改到「人和村流动党员党支部」" in old_digest.plain
        actions = [entry.action for entry in await audit.recent(h.services.db)]
        assert "life.transfer" in actions and "life.transfer_request" in actions


async def test_a_member_made_elderly_gets_big_buttons_and_daytime_reminders(tmp_path):
    """/elderly switches the experience itself: the four buttons, reminders moved into the day."""
    async with BotHarness.started(tmp_path) as h:
        member = await admitted(h, "renhe-citrus", 3104, "李大爷")
        secretary = h.user(CITRUS_SECRETARY)
        pick = await say(secretary, "/elderly", "按老龄党员对待")
        await secretary.press("李大爷", pick)
        await secretary.wait_for_message(lambda m: "已把 李大爷 按老龄党员对待" in m.plain)
        await member.wait_for_message(lambda m: "按老龄党员对待" in m.plain)
        buttons = await member.wait_for_message(lambda m: "📖 今日学习" in m.button_texts)
        assert buttons.button_texts == ["📖 今日学习", "📝 我的承诺", "📞 找书记", "❓ 帮助"]
        assert (await stored(h, 3104)).membership.category == Category.ELDERLY
        digest = await say(secretary, "/digest", "本周变动")
        assert "👴 李大爷 按老龄党员对待" in digest.plain

        # The branch reminds at 20:00; an elderly member hears of it only in the daytime.
        db = h.services.db
        citrus = await units.get_unit_by_key(db, "renhe-citrus")
        await study.create_items(
            db, branch_ids=[citrus.id], title="学习村规民约", body="", due_date="2026-03-08",
            remind_at={citrus.id: "20:00"}, created_by=None, now=int(h.clock.now().timestamp()))
        for _ in range(30):
            if any("学习村规民约" in m.plain for m in member.messages):
                break
            await h.advance(hours=1)
        reminder = await member.wait_for_message(lambda m: "学习村规民约" in m.plain)
        local = datetime.fromtimestamp(reminder.date, UTC).astimezone(ZoneInfo("Asia/Shanghai"))
        assert 9 <= local.hour < 18, local
        assert local.day == 3  # not the evening of the 2nd
