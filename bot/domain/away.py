"""Parse what a member types after /away into the last local day they are away.

    parse_away("30", today=date(2026, 3, 2))          # date(2026, 4, 1)
    parse_away("2026-05-01", today=date(2026, 3, 2))  # date(2026, 5, 1)
    parse_away("05-01", today=date(2026, 6, 2))       # date(2027, 5, 1): the next 1 May
    parse_away("off", today=...)                       # None: the member is back

`today` is the member's local date (their own time zone); the returned date
is inclusive: reminders count as excused up to and including that day.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from bot.domain.free_text import echo
from bot.errors import InvalidInput

__all__ = ["MAX_AWAY_DAYS", "OFF_WORDS", "is_away", "parse_away"]

MAX_AWAY_DAYS = 365
# Words that end an absence; typed input, not catalogue text.
OFF_WORDS = frozenset(
    {"off", "stop", "end", "back", "none", "取消", "结束", "关闭", "回来了", "已回来"}
)

# NFKC has already turned full-width digits and separators into ASCII.
_FULL_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_SHORT_DATE = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DAYS = re.compile(r"^(\d{1,5})\s*(?:d|days?|天)?$")


def parse_away(text: str, today: date) -> date | None:
    """Return the last day away (None: away ends now), or raise InvalidInput naming the problem."""
    word = unicodedata.normalize("NFKC", text).strip().casefold()
    if not word:
        raise InvalidInput("away.usage")
    if word in OFF_WORDS:
        return None
    latest = today + timedelta(days=MAX_AWAY_DAYS)
    if match := _DAYS.match(word):
        days = int(match[1])
        if days < 1:
            raise InvalidInput("away.bad_input", text=echo(text))
        if days > MAX_AWAY_DAYS:
            raise InvalidInput("away.too_far", days=MAX_AWAY_DAYS, latest=latest, today=today)
        return today + timedelta(days=days)
    if match := _FULL_DATE.match(word):
        until = _date(int(match[1]), int(match[2]), int(match[3]), text)
    elif match := _SHORT_DATE.match(word):
        until = _next_occurrence(int(match[1]), int(match[2]), today, text)
    else:
        raise InvalidInput("away.bad_input", text=echo(text))
    if until < today:
        raise InvalidInput("away.in_past", until=until, today=today)
    if until > latest:
        raise InvalidInput("away.too_far", days=MAX_AWAY_DAYS, latest=latest, today=today)
    return until


def is_away(away_until: str | None, today: date) -> bool:
    """Tell whether a stored away-until date (ISO, inclusive) still covers `today`."""
    return away_until is not None and date.fromisoformat(away_until) >= today


def _next_occurrence(month: int, day: int, today: date, text: str) -> date:
    """Return the first `month`-`day` from today on (29 February may be years off)."""
    for year in (today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise InvalidInput("away.bad_date", text=echo(text))


def _date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInput("away.bad_date", text=echo(text)) from None
