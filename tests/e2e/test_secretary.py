"""Secretary commands end to end: /invite, /invites, /revoke, /members, /pending, /remove."""

from __future__ import annotations

import asyncio
import re

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callback_data import pack
from bot.domain.models import Category
from bot.domain.text import TELEGRAM_LIMIT
from bot.emulator import EmulatedUser
from storage.repositories import audit, invites, members, people, units
from tests.e2e.flows import BRANCH_SECRETARIES, GENERAL_BRANCH_SECRETARY, invite_by_command
from tests.e2e.harness import ADMIN_ID, BotHarness
from tests.e2e.membership import admitted, requested

CITRUS = "梦公塘早蜜柑脐橙种植党支部"
PIGS = "生猪养殖党支部"
MOBILE = "人和村流动党员党支部"
SUNSET = "夕阳红党支部"
XIANSHUI_SECRETARY = 910001  # 咸水乡党委: above 人和村 and 咸水乡农业党支部
LINK = re.compile(r"https://t\.me/branchbot_demo_bot\?start=([A-Za-z0-9]+)")
NOT_SECRETARY_ZH = "只有支部书记（或委员）才能使用这个命令。"
NOT_YOURS_ZH = "这个支部不归您管理，无法操作。"
NOT_YOURS_EN = "That branch is not yours to manage."


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


def _secretary(h: BotHarness, branch_key: str, language: str = "zh") -> EmulatedUser:
    return h.user(BRANCH_SECRETARIES[branch_key], language)


async def _answer(user: EmulatedUser, command: str, args: str = "") -> str:
    await user.send_command(command, args)
    return (await user.wait_for_message()).plain


# ---------------------------------------------------------------- /invite

async def test_invite_gives_a_deep_link_and_expiry_in_the_secretarys_zone(h):
    secretary = _secretary(h, "renhe-citrus")
    text = await _answer(secretary, "invite")
    code = LINK.search(text).group(1)
    assert f"✅ {CITRUS}的邀请链接" in text
    assert f"邀请码：{code}" in text
    assert "有效期至：3月9日（周一）上午9:00（北京时间）" in text and "可用次数：50 次" in text
    stored = await invites.get_invite(h.services.db, code)
    assert stored.max_uses == 50 and stored.expires_at - stored.created_at == 7 * 86400
    assert any(e.action == "invite.create" for e in await audit.recent(h.services.db))

    # The link works: a member opening it is welcomed to the branch.
    member = h.user(4001, "zh")
    await member.send_command("start", code)
    assert CITRUS in (await member.wait_for_message(lambda m: "的支部助手登记！" in m.plain)).plain


async def test_invite_with_days_and_uses_in_english(h):
    secretary = _secretary(h, "renhe-pigs", "en")
    person = await people.get_person_by_telegram(h.services.db, secretary.id)
    await people.set_timezone(h.services.db, person.id, "Europe/Madrid")
    text = await _answer(secretary, "invite", "3 5")
    assert f"Invite link for {PIGS}" in text
    assert "Valid until: Thu 5 Mar, 2:00 am (local time (7 h behind Beijing))" in text and "Uses: 5" in text  # noqa: E501 (CJK text counts double)


async def test_invite_bad_arguments_are_explained(h):
    secretary = _secretary(h, "renhe-citrus")
    assert "有效天数要在 1 到 365 之间" in await _answer(secretary, "invite", "0")
    assert "可用次数要在 1 到 100000 之间" in await _answer(secretary, "invite", "7 0")
    assert "用法：/invite" in await _answer(secretary, "invite", "renhe-citrus 7 5 9")
    assert "没有代码为“nowhere”的单位" in await _answer(secretary, "invite", "nowhere 7")


async def test_invite_refused_to_members_and_strangers(h):
    member = await admitted(h, "renhe-citrus", 4002, "张伟")
    assert await _answer(member, "invite") == NOT_SECRETARY_ZH
    stranger = h.user(4003, "en")
    assert "Only a branch secretary" in await _answer(stranger, "invite")


async def test_invite_for_another_branch_is_refused(h):
    citrus = _secretary(h, "renhe-citrus")
    assert await _answer(citrus, "invite", "renhe-pigs") == NOT_YOURS_ZH
    # A committee secretary leads only the branches beneath their own committee.
    township = h.user(XIANSHUI_SECRETARY, "en")
    assert await _answer(township, "invite", "tingzijiang-sunset") == NOT_YOURS_EN
    # A branch secretary naming the general branch above them is refused too.
    assert await _answer(citrus, "invite", "renhe") == NOT_YOURS_ZH


async def test_general_branch_secretary_picks_a_branch_by_button(h):
    general = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    await general.send_command("invite", "3")
    picker = await general.wait_for_message()
    assert picker.plain == "您负责多个支部，请选择："
    assert picker.button_texts == [CITRUS, PIGS, MOBILE]
    await general.press(PIGS, picker)
    created = await general.wait_for_message(lambda m: "邀请链接" in m.plain)
    assert f"{PIGS}的邀请链接" in created.plain and "3月5日（周四）上午9:00" in created.plain
    assert picker.plain == f"已选择：{PIGS}" and picker.button_texts == []

    # Naming the branch skips the picker.
    text = await _answer(general, "invite", "renhe-mobile 2 3")
    assert f"{MOBILE}的邀请链接" in text and "可用次数：3 次" in text


async def test_committee_secretary_and_admin_may_invite_beneath_them(h):
    township = h.user(XIANSHUI_SECRETARY, "zh")
    assert f"{PIGS}的邀请链接" in await _answer(township, "invite", "renhe-pigs")
    await township.send_command("invite")
    picker = await township.wait_for_message()
    assert picker.button_texts == [CITRUS, PIGS, MOBILE, "咸水乡农业党支部"]

    admin = h.user(ADMIN_ID, "en")
    text = await _answer(admin, "invite", "tingzijiang-sunset 10")
    assert f"Invite link for {SUNSET}" in text and "12 Mar" in text
    await admin.send_command("invite")
    picker = await admin.wait_for_message()
    assert SUNSET in picker.button_texts and CITRUS in picker.button_texts


# ---------------------------------------------------------------- /invites, /revoke

async def test_invites_list_and_revoke_by_button(h):
    secretary = _secretary(h, "renhe-citrus")
    first = await invite_by_command(secretary)
    second = await invite_by_command(secretary, "1 2")
    await secretary.send_command("invites")
    listing = await secretary.wait_for_message(lambda m: "邀请链接" in m.plain)
    assert f"{first} · {CITRUS} · 已用 0/50 · 有效至 3月9日（周一）上午9:00" in listing.plain
    assert f"{second} · {CITRUS} · 已用 0/2 · 有效至 3月3日（周二）上午9:00" in listing.plain
    assert listing.button_texts == [f"🚫 作废 {second}", f"🚫 作废 {first}"]

    await secretary.press(f"🚫 作废 {first}", listing)
    done = await secretary.wait_for_message(lambda m: "已作废" in m.plain)
    assert done.plain == f"🚫 邀请码 {first}（{CITRUS}）已作废，不能再用来登记。"
    assert listing.button_texts == [f"🚫 作废 {second}"]

    member = h.user(4010, "zh")
    await member.send_command("start", first)
    assert "已被书记作废" in (await member.wait_for_message()).plain

    h.clock.advance(days=2)  # the second one expires
    await secretary.send_command("invites")
    listing = await secretary.wait_for_message(lambda m: "邀请链接" in m.plain)
    assert "已失效（最近 2 个）" in listing.plain
    assert f"{first} · {CITRUS} · 已用 0/50 · 已作废" in listing.plain
    assert f"{second} · {CITRUS} · 已用 0/2 · 已于 3月3日（周二）上午9:00 过期" in listing.plain
    assert listing.button_texts == []


async def test_revoke_command_and_its_refusals(h):
    citrus = _secretary(h, "renhe-citrus", "en")
    code = await invite_by_command(citrus)
    pigs = _secretary(h, "renhe-pigs")
    assert await _answer(pigs, "revoke", code) == NOT_YOURS_ZH
    assert "邀请码“nope”" in await _answer(pigs, "revoke", "nope")
    assert "用法：/revoke" in await _answer(pigs, "revoke")
    member = await admitted(h, "renhe-citrus", 4011, "张伟")
    assert await _answer(member, "revoke", code) == NOT_SECRETARY_ZH

    assert f"Code {code} ({CITRUS}) is revoked" in await _answer(citrus, "revoke", code)
    assert await _answer(citrus, "revoke", code) == "This code was already revoked."
    # The general-branch secretary above may revoke it as well (nothing left to do here).
    general = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    assert await _answer(general, "revoke", code) == "这个邀请码之前已经作废了。"


async def test_invites_of_a_general_branch_cover_its_branches_only(h):
    await invite_by_command(_secretary(h, "renhe-citrus"))
    await invite_by_command(_secretary(h, "renhe-pigs"))
    await invite_by_command(_secretary(h, "tingzijiang-sunset"))
    general = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    text = await _answer(general, "invites")
    assert CITRUS in text and PIGS in text and SUNSET not in text
    assert await _answer(_secretary(h, "renhe-pigs"), "invites", "renhe-citrus") == NOT_YOURS_ZH


# ---------------------------------------------------------------- /members

async def test_members_roster_with_place_contact_and_unreachable_mark(h):
    await admitted(h, "renhe-mobile", 4020, "王芳", "mobile", city="马德里")
    await admitted(h, "renhe-mobile", 4021, "李强", "mobile", city="深圳")
    await requested(h, "renhe-mobile", 4022, "刘洋", "regular")
    db = h.services.db
    li = await people.get_person_by_telegram(db, 4021)
    await people.mark_unreachable(db, li.id, "blocked", int(h.clock.now().timestamp()))
    h.clock.advance(days=3)
    wang = h.user(4020)
    await wang.send_command("away", "10")
    await wang.wait_for_message()

    secretary = _secretary(h, "renhe-mobile")
    text = await _answer(secretary, "members")
    lines = text.split("\n")
    # Only registered members are counted; the pending request is listed apart.
    assert lines[0] == f"{MOBILE} 党员名单（2 人）"
    assert "王芳 — 流动党员（外出务工经商） · 已登记 · 今天联系过 · 在马德里 · 外出至 3月15日（周日）" in lines  # noqa: E501 (CJK text counts double)
    assert "⚠️ 李强 — 流动党员（外出务工经商） · 已登记 · 3 天前联系 · 在深圳" in lines
    pending_at = next(
        i for i, line in enumerate(lines) if line.startswith("待审核的登记申请（1 人")
    )
    assert "刘洋 — 普通党员 · 待审批 · 3 天前联系" in lines[pending_at:]
    assert not any("刘洋" in line for line in lines[:pending_at])
    assert lines[-1].startswith("⚠️ 表示消息发不到")


async def test_members_in_english_escapes_names(h):
    secretary = _secretary(h, "renhe-citrus", "en")
    await admitted(h, "renhe-citrus", 4023, "Tom <b>&amp; Jerry", language="en")
    text = await _answer(secretary, "members")
    assert f"{CITRUS}: members (1)" in text
    assert "Tom <b>&amp; Jerry — Regular member · registered · in contact today" in text


async def test_members_of_an_empty_branch(h):
    text = await _answer(_secretary(h, "renhe-pigs"), "members")
    assert text == f"{PIGS}还没有党员在支部助手登记。发送 /invite 生成邀请链接。"


async def test_a_long_roster_is_split_between_lines(h):
    db = h.services.db
    branch = await units.get_unit_by_key(db, "renhe-citrus")
    now = int(h.clock.now().timestamp())
    for index in range(160):
        person = await people.ensure_person(
            db, telegram_id=600000 + index, now=now, name=f"党员{index:03d}" + "长" * 20
        )
        member = await members.add_member(
            db, person_id=person.id, branch_id=branch.id, category=Category.ELDERLY,
            place=None, invite_id=None, now=now,
        )
        await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)
    secretary = _secretary(h, "renhe-citrus")
    await secretary.send_command("members")
    parts = await secretary.wait_for_messages(2)
    assert parts[0].plain.startswith(f"{CITRUS} 党员名单（160 人）")
    shown = [line for part in parts for line in part.plain.split("\n")][1:]
    assert len(shown) == 160 and all(line.startswith("党员") for line in shown)
    assert all(len(part.text) <= TELEGRAM_LIMIT for part in parts)


async def test_members_refusals_and_the_general_branch_picker(h):
    await admitted(h, "renhe-pigs", 4024, "赵六")
    member = h.user(4024)
    assert await _answer(member, "members") == NOT_SECRETARY_ZH
    assert await _answer(_secretary(h, "renhe-citrus"), "members", "renhe-pigs") == NOT_YOURS_ZH
    township = h.user(XIANSHUI_SECRETARY)
    assert await _answer(township, "members", "tingzijiang-sunset") == NOT_YOURS_ZH

    general = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    await general.send_command("members")
    picker = await general.wait_for_message()
    await general.press(PIGS, picker)
    roster = await general.wait_for_message(lambda m: "党员名单" in m.plain)
    assert "赵六 — 普通党员 · 已登记" in roster.plain

    admin = h.user(ADMIN_ID, "zh")
    assert "赵六" in await _answer(admin, "members", "renhe-pigs")


# ---------------------------------------------------------------- /pending

async def test_pending_lists_requests_and_approval_works_once(h):
    member = await requested(h, "renhe-citrus", 4030, "张伟")
    secretary = _secretary(h, "renhe-citrus")
    original = await secretary.wait_for_message(lambda m: "张伟" in m.plain and m.button_texts)

    await secretary.send_command("pending")
    await secretary.wait_for_message(lambda m: "待审批的登记申请：1 份" in m.plain)
    request = await secretary.wait_for_message(lambda m: "张伟" in m.plain)
    assert f"支部：{CITRUS}" in request.plain and request.button_texts == ["✅ 同意", "❌ 拒绝"]
    await secretary.press("✅ 同意", request)
    await member.wait_for_message(lambda m: "的支部助手登记！" in m.plain)
    await secretary.wait_for_message(lambda m: m is request and "已同意" in request.plain)

    # The first request's buttons are now stale: deciding again changes nothing.
    await secretary.press("✅ 同意", original)
    answer = await secretary.wait_for_callback_answer()
    assert answer.text == "这个申请已经处理过了（已登记）。" and answer.show_alert
    assert await _answer(secretary, "pending") == "没有待审批的登记申请。"


async def test_pending_for_a_general_branch_secretary_covers_every_branch(h):
    await requested(h, "renhe-citrus", 4031, "张伟")
    await requested(h, "renhe-pigs", 4032, "Li Na", language="en")
    await requested(h, "renhe-mobile", 4035, "Zhao Lei", "mobile", "en", city="Madrid")
    await requested(h, "tingzijiang-sunset", 4033, "赵奶奶", "elderly")
    general = h.user(GENERAL_BRANCH_SECRETARY, "en")
    await general.send_command("pending")
    await general.wait_for_message(lambda m: "waiting for approval: 3" in m.plain)
    requests = await general.wait_for_messages(3)
    assert all(m.button_texts == ["✅ Approve", "❌ Reject"] for m in requests)
    assert [m.plain.split("\n")[1] for m in requests] == [
        "Name: 张伟", "Name: Li Na", "Name: Zhao Lei",
    ]
    assert requests[2].plain.endswith("Category: Mobile member (working or in business away from home)\n"  # noqa: E501 (CJK text counts double)
                                      "Place: Madrid (local time (7 h behind Beijing))")
    assert "Place:" not in requests[0].plain
    # Reject through /pending behaves as from the original request.
    li_na = next(m for m in requests if "Li Na" in m.plain)
    await general.press("❌ Reject", li_na)
    told = await h.user(4032).wait_for_message(lambda m: "did not approve" in m.plain)
    assert PIGS in told.plain


async def test_pending_refused_to_members_and_other_branches(h):
    member = await admitted(h, "renhe-citrus", 4034, "张伟")
    assert await _answer(member, "pending") == NOT_SECRETARY_ZH
    assert await _answer(_secretary(h, "renhe-pigs"), "pending", "renhe-citrus") == NOT_YOURS_ZH


# ---------------------------------------------------------------- /remove

async def test_remove_by_buttons_tells_the_member(h):
    member = await admitted(h, "renhe-citrus", 4040, "张伟")
    await admitted(h, "renhe-citrus", 4041, "李娜")
    secretary = _secretary(h, "renhe-citrus")
    await secretary.send_command("remove")
    picker = await secretary.wait_for_message()
    assert picker.plain == f"要把谁从{CITRUS}的支部助手名单中移出？（不影响组织关系）"
    assert picker.button_texts == ["张伟", "李娜"]
    await secretary.press("张伟", picker)
    confirm = await secretary.wait_for_message(lambda m: "确定把" in m.plain)
    assert confirm.plain.startswith(f"确定把张伟从{CITRUS}的支部助手名单中移出吗？")
    await secretary.press("✅ 确定移出名单", confirm)
    await secretary.wait_for_message(lambda m: m is confirm and confirm.edits > 0)
    assert confirm.plain == f"已把张伟移出{CITRUS}的支部助手名单（不影响组织关系）。"
    told = await member.wait_for_message(lambda m: "移出" in m.plain)
    assert told.plain.startswith(f"书记已把您移出{CITRUS}的支部助手名单")

    person = await people.get_person_by_telegram(h.services.db, member.id)
    assert await members.current_membership(h.services.db, person.id) is None
    assert any(e.action == "member.remove" for e in await audit.recent(h.services.db))
    assert "您还没有在任何支部的支部助手登记" in await _answer(member, "away", "3")

    # The old picker's button for him is stale now.
    await secretary.press("张伟", picker)
    answer = await secretary.wait_for_callback_answer()
    assert answer.text == "这位党员已经不在支部助手名单里了（已移出名单）。"


async def test_remove_by_name_confirm_once(h):
    secretary = _secretary(h, "renhe-pigs", "en")
    await admitted(h, "renhe-pigs", 4042, "Wang Lei", language="en")
    await secretary.send_command("remove", "wang  lei")
    first = await secretary.wait_for_message(lambda m: "Take Wang Lei off" in m.plain)
    await secretary.send_command("remove", "Wang Lei")
    second = await secretary.wait_for_message(lambda m: "Take Wang Lei off" in m.plain)
    await secretary.press("✅ Yes, take off the list", second)
    await secretary.wait_for_message(lambda m: m is second and "is off the Branch Assistant list" in second.plain)  # noqa: E501 (CJK text counts double)
    await secretary.press("✅ Yes, take off the list", first)
    answer = await secretary.wait_for_callback_answer()
    assert answer.text == "This person is no longer on the Branch Assistant list (taken off the list)."  # noqa: E501 (CJK text counts double)
    removals = [e for e in await audit.recent(h.services.db) if e.action == "member.remove"]
    assert len(removals) == 1


async def test_remove_cancel_keeps_the_member(h):
    member = await admitted(h, "renhe-citrus", 4043, "张伟")
    secretary = _secretary(h, "renhe-citrus")
    await secretary.send_command("remove", "张伟")
    confirm = await secretary.wait_for_message(lambda m: "确定把" in m.plain)
    await secretary.press("❌ 取消", confirm)
    await secretary.wait_for_message(lambda m: m is confirm and "已取消" in confirm.plain)
    person = await people.get_person_by_telegram(h.services.db, member.id)
    assert (await members.current_membership(h.services.db, person.id)).status == "active"


async def test_remove_refusals(h):
    member = await admitted(h, "renhe-citrus", 4044, "张伟")
    assert await _answer(member, "remove") == NOT_SECRETARY_ZH
    pigs = _secretary(h, "renhe-pigs")
    # Another branch's member is simply not among the pigs secretary's members.
    assert "没有找到名叫“张伟”的党员" in await _answer(pigs, "remove", "张伟")
    assert await _answer(pigs, "remove", "renhe-citrus") == NOT_YOURS_ZH
    assert await _answer(pigs, "remove") == f"{PIGS}的名单里没有可以移出的人。"


async def test_remove_by_a_general_branch_secretary_and_ambiguous_names(h):
    await admitted(h, "renhe-citrus", 4045, "张伟")
    await admitted(h, "renhe-pigs", 4046, "张伟")
    general = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    await general.send_command("remove", "张伟")
    choice = await general.wait_for_message()
    assert choice.plain == "有 2 位党员叫“张伟”，请选择："
    assert choice.button_texts == [f"张伟（{CITRUS}）", f"张伟（{PIGS}）"]
    await general.press(f"张伟（{PIGS}）", choice)
    confirm = await general.wait_for_message(lambda m: "确定把" in m.plain)
    assert PIGS in confirm.plain
    await general.press("✅ 确定移出名单", confirm)
    await general.wait_for_message(lambda m: m is confirm and "已把张伟移出" in confirm.plain)
    await h.user(4046).wait_for_message(lambda m: "书记已把您移出" in m.plain)
    still = await people.get_person_by_telegram(h.services.db, 4045)
    assert (await members.current_membership(h.services.db, still.id)).status == "active"


# ---------------------------------------------------------------- forged or outlived buttons

async def _plant_button(h: BotHarness, user: EmulatedUser, label: str, data: str):
    """Put a button with chosen callback data in the user's chat (a copied or outlived one)."""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]])
    await h.app.bot.send_message(user.id, "copy", reply_markup=markup)
    return await user.wait_for_message(lambda m: label in m.button_texts)


async def _press_planted(h: BotHarness, user: EmulatedUser, data: str) -> str:
    message = await _plant_button(h, user, "x", data)
    await user.press("x", message)
    return (await user.wait_for_callback_answer()).text


async def test_buttons_recheck_the_role_of_whoever_presses_them(h):
    await admitted(h, "renhe-citrus", 4050, "张伟")
    db = h.services.db
    person = await people.get_person_by_telegram(db, 4050)
    membership = await members.current_membership(db, person.id)
    code = await invite_by_command(_secretary(h, "renhe-citrus"))
    pigs = await units.get_unit_by_key(db, "renhe-pigs")

    outsider = _secretary(h, "renhe-pigs")
    for data in (pack("sec", "rmyes", membership.id), pack("sec", "rmask", membership.id),
                 pack("sec", "revoke", code)):
        assert await _press_planted(h, outsider, data) == NOT_YOURS_ZH
    member = h.user(4050)
    assert await _press_planted(h, member, pack("sec", "revoke", code)) == NOT_SECRETARY_ZH
    citrus = _secretary(h, "renhe-citrus")
    picked = await _press_planted(h, citrus, pack("sec", "pick", "invite", pigs.id, 7, 50))
    assert picked == NOT_YOURS_ZH

    assert (await members.current_membership(db, person.id)).status == "active"
    assert (await invites.get_invite(db, code)).revoked_at is None
    assert await invites.list_invites(db, [pigs.id]) == []


async def test_admin_may_remove_in_any_branch(h):
    member = await admitted(h, "tingzijiang-sunset", 4051, "赵奶奶", "elderly")
    admin = h.user(ADMIN_ID, "zh")
    await admin.send_command("remove", "赵奶奶")
    confirm = await admin.wait_for_message(lambda m: "确定把" in m.plain)
    await admin.press("✅ 确定移出名单", confirm)
    await admin.wait_for_message(lambda m: m is confirm and "已把赵奶奶移出" in confirm.plain)
    await member.wait_for_message(lambda m: f"书记已把您移出{SUNSET}" in m.plain)


async def test_member_who_blocks_the_bot_is_shown_unreachable_until_unblocking(h):
    from storage.repositories import people

    member = await admitted(h, "renhe-citrus", 3990, "高峰")
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    member.block(notify_bot=True)
    db = h.services.db

    async def reachable() -> bool:
        return (await people.get_person_by_telegram(db, member.id)).is_reachable

    for _ in range(50):
        if not await reachable():
            break
        await asyncio.sleep(0.02)
    assert not await reachable()
    await secretary.send_command("members")
    roster = await secretary.wait_for_message(lambda m: "高峰" in m.plain)
    line = next(line for line in roster.plain.splitlines() if "高峰" in line)
    assert "⚠️" in line

    member.unblock(notify_bot=True)
    for _ in range(50):
        if await reachable():
            break
        await asyncio.sleep(0.02)
    assert await reachable()
