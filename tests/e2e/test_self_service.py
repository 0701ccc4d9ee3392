"""Self-service end to end: /me, /language, /timezone, /away, /leave and /forget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.repositories import audit, members, people
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness
from tests.e2e.membership import admitted, requested, stored

CITRUS = "梦公塘早蜜柑脐橙种植党支部"
MOBILE = "人和村流动党员党支部"
STALE_ZH = "这个按钮已经过期了，请使用最新的消息。"


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


# ---------------------------------------------------------------- /me

async def test_me_shows_everything_stored_in_chinese(h):
    member = await admitted(h, "renhe-mobile", 3001, "王芳", "mobile", city="深圳")
    await member.send_command("me")
    text = (await member.wait_for_message(lambda m: "我的信息" in m.plain)).plain
    for expected in (
        "姓名：王芳", f"支部：{MOBILE}", "类别：流动党员（外出务工经商）", "状态：已登记",
        "所在地：深圳", "时间：北京时间，现在是上午9:00", "（时区代码 Asia/Shanghai）", "语言：中文", "外出：无",  # noqa: E501 (CJK text counts double)
        "最近联系：3月2日（周一）上午9:00", "登记日期：3月2日（周一）", "/forget",
    ):
        assert expected in text, (expected, text)


async def test_me_in_english_in_the_members_zone(h):
    member = await admitted(h, "renhe-mobile", 3002, "Zhao Lei", "mobile", "en", city="Madrid")
    await member.send_command("me")
    text = (await member.wait_for_message(lambda m: "About me" in m.plain)).plain
    for expected in (
        "Name: Zhao Lei", f"Branch: {MOBILE}", "Category: Mobile member", "Status: registered",
        "Place: Madrid", "Time: local time (7 h behind Beijing), now 2:00 am", "(zone code Europe/Madrid)", "Language: English",  # noqa: E501 (CJK text counts double)
        "Last contact: Mon 2 Mar, 2:00 am", "Registered: Mon 2 Mar",
    ):
        assert expected in text, (expected, text)


async def test_me_for_a_regular_member_has_no_place_line(h):
    member = await admitted(h, "renhe-citrus", 3003, "张伟")
    await member.send_command("me")
    text = (await member.wait_for_message(lambda m: "我的信息" in m.plain)).plain
    assert "类别：普通党员" in text and "所在地：" not in text


async def test_me_for_a_pending_member_shows_the_request(h):
    member = await requested(h, "renhe-citrus", 3004, "刘洋")
    await member.send_command("me")
    text = (await member.wait_for_message(lambda m: "我的信息" in m.plain)).plain
    assert "状态：待审批" in text and "申请登记日期：3月2日（周一）" in text


async def test_me_for_a_stranger_says_not_a_member(h):
    for user_id, language, expected in ((3005, "zh", "您还没有在任何支部的支部助手登记"),
                                        (3006, "en", "You are not registered with any branch")):
        stranger = h.user(user_id, language)
        await stranger.send_command("me")
        assert expected in (await stranger.wait_for_message()).plain


async def test_me_for_a_secretary_lists_what_they_lead(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    await secretary.send_command("me")
    text = (await secretary.wait_for_message(lambda m: "我的信息" in m.plain)).plain
    assert "姓名：陈秀兰" in text and "支部：未登记" in text and f"负责：{CITRUS}" in text


# ---------------------------------------------------------------- /language

async def test_language_switch_is_stored_and_confirmed_in_the_new_language(h):
    member = await admitted(h, "renhe-citrus", 3010, "张伟")
    await member.send_command("language")
    choice = await member.wait_for_message(lambda m: "Choose your language" in m.plain)
    assert choice.button_texts == ["中文", "English"]
    await member.press("English", choice)
    confirmed = await member.wait_for_message(lambda m: m is choice and choice.edits > 0)
    assert confirmed.plain == "✅ Language set to English."
    assert (await stored(h, member.id)).person.language == "en"

    await member.send_command("me")
    text = (await member.wait_for_message(lambda m: "About me" in m.plain)).plain
    assert "Language: English" in text and "Category: Regular member" in text

    await member.send_command("language")
    again = await member.wait_for_message(lambda m: "Choose your language" in m.plain)
    await member.press("中文", again)
    await member.wait_for_message(lambda m: m is again and again.plain == "✅ 已切换为中文。")
    assert (await stored(h, member.id)).person.language == "zh"


async def test_language_for_a_stranger_is_refused(h):
    stranger = h.user(3011, "en")
    await stranger.send_command("language")
    assert "You are not registered with any branch" in (await stranger.wait_for_message()).plain


# ---------------------------------------------------------------- /timezone

async def test_timezone_by_typed_city_updates_a_mobile_members_place(h):
    member = await admitted(h, "renhe-mobile", 3020, "王芳", "mobile", city="深圳")
    await member.send_command("timezone")
    await member.wait_for_message(lambda m: "您现在的所在地：深圳" in m.plain)
    pick = await member.wait_for_message(lambda m: "常见地点" in m.plain)
    assert {"深圳", "马德里", "❌ 不修改"} <= set(pick.button_texts)
    await member.send_text("马德里")
    done = await member.wait_for_message(lambda m: "已更新" in m.plain)
    assert "所在地 马德里，当地时间比北京时间晚 7 小时，现在是凌晨2:00" in done.plain
    assert (await stored(h, member.id)).person.timezone == "Europe/Madrid"
    assert (await stored(h, member.id)).membership.place == "马德里"

    # The question is answered: later text is no longer taken as a place.
    await member.send_text("深圳")
    assert "没看懂" in (await member.wait_for_message()).plain
    # …and its buttons are stale.
    await member.press("深圳", pick)
    answer = await member.wait_for_callback_answer()
    assert answer.text == STALE_ZH and answer.show_alert
    assert (await stored(h, member.id)).person.timezone == "Europe/Madrid"


async def test_the_awaited_city_survives_a_restart(h):
    member = await admitted(h, "renhe-mobile", 3021, "Li Qiang", "mobile", "en", city="Shenzhen")
    await member.send_command("timezone")
    await member.wait_for_message(lambda m: "Common places" in m.plain)
    await h.restart()
    await member.send_text("Dubai")
    done = await member.wait_for_message(lambda m: "Updated" in m.plain)
    assert "place Dubai, local time (4 h behind Beijing)" in done.plain
    assert (await stored(h, member.id)).membership.place == "Dubai"


async def test_unknown_city_offers_suggestions_then_a_button_sets_it(h):
    member = await admitted(h, "renhe-mobile", 3022, "王芳", "mobile", city="深圳")
    await member.send_command("timezone")
    await member.wait_for_message(lambda m: "常见地点" in m.plain)
    await member.send_text("火星基地")
    unknown = await member.wait_for_message(lambda m: "没有找到" in m.plain)
    assert "“火星基地”" in unknown.plain and "东莞" in unknown.button_texts
    await member.press("东莞", unknown)
    done = await member.wait_for_message(lambda m: "已更新" in m.plain)
    assert "所在地 东莞，北京时间" in done.plain
    assert unknown.button_texts == []
    assert (await stored(h, member.id)).membership.place == "东莞"


async def test_timezone_by_shared_location(h):
    member = await admitted(h, "renhe-mobile", 3023, "王芳", "mobile", city="深圳")
    await member.send_command("timezone")
    await member.wait_for_message(lambda m: "常见地点" in m.plain)
    await member.share_location(40.4168, -3.7038)
    done = await member.wait_for_message(lambda m: "已更新" in m.plain)
    assert "所在地 马德里附近，当地时间比北京时间晚 7 小时" in done.plain
    assert (await stored(h, member.id)).membership.place == "马德里附近"


async def test_a_location_without_a_question_changes_nothing(h):
    member = await admitted(h, "renhe-mobile", 3024, "王芳", "mobile", city="深圳")
    await member.share_location(40.4168, -3.7038)
    await member.send_command("me")
    text = (await member.wait_for_message(lambda m: "我的信息" in m.plain)).plain
    assert "所在地：深圳" in text and "Asia/Shanghai" in text


async def test_timezone_with_an_iana_name_or_a_city_in_one_step(h):
    member = await admitted(h, "renhe-citrus", 3025, "Chen Jie", language="en")
    await member.send_command("timezone", "europe/madrid")
    done = await member.wait_for_message()
    assert done.plain.startswith("✅ Now on local time (7 h behind Beijing); it is 2:00 am there.")
    assert (await stored(h, member.id)).person.timezone == "Europe/Madrid"

    await member.send_command("timezone", "Mars/Olympus")
    assert "\"Mars/Olympus\" is not a valid time zone" in (await member.wait_for_message()).plain
    assert (await stored(h, member.id)).person.timezone == "Europe/Madrid"

    await member.send_command("timezone", "Shenzhen")
    done = await member.wait_for_message()
    assert "place Shenzhen, Beijing time" in done.plain
    # A regular member has no stored place; only the zone follows the city.
    assert (await stored(h, member.id)).membership.place is None


async def test_cancel_keeps_the_place(h):
    member = await admitted(h, "renhe-mobile", 3026, "王芳", "mobile", city="深圳")
    await member.send_command("timezone")
    pick = await member.wait_for_message(lambda m: "常见地点" in m.plain)
    await member.press("❌ 不修改", pick)
    await member.wait_for_message(lambda m: "没有改动" in m.plain)
    await member.send_text("马德里")
    assert "没看懂" in (await member.wait_for_message()).plain
    assert (await stored(h, member.id)).membership.place == "深圳"


async def test_an_old_question_lapses(h):
    member = await admitted(h, "renhe-mobile", 3027, "王芳", "mobile", city="深圳")
    await member.send_command("timezone")
    await member.wait_for_message(lambda m: "常见地点" in m.plain)
    h.clock.advance(hours=2)
    await member.send_text("马德里")
    assert "没看懂" in (await member.wait_for_message()).plain
    assert (await stored(h, member.id)).person.timezone == "Asia/Shanghai"


async def test_timezone_for_a_stranger_is_refused(h):
    stranger = h.user(3028, "zh")
    await stranger.send_command("timezone", "Europe/Madrid")
    assert "您还没有在任何支部的支部助手登记" in (await stranger.wait_for_message()).plain


# ---------------------------------------------------------------- /away

async def test_away_by_days_date_and_off_in_chinese(h):
    member = await admitted(h, "renhe-citrus", 3030, "张伟")
    await member.send_command("away", "30")
    assert "已登记外出，至 4月1日（周三）（含）" in (await member.wait_for_message()).plain
    assert (await stored(h, member.id)).membership.away_until == "2026-04-01"

    await member.send_command("me")
    me = await member.wait_for_message(lambda m: "我的信息" in m.plain)
    assert "外出：至 4月1日（周三）（含）" in me.plain

    await member.send_command("away", "05-01")
    assert "至 5月1日（周五）（含）" in (await member.wait_for_message()).plain

    await member.send_command("away", "off")
    assert "欢迎回来" in (await member.wait_for_message()).plain
    assert (await stored(h, member.id)).membership.away_until is None
    await member.send_command("away", "off")
    assert "本来就没有登记外出" in (await member.wait_for_message()).plain


async def test_away_refuses_past_far_and_unreadable_dates(h):
    member = await admitted(h, "renhe-citrus", 3031, "Zhang Wei", language="en")
    await member.send_command("away", "2026-03-01")
    assert ("Sun 1 Mar has already passed (today is Mon 2 Mar)"
            in (await member.wait_for_message()).plain)
    await member.send_command("away", "400")
    assert "at most 365 days (until Tue 2 Mar 2027" in (await member.wait_for_message()).plain
    await member.send_command("away", "2026-02-30")
    assert "\"2026-02-30\" is not a valid date" in (await member.wait_for_message()).plain
    await member.send_command("away", "someday")
    assert "I did not understand \"someday\"" in (await member.wait_for_message()).plain
    assert (await stored(h, member.id)).membership.away_until is None


async def test_away_buttons_for_members_who_do_not_type(h):
    member = await admitted(h, "tingzijiang-sunset", 3032, "赵奶奶", "elderly")
    await member.send_command("away")
    menu = await member.wait_for_message(lambda m: "外出 7 天" in m.button_texts)
    assert "您现在没有登记外出" in menu.plain
    assert menu.button_texts == ["外出 7 天", "外出 30 天", "外出 90 天"]
    await member.press("外出 7 天", menu)
    done = await member.wait_for_message(lambda m: "已登记" in m.plain)
    assert "至 3月9日（周一）（含）" in done.plain

    await member.send_command("away")
    menu = await member.wait_for_message(lambda m: "✅ 我回来了" in m.button_texts)
    assert "您正在外出，至 3月9日（周一）（含）" in menu.plain
    await member.press("✅ 我回来了", menu)
    await member.wait_for_message(lambda m: "欢迎回来" in m.plain)
    assert (await stored(h, member.id)).membership.away_until is None


async def test_away_date_is_the_members_local_date(h):
    # 20:00 UTC on 1 March: already 2 March in Shenzhen, still 1 March in Madrid.
    h.clock.set(datetime(2026, 3, 1, 20, 0, tzinfo=UTC))
    china = await admitted(h, "renhe-mobile", 3033, "王芳", "mobile", city="深圳")
    spain = await admitted(h, "renhe-mobile", 3034, "Zhao Lei", "mobile", "en", city="Madrid")
    await china.send_command("away", "1")
    assert "至 3月3日（周二）（含）" in (await china.wait_for_message()).plain
    await spain.send_command("away", "1")
    assert "until Mon 2 Mar (inclusive)" in (await spain.wait_for_message()).plain
    await spain.send_command("away", "2026-03-01")
    assert "Study reminders" in (await spain.wait_for_message()).plain


async def test_away_is_for_active_members_only(h):
    pending = await requested(h, "renhe-citrus", 3035, "刘洋")
    await pending.send_command("away", "30")
    assert "您还没有在任何支部的支部助手登记" in (await pending.wait_for_message()).plain
    stranger = h.user(3036, "en")
    await stranger.send_command("away", "30")
    assert "You are not registered with any branch" in (await stranger.wait_for_message()).plain


# ---------------------------------------------------------------- /leave

async def test_leave_confirmed_tells_the_secretary(h):
    member = await admitted(h, "renhe-citrus", 3040, "张伟")
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"])
    await member.send_command("leave")
    confirm = await member.wait_for_message(lambda m: "不再使用支部助手吗" in m.plain)
    assert CITRUS in confirm.plain and confirm.button_texts == ["✅ 确定不再使用", "❌ 继续使用"]
    await member.press("✅ 确定不再使用", confirm)
    done = await member.wait_for_message(lambda m: m is confirm and confirm.edits > 0)
    assert f"您已不再在{CITRUS}使用支部助手，不影响组织关系" in done.plain and done.button_texts == []  # noqa: E501 (CJK text counts double)
    told = await secretary.wait_for_message(lambda m: "不再在" in m.plain)
    assert told.plain == f"ℹ️ 张伟不再在{CITRUS}使用支部助手（不影响组织关系）。"

    assert (await stored(h, member.id)).membership is None
    assert any(e.action == "member.leave" for e in await audit.recent(h.services.db))
    await member.send_command("away", "3")
    assert "您还没有在任何支部的支部助手登记" in (await member.wait_for_message()).plain


async def test_leave_declined_and_a_second_confirmation_is_stale(h):
    member = await admitted(h, "renhe-pigs", 3041, "Wang Lei", language="en")
    await member.send_command("leave")
    first = await member.wait_for_message(lambda m: "Stop using Branch Assistant for" in m.plain)
    await member.press("❌ Keep using it", first)
    await member.wait_for_message(lambda m: m is first and "keep using Branch Assistant" in first.plain)  # noqa: E501 (CJK text counts double)
    assert (await stored(h, member.id)).membership.status == "active"

    await member.send_command("leave")
    second = await member.wait_for_message(lambda m: "Stop using Branch Assistant for" in m.plain)
    await member.send_command("leave")
    third = await member.wait_for_message(lambda m: "Stop using Branch Assistant for" in m.plain)
    await member.press("✅ Yes, stop using it", third)
    await member.wait_for_message(lambda m: m is third and "no longer use" in third.plain)
    await member.press("✅ Yes, stop using it", second)
    answer = await member.wait_for_callback_answer()
    assert answer.text == "This button is out of date; please use the latest message."
    leaves = [e for e in await audit.recent(h.services.db) if e.action == "member.leave"]
    assert len(leaves) == 1


async def test_leave_for_a_stranger_is_refused(h):
    stranger = h.user(3042, "zh")
    await stranger.send_command("leave")
    assert "您还没有在任何支部的支部助手登记" in (await stranger.wait_for_message()).plain


# ---------------------------------------------------------------- /forget

async def test_forget_erases_personal_data_and_keeps_records_anonymous(h):
    member = await admitted(h, "renhe-mobile", 3050, "王芳", "mobile", city="深圳")
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"])
    person, membership = await stored(h, member.id)

    await member.send_command("forget")
    confirm = await member.wait_for_message(lambda m: "删除我的个人信息" in m.plain)
    for expected in ("• 姓名", "聊天 ID", "所在地和时区", "将匿名保留", "学习签到", MOBILE):
        assert expected in confirm.plain, expected
    assert confirm.button_texts == ["🗑 确定删除", "❌ 不删除"]
    await member.press("🗑 确定删除", confirm)
    done = await member.wait_for_message(lambda m: m is confirm and confirm.edits > 0)
    assert "您的个人信息已删除" in done.plain
    told = await secretary.wait_for_message(lambda m: "删除了个人信息" in m.plain)
    assert "王芳" in told.plain

    db = h.services.db
    erased = await people.get_person(db, person.id)
    assert erased.name is None and erased.telegram_id is None and erased.timezone is None
    ended = await members.get_member(db, membership.id)
    assert ended.status == "left" and ended.place is None
    entries = await audit.recent(db)
    assert any(e.action == "person.forget" for e in entries)
    assert not any(e.actor == f"tg:{member.id}" for e in entries)

    await member.send_command("me")
    assert "您还没有在任何支部的支部助手登记" in (await member.wait_for_message()).plain


async def test_forget_declined_in_english_and_stale_after(h):
    member = await admitted(h, "renhe-citrus", 3051, "Chen Jie", language="en")
    await member.send_command("forget")
    first = await member.wait_for_message(lambda m: "Delete my personal data" in m.plain)
    assert "Kept, anonymously" in first.plain
    await member.press("❌ Don't delete", first)
    await member.wait_for_message(lambda m: m is first and "nothing was deleted" in first.plain)
    assert (await stored(h, member.id)).person.name == "Chen Jie"

    await member.send_command("forget")
    second = await member.wait_for_message(lambda m: "Delete my personal data" in m.plain)
    await member.send_command("forget")
    third = await member.wait_for_message(lambda m: "Delete my personal data" in m.plain)
    await member.press("🗑 Yes, delete", third)
    await member.wait_for_message(lambda m: m is third and "has been deleted" in third.plain)
    await member.press("🗑 Yes, delete", second)
    answer = await member.wait_for_callback_answer()
    assert answer.text == "This button is out of date; please use the latest message."


async def test_forget_for_a_stranger_is_refused(h):
    stranger = h.user(3052, "en")
    await stranger.send_command("forget")
    assert "You are not registered with any branch" in (await stranger.wait_for_message()).plain


async def test_forget_erases_free_text_kept_by_other_features(h):
    from bot.domain.pledges import ParsedPledge
    from storage.repositories import pledges, study, whereabouts

    member = await admitted(h, "renhe-mobile", 3052, "赵磊", "mobile", city="马德里")
    membership = (await stored(h, member.id)).membership
    db = h.services.db
    now = int(h.clock.now().timestamp())
    item = (await study.create_items(
        db, branch_ids=[membership.branch_id], title="学习党章", body="总纲",
        due_date="2026-03-08", remind_at={membership.branch_id: "19:30"}, created_by=None, now=now,
    ))[0]
    await study.record_answer(db, item.id, membership.id, status="excused", entered_by=None,
                              now=now, reason="other")
    assert await study.set_note(db, item.id, membership.id, "在马德里工地加班")
    pledge = await pledges.add_pledge(db, member_id=membership.id, year=2026,
                                      parsed=ParsedPledge("介绍家乡脐橙"), now=now)
    # Approved: a record that stays (a pledge never approved is deleted outright).
    await pledges.submit_pledges(db, member_id=membership.id, year=2026, now=now)
    assert await pledges.decide_pledge(db, pledge.id, approve=True, by=None, now=now)
    await pledges.save_report_status(db, pledge.id, 202603, "ongoing", now=now)
    await pledges.save_report_note(db, pledge.id, 202603, "联系了两家超市")
    await whereabouts.record_answer(db, member_id=membership.id, kind="moved",
                                    place="巴塞罗那", timezone="Europe/Madrid", now=now)

    await member.send_command("forget")
    confirm = await member.wait_for_message(lambda m: bool(m.button_texts))
    await member.press("🗑 确定删除", confirm)
    await member.wait_for_message(lambda m: "您的个人信息已删除" in m.plain)

    answer = await study.get_answer(db, item.id, membership.id)
    assert answer.status == "excused" and answer.note is None  # the record stays, anonymous
    assert (await pledges.get_report(db, pledge.id, 202603)).note is None
    async with db.execute(
        "SELECT place, timezone FROM whereabouts_log WHERE member_id = ?", (membership.id,)
    ) as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [(None, None)]
