"""Consent and /me say exactly who sees each kind of a member's data (issue 10, item 4)."""

from __future__ import annotations

import pytest

from tests.e2e.flows import CONSENT_BUTTON, begin_registration, invite_in_db
from tests.e2e.harness import BotHarness
from tests.e2e.membership import admitted

# One line per kind of data, as a member reads it (bot.domain.visibility).
WHO_SEES_ZH = (
    "谁能看到这些信息",
    "• 姓名和类别：您本人，本支部书记和支委委员，上级党总支、党委的书记和委员，系统管理员；"
    "您的帮学人和联系人能看到您的姓名。",
    "• 所在地和时区：您本人，本支部书记和支委委员，上级党总支、党委的书记和委员，系统管理员。",
    "• 学习签到和请假原因：",
    "• 承诺：支部审核通过后在本支部公开，本支部全体党员都能看到您的姓名和承诺内容。",
    "• 承诺草稿、践诺汇报和评诺：",
    "• 去向确认记录（流动党员）：",
    "• 岗位和评比：您担任的岗位、别人提名您的理由和评比结果在本支部公开",
    "投票是无记名的，谁也看不到您投给了谁。",
    "• 结对帮扶走访和线下联系记录：",
    "• 谁可以代为登记：",
    "联系人（亲属、邻居，不是党员）",
)


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


async def test_consent_names_everyone_who_sees_the_data(h):
    member = h.user(2301, "zh")
    await begin_registration(member, await invite_in_db(h, "renhe-citrus"), "张伟")
    await member.press("普通党员")
    consent = await member.wait_for_message(lambda m: CONSENT_BUTTON["zh"] in m.button_texts)
    for line in WHO_SEES_ZH:
        assert line in consent.plain, line
    # The old promise, "only you and the secretary", is gone: it was not true.
    assert "只有您和本支部书记" not in consent.plain


async def test_me_shows_who_sees_what_in_the_members_language(h):
    member = await admitted(h, "renhe-citrus", 2302, "王芳")
    await member.send_command("me")
    me = await member.wait_for_message(lambda m: "我的信息" in m.plain)
    for line in WHO_SEES_ZH:
        assert line in me.plain, line
    english = await admitted(h, "renhe-pigs", 2303, "Li Na", language="en")
    await english.send_command("me")
    mine = await english.wait_for_message(lambda m: "Who can see this" in m.plain)
    assert "every member of your branch sees your name and your pledges" in mine.plain
    assert "the system admins" in mine.plain
