"""/org and /org check: admins see the county, secretaries the part they lead."""

from __future__ import annotations

import pytest

from tests.e2e.flows import BRANCH_SECRETARIES, GENERAL_BRANCH_SECRETARY
from tests.e2e.harness import ADMIN_ID, BotHarness
from tests.e2e.membership import admitted


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


async def _org(user, args: str = "") -> str:
    await user.send_command("org", args)
    return (await user.wait_for_message()).plain


async def test_admin_sees_the_whole_county_with_keys(h):
    tree = await _org(h.user(ADMIN_ID, "zh"))
    units = ("咸水乡党委", "人和村党总支部", "夕阳红党支部", "才湾镇党委", "非公企业联合党支部")
    assert all(unit in tree for unit in units)
    assert "代码 renhe-citrus" in tree and "├─ " in tree


async def test_general_branch_secretary_sees_only_their_subtree(h):
    tree = await _org(h.user(GENERAL_BRANCH_SECRETARY, "en"))
    assert tree.splitlines()[1].startswith("人和村党总支部")
    assert "生猪养殖党支部" in tree and "人和村流动党员党支部" in tree
    assert "咸水乡党委" not in tree and "夕阳红党支部" not in tree
    assert "key renhe-pigs" in tree


async def test_structure_check_names_a_branch_that_should_be_joint(h):
    await admitted(h, "renhe-citrus", 3201, "张伟")
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    report = await _org(secretary, "check")
    assert "梦公塘早蜜柑脐橙种植党支部：1 名党员，不足 3 名，应组建联合党支部" in report
    # The secretary of another branch is not told about this one.
    other = await _org(h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh"), "check")
    assert "梦公塘早蜜柑脐橙种植党支部" not in other
    everything = await _org(h.user(ADMIN_ID, "en"), "check")
    assert "1 members, fewer than 3; should be a joint branch" in everything


async def test_admin_appoints_a_secretary_by_one_time_link(h):
    import re

    admin = h.user(ADMIN_ID, "zh")
    await admin.send_command("appoint", "renhe-pigs")
    link = (await admin.wait_for_message(lambda m: "start=sec_" in m.plain)).plain
    code = re.search(r"start=(sec_[A-Za-z0-9]+)", link).group(1)

    newcomer = h.user(3301, "zh", first_name="王新")
    await newcomer.send_command("start", code)
    claimed = await newcomer.wait_for_message(lambda m: "生猪养殖党支部" in m.plain)
    assert "书记" in claimed.plain
    await newcomer.send_command("members", "renhe-pigs")
    assert "生猪养殖党支部还没有党员在支部助手登记" in (await newcomer.wait_for_message()).plain
    # The previous secretary no longer leads the branch.
    old = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
    await old.send_command("members", "renhe-pigs")
    assert "只有支部书记" in (await old.wait_for_message()).plain

    # The link works once.
    late = h.user(3302, "zh")
    await late.send_command("start", code)
    assert "邀请码无效" in (await late.wait_for_message()).plain


async def test_admin_appoints_by_telegram_id_and_refuses_unknown_units(h):
    admin = h.user(ADMIN_ID, "en")
    await admin.send_command("appoint", "nowhere 3303")
    assert 'no unit with key "nowhere"' in (await admin.wait_for_message()).plain
    await admin.send_command("appoint", "renhe-mobile 3303")
    assert "Recorded 3303 as secretary of" in (await admin.wait_for_message()).plain
    appointed = h.user(3303, "zh")
    await appointed.send_command("members", "renhe-mobile")
    assert "人和村流动党员党支部还没有党员在支部助手登记" in (await appointed.wait_for_message()).plain  # noqa: E501 (CJK text counts double)


@pytest.mark.parametrize("command", ["digest", "export", "members", "invite"])
async def test_unknown_unit_key_gets_a_clear_answer(h, command):
    secretary = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    await secretary.send_command(command, "nowhere")
    answer = (await secretary.wait_for_message()).plain
    assert "nowhere" in answer and "抱歉" not in answer
