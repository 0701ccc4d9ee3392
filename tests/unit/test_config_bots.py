"""`[[bots]]`: several tokens in one deployment, each masked and checked like [telegram].token."""

from __future__ import annotations

import re

import pytest

from bot.app import select_bots
from bot.config import BotSettings, parse_settings
from bot.errors import ConfigError
from bot.webhooks import bot_secret, bot_webhook_url, uses_bot_paths

TOKEN_A = "111111:AAFakeTokenForTestsOnly_a"
TOKEN_B = "222222:AAFakeTokenForTestsOnly_b"


def _bots(*entries: dict) -> dict:
    return {"bots": list(entries)}


def _error(raw: dict, environ: dict | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, environ)
    message = str(caught.value)
    for secret in (TOKEN_A, TOKEN_B, "not-a-token"):
        assert secret not in message
    assert "\n" not in message
    return message


def test_without_bots_the_one_token_is_the_default_bot_named_empty():
    settings = parse_settings({"telegram": {"token": TOKEN_A}})
    assert settings.bots == ()
    assert settings.served_bots == (BotSettings(name="", token=TOKEN_A, unit=None),)


def test_bots_read_token_or_token_env_and_mask_both_in_repr():
    settings = parse_settings(
        _bots({"name": "a", "token": TOKEN_A, "unit": "county-a"},
              {"name": "b-2", "token_env": "COUNTY_B_TOKEN", "unit": "county-b"}),
        {"COUNTY_B_TOKEN": TOKEN_B, "BRANCHBOT_TOKEN": "333333:AAFakeTokenForTestsOnly_c"},
    )
    assert [(b.name, b.token, b.unit) for b in settings.bots] == [
        ("a", TOKEN_A, "county-a"), ("b-2", TOKEN_B, "county-b"),
    ]
    assert settings.served_bots == settings.bots
    # BRANCHBOT_TOKEN is not a bot of its own once [[bots]] names the tokens.
    assert settings.telegram.token is None
    shown = repr(settings)
    assert TOKEN_A not in shown and TOKEN_B not in shown and "'***'" in shown


@pytest.mark.parametrize(
    ("raw", "environ", "expected"),
    [
        (_bots({"token": TOKEN_A, "unit": "x"}), {},
         "[[bots]] #1.name = missing"),
        (_bots({"name": "County A", "token": TOKEN_A, "unit": "x"}), {},
         "[[bots]] #1.name = 'County A'"),
        (_bots({"name": "a", "token": TOKEN_A, "unit": "x"},
               {"name": "a", "token": TOKEN_B, "unit": "y"}), {},
         "[[bots]] \"a\".name = 'a'; expected a name no other [[bots]] entry has"),
        (_bots({"name": "a", "unit": "x"}), {},
         "[[bots]] \"a\".token = missing; expected either token or token_env"),
        (_bots({"name": "a", "token": TOKEN_A, "token_env": "X", "unit": "x"}), {},
         "[[bots]] \"a\".token = '<hidden>'; expected either token or token_env"),
        (_bots({"name": "a", "token": "not-a-token", "unit": "x"}), {},
         "[[bots]] \"a\".token = '<hidden>'; expected a bot token"),
        (_bots({"name": "a", "token_env": "COUNTY_A", "unit": "x"}),
         {"COUNTY_A": TOKEN_A + "\n"},
         "[[bots]] \"a\".token_env (COUNTY_A) = '<hidden>'; expected a bot token"),
        (_bots({"name": "a", "token": TOKEN_A, "unit": "x"},
               {"name": "b", "token": TOKEN_A, "unit": "y"}), {},
         "[[bots]] \"b\".token = '<hidden>'; expected a token no other [[bots]] entry uses"),
        (_bots({"name": "a", "token": TOKEN_A}), {},
         "[[bots]] \"a\".unit = missing"),
        (_bots({"name": "a", "tokne": TOKEN_A, "token": TOKEN_B, "unit": "x"}), {},
         "[[bots]] #1.tokne = '<hidden>'; expected no such setting"),
        ({"telegram": {"token": TOKEN_A}, **_bots({"name": "a", "token": TOKEN_B, "unit": "x"})},
         {}, "[telegram].token = '<hidden>'; expected no token here when [[bots]]"),
        ({"bots": {"name": "a"}}, {}, "[[bots]] = '<not a list of tables>'"),
    ],
)
def test_a_bad_bots_entry_names_its_key_and_never_shows_a_token(raw, environ, expected):
    assert expected in _error(raw, environ)


def test_run_bots_picks_a_subset_by_name_and_refuses_an_unknown_one():
    settings = parse_settings(
        _bots({"name": "a", "token": TOKEN_A, "unit": "x"},
              {"name": "b", "token": TOKEN_B, "unit": "y"})
    )
    assert [b.name for b in select_bots(settings, None)] == ["a", "b"]
    assert [b.name for b in select_bots(settings, "b")] == ["b"]
    with pytest.raises(ConfigError) as caught:
        select_bots(settings, "a,c")
    assert str(caught.value) == (
        "config error: --bots = 'c'; expected names of [[bots]] entries: a, b"
    )


def test_run_bots_without_any_bots_listed_says_so():
    settings = parse_settings({"telegram": {"token": TOKEN_A}})
    assert select_bots(settings, None) == settings.served_bots
    with pytest.raises(ConfigError) as caught:
        select_bots(settings, "county-a")
    assert str(caught.value) == (
        "config error: --bots = 'county-a'; expected [[bots]] entries in the config"
        " (it lists none: leave --bots out)"
    )


def test_a_bot_whose_token_variable_is_unset_is_refused_only_where_it_is_served():
    """`org import` or `db copy` needs no token; a machine serving `--bots a` needs only a's."""
    settings = parse_settings(
        _bots({"name": "a", "token_env": "COUNTY_A", "unit": "x"},
              {"name": "b", "token_env": "COUNTY_B", "unit": "y"}),
        {"COUNTY_A": TOKEN_A},
    )
    assert [(b.name, b.token) for b in settings.bots] == [("a", TOKEN_A), ("b", None)]
    assert [b.name for b in select_bots(settings, "a")] == ["a"]
    for names in (None, "b", "a,b"):
        with pytest.raises(ConfigError) as caught:
            select_bots(settings, names)
        assert str(caught.value) == (
            'config error: [[bots]] "b".token_env (COUNTY_B) = missing;'
            " expected a set environment variable holding the token"
        )
    # An empty variable is as good as unset, never a token of "".
    empty = parse_settings(
        _bots({"name": "a", "token_env": "COUNTY_A", "unit": "x"}), {"COUNTY_A": ""}
    )
    assert empty.bots[0].token is None


def test_several_bots_in_webhook_mode_each_get_a_path_and_a_secret_every_receiver_agrees_on():
    raw = {
        "telegram": {"mode": "webhook", "webhook_url": "https://bot.example.org/t/"},
        **_bots({"name": "a", "token": TOKEN_A, "unit": "x"},
                {"name": "b", "token": TOKEN_B, "unit": "y"}),
    }
    settings = parse_settings(raw)
    assert uses_bot_paths(settings)
    a, b = settings.bots
    assert bot_webhook_url(settings, a) == "https://bot.example.org/t/a"
    # Another receiver behind the load balancer computes the same secret from the config.
    assert bot_secret("shared", a) == bot_secret("shared", parse_settings(raw).bots[0])
    assert bot_secret("shared", a) != bot_secret("shared", b)
    assert bot_secret("shared", a) != bot_secret("other", a)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", bot_secret("shared", a))
    # One bot keeps PTB's own webhook server at webhook_url itself.
    one = parse_settings({**raw, "bots": raw["bots"][:1]})
    assert not uses_bot_paths(one)
