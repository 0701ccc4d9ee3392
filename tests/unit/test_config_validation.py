"""Config refuses what it cannot run: non-finite or unbounded numbers, non-https webhooks,
garbage URLs, a token or webhook secret that is malformed (without echoing either)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from bot.config import TOKEN_ENV, Settings, parse_settings
from bot.errors import ConfigError

TOKEN = "123456789:AAFakeTokenForTestsOnly_xyz"
WEBHOOK = {"mode": "webhook", "webhook_url": "https://bot.example.org/telegram"}


def _float_settings() -> list[tuple[str, str]]:
    """Every float setting of every section, read from the dataclasses themselves."""
    defaults = Settings()
    return [
        (section.name, setting.name)
        for section in dataclasses.fields(Settings)
        # `bots` is a tuple of [[bots]] entries, not a section.
        if dataclasses.is_dataclass(getattr(defaults, section.name))
        for setting in dataclasses.fields(getattr(defaults, section.name))
        if setting.type in (float, "float")
    ]


FLOAT_SETTINGS = _float_settings()


def test_the_float_settings_are_found():
    assert ("delivery", "global_per_second") in FLOAT_SETTINGS
    assert ("delivery", "tick_seconds") in FLOAT_SETTINGS


@pytest.mark.parametrize(("section", "key"), FLOAT_SETTINGS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e300])
def test_every_float_setting_must_be_finite_and_bounded(section, key, value):
    # nan once passed and every tick died with "cannot convert float NaN to integer".
    with pytest.raises(ConfigError) as caught:
        parse_settings({section: {key: value}})
    message = str(caught.value)
    assert message.startswith(f"config error: [{section}].{key} = ")
    assert "expected a number from" in message and "\n" not in message


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"telegram": {**WEBHOOK, "webhook_url": "http://bot.example.org/telegram"}},
         "[telegram].webhook_url"),
        ({"telegram": {**WEBHOOK, "webhook_url": "https://"}}, "[telegram].webhook_url"),
        ({"telegram": {**WEBHOOK, "webhook_url": "bot.example.org"}}, "[telegram].webhook_url"),
        ({"telegram": {"api_base_file_url": "not a url"}}, "[telegram].api_base_file_url"),
        ({"telegram": {"api_base_file_url": "file:///etc/passwd"}},
         "[telegram].api_base_file_url"),
        ({"telegram": {"api_base_url": "https://api.telegram.org:x/bot"}},
         "[telegram].api_base_url"),
        ({"telegram": {"api_base_url": "https:// api.telegram.org/bot"}},
         "[telegram].api_base_url"),
    ],
)
def test_urls_must_be_absolute_and_webhooks_https(raw, key):
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert str(caught.value).startswith(f"config error: {key} = ")
    assert "URL" in str(caught.value)


def test_webhook_settings_accepted_and_secret_masked():
    secret = "s3cret_-" * 4
    settings = parse_settings({"telegram": {**WEBHOOK, "webhook_secret": secret}})
    assert settings.telegram.webhook_url == "https://bot.example.org/telegram"
    assert settings.telegram.webhook_secret == secret
    assert secret not in repr(settings)
    # Absent: made at start (bot.app), never required in the file.
    assert parse_settings({"telegram": WEBHOOK}).telegram.webhook_secret is None


@pytest.mark.parametrize(
    "secret", ["has space", "x" * 257, "", "ümlaut", 12345, "line\nbreak"]
)
def test_bad_webhook_secret_is_refused_without_echo(secret):
    with pytest.raises(ConfigError) as caught:
        parse_settings({"telegram": {**WEBHOOK, "webhook_secret": secret}})
    message = str(caught.value)
    assert message.startswith("config error: [telegram].webhook_secret = '<hidden>'")
    assert "256" in message
    if isinstance(secret, str) and secret:
        assert secret not in message


@pytest.mark.parametrize(
    "bad", [TOKEN + "\n", TOKEN + " ", " " + TOKEN, TOKEN[:12] + "\n" + TOKEN[12:], TOKEN + "\r\n"]
)
def test_token_with_whitespace_is_refused_without_echo(bad):
    # `$` matched before a trailing newline, so such a token used to pass and
    # fail later inside httpx with the token in the traceback.
    for raw, environ in (({"telegram": {"token": bad}}, {}), ({}, {TOKEN_ENV: bad})):
        with pytest.raises(ConfigError) as caught:
            parse_settings(raw, environ)
        message = str(caught.value)
        assert message.startswith("config error: [telegram].token = '<hidden>'")
        assert TOKEN.split(":")[1][:10] not in message


def test_token_that_is_not_a_string_is_refused_without_echo():
    with pytest.raises(ConfigError, match=r"\[telegram\]\.token = '<hidden>'"):
        parse_settings({"telegram": {"token": 123456789}})
