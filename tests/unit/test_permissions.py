"""Who manages what: the branch lists and unit checks every leader command resolves with."""

from __future__ import annotations

import pytest

from bot.domain.commands import check_invite_limits, parse_invite_args
from bot.domain.models import Level, Unit
from bot.domain.permissions import Actor, can_manage, managed_branches, top_led_units
from bot.domain.study import can_check_in_for
from bot.errors import InvalidInput

C, G, B = Level.COMMITTEE, Level.GENERAL_BRANCH, Level.BRANCH

# Ids out of file order on purpose: lists follow the file, not the ids.
UNITS = [
    Unit(1, "xianshui", None, C, "咸水乡党委", "township"),
    Unit(5, "agri", 1, B, "农业党支部", "department"),
    Unit(2, "renhe", 1, G, "人和村党总支部", "village"),
    Unit(4, "pigs", 2, B, "生猪养殖党支部", "industry"),
    Unit(3, "citrus", 2, B, "脐橙种植党支部", "industry"),
    Unit(6, "longshui", None, C, "龙水镇党委", "township"),
    Unit(8, "sunset", 6, B, "夕阳红党支部", "elderly"),
]
BY_KEY = {unit.key: unit for unit in UNITS}


def leading(*unit_ids: int, admin: bool = False) -> Actor:
    return Actor(telegram_id=1, person_id=1, is_admin=admin, led_unit_ids=frozenset(unit_ids))


def keys(units: list[Unit]) -> list[str]:
    return [unit.key for unit in units]


def test_managed_branches_follow_the_file_order() -> None:
    assert keys(managed_branches(leading(2), UNITS)) == ["pigs", "citrus"]
    assert keys(managed_branches(leading(1), UNITS)) == ["agri", "pigs", "citrus"]
    assert keys(managed_branches(leading(admin=True), UNITS)) == [
        "agri", "pigs", "citrus", "sunset",
    ]
    assert managed_branches(leading(), UNITS) == []


def test_can_manage_a_branch_or_a_unit_with_everything_beneath() -> None:
    general = leading(2)
    assert can_manage(general, BY_KEY["citrus"], UNITS)
    assert can_manage(general, BY_KEY["renhe"], UNITS)
    assert not can_manage(general, BY_KEY["xianshui"], UNITS)
    assert not can_manage(general, BY_KEY["agri"], UNITS)
    branch = leading(3)
    assert can_manage(branch, BY_KEY["citrus"], UNITS)
    assert not can_manage(branch, BY_KEY["renhe"], UNITS)
    assert all(can_manage(leading(admin=True), unit, UNITS) for unit in UNITS)


def test_top_led_units_drop_units_inside_another_led_unit() -> None:
    assert keys(top_led_units(leading(3, 2, 8), UNITS)) == ["renhe", "sunset"]
    assert keys(top_led_units(leading(3, 4), UNITS)) == ["pigs", "citrus"]
    assert keys(top_led_units(leading(1, 2, 3), UNITS)) == ["xianshui"]
    # Admins lead nothing by the config alone.
    assert top_led_units(leading(admin=True), UNITS) == []


# ---------------------------------------------------------------- buttons naming someone

# (who presses, may they record a check-in for a member of citrus (3) paired with person 7)
CHECKIN_ROWS = [
    ("stranger", Actor(telegram_id=9, person_id=None, is_admin=False), False),
    ("member of the branch",
     Actor(telegram_id=9, person_id=5, is_admin=False, member_branch_ids=frozenset({3})), False),
    ("secretary of another branch", leading(4), False),
    ("secretary of another committee", leading(6), False),
    ("the branch's secretary", leading(3), True),
    ("the general-branch secretary", leading(2), True),
    ("the paired helper", Actor(telegram_id=9, person_id=7, is_admin=False), True),
    ("admin", leading(admin=True), True),
]


@pytest.mark.parametrize(
    ("who", "actor", "allowed"), CHECKIN_ROWS, ids=[row[0] for row in CHECKIN_ROWS]
)
def test_who_may_check_in_for_a_member(who, actor, allowed) -> None:
    assert can_check_in_for(actor, 3, 7, UNITS) is allowed
    # A pairing with someone else gives nothing to a helper, and a branch nothing above it.
    assert can_check_in_for(actor, 3, 8, UNITS) is (allowed and who != "the paired helper")


@pytest.mark.parametrize(
    ("days", "uses", "problem"),
    [
        (7, 50, None), (365, 100_000, None), (None, None, None),
        (0, 50, "invite.bad_days"), (366, 50, "invite.bad_days"), (99999, 5, "invite.bad_days"),
        (7, 0, "invite.bad_uses"), (7, 999_999_999, "invite.bad_uses"),
    ],
)
def test_invite_limits_are_one_check_for_typed_and_pressed_values(days, uses, problem) -> None:
    typed = [str(days), str(uses)] if days is not None else []
    for check in (lambda: check_invite_limits(days, uses), lambda: parse_invite_args(typed)):
        if problem is None:
            check()
        else:
            with pytest.raises(InvalidInput) as raised:
                check()
            assert raised.value.key == problem
