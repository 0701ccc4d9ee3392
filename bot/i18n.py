"""The message catalogue: every user-visible string, zh-CN first, then en.

    t("zh", "start.welcome", name="<b>")   # params are HTML-escaped

Catalogues are TOML files in bot/locales/ (one table per feature), read once
with the standard library's tomllib.  A key missing from en falls back to zh;
a key missing from zh is a bug and raises KeyError in tests.
"""

from __future__ import annotations

import html
import tomllib
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "catalogue", "language_from_telegram", "raw", "t", "tr"]

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalogue(language: str) -> dict[str, str]:
    """Return the flat key → template mapping of one language."""
    text = resources.files("bot").joinpath("locales", f"{language}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


class _Raw(str):
    """A parameter value that is already safe HTML (e.g. a nested catalogue text)."""

    __slots__ = ()


def raw(value: str) -> _Raw:
    """Mark `value` as trusted HTML so t() does not escape it again."""
    return _Raw(value)


def t(language: str | None, key: str, /, **params: Any) -> str:
    """Render catalogue text `key` in `language`, HTML-escaping every parameter."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    template = catalogue(lang).get(key)
    if template is None:
        template = catalogue(DEFAULT_LANGUAGE)[key]
    today = params.get("today")
    today = today if type(today) is date else None
    safe = {
        name: value if isinstance(value, _Raw)
        else html.escape(_shown(lang, value, today), quote=False)
        for name, value in params.items()
    }
    return template.format(**safe)


def _shown(language: str, value: Any, today: date | None) -> str:
    # A calendar day reads "4月5日（周日）", never 2026-04-05 (issue 10, humane
    # dates): domain rules raise InvalidInput with a `date` and need no language.
    # A `today` date among the params (used in the text or not) adds the year to
    # days of another year ("2027年3月2日（周二）").
    if type(value) is date:
        from bot.domain.humane import day_label  # humane renders through t()

        return day_label(language, value, today=today)
    return str(value)


def tr(language: str | None, key: str, /) -> str:
    """Return a plain catalogue text with no parameters (button labels, menus)."""
    return t(language, key)


def language_from_telegram(language_code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map Telegram's IETF language code to one of ours."""
    if language_code and language_code.lower().startswith("en"):
        return "en"
    if language_code and language_code.lower().startswith("zh"):
        return "zh"
    return default
