"""Invisible characters never reach a stored field nor an echo (bot.domain.free_text).

A name of Hangul fillers shows blank in the secretary's approval request, and
a right-to-left override turns what follows around: neither may get in.
"""

from __future__ import annotations

import pytest

from storage.repositories import pledges, posts, units
from tests.e2e.flows import BRANCH_SECRETARIES, NAME_QUESTION, invite_by_command
from tests.e2e.harness import BotHarness, say, tap
from tests.e2e.membership import admitted, stored

RLO = "\u202e"
INVISIBLE = (RLO, "\u200b", "\u3164", "\uffa0")


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


def shows_no_invisible(texts: list[str]) -> bool:
    return not any(char in text for text in texts for char in INVISIBLE)


@pytest.mark.parametrize("blank", ["\u3164", "\uffa0\uffa0", f"{RLO}\u200b"])
async def test_a_blank_looking_name_is_refused_and_asked_again(h, blank):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    member = h.user(3701, "zh")
    code = await invite_by_command(secretary)
    await member.send_command("start", code)
    await member.wait_for_message(lambda m: NAME_QUESTION["zh"] in m.plain)
    await member.send_text(blank)
    refused = await member.wait_for_message(lambda m: "没有看得见的文字" in m.plain)
    assert "请输入您的真实姓名" in refused.plain
    # The question stands; a real name is taken as usual.
    await member.send_text(f"\u3164李{RLO}明")
    category = await member.wait_for_message(lambda m: bool(m.button_texts))
    assert "李明，您好" in category.plain


async def test_a_pledge_with_a_right_to_left_override_is_stored_cleaned(h):
    member = await admitted(h, "renhe-citrus", 3702, "Li Ming", language="en")
    await member.send_command("mypledges")
    await member.wait_for_message(lambda m: "no pledges for 2026 yet" in m.plain)
    await tap(member, "✍️ Write a pledge", "Please send pledge no. 1")
    await say(member, f"{RLO}Visit 5 households\u200b", "Pledge no. 1 noted")
    membership = (await stored(h, member.id)).membership
    [pledge] = await pledges.member_pledges(h.services.db, membership.id, 2026)
    assert pledge.text == "Visit 5 households" and pledge.target == 5
    # Only invisible characters: refused as empty, nothing stored.
    await member.send_text("\u200b\u3164")
    await member.wait_for_message(lambda m: m.plain.startswith("The pledge") or "empty" in m.plain)
    assert len(await pledges.member_pledges(h.services.db, membership.id, 2026)) == 1
    assert shows_no_invisible(member.texts)


async def test_command_arguments_are_echoed_without_an_override(h):
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    await secretary.send_command("digest", f"{RLO}abc")
    echoed = await secretary.wait_for_message(lambda m: "abc" in m.plain)
    assert RLO not in echoed.text and "“abc”" in echoed.plain

    member = await admitted(h, "renhe-citrus", 3703, "王芳")
    await member.send_command("away", f"{RLO}下个月")
    answer = await member.wait_for_message(lambda m: "下个月" in m.plain)
    assert RLO not in answer.text
    assert shows_no_invisible(secretary.texts + member.texts)


async def test_later_features_clean_typed_names_too(h):
    # /addmember: a name of Hangul fillers is refused like a member's own.
    secretary = h.user(BRANCH_SECRETARIES["tingzijiang-sunset"], "zh")
    await secretary.send_command("addmember")
    await secretary.wait_for_message(lambda m: "真实姓名" in m.plain)
    await secretary.send_text("\u3164\uffa0")
    await secretary.wait_for_message(lambda m: "不能为空" in m.plain or "看得见" in m.plain)
    await secretary.send_text(f"王{RLO}秀英\u200b")
    await secretary.wait_for_message(lambda m: "老龄党员" in m.button_texts)
    assert any("王秀英" in text for text in secretary.texts)

    # /post: a right-to-left override in the post's name and duties never reaches the record.
    leader = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    await leader.send_command("post", f"{RLO}宣传岗\u3164\n讲政策{RLO}")
    created = await leader.wait_for_message(lambda m: "已设岗" in m.plain)
    assert "宣传岗" in created.plain
    branch = await units.get_unit_by_key(h.services.db, "renhe-citrus")
    [post] = await posts.branch_posts(h.services.db, branch.id, 2026)
    assert (post.name, post.duties) == ("宣传岗", "讲政策")
    assert shows_no_invisible(secretary.texts + leader.texts)
