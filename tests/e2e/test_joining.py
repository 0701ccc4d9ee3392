"""Joining a branch end to end: invites, registration by category, approval, bad input."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardMarkup

from bot.emulator import EmulatedUser
from storage.repositories import people
from tests.e2e.flows import (
    APPROVE_BUTTON,
    BRANCH_SECRETARIES,
    CATEGORY_BUTTON,
    CONSENT_BUTTON,
    begin_registration,
    invite_by_command,
    invite_in_db,
    join,
)
from tests.e2e.harness import BotHarness
from tests.e2e.membership import stored

CITRUS = "梦公塘早蜜柑脐橙种植党支部"


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


async def _approve(secretary: EmulatedUser, name: str, language: str = "zh") -> None:
    request = await secretary.wait_for_message(
        lambda m: name in m.plain and bool(m.button_texts), after=0
    )
    await secretary.press(APPROVE_BUTTON[language], request)
    await secretary.wait_for_message(lambda m: m is request and request.edits > 0)


async def test_regular_member_joins_and_is_approved_in_chinese(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    member = h.user(2001, "zh")
    code = await invite_by_command(secretary)
    await join(h, member, code, "张伟", "regular")

    request = await secretary.wait_for_message(lambda m: "张伟" in m.plain)
    assert "登记申请" in request.plain and CITRUS in request.plain and "普通党员" in request.plain
    assert request.button_texts == ["✅ 同意", "❌ 拒绝"]
    await secretary.press("✅ 同意", request)
    welcome = await member.wait_for_message(lambda m: "的支部助手登记！" in m.plain)
    assert CITRUS in welcome.plain
    await secretary.wait_for_message(lambda m: "已同意" in m.plain)
    assert request.button_texts == []  # the buttons are gone once decided

    person, membership = await stored(h, member.id)
    assert person.name == "张伟" and person.timezone == "Asia/Shanghai"
    assert membership.status == "active" and membership.category == "regular"


async def test_regular_member_joins_in_english(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
    member = h.user(2002, "en")
    code = await invite_by_command(secretary)
    await member.send_command("start", code)
    welcome = await member.wait_for_message(lambda m: "register you in Branch Assistant" in m.plain)
    assert "生猪养殖党支部" in welcome.plain
    await member.wait_for_message(lambda m: "real name" in m.plain)
    await member.send_text("Zhang Wei")
    ask = await member.wait_for_message(lambda m: "Which describes you" in m.plain)
    assert ask.button_texts == list(CATEGORY_BUTTON["en"].values())
    await member.press("Regular member")
    consent = await member.wait_for_message(lambda m: "Do you agree" in m.plain)
    assert "Name: Zhang Wei" in consent.plain and "no ID numbers" in consent.plain
    await member.press(CONSENT_BUTTON["en"])
    await member.wait_for_message(lambda m: "will review your request" in m.plain)
    await _approve(secretary, "Zhang Wei")
    done = await member.wait_for_message(lambda m: "You are now registered" in m.plain)
    assert "生猪养殖党支部" in done.plain


async def test_mobile_member_by_city_in_china(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"], "zh")
    member = h.user(2003, "zh")
    code = await invite_by_command(secretary)
    await join(h, member, code, "王芳", "mobile", city="深圳市")
    assert any("所在地：深圳（北京时间）" in text for text in member.texts)
    request = await secretary.wait_for_message(lambda m: "王芳" in m.plain)
    assert "流动党员" in request.plain and "深圳" in request.plain
    await _approve(secretary, "王芳")
    person, membership = await stored(h, member.id)
    assert membership.place == "深圳" and person.timezone == "Asia/Shanghai"


async def test_mobile_member_by_city_abroad_in_english(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"], "zh")
    member = h.user(2004, "en")
    code = await invite_by_command(secretary)
    await join(h, member, code, "Zhao Lei", "mobile", "en", city="Madrid")
    consent = next(m for m in member.messages if "Do you agree" in m.plain)
    assert "Place: Madrid (local time (7 h behind Beijing))" in consent.plain
    await _approve(secretary, "Zhao Lei")
    person, membership = await stored(h, member.id)
    assert person.timezone == "Europe/Madrid" and membership.place == "Madrid"
    assert membership.status == "active"


async def test_mobile_member_by_shared_location(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"], "zh")
    member = h.user(2005, "zh")
    code = await invite_by_command(secretary)
    await join(h, member, code, "李强", "mobile", location=(40.7128, -74.0060))
    assert any("纽约附近" in text and "比北京时间晚 13 小时" in text for text in member.texts)
    person, _ = await stored(h, member.id)
    assert person.timezone == "America/New_York"


async def test_unknown_city_asks_again_with_suggestions_and_keeps_answers(h):
    member = h.user(2006, "zh")
    await begin_registration(member, await invite_in_db(h, "renhe-mobile"), "陈静")
    await member.press("流动党员（外出务工经商）")
    await member.wait_for_message(lambda m: "常见地点" in m.plain)
    await member.send_text("火星基地")
    again = await member.wait_for_message(lambda m: "没有找到" in m.plain)
    assert "火星基地" in again.plain and again.button_texts  # suggestions to tap
    await member.press("东莞", again)
    consent = await member.wait_for_message(lambda m: "是否同意" in m.plain)
    assert "姓名：陈静" in consent.plain and "东莞" in consent.plain


async def test_elderly_member_only_types_the_name(h):
    secretary = h.user(BRANCH_SECRETARIES["tingzijiang-sunset"], "zh")
    member = h.user(2007, "zh")
    code = await invite_by_command(secretary)
    typed: list[str] = []
    send_text = member.send_text

    async def counting_send_text(text: str, **kwargs):
        typed.append(text)
        return await send_text(text, **kwargs)

    member.send_text = counting_send_text  # every typed line, commands included
    await member.send_command("start", code)
    await member.wait_for_message(lambda m: "请输入您的真实姓名" in m.plain)
    await member.send_text("李德福")
    category = await member.wait_for_message(lambda m: "请选择您的情况" in m.plain)
    assert category.button_texts == list(CATEGORY_BUTTON["zh"].values())
    await member.press("老龄党员", category)
    consent = await member.wait_for_message(lambda m: "是否同意" in m.plain)
    assert consent.button_texts == ["✅ 同意", "❌ 不同意"]  # no place question, no typing
    await member.press("✅ 同意", consent)
    await member.wait_for_message(lambda m: "等待" in m.plain)
    assert typed == [f"/start {code}", "李德福"]  # every other step was a button
    await _approve(secretary, "李德福")
    _, membership = await stored(h, member.id)
    assert membership.category == "elderly" and membership.status == "active"


async def test_consent_declined_keeps_nothing(h):
    member = h.user(2008, "zh")
    await begin_registration(member, await invite_in_db(h, "renhe-citrus"), "周杰")
    await member.press("普通党员")
    await member.wait_for_message(lambda m: "是否同意" in m.plain)
    await member.press("❌ 不同意")
    await member.wait_for_message(lambda m: "没有保存" in m.plain)
    assert await people.get_person_by_telegram(h.services.db, member.id) is None


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "expected_zh", "expected_en"),
    [
        ({"expires_in": -1}, "已经过期", "has expired"),
        ({"revoked": True}, "已被书记作废", "was revoked"),
        ({"max_uses": 0}, "使用次数已满", "been used up"),
    ],
)
async def test_unusable_invites_are_refused_in_both_languages(h, kwargs, expected_zh, expected_en):
    code = await invite_in_db(h, "renhe-citrus", **kwargs)
    for user_id, language, expected in ((2101, "zh", expected_zh), (2102, "en", expected_en)):
        member = h.user(user_id, language)
        await member.send_command("start", code)
        assert expected in (await member.wait_for_message()).plain


async def test_unknown_code_and_code_typed_after_bare_start(h):
    member = h.user(2103, "zh")
    await member.send_command("start", "NOSUCHCODE")
    assert "邀请码无效" in (await member.wait_for_message()).plain
    await member.send_command("start")
    assert "邀请链接" in (await member.wait_for_message()).plain
    code = await invite_in_db(h, "renhe-citrus")
    await member.send_text(code)
    await member.wait_for_message(lambda m: "请输入您的真实姓名" in m.plain)


async def test_use_limit_is_counted_when_the_request_is_submitted(h):
    code = await invite_in_db(h, "renhe-citrus", max_uses=1)
    first, second = h.user(2104, "zh"), h.user(2105, "zh")
    await join(h, first, code, "第一人", "regular")
    await second.send_command("start", code)
    assert "使用次数已满" in (await second.wait_for_message()).plain


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("   ", "姓名不能为空"),
        ("张" * 65, "姓名太长了（65 个字，最多 64 个字）"),
        ("😀🎉👍", "请输入真实姓名"),
    ],
)
async def test_bad_names_are_asked_again(h, name, expected):
    member = h.user(2106, "zh")
    code = await invite_in_db(h, "renhe-citrus")
    await member.send_command("start", code)
    await member.wait_for_message(lambda m: "姓名" in m.plain)
    await member.send_text(name)
    await member.wait_for_message(lambda m: expected in m.plain)
    await member.wait_for_message(lambda m: "请输入您的真实姓名" in m.plain)
    await member.send_text("王小明")
    await member.wait_for_message(lambda m: "王小明，您好" in m.plain)


async def test_markup_in_a_name_is_shown_literally_everywhere(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    member = h.user(2107, "zh")
    code = await invite_by_command(secretary)
    name = "<b>张</b> & *李*"
    await join(h, member, code, name, "regular")
    consent = next(m for m in member.messages if "是否同意" in m.plain)
    assert f"姓名：{name}" in consent.plain
    request = await secretary.wait_for_message(lambda m: "登记申请" in m.plain)
    assert name in request.plain
    assert "&lt;b&gt;" in request.text  # escaped in the HTML the bot sent


async def test_typing_where_a_button_is_expected_keeps_the_answers(h):
    member = h.user(2108, "zh")
    await begin_registration(member, await invite_in_db(h, "renhe-citrus"), "刘洋")
    await member.send_text("普通")
    await member.wait_for_message(lambda m: "请点击下面的按钮" in m.plain)
    again = await member.wait_for_message(lambda m: "刘洋，您好" in m.plain)
    await member.press("普通党员", again)
    consent = await member.wait_for_message(lambda m: "是否同意" in m.plain)
    assert "姓名：刘洋" in consent.plain


async def test_stale_button_from_an_earlier_attempt_changes_nothing(h):
    member = h.user(2109, "zh")
    code = await invite_in_db(h, "renhe-citrus")
    old = await begin_registration(member, code, "旧名字")
    h.clock.advance(seconds=5)  # a new attempt gets a new stamp
    await member.send_command("start", code)
    await member.wait_for_message(lambda m: "姓名" in m.plain)
    await member.press("普通党员", old)
    answer = await member.wait_for_callback_answer()
    assert "已经过期" in answer.text and answer.show_alert
    await member.send_text("新名字")
    await member.wait_for_message(lambda m: "新名字，您好" in m.plain)


async def test_member_of_one_branch_cannot_join_another(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    member = h.user(2110, "zh")
    await join(h, member, await invite_by_command(secretary), "黄河", "regular")
    other = await invite_in_db(h, "renhe-pigs")
    await member.send_command("start", other)
    assert "还在审批中" in (await member.wait_for_message()).plain
    await _approve(secretary, "黄河")
    await member.send_command("start", other)
    reply = await member.wait_for_message(lambda m: "/leave" in m.plain)
    assert CITRUS in reply.plain
    same = await invite_in_db(h, "renhe-citrus")
    await member.send_command("start", same)
    assert "无需重复登记" in (await member.wait_for_message()).plain


async def test_second_press_and_other_branch_secretary_change_nothing(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    member = h.user(2111, "zh")
    await join(h, member, await invite_by_command(secretary), "孙丽", "regular")
    request = await secretary.wait_for_message(lambda m: "孙丽" in m.plain)
    buttons = InlineKeyboardMarkup.de_json(request.reply_markup, None)

    # The secretary of another branch gets hold of the buttons (a forwarded copy).
    outsider = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
    await h.app.bot.send_message(outsider.id, "copy", reply_markup=buttons)
    await outsider.wait_for_message(lambda m: bool(m.button_texts))
    await outsider.press("❌ 拒绝")
    refusal = await outsider.wait_for_callback_answer()
    # The same refusal as for a request that does not exist (see test_permissions).
    assert "不归您操作" in refusal.text

    await secretary.press("✅ 同意", request)
    await member.wait_for_message(lambda m: "的支部助手登记！" in m.plain)
    assert request.button_texts == []

    # A stale copy of the buttons pressed again is answered, not applied.
    await h.app.bot.send_message(secretary.id, "copy", reply_markup=buttons)
    await secretary.wait_for_message(lambda m: m.plain == "copy")
    await secretary.press("❌ 拒绝")
    again = await secretary.wait_for_callback_answer()
    assert "已经处理过了" in again.text and "已登记" in again.text
    _, membership = await stored(h, member.id)
    assert membership.status == "active"


async def test_rejection_is_told_to_the_member(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    member = h.user(2112, "en")
    await join(h, member, await invite_by_command(secretary), "Wu Gang", "regular", "en")
    request = await secretary.wait_for_message(lambda m: "Wu Gang" in m.plain)
    await secretary.press("❌ 拒绝", request)
    told = await member.wait_for_message(lambda m: "did not approve" in m.plain)
    assert CITRUS in told.plain


async def test_registration_survives_a_restart(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"], "zh")
    member = h.user(2113, "zh")
    code = await invite_by_command(secretary)
    category_question = await begin_registration(member, code, "郭靖")

    await h.restart()

    await member.press("流动党员（外出务工经商）", category_question)
    await member.wait_for_message(lambda m: "常见地点" in m.plain)
    await h.restart()
    await member.send_text("迪拜")
    consent = await member.wait_for_message(lambda m: "是否同意" in m.plain)
    assert "姓名：郭靖" in consent.plain and "迪拜" in consent.plain
    await member.press("✅ 同意", consent)
    await member.wait_for_message(lambda m: "等待" in m.plain)
    await _approve(secretary, "郭靖")
    person, membership = await stored(h, member.id)
    assert person.timezone == "Asia/Dubai" and membership.status == "active"
