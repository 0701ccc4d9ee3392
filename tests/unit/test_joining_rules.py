"""Pure joining rules: names and invite validity."""

from __future__ import annotations

import pytest

from bot.domain.joining import InviteProblem, clean_name, invite_problem, new_code
from bot.domain.models import Invite
from bot.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  张  三 ", "张 三"),
        ("王\u202e芳", "王芳"),  # a right-to-left override is dropped
        ("Li\u200bMing", "LiMing"),  # so is a zero-width space
        ("<b>李</b>", "<b>李</b>"),  # markup is kept and escaped where shown
    ],
)
def test_names_are_tidied(typed, kept):
    assert clean_name(typed) == kept


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "join.name_empty"),
        (" \u202e\u200b ", "join.name_invisible"),
        ("张" * 65, "join.name_too_long"),
        ("😀🎉", "join.name_no_letters"),
    ],
)
def test_bad_names_say_what_is_wrong(typed, key):
    with pytest.raises(InvalidInput) as caught:
        clean_name(typed)
    assert caught.value.key == key


def _invite(**changes) -> Invite:
    values = dict(id=1, code="abc", branch_id=1, created_by=None, created_at=0,
                  expires_at=100, max_uses=2, uses=0, revoked_at=None)
    values.update(changes)
    return Invite(**values)


def test_invite_problems_in_order_of_precedence():
    assert invite_problem(None, 0) is InviteProblem.UNKNOWN
    assert invite_problem(_invite(revoked_at=5, expires_at=1), 50) is InviteProblem.REVOKED
    assert invite_problem(_invite(), 100) is InviteProblem.EXPIRED
    assert invite_problem(_invite(uses=2), 50) is InviteProblem.USED_UP
    assert invite_problem(_invite(), 99) is None


def test_codes_fit_a_deep_link():
    code = new_code()
    assert len(code) == 10 and code.isalnum() and code.isascii()
