"""Config loading: defaults, every wrong or missing key named in one line, token masking."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import TOKEN_ENV, load_settings, parse_settings
from bot.errors import ConfigError

TOKEN = "123456789:AAFakeTokenForTestsOnly_xyz"


def test_defaults_follow_the_seed_and_product():
    settings = parse_settings({})
    assert settings.general.default_timezone == "Asia/Shanghai"
    assert settings.general.default_language == "zh"
    assert settings.telegram.api_base_url == "https://api.telegram.org/bot"
    assert settings.structure.joint_below == 3 and settings.structure.small_max == 8
    assert settings.structure.large_committee == 2
    assert settings.study.quiet_start == time(21, 0)
    assert settings.whereabouts.warn_days == (90, 150)


def test_example_config_is_valid_and_complete():
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    settings = load_settings(example, environ={})
    assert settings == parse_settings({})


@pytest.mark.parametrize(
    ("storage", "database", "postgres"),
    [
        ({}, "branchbot.sqlite3", False),
        ({"database": "/srv/county.sqlite3"}, "/srv/county.sqlite3", False),
        ({"url": "sqlite:///srv/county.sqlite3"}, "srv/county.sqlite3", False),
        ({"url": "sqlite:////srv/county.sqlite3"}, "/srv/county.sqlite3", False),
        ({"url": "county.sqlite3"}, "county.sqlite3", False),
        ({"url": "postgresql://bot@db/city"}, "postgresql://bot@db/city", True),
    ],
)
def test_storage_url_chooses_the_engine(storage, database, postgres):
    settings = parse_settings({"storage": storage})
    assert settings.storage.database == database
    assert settings.storage.is_postgres is postgres


def test_token_from_environment_when_file_has_none():
    settings = parse_settings({}, environ={TOKEN_ENV: TOKEN})
    assert settings.telegram.token == TOKEN


def test_token_never_in_repr_or_error():
    settings = parse_settings({"telegram": {"token": TOKEN}})
    assert TOKEN not in repr(settings)
    assert TOKEN not in repr(settings.telegram)
    with pytest.raises(ConfigError) as caught:
        parse_settings({"telegram": {"token": TOKEN + " oops"}})
    assert TOKEN not in str(caught.value)
    assert "[telegram].token" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        ({"general": {"default_timezone": "Mars/Olympus"}}, "[general].default_timezone",
         "IANA time zone"),
        ({"general": {"default_language": "fr"}}, "[general].default_language", "one of zh, en"),
        ({"general": {"admins": ["alice"]}}, "[general].admins", "list of integers"),
        ({"general": {"admins": 5}}, "[general].admins", "list of integers"),
        ({"telegram": {"api_base_url": "ftp://x"}}, "[telegram].api_base_url", "http(s) URL"),
        ({"telegram": {"mode": "webhook"}}, "[telegram].webhook_url", "public https URL"),
        ({"telegram": {"mode": "pigeon"}}, "[telegram].mode", "one of polling, webhook"),
        ({"storage": {"database": ""}}, "[storage].database", "non-empty string"),
        ({"storage": {"url": "mysql://x/y"}}, "[storage].url", "postgresql://"),
        ({"storage": {"url": "sqlite:///a", "database": "b"}}, "[storage].url", "not both"),
        ({"study": {"quiet_start": "25:00"}}, "[study].quiet_start", "HH:MM"),
        ({"study": {"max_followups": -1}}, "[study].max_followups", "integer from 0 to 10"),
        ({"study": {"elderly_start": "18:00", "elderly_end": "09:00"}}, "[study].elderly_end",
         "after [study].elderly_start"),
        ({"delivery": {"global_per_second": "fast"}}, "[delivery].global_per_second", "number"),
        ({"structure": {"joint_below": 0}}, "[structure].joint_below", "integer from 1"),
        ({"structure": {"joint_below": 5, "small_max": 4}}, "[structure].small_max",
         "at least [structure].joint_below"),
        ({"whereabouts": {"warn_days": [90, 200]}}, "[whereabouts].warn_days", "below"),
        ({"digest": {"weekday": 8}}, "[digest].weekday", "integer from 1 to 7"),
        ({"digest": {"include_committee": "yes"}}, "[digest].include_committee", "true or false"),
        ({"digest": {"colour": "red"}}, "[digest].colour", "no such setting"),
        ({"digests": {}}, "[digests]", "no such section"),
    ],
)
def test_each_bad_key_is_named_with_value_and_form(raw, key, expected):
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"config error: {key} = ")
    assert expected in message


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match=r"config file = .*expected an existing TOML file"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[general\nadmins = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_settings(broken)


def test_cli_reports_a_config_error_in_one_line(tmp_path, capsys):
    from bot.__main__ import main

    config = tmp_path / "config.toml"
    config.write_text('[general]\ndefault_timezone = "Nowhere/Town"\n', encoding="utf-8")
    assert main(["--config", str(config), "db", "migrate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "branchbot: config error: [general].default_timezone = 'Nowhere/Town'; "
        'expected an IANA time zone such as "Asia/Shanghai"'
    ]


def test_run_without_token_names_the_key(tmp_path, capsys, monkeypatch):
    from bot.__main__ import main

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "[telegram].token" in err and "BRANCHBOT_TOKEN" in err
