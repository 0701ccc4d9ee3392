"""Nonsense typed into issue 11's and 12's commands gets a clear catalogue reply, never an error.

Testers type bad numbers, huge numbers, digits Python reads but int() refuses
('²'), emoji-only names and overlong text into /addmember, /pair, /helpfor,
/moving, /transfer, /elderly, /buttons, /meeting, /mymeetings and /attend.
Each answer must come from the catalogue: never the generic "something went
wrong" (which means a handler raised), and never silence.
"""

from __future__ import annotations

import re

import pytest

from bot.emulator import EmulatedUser
from bot.i18n import t
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness
from tests.e2e.membership import admitted

CITRUS = "renhe-citrus"
SECRETARY = BRANCH_SECRETARIES[CITRUS]
GENERIC = t("zh", "errors.generic")
LONG = "很长" * 600


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


async def answer(user: EmulatedUser, text: str) -> str:
    """Send `text` (a command if it starts with /) and return the bot's next reply."""
    before = len(user.messages)
    if text.startswith("/"):
        command, _, args = text[1:].partition(" ")
        await user.send_command(command, args)
    else:
        await user.send_text(text)
    reply = await user.wait_for_message(lambda m: len(user.messages) > before)
    assert GENERIC not in reply.plain, (text[:40], reply.plain)
    return reply.plain


@pytest.mark.parametrize("number", ["99999999999999999999999", "²", "-1", "abc", "1.5", "0",
                                    "١٢", "🙂"])
async def test_attend_with_a_bad_number_is_refused_plainly(h, number):
    member = await admitted(h, "renhe-mobile", 5101, "赵磊", "mobile", city="深圳")
    text = await answer(member, f"/attend {number}")
    assert text == t("zh", "meetings.attend_refused")


async def test_commands_with_stray_arguments_answer_from_the_catalogue(h):
    secretary = h.user(SECRETARY, "zh")
    member = await admitted(h, CITRUS, 5102, "张伟")
    for text in ("/pair 99999999999999999999999", "/helpfor ²", "/elderly 🙂", "/transfer x y",
                 "/mymeetings " + LONG[:200], "/buttons 🙂", "/meeting 99999999999999999999999"):
        for user in (secretary, member):
            await answer(user, text)
            # Leave any question it asked, so the next command starts clean.
            await user.send_command("cancel")
            await user.wait_for_message(lambda m: True)


async def test_addmember_refuses_an_emoji_only_or_overlong_name(h):
    secretary = h.user(SECRETARY, "zh")
    await secretary.send_command("addmember")
    await secretary.wait_for_message(lambda m: "真实姓名" in m.plain)
    for name in ("🙂🙂🙂", LONG, "   ", "<b>x</b>" * 100):
        text = await answer(secretary, name)
        assert "真实姓名" in text or "姓名" in text, text


async def test_moving_refuses_nonsense_cities(h):
    member = await admitted(h, CITRUS, 5103, "王芳")
    await member.send_command("moving")
    await member.wait_for_message(lambda m: "哪个城市" in m.plain)
    for city in ("🙂", LONG, "/", "99999999999999999999999"):
        await answer(member, city)


async def test_meeting_refuses_bad_times_and_overlong_text(h):
    secretary = h.user(SECRETARY, "zh")
    await secretary.send_command("meeting")
    ask = await secretary.wait_for_message(lambda m: "开什么会" in m.plain)
    await secretary.press("培训", ask)
    await secretary.wait_for_message(lambda m: "培训的内容" in m.plain)
    assert "太长了" in await answer(secretary, LONG)
    await secretary.send_text("柑桔种植技术")
    days = await secretary.wait_for_message(lambda m: "哪一天" in m.plain)
    await secretary.press(days.button_texts[0], days)
    await secretary.wait_for_message(lambda m: "几点开始" in m.plain)
    for clock in ("25:99", "99999999999999999999999", "🙂", "-1:00", "9点半半"):
        assert "没看懂" in await answer(secretary, clock)
    await secretary.send_text("09:00")
    await secretary.wait_for_message(lambda m: "在哪里开" in m.plain)
    assert "太长了" in await answer(secretary, LONG)


@pytest.mark.parametrize(
    "args", ["评比 ² 3", "评比 7 ²", "评比 ٧ 3", "评比 99999999999999999999 3"]
)
async def test_campaign_with_odd_digits_gets_its_usage_or_bounds(h, args):
    secretary = h.user(SECRETARY, "zh")
    text = await answer(secretary, f"/campaign {args}")
    keys = ("campaign.usage", "campaign.bad_numbers")
    plain = {re.sub(r"<[^>]+>", "", t("zh", key)) for key in keys}
    assert text in plain
