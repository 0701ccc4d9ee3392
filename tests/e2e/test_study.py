"""Study items end to end: publish, remind at each member's local hour, one-tap answers.

The clock is the harness's FakeClock (start: Monday 2 March 2026, 09:00 in
Beijing); `h.advance(...)` moves it and runs one scheduler tick.  Arrival times
are read from the emulator's message dates (the fake clock at delivery) in
each member's own zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.models import Category
from bot.emulator import EmulatedUser, SentMessage
from bot.scheduling import _PLANNERS as PLANNERS
from storage.repositories import members, people, study, units
from tests.e2e.flows import BRANCH_SECRETARIES, GENERAL_BRANCH_SECRETARY
from tests.e2e.harness import BotHarness
from tests.e2e.membership import admitted

CITRUS = "renhe-citrus"
CITRUS_SECRETARY = BRANCH_SECRETARIES[CITRUS]
DONE = {"zh": "✅ 已学习", "en": "✅ Studied"}


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        # These tests tick hundreds of times; the other features' planners (the
        # digest draws charts) are not under test here and would cost most of it.
        planners = harness.app.bot_data[PLANNERS]
        for name in [name for name in planners if name != "study"]:
            del planners[name]
        yield harness


async def member_in_db(
    h: BotHarness,
    telegram_id: int,
    name: str,
    timezone: str,
    language: str = "zh",
    category: Category = Category.REGULAR,
    branch_key: str = CITRUS,
) -> EmulatedUser:
    """Make an approved member directly in the database (timing tests need many)."""
    db = h.services.db
    branch = await units.get_unit_by_key(db, branch_key)
    now = int(h.clock.now().timestamp())
    person = await people.ensure_person(
        db, telegram_id=telegram_id, now=now, name=name, language=language, timezone=timezone
    )
    member = await members.add_member(
        db, person_id=person.id, branch_id=branch.id, category=category, place=None,
        invite_id=None, now=now,
    )
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)
    return h.user(telegram_id, language)


async def member_id(h: BotHarness, telegram_id: int) -> int:
    person = await people.get_person_by_telegram(h.services.db, telegram_id)
    membership = await members.current_membership(h.services.db, person.id)
    return membership.id


def study_messages(user: EmulatedUser) -> list[SentMessage]:
    """The reminders (📖), follow-ups (🔔) and snoozes (⏰) the user got, edited or not."""
    return [m for m in user.messages if m.plain.startswith(("📖", "🔔", "⏰"))]


def arrivals(user: EmulatedUser, timezone: str) -> list[datetime]:
    """Local times at which the user's study messages arrived."""
    tz = ZoneInfo(timezone)
    return [datetime.fromtimestamp(m.date, UTC).astimezone(tz) for m in study_messages(user)]


async def until(h: BotHarness, moment: datetime, step_hours: float = 0.5) -> None:
    """Tick on a grid of `step_hours` (UTC, from midnight) until the clock reaches `moment`."""
    step = int(step_hours * 3600)
    while (now := int(h.clock.now().timestamp())) < moment.timestamp():
        target = min((now // step + 1) * step, int(moment.timestamp()))
        await h.advance(seconds=target - now)


async def the_item(h: BotHarness, branch_key: str = CITRUS) -> int:
    """Return the id of the branch's one study item."""
    branch = await units.get_unit_by_key(h.services.db, branch_key)
    (item,) = await study.open_items(h.services.db, [branch.id], min_due="2000-01-01")
    return item.id


async def publish(
    secretary: EmulatedUser, title: str, body: str = "https://example.org/report",
    due_prefix: str = "本周日",
) -> SentMessage:
    """Play a branch secretary's /study flow in Chinese up to the published message."""
    await secretary.send_command("study")
    await secretary.wait_for_message(lambda m: "学习标题" in m.plain)
    await secretary.send_text(title)
    await secretary.wait_for_message(lambda m: "学习内容" in m.plain)
    await secretary.send_text(body)
    prompt = await secretary.wait_for_message(
        lambda m: any(b.startswith(due_prefix) for b in m.button_texts)
    )
    await secretary.press(next(b for b in prompt.button_texts if b.startswith(due_prefix)), prompt)
    confirm = await secretary.wait_for_message(lambda m: "✅ 发布" in m.button_texts)
    assert title in confirm.plain
    await secretary.press("✅ 发布", confirm)
    return await secretary.wait_for_message(lambda m: "已发布" in m.plain)


def at_utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- timing across zones and DST


async def test_weekly_study_day_reaches_each_member_at_their_local_hour_across_dst(h):
    shanghai = await member_in_db(h, 3101, "张伟", "Asia/Shanghai", "zh")
    madrid = await member_in_db(h, 3102, "Zhao Lei", "Europe/Madrid", "en")
    new_york = await member_in_db(h, 3103, "Wang Fang", "America/New_York", "en")
    elderly = await member_in_db(
        h, 3104, "李大爷", "Europe/Madrid", "zh", category=Category.ELDERLY
    )
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await secretary.send_command("studyday", "3 20:00")
    reply = await secretary.wait_for_message()
    assert "每周三 20:00" in reply.plain and "首次 3月4日（周三）" in reply.plain

    # Five Wednesdays: 4 and 11 March straddle US DST (8 March), 25 March and
    # 1 April straddle EU DST (29 March).  Nobody answers, so each also gets
    # two follow-ups, a day apart, at the same local hour.
    await until(h, at_utc(2026, 4, 4, 8), step_hours=1)

    for user, zone_name in ((shanghai, "Asia/Shanghai"), (madrid, "Europe/Madrid"),
                            (new_york, "America/New_York")):
        times = arrivals(user, zone_name)
        assert len(times) == 15, (zone_name, times)
        assert {moment.strftime("%H:%M") for moment in times} == {"20:00"}, zone_name
        assert [moment.isoweekday() for moment in times] == [3, 4, 5] * 5
        assert times[0].date().isoformat() == "2026-03-04"
        assert times[-1].date().isoformat() == "2026-04-03"
    # The same 20:00 is a different UTC hour before and after each zone's change.
    ny = [m.astimezone(UTC).hour for m in arrivals(new_york, "America/New_York")]
    assert ny[0] == 1 and ny[3] == 0
    es = [m.astimezone(UTC).hour for m in arrivals(madrid, "Europe/Madrid")]
    assert es[9] == 19 and es[12] == 18
    # The elderly member hears only in daytime: 09:00 the morning after.
    old = arrivals(elderly, "Europe/Madrid")
    assert len(old) == 15
    assert {moment.strftime("%H:%M") for moment in old} == {"09:00"}
    assert all(9 <= m.hour < 18 for m in old)

    texts = [m.plain for m in study_messages(shanghai)]
    assert "每周学习日：3月4日（周三）" in texts[0] and "学习提醒" in texts[0]
    # Each follow-up says it is a repeat, not "（第 1 次）" on what is really the second message.
    assert all("再次提醒" in text and "第 1 次" not in text for text in texts[1:3])
    english = study_messages(madrid)[0]
    assert "Weekly study day: Wed 4 Mar" in english.plain
    assert english.button_texts == ["✅ Studied", "⏰ Later", "🙋 Excused"]
    assert study_messages(elderly)[0].button_texts == ["✅ 已学习", "⏰ 稍后提醒", "🙋 请假"]


async def test_quiet_hours_hold_for_a_late_study_day(h):
    member = await member_in_db(h, 3111, "张伟", "Asia/Shanghai")
    far = await member_in_db(h, 3112, "Wang Fang", "America/New_York", "en")
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await secretary.send_command("studyday", "周三 22:30")
    await secretary.wait_for_message(lambda m: "22:30" in m.plain)
    await until(h, at_utc(2026, 3, 8), step_hours=0.5)
    for user, zone_name in ((member, "Asia/Shanghai"), (far, "America/New_York")):
        times = arrivals(user, zone_name)
        assert [m.strftime("%a %H:%M") for m in times] == ["Thu 08:00", "Fri 08:00", "Sat 08:00"]


async def test_changed_study_day_replaces_the_coming_occurrence_and_off_stops_it(h):
    member = await member_in_db(h, 3116, "张伟", "Asia/Shanghai")
    leader = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    await leader.send_command("studyday", "3 20:00")
    pick = await leader.wait_for_message(lambda m: "为哪个支部设置" in m.plain)
    everything = next(b for b in pick.button_texts if b.startswith("全部支部"))
    await leader.press(everything, pick)
    done = await leader.wait_for_message(lambda m: "每周三 20:00" in m.plain)
    assert done.plain.count("每周三 20:00") == 3  # citrus, pigs, mobile

    # Tuesday noon: Wednesday's occurrence exists; moving the hour replaces it.
    await until(h, at_utc(2026, 3, 3, 4))
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await secretary.send_command("studyday", "3 19:00")
    await secretary.wait_for_message(lambda m: "每周三 19:00" in m.plain)
    await until(h, at_utc(2026, 3, 5))
    assert [m.strftime("%a %H:%M") for m in arrivals(member, "Asia/Shanghai")] == ["Wed 19:00"]
    await member.press("✅ 已学习", study_messages(member)[0])
    done = await member.wait_for_message(lambda m: "已学习（" in m.plain)
    assert "已学习（3月5日（周四）上午8:00 记录）" in done.plain, done.plain

    await secretary.send_command("studyday", "off")
    await secretary.wait_for_message(lambda m: "已关闭" in m.plain)
    await until(h, at_utc(2026, 3, 13))
    assert len(study_messages(member)) == 1


# ---------------------------------------------------------------- publishing and answering


async def test_publish_then_remind_at_1930_and_one_tap_done(h):
    member = await member_in_db(h, 3121, "张伟", "Asia/Shanghai")
    secretary = h.user(CITRUS_SECRETARY, "zh")
    published = await publish(secretary, "学习二十大报告第一部分")
    assert "1 个支部" in published.plain and "19:30" in published.plain

    await until(h, at_utc(2026, 3, 2, 11))  # 19:00 in Beijing: not yet
    assert study_messages(member) == []
    await h.advance(minutes=30)
    reminder = await member.wait_for_message(lambda m: "✅ 已学习" in m.button_texts)
    assert "学习二十大报告第一部分" in reminder.plain
    assert "https://example.org/report" in reminder.plain and "截止：3月8日（周日）" in reminder.plain  # noqa: E501 (CJK text counts double)
    assert arrivals(member, "Asia/Shanghai")[0].strftime("%H:%M") == "19:30"

    await member.press("✅ 已学习", reminder)
    edited = await member.wait_for_message(lambda m: "已学习（" in m.plain)
    assert edited.message_id == reminder.message_id
    assert "3月2日（周一）晚上7:30 记录" in edited.plain
    assert edited.button_texts == []
    assert (await member.wait_for_callback_answer()).text == "已记录"

    # No follow-ups after an answer.
    await until(h, at_utc(2026, 3, 6))
    assert len(study_messages(member)) == 1
    answer = await study.get_answer(h.services.db, await the_item(h), await member_id(h, 3121))
    assert answer.status == "done" and not answer.on_behalf and not answer.late


async def test_followups_stop_after_two_and_a_second_answer_changes_nothing(h):
    member = await member_in_db(h, 3131, "张伟", "Asia/Shanghai")
    await publish(h.user(CITRUS_SECRETARY, "zh"), "学习党章")
    await until(h, at_utc(2026, 3, 9))
    messages = study_messages(member)
    assert len(messages) == 3  # reminder + max_followups (2)
    assert [m.strftime("%m-%d %H:%M") for m in arrivals(member, "Asia/Shanghai")] == [
        "03-02 19:30", "03-03 19:30", "03-04 19:30",
    ]
    # Answering on the last follow-up, then again on the first reminder.
    await member.press("✅ 已学习", messages[2])
    await member.wait_for_message(lambda m: "已学习（" in m.plain and "补记" in m.plain)
    await member.press("✅ 已学习", messages[0])
    answer = await member.wait_for_callback_answer()
    assert answer.show_alert and answer.text == "已记录：✅ 已学习"
    record = await study.get_answer(h.services.db, await the_item(h), await member_id(h, 3131))
    assert record.late  # the due date (Sunday 8 March) had ended


async def test_snooze_comes_back_after_quiet_hours(h):
    member = await member_in_db(h, 3141, "张伟", "Asia/Shanghai")
    await publish(h.user(CITRUS_SECRETARY, "zh"), "学习党章")
    await until(h, at_utc(2026, 3, 2, 11, 30))
    reminder = await member.wait_for_message(lambda m: "⏰ 稍后提醒" in m.button_texts)
    await member.press("⏰ 稍后提醒", reminder)
    # 19:30 + 120 minutes is 21:30, a quiet hour: the snooze waits for 08:00.
    edited = await member.wait_for_message(lambda m: "再提醒您" in m.plain)
    # Said as people say it, not as a timestamp (issue 10, humane dates).
    assert "3月3日（周二）上午8:00" in edited.plain and "2026-" not in edited.plain
    await until(h, at_utc(2026, 3, 2, 23, 30), step_hours=0.5)
    assert len(study_messages(member)) == 1
    await h.advance(minutes=30)
    snooze = await member.wait_for_message(lambda m: "稍后提醒" in m.plain and m.button_texts)
    assert arrivals(member, "Asia/Shanghai")[-1].strftime("%m-%d %H:%M") == "03-03 08:00"
    assert "学习党章" in snooze.plain
    # Follow-ups resume from the snooze: a day later, at 08:00 again.
    await until(h, at_utc(2026, 3, 4, 1))
    assert arrivals(member, "Asia/Shanghai")[-1].strftime("%m-%d %H:%M") == "03-04 08:00"


async def test_excused_answers_are_recorded_with_their_reason(h):
    ill = await member_in_db(h, 3151, "张伟", "Asia/Shanghai")
    other = await member_in_db(h, 3152, "王芳", "Asia/Shanghai")
    skipper = await member_in_db(h, 3153, "Li Ming", "Asia/Shanghai", "en")
    await publish(h.user(CITRUS_SECRETARY, "zh"), "学习党章")
    await until(h, at_utc(2026, 3, 2, 11, 30))

    reminder = await ill.wait_for_message(lambda m: "🙋 请假" in m.button_texts)
    await ill.press("🙋 请假", reminder)
    reasons = await ill.wait_for_message(lambda m: "🤒 生病" in m.button_texts)
    assert reasons.button_texts == ["🤒 生病", "💼 工作忙", "🧳 外出", "📝 其他", "↩ 返回"]
    await ill.press("🤒 生病", reasons)
    done = await ill.wait_for_message(lambda m: "已请假" in m.plain)
    assert "🙋 已请假：生病" in done.plain and done.button_texts == []

    reminder = await other.wait_for_message(lambda m: "🙋 请假" in m.button_texts)
    await other.press("🙋 请假", reminder)
    await other.wait_for_message(lambda m: "📝 其他" in m.button_texts)
    await other.press("📝 其他", reminder)
    ask = await other.wait_for_message(lambda m: "补充请假说明" in m.plain)
    assert ask.button_texts == ["跳过"]
    await other.send_text("家里有事")
    saved = await other.wait_for_message(lambda m: "已记录说明" in m.plain)
    assert "家里有事" in saved.plain

    reminder = await skipper.wait_for_message(lambda m: "🙋 Excused" in m.button_texts)
    await skipper.press("🙋 Excused", reminder)
    await skipper.wait_for_message(lambda m: "📝 Other" in m.button_texts)
    await skipper.press("📝 Other", reminder)
    await skipper.wait_for_message(lambda m: "optional" in m.plain)
    await skipper.press("Skip")
    await skipper.wait_for_message(lambda m: "no note" in m.plain)

    item = await the_item(h)
    db = h.services.db
    got = {a.name: (a.status, a.reason, a.note) for a in await study.answers_for(db, item)}
    assert got == {
        "张伟": ("excused", "ill", None),
        "王芳": ("excused", "other", "家里有事"),
        "Li Ming": ("excused", "other", None),
    }
    # Excused members get no follow-ups.
    await until(h, at_utc(2026, 3, 5))
    assert all(len(study_messages(u)) == 1 for u in (ill, other, skipper))


async def test_away_members_get_nothing_and_count_as_excused(h):
    away = await member_in_db(h, 3161, "张伟", "Asia/Shanghai")
    home = await member_in_db(h, 3162, "王芳", "Asia/Shanghai")
    await away.send_command("away", "2026-03-03")
    await away.wait_for_message(lambda m: "已登记外出" in m.plain)
    await publish(h.user(CITRUS_SECRETARY, "zh"), "学习党章")
    await until(h, at_utc(2026, 3, 5))
    assert study_messages(away) == []
    assert len(study_messages(home)) == 3
    item = await the_item(h)
    answer = await study.get_answer(h.services.db, item, await member_id(h, 3161))
    assert (answer.status, answer.reason, answer.entered_by) == ("excused", "away", None)


# ---------------------------------------------------------------- check-ins for others


async def test_secretary_checks_in_for_a_member_and_the_record_says_who(h):
    member = await member_in_db(h, 3171, "张伟", "Asia/Shanghai")
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await publish(secretary, "学习党章")
    await secretary.send_command("checkin")
    pick = await secretary.wait_for_message(lambda m: "代为登记" in m.plain)
    await secretary.press(pick.button_texts[0], pick)
    names = await secretary.wait_for_message(lambda m: "张伟" in m.button_texts)
    await secretary.press("张伟", names)
    done = await secretary.wait_for_message(lambda m: "已为 张伟 代为登记" in m.plain)
    assert "登记人：陈秀兰" in done.plain and "大家都已回复" in done.plain

    await until(h, at_utc(2026, 3, 3))
    assert study_messages(member) == []  # recorded before 19:30: no reminder at all
    secretary_person = await people.get_person_by_telegram(h.services.db, CITRUS_SECRETARY)
    answer = await study.get_answer(h.services.db, await the_item(h), await member_id(h, 3171))
    assert (answer.status, answer.entered_by, answer.on_behalf) == (
        "done", secretary_person.id, True,
    )
    # The secretary's list shows the record and who entered it.
    await secretary.send_command("studies")
    listing = await secretary.wait_for_message(lambda m: "学习事项" in m.plain)
    assert "✅1 🙋0 ⏳0" in listing.plain
    await secretary.press(listing.button_texts[0], listing)
    detail = await secretary.wait_for_message(lambda m: "代为登记" in m.plain)
    assert "张伟（陈秀兰）" in detail.plain


async def test_paired_helper_checks_in_for_an_elderly_member(h):
    await member_in_db(h, 3181, "李大爷", "Asia/Shanghai", category=Category.ELDERLY)
    helper = await member_in_db(h, 3182, "张伟", "Asia/Shanghai")
    await member_in_db(h, 3183, "王芳", "Asia/Shanghai")
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await secretary.send_command("pair")
    pick = await secretary.wait_for_message(lambda m: "李大爷" in m.button_texts)
    await secretary.press("李大爷", pick)
    # /pair now lives in handlers/helpers.py: a member's helpers may come from any
    # branch under the same committee, picked branch first.
    screen = await secretary.wait_for_message(lambda m: "🔗 联系人链接" in m.button_texts)
    citrus = next(b for b in screen.button_texts if b.startswith("➕") and "脐橙" in b)
    await secretary.press(citrus, screen)
    helpers = await secretary.wait_for_message(lambda m: "张伟" in m.button_texts)
    assert "李大爷" not in helpers.button_texts
    await secretary.press("张伟", helpers)
    await secretary.wait_for_message(lambda m: "已安排：张伟 做 李大爷 的帮学人" in m.plain)
    await helper.wait_for_message(lambda m: "您已被安排为 李大爷 的帮学人" in m.plain)

    await publish(secretary, "学习党章")
    await helper.send_command("checkin")
    pick = await helper.wait_for_message(lambda m: "代为登记" in m.plain)
    await helper.press(pick.button_texts[0], pick)
    names = await helper.wait_for_message(lambda m: "李大爷" in m.button_texts)
    assert names.button_texts == ["李大爷"]  # only the member they are paired with
    await helper.press("李大爷", names)
    await helper.wait_for_message(lambda m: "已为 李大爷 代为登记" in m.plain)

    helper_person = await people.get_person_by_telegram(h.services.db, 3182)
    answer = await study.get_answer(h.services.db, await the_item(h), await member_id(h, 3181))
    assert (answer.entered_by, answer.on_behalf, answer.entered_by_name) == (
        helper_person.id, True, "张伟",
    )

    # A member with nobody to help has nothing to check in.
    loner = h.user(3183, "zh")
    await loner.send_command("checkin")
    assert "没有可以代为登记" in (await loner.wait_for_message()).plain


# ---------------------------------------------------------------- managing items


async def test_withdrawn_item_refuses_answers_and_stops_followups(h):
    member = await member_in_db(h, 3191, "张伟", "Asia/Shanghai")
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await publish(secretary, "学习党章")
    await until(h, at_utc(2026, 3, 2, 11, 30))
    reminder = await member.wait_for_message(lambda m: "✅ 已学习" in m.button_texts)

    await secretary.send_command("studies")
    listing = await secretary.wait_for_message(lambda m: "学习事项" in m.plain)
    assert "1. 学习党章 · 截止 2026-03-08 · ✅0 🙋0 ⏳1" in listing.plain
    await secretary.press("1. 学习党章", listing)
    detail = await secretary.wait_for_message(lambda m: "🗑 撤回" in m.button_texts)
    assert "未回复：张伟" in detail.plain
    await secretary.press("🗑 撤回", detail)
    confirm = await secretary.wait_for_message(lambda m: "🗑 确认撤回" in m.button_texts)
    await secretary.press("🗑 确认撤回", confirm)
    await secretary.wait_for_message(lambda m: "已撤回“学习党章”" in m.plain)

    await member.press("✅ 已学习", reminder)
    answer = await member.wait_for_callback_answer()
    assert answer.text == "该学习已撤回" and answer.show_alert
    await member.wait_for_message(lambda m: "（该学习已撤回）" in m.plain)
    await until(h, at_utc(2026, 3, 5))
    assert len(study_messages(member)) == 1


async def test_edited_title_shows_in_the_next_followup(h):
    member = await member_in_db(h, 3201, "张伟", "Asia/Shanghai")
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await publish(secretary, "旧标题")
    await until(h, at_utc(2026, 3, 2, 11, 30))
    await secretary.send_command("studies")
    listing = await secretary.wait_for_message(lambda m: "学习事项" in m.plain)
    await secretary.press("1. 旧标题", listing)
    detail = await secretary.wait_for_message(lambda m: "✏️ 改标题" in m.button_texts)
    await secretary.press("✏️ 改标题", detail)
    await secretary.wait_for_message(lambda m: "新的标题" in m.plain)
    await secretary.send_text("新标题")
    await secretary.wait_for_message(lambda m: "已修改“新标题”" in m.plain)
    await until(h, at_utc(2026, 3, 3, 11, 30))
    assert "新标题" in study_messages(member)[-1].plain


async def test_bad_input_gets_a_clear_reply_and_keeps_the_draft_across_a_restart(h):
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await secretary.send_command("study")
    await secretary.wait_for_message(lambda m: "学习标题" in m.plain)
    await secretary.send_text("学" * 81)
    too_long = await secretary.wait_for_message()
    assert "太长了（81 个字，最多 80 个字）" in too_long.plain
    await secretary.send_text("学习党章")
    await secretary.wait_for_message(lambda m: "学习内容" in m.plain)

    await h.restart()
    await secretary.send_text("第一章 <总纲> & 附录")
    prompt = await secretary.wait_for_message(lambda m: "截止日期" in m.plain)
    await secretary.send_text("2026-02-30")
    assert "没看懂“2026-02-30”" in (await secretary.wait_for_message()).plain
    await secretary.send_text("2026-03-01")
    assert "已经过去了" in (await secretary.wait_for_message()).plain
    await secretary.send_text("2026-03-20")
    confirm = await secretary.wait_for_message(lambda m: "✅ 发布" in m.button_texts)
    assert "第一章 <总纲> & 附录" in confirm.plain and "2026-03-20" in confirm.plain
    # A button from before the restart still works: the draft lives in the database.
    assert prompt.button_texts
    await secretary.press("✅ 发布", confirm)
    await secretary.wait_for_message(lambda m: "已发布" in m.plain)


async def test_general_branch_secretary_publishes_to_every_branch_beneath(h):
    await member_in_db(h, 3211, "张伟", "Asia/Shanghai", branch_key="renhe-citrus")
    pig_farmer = await member_in_db(h, 3212, "王芳", "Asia/Shanghai", branch_key="renhe-pigs")
    leader = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    await leader.send_command("study")
    targets = await leader.wait_for_message(lambda m: "发布到哪里" in m.plain)
    everything = next(b for b in targets.button_texts if "下属全部支部（3 个）" in b)
    assert "生猪养殖党支部" in targets.button_texts
    await leader.press(everything, targets)
    await leader.wait_for_message(lambda m: "学习标题" in m.plain)
    await leader.send_text("学习乡村振兴政策")
    await leader.wait_for_message(lambda m: "学习内容" in m.plain)
    await leader.send_text("政策原文见村务公开栏")
    due = await leader.wait_for_message(lambda m: any("7天后" in b for b in m.button_texts))
    await leader.press(next(b for b in due.button_texts if "7天后" in b), due)
    confirm = await leader.wait_for_message(lambda m: "✅ 发布" in m.button_texts)
    await leader.press("✅ 发布", confirm)
    published = await leader.wait_for_message(lambda m: "已发布" in m.plain)
    assert "3 个支部" in published.plain
    await until(h, at_utc(2026, 3, 2, 11, 30))
    reminder = await pig_farmer.wait_for_message(lambda m: "学习乡村振兴政策" in m.plain)
    assert "3月9日（周一）" in reminder.plain
    # A branch secretary sees only their own branch's share of the batch.
    pigs = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
    await pigs.send_command("studies")
    listing = await pigs.wait_for_message(lambda m: "学习事项" in m.plain)
    assert "⏳1" in listing.plain


async def test_members_cannot_use_secretary_commands(h):
    member = await member_in_db(h, 3221, "张伟", "Asia/Shanghai")
    for command in ("study", "studies", "studyday", "pair"):
        await member.send_command(command)
        assert "只有支部书记" in (await member.wait_for_message()).plain
    await member.send_command("studyday", "9 25:00")
    assert "只有支部书记" in (await member.wait_for_message()).plain
    secretary = h.user(CITRUS_SECRETARY, "zh")
    await secretary.send_command("studyday", "9 25:00")
    assert "用法：/studyday" in (await secretary.wait_for_message()).plain


# ---------------------------------------------------------------- in English, through the join flow


async def test_member_who_joined_in_english_is_reminded_in_madrid_time(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"], "en")
    member = await admitted(
        h, "renhe-mobile", 3301, "Zhao Lei", "mobile", "en", city="Madrid"
    )
    person = await people.get_person_by_telegram(h.services.db, 3301)
    assert person.timezone == "Europe/Madrid"

    await secretary.send_command("study")
    await secretary.wait_for_message(lambda m: "study title" in m.plain)
    await secretary.send_text("Report of the 20th Party Congress")
    await secretary.wait_for_message(lambda m: "study text" in m.plain)
    await secretary.send_text("https://example.org/congress")
    due = await secretary.wait_for_message(lambda m: "✏️ Type a date" in m.button_texts)
    assert any(b.startswith("This Sunday (Sun 8 Mar)") for b in due.button_texts)
    await secretary.press("✏️ Type a date", due)
    await secretary.wait_for_message(lambda m: "YYYY-MM-DD" in m.plain)
    await secretary.send_text("2026-03-10")
    confirm = await secretary.wait_for_message(lambda m: "✅ Publish" in m.button_texts)
    await secretary.press("✅ Publish", confirm)
    done = await secretary.wait_for_message(lambda m: "Published" in m.plain)
    assert "19:30" in done.plain

    await until(h, at_utc(2026, 3, 2, 18, 30))  # 19:30 in Madrid
    reminder = await member.wait_for_message(lambda m: "✅ Studied" in m.button_texts)
    assert "Study reminder" in reminder.plain and "Due: Tue 10 Mar" in reminder.plain
    assert arrivals(member, "Europe/Madrid")[0].strftime("%H:%M") == "19:30"
    await member.press("✅ Studied", reminder)
    edited = await member.wait_for_message(lambda m: "Studied (recorded" in m.plain)
    assert "Mon 2 Mar, 7:30 pm" in edited.plain
    assert (await member.wait_for_callback_answer()).text == "Recorded"
