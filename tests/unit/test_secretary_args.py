"""Arguments of secretary commands: /invite's optional key, days and uses; name matching."""

from __future__ import annotations

import pytest

from bot.domain.commands import InviteArgs, parse_invite_args, same_name
from bot.errors import InvalidInput


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], InviteArgs(None, None, None)),
        (["14"], InviteArgs(None, 14, None)),
        (["14", "5"], InviteArgs(None, 14, 5)),
        (["renhe-citrus"], InviteArgs("renhe-citrus", None, None)),
        (["renhe-citrus", "3", "20"], InviteArgs("renhe-citrus", 3, 20)),
        (["１４"], InviteArgs(None, 14, None)),  # full-width digits
    ],
)
def test_invite_args(args, expected):
    assert parse_invite_args(args) == expected


@pytest.mark.parametrize(
    ("args", "key", "params"),
    [
        (["0"], "invite.bad_days", {"max": 365}),
        (["366"], "invite.bad_days", {"max": 365}),
        (["7", "0"], "invite.bad_uses", {"max": 100000}),
        (["a", "b"], "invite.usage", {}),
        (["a", "1", "2", "3"], "invite.usage", {}),
        (["1", "2", "3"], "invite.usage", {}),
        (["7", "-1"], "invite.usage", {}),
    ],
)
def test_bad_invite_args_name_the_problem(args, key, params):
    with pytest.raises(InvalidInput) as caught:
        parse_invite_args(args)
    assert caught.value.key == key and caught.value.params == params


def test_same_name_ignores_case_width_and_spacing():
    assert same_name("wang  lei", "Wang Lei")
    assert same_name("张伟", "张伟")
    assert same_name("ＺＨＡＮＧ", "zhang")
    assert not same_name("张伟", "张伟伟")
    assert not same_name("张伟", None)
