"""Review of joining and self-service: group chats, and other edge cases found in review."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.emulator import EmulatedUser
from bot.emulator.formatting import command_entities
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import ADMIN_ID, BotHarness
from tests.e2e.membership import admitted, stored

GROUP_ID = -100500


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


def _say_in_group(sender: EmulatedUser, group: EmulatedUser, text: str) -> None:
    """Enqueue `text` as sent by `sender` in a group chat the bot was added to."""
    message: dict[str, Any] = {
        "message_id": group.allocate_message_id(),
        "from": sender.user_dict,
        "chat": {"id": group.id, "type": "supergroup", "title": "支部群"},
        "date": int(sender._clock()),
        "text": text,
    }
    if entities := command_entities(text):
        message["entities"] = entities
    sender._updates.push({"message": message})


async def test_commands_in_a_group_chat_do_not_post_personal_data_there(h):
    member = await admitted(h, "renhe-mobile", 3101, "王芳", "mobile", city="深圳")
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"], "zh")
    stranger = h.user(3102, "zh")
    # A "user" whose chat id is the group's: it records what the bot posts there.
    group = h.emulator.add_user(GROUP_ID, first_name="group")
    for sender, text in (
        (member, "/me"), (secretary, "/members"), (secretary, "/invite"),
        (member, "/away 30"), (stranger, "hello"), (stranger, "/start"),
    ):
        _say_in_group(sender, group, text)
    # The same user's private chat still works, and is answered after the group messages.
    await member.send_command("me")
    await member.wait_for_message(lambda m: "我的信息" in m.plain)
    await asyncio.sleep(0.3)
    assert group.texts == [], group.texts
    assert all("王芳" not in text for text in group.texts)


@pytest.mark.parametrize(("user_id", "command"), [
    (BRANCH_SECRETARIES["renhe-citrus"], "members"),
    (BRANCH_SECRETARIES["renhe-citrus"], "invites"),
    (BRANCH_SECRETARIES["renhe-citrus"], "remove"),
    (ADMIN_ID, "appoint"),
])
async def test_a_very_long_unknown_unit_key_gets_a_clear_answer(h, user_id, command):
    # Telegram takes a message of up to 4096 characters, so a key can nearly fill one;
    # echoing it whole makes the answer too long and the leader got the generic apology.
    leader = h.user(user_id, "zh")
    key = "人" * 4080
    await leader.send_command(command, key)
    answer = (await leader.wait_for_message()).plain
    assert "抱歉，刚才出了点问题" not in answer
    assert ("没有代码为" in answer or "找不到" in answer or "没有找到" in answer), answer


async def test_a_member_who_claims_a_secretary_link_keeps_their_registered_name(h):
    # The member registered with their real name; their Telegram name is a nickname.
    member = h.user(3103, "zh", first_name="Fang", last_name="🌸")
    await admitted(h, "renhe-citrus", 3103, "王芳")
    admin = h.user(ADMIN_ID, "zh")
    await admin.send_command("appoint", "renhe-pigs")
    link = (await admin.wait_for_message(lambda m: "start=sec_" in m.plain)).plain
    code = re.search(r"start=(sec_[A-Za-z0-9]+)", link).group(1)
    await member.send_command("start", code)
    await member.wait_for_message(lambda m: "生猪养殖党支部" in m.plain)
    assert (await stored(h, 3103)).person.name == "王芳"


async def test_remove_buttons_show_names_as_typed_not_html_escaped(h):
    # Button labels are plain text: "&" must not arrive as "&amp;".
    await admitted(h, "renhe-citrus", 3104, "Tom & Jerry", language="en")
    await admitted(h, "renhe-citrus", 3105, "Tom & Jerry", language="en")
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    await secretary.send_command("remove", "Tom & Jerry")
    message = await secretary.wait_for_message(lambda m: bool(m.button_texts))
    assert all("&amp;" not in label for label in message.button_texts), message.button_texts
    assert any(label.startswith("Tom & Jerry") for label in message.button_texts)
