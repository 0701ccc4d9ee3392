"""Who may do what: every secretary command and button, as each role.

Roles: a stranger, a member of 梦公塘早蜜柑脐橙种植党支部 (renhe-citrus), that
branch's secretary, the secretary of another branch (生猪养殖, renhe-pigs), the
general-branch secretary above both (人和村), and an admin.
"""

from __future__ import annotations

import re

import pytest
from telegram import InlineKeyboardMarkup

from bot.domain.pledges import parse_pledge
from bot.emulator import EmulatedUser, SentMessage
from bot.i18n import catalogue
from storage.repositories import helpers, members, people, pledges, study, units
from tests.e2e.flows import BRANCH_SECRETARIES, GENERAL_BRANCH_SECRETARY
from tests.e2e.harness import ADMIN_ID, BotHarness
from tests.e2e.membership import admitted, requested, stored

BRANCH = "renhe-citrus"
ALLOWED = ("secretary", "general", "admin")
REFUSED_FOR_BRANCH = ("stranger", "member", "other_secretary")

# Every refusal the bot gives, from the catalogue itself, so a reworded
# refusal cannot make this test pass by accident.
REFUSALS = [
    text
    for key, text in catalogue("zh").items()
    if re.search(r"(not_secretary|not_your_branch|not_admin|not_allowed)$", key)
]


def _is_refusal(text: str | None) -> bool:
    return bool(text) and any(refusal in text for refusal in REFUSALS)


@pytest.fixture
async def world(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        member = await admitted(h, BRANCH, 3101, "张伟")
        roles = {
            "stranger": h.user(3999),
            "member": member,
            "secretary": h.user(BRANCH_SECRETARIES[BRANCH]),
            "other_secretary": h.user(BRANCH_SECRETARIES["renhe-pigs"]),
            "general": h.user(GENERAL_BRANCH_SECRETARY),
            "admin": h.user(ADMIN_ID),
        }
        yield h, roles


async def _answer(user: EmulatedUser, text: str) -> str:
    await user.send_text(text)
    return (await user.wait_for_message()).plain


# Commands that act on one branch and take its key.
BRANCH_COMMANDS = ["members", "pending", "invite", "invites", "remove", "digest", "export"]
# Secretary commands that act on the branches the secretary leads.
LEADER_COMMANDS = ["studies", "study", "studyday", "pair", "mobile", "org", "org check"]


@pytest.mark.parametrize("command", BRANCH_COMMANDS)
async def test_branch_commands_by_role(world, command):
    _, roles = world
    for role, user in roles.items():
        reply = await _answer(user, f"/{command} {BRANCH}")
        if role in REFUSED_FOR_BRANCH:
            assert _is_refusal(reply), (command, role, reply)
        else:
            assert not _is_refusal(reply), (command, role, reply)
            assert "梦公塘早蜜柑脐橙种植党支部" in reply or "张伟" in reply or "邀请" in reply \
                or "没有待审批" in reply, (command, role, reply)


@pytest.mark.parametrize("command", LEADER_COMMANDS)
async def test_leader_commands_by_role(world, command):
    _, roles = world
    for role, user in roles.items():
        reply = await _answer(user, f"/{command}")
        if role in ("stranger", "member"):
            assert _is_refusal(reply), (command, role, reply)
        else:
            assert not _is_refusal(reply), (command, role, reply)


async def test_appoint_is_for_admins_only(world):
    _, roles = world
    for role, user in roles.items():
        reply = await _answer(user, "/appoint renhe-pigs")
        assert _is_refusal(reply) == (role != "admin"), (role, reply)
    assert "start=sec_" in reply  # the admin got a one-time secretary link


async def test_other_branch_secretary_does_not_see_this_branch_anywhere(world):
    _, roles = world
    outsider = roles["other_secretary"]
    for command in ("members", "mobile", "org", "digest", "pledges", "studies"):
        reply = await _answer(outsider, f"/{command}")
        assert "张伟" not in reply and "梦公塘早蜜柑脐橙种植党支部" not in reply, (command, reply)


# ---------------------------------------------------------------- buttons


async def _buttons_of(user: EmulatedUser, text: str, wanted: str) -> SentMessage:
    await user.send_text(text)
    return await user.wait_for_message(lambda m: any(wanted in b for b in m.button_texts))


async def _press_copy(h: BotHarness, user: EmulatedUser, source: SentMessage, button: str) -> str:
    """Put a copy of `source`'s keyboard in `user`'s chat, press `button`, return the answer."""
    markup = InlineKeyboardMarkup.de_json(source.reply_markup, None)
    await h.app.bot.send_message(user.id, "copy", reply_markup=markup)
    copy = await user.wait_for_message(lambda m: m.plain == "copy")
    await user.press(button, copy)
    answer = await user.wait_for_callback_answer()
    return answer.text or ""


async def _check_button(h, roles, source: SentMessage, button: str, allowed=ALLOWED) -> None:
    # Refused roles first: their presses must change nothing for the allowed ones.
    for role in sorted(roles, key=lambda r: r in allowed):
        answer = await _press_copy(h, roles[role], source, button)
        if role in allowed:
            assert not _is_refusal(answer), (button, role, answer)
        else:
            assert _is_refusal(answer), (button, role, answer)


async def test_join_approval_buttons_by_role(world):
    h, roles = world
    await requested(h, BRANCH, 3102, "李娜")
    request = await roles["secretary"].wait_for_message(lambda m: "李娜" in m.plain)
    await _check_button(h, roles, request, "❌ 拒绝")


async def test_revoke_and_remove_buttons_by_role(world):
    h, roles = world
    secretary = roles["secretary"]
    await _answer(secretary, f"/invite {BRANCH}")
    invites = await _buttons_of(secretary, f"/invites {BRANCH}", "🚫")
    await _check_button(h, roles, invites, invites.button_texts[0])
    removal = await _buttons_of(secretary, f"/remove {BRANCH}", "张伟")
    await _check_button(h, roles, removal, "张伟")


async def test_digest_detail_buttons_by_role(world):
    h, roles = world
    digest = await _buttons_of(roles["secretary"], f"/digest {BRANCH}", "台账")
    await _check_button(h, roles, digest, digest.button_texts[-1])
    await _check_button(h, roles, digest, "📈 参与率图表")


# ---------------------------------------------------------------- forged ids
#
# Ids in callback data are small and sequential, and a client can send any
# data. Whoever may not act on a target gets one answer, the same whether the
# target exists, is already handled, or never existed, and it names nothing.

OUTSIDERS = ("stranger", "member", "other_secretary")
TITLE = "学习党章第七章"


async def _press_raw(h: BotHarness, user: EmulatedUser, data: str) -> str:
    """Press a button carrying `data` (forged) and return the answer's text."""
    if user.last_message is None:
        await h.app.bot.send_message(user.id, "buttons")
        await user.wait_for_message(lambda m: m.plain == "buttons")
    query = await user.press_data(data)
    answer = await user.wait_for_callback_answer(query)
    return answer.text or ""


async def _person_id(h: BotHarness, telegram_id: int) -> int:
    person = await people.get_person_by_telegram(h.services.db, telegram_id)
    assert person is not None
    return person.id


@pytest.fixture
async def records(world):
    """A study item with 张伟's excuse (entered by the secretary) and pledges in two states."""
    h, roles = world
    db = h.services.db
    now = int(h.clock.now().timestamp())
    branch = await units.get_unit_by_key(db, BRANCH)
    member = (await stored(h, roles["member"].id)).membership
    secretary = await _person_id(h, roles["secretary"].id)
    (item,) = await study.create_items(
        db, branch_ids=[branch.id], title=TITLE, body="", due_date="2026-12-31",
        remind_at={branch.id: "19:30"}, created_by=secretary, now=now,
    )
    await study.record_answer(
        db, item.id, member.id, status="excused", reason="ill", entered_by=secretary, now=now,
        on_behalf=True,
    )
    submitted = await pledges.add_pledge(
        db, member_id=member.id, year=2026, parsed=parse_pledge("带头学习新技术"), now=now
    )
    await pledges.submit_pledges(db, member_id=member.id, year=2026, now=now)
    handled = await pledges.add_pledge(
        db, member_id=member.id, year=2025, parsed=parse_pledge("帮助两户脱贫"), now=now
    )
    await pledges.submit_pledges(db, member_id=member.id, year=2025, now=now)
    await pledges.decide_pledge(db, handled.id, approve=True, by=secretary, now=now)
    return h, roles, {
        "item": item.id, "member": member.id, "branch": branch.id,
        "submitted": submitted.id, "handled": handled.id,
    }


NONE = 900_000  # no row has an id this large in these tests

# (existing, already handled or someone else's, never existed): one answer for all.
FORGED = [
    ("study:cim:{item}:{member}", "study:cim:{none}:{member}", "study:cim:{item}:{none}"),
    ("study:ci:{item}", "study:ci:{item}", "study:ci:{none}"),
    ("hp:m:{member}", "hp:m:{member}", "hp:m:{none}"),
    ("hp:for:{member}", "hp:st:{member}", "hp:for:{none}"),
    ("pl:all:{member}:2026", "pl:all:{member}:2025", "pl:all:{none}:2026"),
    ("pl:ok:{submitted}", "pl:ok:{handled}", "pl:ok:{none}"),
    ("pl:ret:{submitted}", "pl:ret:{handled}", "pl:ret:{none}"),
    ("join:ok:{member}", "join:no:{member}", "join:ok:{none}"),
    ("sec:rmask:{member}", "sec:rmyes:{member}", "sec:rmask:{none}"),
    ("dg:x:{branch}", "dg:x:{branch}", "dg:x:{none}"),
    # The digest's chart and a roll-up's pages: leaders of the unit (or above) only.
    ("dg:c:{branch}:2026W10", "dg:p:{branch}:2026W10:1", "dg:c:{none}:2026W10",
     "dg:p:{none}:2026W10:0"),
    # Recording contact for a member: only their branch's leaders and their helpers.
    ("ct:r:{member}:phone", "ct:n:{member}", "ct:r:{none}:visit"),
    ("ct:m:{member}", "ct:hy:{member}", "ct:m:{none}"),
    # Later features: turning a member elderly, a life change's decision, and the
    # offline-member record and its claim link read the same whatever the ids name.
    ("lc:eld:{member}", "lc:eld:{none}", "lc:ok:{none}", "lc:no:{none}"),
    ("om:m:{member}", "om:link:{member}", "om:m:{none}", "om:link:{none}"),
    ("hh:as:{none}", "hh:c:{none}", "hh:nb:{branch}", "hh:v:{branch}"),
    ("mt:att:{none}", "mt:open:{none}", "mt:ok:{none}"),
    ("ps:a:{none}:good", "ps:h:{none}:{member}"),
    ("cp:x:{none}", "cp:k:{none}"),
]
LEAKS = (TITLE, "生病", "请假", "张伟", "带头学习", "帮助两户", "已经处理")


@pytest.mark.parametrize("forms", FORGED, ids=[forms[0].split("{")[0] for forms in FORGED])
async def test_forged_ids_get_one_refusal_whatever_exists(records, forms):
    h, roles, ids = records
    for role in OUTSIDERS:
        user = roles[role]
        if user.last_message is None:
            await h.app.bot.send_message(user.id, "buttons")
            await user.wait_for_message(lambda m: m.plain == "buttons")
        before = user.texts
        answers = {await _press_raw(h, user, form.format(**ids, none=NONE)) for form in forms}
        assert len(answers) == 1, (forms, role, answers)
        (answer,) = answers
        assert _is_refusal(answer), (forms, role, answer)
        assert not any(leak in answer for leak in LEAKS), (forms, role, answer)
        assert user.texts == before, (forms, role)  # nothing sent, nothing edited
    # Nothing was decided by the refused presses.
    member = await members.get_member(h.services.db, ids["member"])
    assert member.status == "active"
    assert (await pledges.get_pledge(h.services.db, ids["submitted"])).status == "submitted"


async def test_the_secretary_still_sees_what_was_recorded(records):
    h, roles, ids = records
    answer = await _press_raw(h, roles["secretary"], f"study:cim:{ids['item']}:{ids['member']}")
    assert "生病" in answer  # the refusals above hide what the branch's own leader may see


# ---------------------------------------------------------------- members without Telegram


async def test_addmember_is_for_this_branchs_leaders_only(world):
    _, roles = world
    for role, user in roles.items():
        reply = await _answer(user, f"/addmember {BRANCH}")
        if role in REFUSED_FOR_BRANCH:
            assert _is_refusal(reply), (role, reply)
        else:
            assert not _is_refusal(reply) and "真实姓名" in reply, (role, reply)
        if role != "stranger":
            await _answer(user, "/help")  # leave no open question behind


async def test_claim_link_button_by_role(world):
    h, roles = world
    secretary = roles["secretary"]
    await _answer(secretary, f"/addmember {BRANCH}")
    category = await _buttons_of(secretary, "王奶奶", "老龄党员")
    await secretary.press("老龄党员", category)
    note = await secretary.wait_for_message(lambda m: "⏭ 跳过" in m.button_texts)
    await secretary.press("⏭ 跳过", note)
    await secretary.wait_for_message(lambda m: "start=claim_" in m.plain)
    listing = await _buttons_of(secretary, f"/offline {BRANCH}", "王奶奶")
    await _check_button(h, roles, listing, "王奶奶")
    entry = await secretary.wait_for_message(lambda m: "🔗 生成认领链接" in m.button_texts)
    await _check_button(h, roles, entry, "🔗 生成认领链接")


# ---------------------------------------------------------------- lives change and big buttons


async def test_life_change_and_big_button_confirmations_by_role(world):
    """Only the branch's own leaders confirm a life change, turn a member elderly or answer
    找书记; everyone else gets the one refusal, the same for forged ids that name nothing."""
    h, roles = world
    secretary = roles["secretary"]
    elderly = await _buttons_of(secretary, "/elderly", "张伟")
    await roles["member"].send_text("📞 找书记")
    call = await secretary.wait_for_message(lambda m: "想找您" in m.plain)
    transfer = await _buttons_of(roles["member"], "/transfer", "生猪养殖党支部")
    await roles["member"].press("生猪养殖党支部", transfer)
    request = await secretary.wait_for_message(lambda m: "申请从" in m.plain)
    # The transfer has two sides: here the citrus (from) side's leaders and, for the
    # to side, the pigs secretary; a stranger or the member confirm nothing.
    for role in ("stranger", "member"):
        assert _is_refusal(await _press_copy(h, roles[role], request, "✅ 确认")), role
        assert _is_refusal(await _press_copy(h, roles[role], call, "✅ 我来联系")), role
        assert _is_refusal(await _press_copy(h, roles[role], elderly, "张伟")), role
    assert _is_refusal(await _press_copy(h, roles["other_secretary"], call, "✅ 我来联系"))
    assert _is_refusal(await _press_copy(h, roles["other_secretary"], elderly, "张伟"))
    for role in OUTSIDERS:
        # One refusal, whether the request, the call or the member exists or not.
        answers = {await _press_raw(h, roles[role], forged.format(none=NONE))
                   for forged in ("lc:ok:{none}", "lc:no:{none}", "lc:eld:{none}",
                                  "big:ack:{none}")}
        answers |= {await _press_copy(h, roles[role], call, "✅ 我来联系")}
        if role != "other_secretary":  # the transfer's other side may confirm it
            answers |= {await _press_copy(h, roles[role], request, "✅ 确认"),
                        await _press_copy(h, roles[role], elderly, "张伟")}
        assert len(answers) == 1 and _is_refusal(answers.pop()), (role, answers)
    member = (await stored(h, roles["member"].id)).membership
    assert member.category == "regular" and member.branch_id == (
        await units.get_unit_by_key(h.services.db, BRANCH)).id
    # (The elderly press first: a copy whose buttons a press cleared reads "copy" too.)
    assert not _is_refusal(await _press_copy(h, roles["secretary"], elderly, "张伟"))
    await secretary.wait_for_message(lambda m: "已把 张伟 按老龄党员对待" in m.plain)
    assert (await stored(h, roles["member"].id)).membership.category == "elderly"
    for role in ("general", "secretary"):
        assert not _is_refusal(await _press_copy(h, roles[role], call, "✅ 我来联系")), role


# ---------------------------------------------------------------- helpers and 联系人
#
# A helper (a member of another branch under the same committee) and a 联系人
# (a relative with no membership) act only for the members they were given:
# a forged press for anyone else reads the same whether that member exists or
# not, they see no roster, and nobody from another committee can be paired.


async def test_helpers_and_contacts_act_only_for_their_own_members(world):
    h, roles = world
    db = h.services.db
    now = int(h.clock.now().timestamp())
    secretary_id = await _person_id(h, roles["secretary"].id)
    theirs = (await stored(h, roles["member"].id)).membership  # 张伟: helped
    other = (await stored(h, (await admitted(h, BRANCH, 3103, "孙丽")).id)).membership
    helper = await admitted(h, "renhe-pigs", 3201, "赵敏")
    contact = h.user(3301, "zh")
    contact_person = await people.ensure_person(db, telegram_id=3301, now=now, name="刘芳")
    far = await admitted(h, "tingzijiang-sunset", 3401, "钱华")  # 龙水镇党委, another committee
    await helpers.add_helper(db, member_id=theirs.id, helper_person_id=await _person_id(h, 3201),
                             kind=helpers.HELPER, added_by=secretary_id, now=now)
    await helpers.add_helper(db, member_id=theirs.id, helper_person_id=contact_person.id,
                             kind=helpers.CONTACT, added_by=secretary_id, now=now)
    for user in (helper, contact):
        # Their own member: the menu opens.
        assert not _is_refusal(await _press_raw(h, user, f"hp:for:{theirs.id}"))
        answers = {
            await _press_raw(h, user, f"hp:{action}:{target}")
            for action in ("for", "st", "pl", "rp", "rt", "wb")
            for target in (other.id, NONE)
        }
        # A member's own buttons with a forged subject (a member not theirs, or
        # nobody): the permission is checked before anything is looked up, and
        # the refusal is the one the /helpfor buttons give.
        answers |= {
            await _press_raw(h, user, data.format(target))
            for data in ("study:done:1:f{}", "study:why:1:ill:f{}", "pl:add:2026:f{}",
                         "pl:rep:1:202601:done:f{}", "pl:self:1:good:f{}", "wh:yes:1:f{}")
            for target in (other.id, NONE)
        }
        assert len(answers) == 1 and _is_refusal(answers.pop())
        # Managing helpers is the secretary's: refused, whoever it names.
        assert _is_refusal(await _press_raw(h, user, f"hp:m:{theirs.id}"))
        assert _is_refusal(await _answer(user, f"/members {BRANCH}"))
        assert _is_refusal(await _answer(user, "/pair"))
    # Someone of another committee cannot be paired, even by a forged press.
    secretary = roles["secretary"]
    far_person = await _person_id(h, far.id)
    far_branch = await units.get_unit_by_key(db, "tingzijiang-sunset")
    assert _is_refusal(await _press_raw(h, secretary, f"hp:add:{other.id}:{far_person}"))
    assert _is_refusal(await _press_raw(h, secretary, f"hp:b:{other.id}:{far_branch.id}"))
    assert await helpers.helpers_of(db, other.id) == []
    # ...while a member of another branch under the same committee can.
    pigs = await _person_id(h, 3201)
    assert not _is_refusal(await _press_raw(h, secretary, f"hp:add:{other.id}:{pigs}"))
    assert [x.person_id for x in await helpers.helpers_of(db, other.id)] == [pigs]


async def test_households_register_pair_and_log_by_role(world):
    """Only the branch's leaders register and pair; only the paired member, their helper or
    the branch's leaders log a visit; everyone else gets one refusal, whatever the ids name."""
    from storage.repositories import households

    h, roles = world
    db = h.services.db
    now = int(h.clock.now().timestamp())
    branch = await units.get_unit_by_key(db, BRANCH)
    paired = (await stored(h, roles["member"].id)).membership  # 张伟
    other = await admitted(h, BRANCH, 3103, "孙丽")
    helper = await admitted(h, "renhe-pigs", 3201, "赵敏")
    await helpers.add_helper(db, member_id=paired.id, helper_person_id=await _person_id(h, 3201),
                             kind=helpers.HELPER, added_by=None, now=now)
    hid = await households.add_household(db, branch_id=branch.id, name="王某户（三组）",
                                         needs=("tech",), created_by=None, now=now)
    await households.assign(db, household_id=hid, member_id=paired.id, assigned_by=None, now=now)

    # Registering is for leaders only: the same refusal as every secretary command.
    for name in ("stranger", "member"):
        assert _is_refusal(await _answer(roles[name], "/household 李某户（一组）"))
    assert len(await households.branch_households(db, branch.id)) == 1

    manage = [f"hh:{a}:{x}" for a in ("c", "as", "ok") for x in (hid, NONE)]
    manage += [f"hh:nd:{hid}:care", f"hh:nd:{NONE}:care", f"hh:am:{hid}:{paired.id}",
               f"hh:am:{NONE}:{paired.id}", f"hh:nb:{branch.id}", f"hh:v:{branch.id}"]
    for user in (roles["stranger"], roles["member"], roles["other_secretary"], helper, other):
        answers = {await _press_raw(h, user, data) for data in manage}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id
    assert (await households.get_household(db, hid)).needs == ("tech",)
    assert [a.member_id for a in await households.assigned_members(db, [hid])] == [paired.id]

    log = [f"hh:k:{hid}:{paired.id}:visit", f"hh:h:{hid}:{paired.id}",
           f"hh:k:{NONE}:{paired.id}:visit", f"hh:k:{hid}:{NONE}:visit"]
    other_member = (await stored(h, other.id)).membership
    log.append(f"hh:k:{hid}:{other_member.id}:visit")  # not paired with the household
    for user in (roles["stranger"], other, roles["other_secretary"]):
        answers = {await _press_raw(h, user, data) for data in log}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id
    assert await households.branch_visits(db, branch.id) == []

    # The paired member, their helper (author kept) and the branch's leaders may.
    for user in (roles["member"], helper, roles["secretary"], roles["general"]):
        assert not _is_refusal(await _press_raw(h, user, f"hh:k:{hid}:{paired.id}:visit"))
    visits = await households.branch_visits(db, branch.id)
    assert [v.member_id for v in visits] == [paired.id] * 4
    assert [v.entered_by for v in visits] == [
        None, await _person_id(h, 3201), await _person_id(h, roles["secretary"].id),
        await _person_id(h, roles["general"].id)]


async def test_posts_commands_and_buttons_by_role(world):
    """Only the branch's leaders set posts and assess; only the holder consents and reports;
    everyone else gets one refusal, whatever the ids name."""
    from storage.repositories import posts

    h, roles = world
    db = h.services.db
    now = int(h.clock.now().timestamp())
    branch = await units.get_unit_by_key(db, BRANCH)
    holder_member = (await stored(h, roles["member"].id)).membership
    other = await admitted(h, BRANCH, 3104, "孙丽")
    post_id = await posts.create_post(db, branch_id=branch.id, year=2026, name="技术服务岗",
                                      duties="", targets=[("技术指导", 12.0, "户次")], by=None,
                                      now=now)
    holder = await posts.ask_holder(db, post_id, holder_member.id, now=now)

    for name in ("stranger", "member"):
        assert _is_refusal(await _answer(roles[name], "/post 某岗")), name
    # Another branch's secretary sets posts in their own branch only.
    await _answer(roles["other_secretary"], "/post 某岗")
    assert len(await posts.branch_posts(db, branch.id, 2026)) == 1
    for name in ("secretary", "general", "admin"):
        await roles[name].send_command("posts")
        assert "技术服务岗" in (await roles[name].wait_for_message()).plain, name
    await roles["member"].send_command("posts")
    assert "技术服务岗" in (await roles["member"].wait_for_message()).plain

    manage = [f"ps:h:{post_id}:{holder_member.id}", f"ps:h:{NONE}:{holder_member.id}",
              f"ps:a:{holder.id}:good", f"ps:a:{NONE}:good"]
    for user in (roles["stranger"], roles["member"], roles["other_secretary"], other):
        answers = {await _press_raw(h, user, data) for data in manage}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id
    assert (await posts.get_holder(db, holder.id)).rating is None

    own = [f"ps:c:{holder.id}:y", f"ps:c:{NONE}:y", f"ps:r:{holder.id}:202603:done",
           f"ps:r:{NONE}:202603:done", f"ps:why:{holder.id}:202603:ill",
           f"ps:n:{holder.id}:202603:1:3", f"ps:nd:{holder.id}:202603:1"]
    for user in (roles["stranger"], other, roles["secretary"], roles["general"]):
        answers = {await _press_raw(h, user, data) for data in own}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id
    assert (await posts.get_holder(db, holder.id)).status == "asked"
    assert not _is_refusal(await _press_raw(h, roles["member"], f"ps:c:{holder.id}:y"))
    assert (await posts.get_holder(db, holder.id)).status == "accepted"
    assert not _is_refusal(await _press_raw(h, roles["secretary"], f"ps:a:{holder.id}:fair"))
    assert (await posts.get_holder(db, holder.id)).rating == "fair"

    # A holder's report buttons with a subject (a helper's or leader's press, issue 13.5):
    # a stranger or another branch's member naming the holder, or nobody, gets the one
    # refusal the unforged buttons give, before anything is looked up.
    forged = [f"ps:{action}:f{target}" for action in (
        f"r:{holder.id}:202603:done", f"why:{holder.id}:202603:ill", f"n:{holder.id}:202603:1:3",
        f"nd:{holder.id}:202603:1", f"f:{holder.id}", f"r:{NONE}:202603:done", f"f:{NONE}")
        for target in (holder_member.id, NONE)]
    for user in (roles["stranger"], other, roles["other_secretary"]):
        answers = {await _press_raw(h, user, data) for data in [*own, *forged]}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id
    assert await posts.reports_for(db, [holder.id]) == []


async def test_campaign_commands_and_buttons_by_role(world):
    """Leaders open and close campaigns; members of the branches beneath nominate and vote."""
    from storage.repositories import campaigns

    h, roles = world
    db = h.services.db
    now = int(h.clock.now().timestamp())
    branch = await units.get_unit_by_key(db, BRANCH)
    member = (await stored(h, roles["member"].id)).membership
    cid = await campaigns.open_campaign(db, unit_id=branch.id, title="服务明星评比", stars=1,
                                        opens_at=now, closes_at=now + 86400, by=None)
    await campaigns.nominate(db, cid, member_id=member.id, by=None, reason="好", now=now)
    pig_member = await admitted(h, "renhe-pigs", 3202, "赵敏")

    for name in ("stranger", "member"):
        assert _is_refusal(await _answer(roles[name], "/campaign 评比 7 1")), name
    assert len(await campaigns.unit_campaigns(db, [branch.id])) == 1

    manage = [f"cp:x:{cid}", f"cp:k:{cid}", f"cp:x:{NONE}", f"cp:k:{NONE}"]
    for user in (roles["stranger"], roles["member"], roles["other_secretary"], pig_member):
        answers = {await _press_raw(h, user, data) for data in manage}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id

    vote = [f"cp:n:{cid}", f"cp:v:{cid}", f"cp:b:{cid}:{member.id}", f"cp:p:{cid}:{member.id}",
            f"cp:v:{NONE}", f"cp:b:{NONE}:{member.id}"]
    for user in (roles["stranger"], pig_member, roles["secretary"]):
        answers = {await _press_raw(h, user, data) for data in vote}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id
    assert await campaigns.voter_count(db, cid) == 0
    assert not _is_refusal(await _press_raw(h, roles["member"], f"cp:b:{cid}:{member.id}"))
    assert await campaigns.voter_count(db, cid) == 1
    assert not _is_refusal(await _press_raw(h, roles["general"], f"cp:x:{cid}"))


async def test_gongshi_is_for_leaders(world):
    _, roles = world
    for name in ("stranger", "member"):
        reply = await _answer(roles[name], "/gongshi")
        assert "没有可公示的支部" in reply, name


async def test_meetings_call_edit_cancel_confirm_and_attendance_by_role(world):
    """Leaders of the branch (or above) call, change, cancel, confirm and see attendance;
    only the invited member (or their helper) answers; everyone else gets one refusal."""
    from storage.repositories import meetings

    h, roles = world
    db = h.services.db
    now = int(h.clock.now().timestamp())
    branch = await units.get_unit_by_key(db, BRANCH)
    member = (await stored(h, roles["member"].id)).membership
    other = await admitted(h, BRANCH, 3105, "周杰")

    def call(starts_at: int) -> dict:
        return dict(calls=[(branch.id, [member.id])], kind="theme_day", subject=None,
                    topic="学习", starts_at=starts_at, timezone="Asia/Shanghai", place="村部",
                    online_link=None, hours=0, called_by=None, now=now)

    (coming,) = await meetings.create_meetings(db, **call(now + 3 * 86400))
    (held,) = await meetings.create_meetings(db, **call(now - 3600))

    for name in ("stranger", "member"):
        assert _is_refusal(await _answer(roles[name], "/meeting")), name
        assert _is_refusal(await _answer(roles[name], "/meetings")), name
    for name in ("secretary", "general", "admin"):
        assert not _is_refusal(await _answer(roles[name], "/meeting")), name

    manage = [f"mt:open:{coming.id}", f"mt:mv:{coming.id}", f"mt:pl:{coming.id}",
              f"mt:cx:{coming.id}", f"mt:cx:{coming.id}:1", f"mt:att:{held.id}",
              f"mt:tg:{held.id}:{member.id}", f"mt:ok:{held.id}", f"mt:open:{NONE}",
              f"mt:cx:{NONE}:1", f"mt:att:{NONE}", f"mt:ok:{NONE}"]
    for user in (roles["stranger"], roles["member"], roles["other_secretary"], other):
        answers = {await _press_raw(h, user, data) for data in manage}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id
    assert (await meetings.get_meeting(db, coming.id)).cancelled_at is None
    assert (await meetings.get_meeting(db, held.id)).confirmed_at is None

    # Only the invited member (or a helper of theirs) answers the notice.
    answer = [f"mt:a:{coming.id}:{member.id}", f"mt:why:{coming.id}:{member.id}:ill",
              f"mt:a:{NONE}:{member.id}", f"mt:hm:{held.id}:{member.id}:present"]
    for user in (roles["stranger"], roles["secretary"], roles["general"], other):
        answers = {await _press_raw(h, user, data) for data in answer}
        assert len(answers) == 1 and _is_refusal(answers.pop()), user.id
    assert await meetings.invitee(db, coming.id, member.id) == (None, None)
    assert not _is_refusal(await _press_raw(h, roles["member"], f"mt:a:{coming.id}:{member.id}"))
    assert (await meetings.invitee(db, coming.id, member.id))[0] == "attend"
    await helpers.add_helper(db, member_id=member.id, helper_person_id=await _person_id(
        h, other.id), kind="helper", added_by=None, now=now)
    assert not _is_refusal(await _press_raw(h, other, f"mt:hm:{held.id}:{member.id}:present"))

    # The leaders see attendance and confirm it; the general-branch secretary too.
    assert not _is_refusal(await _press_raw(h, roles["general"], f"mt:att:{held.id}"))
    roster = await roles["general"].wait_for_message(lambda m: "到会情况" in m.plain)
    assert "张伟 · 到会（周杰 代为登记）" in roster.plain
    assert not _is_refusal(await _press_raw(h, roles["secretary"], f"mt:ok:{held.id}"))
    assert (await meetings.get_meeting(db, held.id)).confirmed_at is not None
    assert not _is_refusal(await _press_raw(h, roles["admin"], f"mt:cx:{coming.id}:1"))
    assert (await meetings.get_meeting(db, coming.id)).cancelled_at is not None
