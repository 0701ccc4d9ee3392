"""The search ladder's rules and who may record contact, without Telegram."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, WhereaboutsSettings, parse_settings
from bot.domain.contact_ladder import (
    Attempt,
    Step,
    can_record_contact,
    due_steps,
    failed_since,
)
from bot.domain.models import Unit
from bot.domain.permissions import Actor

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
T0 = int(START.timestamp())
DAY = 86400
RULES = WhereaboutsSettings()


def _steps(days: float, *, helpers: bool = True, attempts=()) -> frozenset[Step]:
    return due_steps(start=T0, now=START + timedelta(days=days), attempts=list(attempts),
                     has_helpers=helpers, settings=RULES)


def _attempt(day: int, outcome: str, method: str = "helper") -> Attempt:
    return Attempt(member_id=1, member_name="赵磊", at=T0 + day * DAY, by_name="李明",
                   method=method, outcome=outcome)


@pytest.mark.parametrize(
    ("days", "helpers", "expected"),
    [
        (0, True, set()),
        (29.9, True, set()),
        (30, True, {Step.ASK_HELPERS}),
        (59, True, {Step.ASK_HELPERS}),
        (60, True, {Step.ASK_HELPERS, Step.CALL_TASK}),
        (120, True, {Step.ASK_HELPERS, Step.CALL_TASK}),
        # Nobody to ask: the secretary's call task comes at the first rung.
        (29, False, set()),
        (30, False, {Step.CALL_TASK}),
    ],
)
def test_ladder_by_days(days, helpers, expected):
    assert _steps(days, helpers=helpers) == expected


def test_a_helper_who_could_not_reach_brings_the_call_task_forward():
    assert _steps(35, attempts=[_attempt(31, "not_reached")]) == {
        Step.ASK_HELPERS, Step.CALL_TASK}
    # A failure from an earlier silence says nothing about this one.
    assert _steps(35, attempts=[_attempt(-10, "not_reached")]) == {Step.ASK_HELPERS}
    assert not failed_since([_attempt(31, "reached")], T0)


def test_the_day_numbers_come_from_the_config():
    rules = WhereaboutsSettings(ask_helpers_days=10, call_task_days=20)
    due = due_steps(start=T0, now=START + timedelta(days=20), attempts=[], has_helpers=True,
                    settings=rules)
    assert due == {Step.ASK_HELPERS, Step.CALL_TASK}
    settings = parse_settings({"whereabouts": {"ask_helpers_days": 14, "call_task_days": 45}})
    assert (settings.whereabouts.ask_helpers_days, settings.whereabouts.call_task_days) == (14, 45)
    with pytest.raises(ConfigError, match=r"\[whereabouts\].call_task_days"):
        parse_settings({"whereabouts": {"ask_helpers_days": 40, "call_task_days": 30}})


UNITS = [
    Unit(id=1, key="renhe", name="人和村党总支部", level="general_branch", parent_id=None,
         kind=None),
    Unit(id=2, key="renhe-mobile", name="流动", level="branch", parent_id=1, kind=None),
    Unit(id=3, key="renhe-pigs", name="生猪", level="branch", parent_id=1, kind=None),
]


def _actor(person_id: int, *, leads=(), admin=False) -> Actor:
    return Actor(telegram_id=person_id, person_id=person_id, is_admin=admin,
                 led_unit_ids=frozenset(leads))


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (_actor(10, leads={2}), True),  # the branch's secretary
        (_actor(11, leads={1}), True),  # the general branch above
        (_actor(12, admin=True), True),
        (_actor(20), True),  # the member's helper
        (_actor(13, leads={3}), False),  # another branch's secretary
        (_actor(30), False),  # a plain member or a stranger
    ],
)
def test_who_may_record_contact(actor, allowed):
    assert can_record_contact(actor, 2, {20}, UNITS) is allowed
