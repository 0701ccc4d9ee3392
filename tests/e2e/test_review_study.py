"""Review findings in the study flows, end to end: each test failed before its fix."""

from __future__ import annotations

from storage.repositories import study, units
from tests.e2e.test_study import CITRUS, CITRUS_SECRETARY, h  # noqa: F401  (the fixture)


async def _to_due_prompt(secretary):
    await secretary.send_command("study")
    await secretary.wait_for_message(lambda m: "学习标题" in m.plain)
    await secretary.send_text("学习党章")
    await secretary.wait_for_message(lambda m: "学习内容" in m.plain)
    await secretary.send_text("https://example.org/charter")
    return await secretary.wait_for_message(
        lambda m: any(b.startswith("本周日") for b in m.button_texts)
    )


async def _items(h):  # noqa: F811
    branch = await units.get_unit_by_key(h.services.db, CITRUS)
    return await study.open_items(h.services.db, [branch.id], min_due="2000-01-01")


async def test_a_due_preset_pressed_after_its_date_is_refused_not_published(h):  # noqa: F811
    secretary = h.user(CITRUS_SECRETARY, "zh")
    prompt = await _to_due_prompt(secretary)  # Monday 2 March: "this Sunday" is 8 March
    h.clock.advance(days=7)  # the secretary comes back to it on Monday 9 March
    await secretary.press(next(b for b in prompt.button_texts if b.startswith("本周日")), prompt)
    answer = await secretary.wait_for_message(
        lambda m: "已经过去了" in m.plain or "✅ 发布" in m.button_texts
    )
    assert "截止日期 3月8日（周日） 已经过去了" in answer.plain, answer.plain
    assert await _items(h) == []


async def test_a_confirmed_draft_published_after_its_due_date_is_refused(h):  # noqa: F811
    secretary = h.user(CITRUS_SECRETARY, "zh")
    prompt = await _to_due_prompt(secretary)
    await secretary.press(next(b for b in prompt.button_texts if b.startswith("本周日")), prompt)
    confirm = await secretary.wait_for_message(lambda m: "✅ 发布" in m.button_texts)
    h.clock.advance(days=7)
    await secretary.press("✅ 发布", confirm)
    answer = await secretary.wait_for_message(
        lambda m: "已经过去了" in m.plain or "已发布" in m.plain
    )
    assert "截止日期 3月8日（周日） 已经过去了" in answer.plain, answer.plain
    assert await _items(h) == []
    # The draft waits for a new date, typed as usual.
    await secretary.send_text("2026-03-15")
    confirm = await secretary.wait_for_message(lambda m: "✅ 发布" in m.button_texts)
    await secretary.press("✅ 发布", confirm)
    await secretary.wait_for_message(lambda m: "已发布" in m.plain)
    [item] = await _items(h)
    assert item.due_date == "2026-03-15"
