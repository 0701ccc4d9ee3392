"""The 结对帮扶 rules: when a paired member is reminded, which households the digest names."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.domain.households import (
    can_log_visit,
    is_overdue,
    is_reminder_due,
    may_remind_now,
    month_summary,
    toggle_need,
)
from bot.domain.models import Level, Unit
from bot.domain.permissions import Actor
from bot.domain.schedule import Windows

DAY = 86400
BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_reminder_is_due_once_the_stretch_reaches_the_days() -> None:
    assert not is_reminder_due(0, 30 * DAY - 1, 30)
    assert is_reminder_due(0, 30 * DAY, 30)
    assert is_reminder_due(0, 90 * DAY, 30)


def test_reminders_wait_for_allowed_hours_and_daytime_for_the_elderly() -> None:
    windows = Windows()
    night = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)  # 22:00 in Beijing
    morning = datetime(2026, 4, 2, 0, 30, tzinfo=UTC)  # 08:30
    assert not may_remind_now(night, BEIJING, windows, elderly=False)
    assert may_remind_now(morning, BEIJING, windows, elderly=False)
    assert not may_remind_now(morning, BEIJING, windows, elderly=True)  # daytime starts at 9
    assert may_remind_now(datetime(2026, 4, 2, 2, 0, tzinfo=UTC), BEIJING, windows, elderly=True)


def test_a_household_never_visited_counts_from_its_registration() -> None:
    assert not is_overdue(None, created_at=10 * DAY, now=39 * DAY, days=30)
    assert is_overdue(None, created_at=10 * DAY, now=40 * DAY, days=30)
    assert not is_overdue(35 * DAY, created_at=0, now=40 * DAY, days=30)


def test_the_month_summary_names_only_overdue_households() -> None:
    rows = [(1, "王某户（三组）", 0, None), (2, "李某户（一组）", 0, 55 * DAY),
            (3, "赵某户（二组）", 0, 20 * DAY)]
    summary = month_summary(rows, visited_ids={2}, now=60 * DAY, days=30)
    assert (summary.count, summary.visited, summary.overdue) == (
        3, 1, ("王某户（三组）", "赵某户（二组）"))
    assert summary.needs_attention
    calm = month_summary(rows[1:2], visited_ids={2}, now=60 * DAY, days=30)
    assert not calm.needs_attention


def test_needs_toggle_in_a_fixed_order() -> None:
    assert toggle_need((), "sales") == ("sales",)
    assert toggle_need(("sales",), "tech") == ("tech", "sales")
    assert toggle_need(("tech", "sales"), "tech") == ("sales",)


def test_who_may_log_a_visit() -> None:
    units = [Unit(id=1, key="c", name="委", level=Level.COMMITTEE, parent_id=None, kind="village"),
             Unit(id=2, key="b", name="支部", level=Level.BRANCH, parent_id=1, kind="village"),
             Unit(id=3, key="o", name="别的支部", level=Level.BRANCH, parent_id=1, kind="village")]
    member = Actor(telegram_id=1, person_id=10, is_admin=False)
    helper = Actor(telegram_id=2, person_id=20, is_admin=False)
    secretary = Actor(telegram_id=3, person_id=30, is_admin=False, led_unit_ids=frozenset({2}))
    other = Actor(telegram_id=4, person_id=40, is_admin=False, led_unit_ids=frozenset({3}))
    stranger = Actor(telegram_id=5, person_id=50, is_admin=False)
    for actor, allowed in ((member, True), (helper, True), (secretary, True), (other, False),
                           (stranger, False)):
        assert can_log_visit(actor, 2, 10, {20}, units) is allowed, actor
