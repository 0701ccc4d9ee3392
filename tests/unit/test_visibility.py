"""The who-sees-what table (consent, /me, the threat model) matches the permission rules."""

from __future__ import annotations

import pytest

from bot.domain.helpers import may_act_for
from bot.domain.models import Level, Unit
from bot.domain.permissions import Actor, can_manage_branch
from bot.domain.study import can_check_in_for
from bot.domain.visibility import DATA, ROLES, WHO_SEES, sees
from bot.i18n import t
from handlers.privacy import who_sees_text

UNITS = [
    Unit(1, "xianshui", None, Level.COMMITTEE, "咸水乡党委", "township"),
    Unit(2, "renhe", 1, Level.GENERAL_BRANCH, "人和村党总支部", "village"),
    Unit(3, "citrus", 2, Level.BRANCH, "脐橙支部", "industry"),
    Unit(4, "pigs", 2, Level.BRANCH, "生猪支部", "industry"),
]
BRANCH = 3  # the member's branch
HELPER_ID = 50

# One actor per viewer role (the member themselves is "self": not an actor on others).
ACTORS = {
    "branch_leaders": Actor(telegram_id=1, person_id=10, is_admin=False,
                            led_unit_ids=frozenset({BRANCH})),
    "higher_leaders": Actor(telegram_id=2, person_id=20, is_admin=False,
                            led_unit_ids=frozenset({2})),
    "admins": Actor(telegram_id=3, person_id=30, is_admin=True),
    "branch_members": Actor(telegram_id=4, person_id=40, is_admin=False,
                            member_branch_ids=frozenset({BRANCH})),
    "helper": Actor(telegram_id=5, person_id=HELPER_ID, is_admin=False,
                    member_branch_ids=frozenset({4})),
}
# Someone who is none of these: the leader of a sister branch.
OUTSIDER = Actor(telegram_id=6, person_id=60, is_admin=False, led_unit_ids=frozenset({4}))


def _manages(actor: Actor) -> bool:
    return can_manage_branch(actor, BRANCH, UNITS)


def _checks_in(actor: Actor) -> bool:
    return can_check_in_for(actor, BRANCH, HELPER_ID, UNITS)


def _acts_for(actor: Actor) -> bool:
    # The member's helpers are HELPER_ID's only (storage: member_helpers).
    return may_act_for(actor, member_branch=BRANCH, is_helper=actor.person_id == HELPER_ID,
                       units=UNITS)


@pytest.mark.parametrize("role", list(ACTORS))
def test_leader_only_data_is_exactly_what_can_manage_branch_allows(role: str) -> None:
    assert sees(role, "place") == _manages(ACTORS[role])


@pytest.mark.parametrize("role", list(ACTORS))
def test_pledges_and_whereabouts_follow_management_or_being_a_helper(role: str) -> None:
    for data in ("pledges_other", "whereabouts", "meetings", "households_contact"):
        assert sees(role, data) == _acts_for(ACTORS[role]), (role, data)


@pytest.mark.parametrize("role", list(ACTORS))
def test_name_study_and_acting_follow_management_or_the_pairing(role: str) -> None:
    actor = ACTORS[role]
    assert sees(role, "acts_for") == _checks_in(actor) == _acts_for(actor)
    for data in ("name", "study"):
        assert sees(role, data) == (_manages(actor) or _checks_in(actor)), (role, data)


def test_approved_pledges_are_public_to_the_branch_and_nothing_else_is() -> None:
    assert sees("branch_members", "pledges_approved")
    # Posts held, nomination reasons and 评比 results are the branch's too (posts, campaigns).
    assert [d for d in DATA if sees("branch_members", d)] == ["pledges_approved",
                                                             "posts_campaigns"]
    assert not _manages(ACTORS["branch_members"])


def test_nobody_outside_the_table_manages_the_branch() -> None:
    assert not _manages(OUTSIDER) and not _checks_in(OUTSIDER)
    assert {r for roles in WHO_SEES.values() for r in roles} <= set(ROLES)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_row_has_its_line_in_both_languages(language: str) -> None:
    text = who_sees_text(language)
    assert text.count("\n") == len(DATA)
    for data in DATA:
        assert t(language, f"privacy.{data}") in text
