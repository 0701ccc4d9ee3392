"""Nothing queued for a member reaches them after they leave, are removed or /forget."""

from __future__ import annotations

import pytest

from bot.domain.outgoing import OutgoingMessage
from storage.repositories import outbox
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness
from tests.e2e.membership import admitted, stored


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


async def _queue(h: BotHarness, person_id: int, chat_id: int, kind: str, text: str) -> None:
    """Plan a message due in an hour, as a planner would have before the member left."""
    due = int(h.clock.now().timestamp()) + 3600
    message = OutgoingMessage(
        dedupe_key=f"{kind}|p{person_id}|test", kind=kind, person_id=person_id,
        chat_id=chat_id, text=text, due_at=due,
    )
    await outbox.enqueue(h.services.db, [message], now=due - 3600)


async def _confirm(user, command: str, button: str) -> None:
    await user.send_command(command)
    question = await user.wait_for_message(lambda m: button in m.button_texts)
    await user.press(button, question)
    await user.wait_for_message(lambda m: m is question and question.edits > 0)


@pytest.mark.parametrize("how", ["leave", "forget", "removed"])
async def test_queued_member_messages_are_dropped(h, how):
    member = await admitted(h, "renhe-citrus", 3401, "赵强")
    person, _ = await stored(h, member.id)
    await _queue(h, person.id, member.id, "study.reminder", "📖 学习提醒 QUEUED")
    if how == "leave":
        await _confirm(member, "leave", "✅ 确定不再使用")
    elif how == "forget":
        await _confirm(member, "forget", "🗑 确定删除")
    else:
        secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
        await secretary.send_command("remove", "renhe-citrus")
        picker = await secretary.wait_for_message(lambda m: "赵强" in m.button_texts)
        await secretary.press("赵强", picker)
        confirm = await secretary.wait_for_message(lambda m: len(m.button_texts) == 2)
        await secretary.press(confirm.button_texts[0], confirm)
        await member.wait_for_message(lambda m: "移出" in m.plain)

    await h.advance(hours=2)
    assert not any("QUEUED" in text for text in member.texts)


async def test_a_secretary_who_leaves_as_member_keeps_their_digest(h):
    # The citrus branch's secretary is also a member of the pig-farming branch.
    secretary = await admitted(h, "renhe-pigs", BRANCH_SECRETARIES["renhe-citrus"], "陈秀兰")
    person, _ = await stored(h, secretary.id)
    await _queue(h, person.id, secretary.id, "digest", "📋 周报 QUEUED")
    await _queue(h, person.id, secretary.id, "study.reminder", "📖 学习提醒 QUEUED")
    await _confirm(secretary, "leave", "✅ 确定不再使用")
    await h.advance(hours=2)
    assert any("周报 QUEUED" in text for text in secretary.texts)
    assert not any("学习提醒 QUEUED" in text for text in secretary.texts)
