"""First-use failures found when branchbot was tried as a new user would (issue 10, item 5)."""

from __future__ import annotations

import asyncio

import pytest

from bot.i18n import t
from storage.repositories import drafts, people, units
from tests.e2e.flows import BRANCH_SECRETARIES, invite_in_db
from tests.e2e.harness import ADMIN_ID, BotHarness
from tests.e2e.membership import admitted, requested, stored

APOLOGY = ("抱歉", "Sorry")


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


async def _chat_menu(h: BotHarness, user_id: int) -> dict[str, str]:
    """Wait for, then return, the command menu published for this user's chat."""
    for _ in range(100):
        commands = h.emulator.commands.get((f"chat:{user_id}", ""))
        if commands:
            return dict(commands)
        await asyncio.sleep(0.05)
    return {}


# ---------------------------------------------------------------- menus


async def test_plain_member_switching_language_gets_the_menu_and_no_apology(h):
    member = await admitted(h, "renhe-citrus", 6001, "张伟")
    await member.send_command("language")
    choice = await member.wait_for_message(lambda m: "English" in m.button_texts)
    await member.press("English", choice)
    await member.wait_for_message(lambda m: m is choice and choice.edits > 0)
    menu = await _chat_menu(h, member.id)
    assert menu.get("mypledges") and menu["me"] == "My data"
    assert "invite" not in menu and "appoint" not in menu
    assert not [m.plain for m in member.messages if m.plain.startswith(APOLOGY)]


async def test_admin_menu_has_no_member_commands(h):
    menu = await _chat_menu(h, ADMIN_ID)
    assert {"appoint", "invite", "digest", "language", "help"} <= set(menu)
    for name in ("leave", "forget", "away", "timezone", "mypledges"):
        assert name not in menu, name


# ---------------------------------------------------------------- codes


async def test_bogus_secretary_code_leaves_no_profile_and_a_typed_code_still_works(h):
    user = h.user(6002, "zh")
    await user.send_command("start", "sec_bogus")
    assert "邀请码无效" in (await user.wait_for_message()).plain
    assert await people.get_person_by_telegram(h.services.db, user.id) is None
    await user.send_command("me")
    assert (await user.wait_for_message()).plain == t("zh", "errors.not_member")

    code = await invite_in_db(h, "renhe-citrus")
    await user.send_text(code)
    await user.wait_for_message(lambda m: "请输入您的真实姓名" in m.plain)


async def test_a_half_profile_from_before_may_still_type_a_valid_code(h):
    # A person row with no branch and no role, as a bogus code used to leave.
    db = h.services.db
    await people.ensure_person(db, telegram_id=6003, now=int(h.clock.now().timestamp()), name="x")
    user = h.user(6003, "zh")
    await user.send_text("NOSUCHCODE")
    assert "邀请码无效" in (await user.wait_for_message()).plain
    await user.send_text(await invite_in_db(h, "renhe-citrus"))
    await user.wait_for_message(lambda m: "请输入您的真实姓名" in m.plain)


async def test_a_valid_code_typed_mid_registration_restarts_it(h):
    user = h.user(6004, "zh")
    await user.send_command("start", await invite_in_db(h, "renhe-citrus"))
    await user.wait_for_message(lambda m: "请输入您的真实姓名" in m.plain)
    await user.send_text(await invite_in_db(h, "renhe-pigs"))
    pigs = await units.get_unit_by_key(h.services.db, "renhe-pigs")
    await user.wait_for_message(lambda m: pigs.name in m.plain)
    # The code was not taken as the member's name.
    draft = await drafts.get_draft(h.services.db, user.id)
    assert draft is not None and draft.name is None


# ---------------------------------------------------------------- /timezone


async def test_zone_alone_clears_a_place_outside_it(h):
    member = await admitted(h, "renhe-mobile", 6005, "王芳", "mobile", city="纽约")
    await member.send_command("timezone", "Europe/Madrid")
    reply = await member.wait_for_message(lambda m: "比北京时间晚 7 小时" in m.plain)
    assert "纽约" in reply.plain and "清除" in reply.plain
    saved = await stored(h, member.id)
    assert saved.person.timezone == "Europe/Madrid" and saved.membership.place is None
    await member.send_command("me")
    text = (await member.wait_for_message(lambda m: "我的信息" in m.plain)).plain
    assert "纽约" not in text


async def test_zone_alone_keeps_a_place_inside_it(h):
    member = await admitted(h, "renhe-mobile", 6006, "李强", "mobile", city="深圳")
    await member.send_command("timezone", "Asia/Shanghai")
    reply = await member.wait_for_message(lambda m: "北京时间" in m.plain and "已" in m.plain)
    assert "清除" not in reply.plain
    assert (await stored(h, member.id)).membership.place == "深圳"


# ---------------------------------------------------------------- reminder hours


async def test_studyday_in_quiet_hours_says_when_reminders_really_come(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    await secretary.send_command("studyday", "3 21:18")
    reply = (await secretary.wait_for_message(lambda m: "21:18" in m.plain)).plain
    assert "21:18 左右" not in reply
    assert "次日 08:00" in reply and "次日 09:00" in reply  # regular, elderly


async def test_study_confirmation_says_when_reminders_really_come(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    await secretary.send_command("studyday", "3 21:18")
    await secretary.wait_for_message(lambda m: "21:18" in m.plain)
    await secretary.send_command("study")
    await secretary.wait_for_message(lambda m: "学习标题" in m.plain)
    await secretary.send_text("学习党章")
    await secretary.wait_for_message(lambda m: "学习内容" in m.plain)
    await secretary.send_text("https://example.org/report")
    prompt = await secretary.wait_for_message(
        lambda m: any(b.startswith("本周日") for b in m.button_texts)
    )
    await secretary.press(next(b for b in prompt.button_texts if b.startswith("本周日")), prompt)
    confirm = await secretary.wait_for_message(lambda m: "✅ 发布" in m.button_texts)
    assert "21:18 左右" not in confirm.plain and "次日 08:00" in confirm.plain
    await secretary.press("✅ 发布", confirm)
    done = await secretary.wait_for_message(lambda m: "已发布" in m.plain)
    assert "21:18 左右" not in done.plain and "次日 08:00" in done.plain


# ---------------------------------------------------------------- /members


async def test_members_counts_registered_members_only(h):
    await admitted(h, "renhe-pigs", 6007, "张三")
    await requested(h, "renhe-pigs", 6008, "李四")
    secretary = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
    await secretary.send_command("members")
    text = (await secretary.wait_for_message(lambda m: "党员名单" in m.plain)).plain
    assert "（1 人）" in text and "待审核的登记申请（1 人" in text
    assert text.index("张三") < text.index("待审核") < text.index("李四")
