"""parse_away: what a member types after /away, read in their own local date."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.away import MAX_AWAY_DAYS, is_away, parse_away
from bot.errors import InvalidInput
from bot.i18n import t

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("30", date(2026, 4, 1)),
        ("1", date(2026, 3, 3)),
        ("30天", date(2026, 4, 1)),
        ("30 days", date(2026, 4, 1)),
        ("３０", date(2026, 4, 1)),  # full-width digits from a Chinese keyboard
        (str(MAX_AWAY_DAYS), date(2027, 3, 2)),
        ("2026-05-01", date(2026, 5, 1)),
        ("2026/5/1", date(2026, 5, 1)),
        ("2026年5月1日", date(2026, 5, 1)),
        ("２０２６－０５－０１", date(2026, 5, 1)),
        ("2026-03-02", TODAY),  # today itself: away for the rest of today
        ("05-01", date(2026, 5, 1)),
        ("5月1日", date(2026, 5, 1)),
        ("5.1", date(2026, 5, 1)),
        ("03-02", TODAY),
        ("01-10", date(2027, 1, 10)),  # already past this year: next January
        ("  2026-05-01  ", date(2026, 5, 1)),
    ],
)
def test_dates_and_days(typed: str, expected: date) -> None:
    assert parse_away(typed, TODAY) == expected


@pytest.mark.parametrize("typed", ["off", "OFF", "Off ", "取消", "结束", "回来了"])
def test_off_ends_the_absence(typed: str) -> None:
    assert parse_away(typed, TODAY) is None


def _problem(typed: str, today: date = TODAY) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_away(typed, today)
    return caught.value


def test_past_date_is_refused_with_both_dates() -> None:
    problem = _problem("2026-03-01")
    assert problem.key == "away.in_past"
    assert problem.params == {"until": date(2026, 3, 1), "today": date(2026, 3, 2)}
    # Shown as people say a day, not as 2026-03-01 (bot.i18n renders a date humanely).
    shown = t("zh", problem.key, **problem.params)
    assert shown.startswith("3月1日（周日） 已经过去了（今天是 3月2日（周一））"), shown


@pytest.mark.parametrize("typed", ["366", "2027-03-03", "2030-01-01"])
def test_more_than_a_year_is_refused(typed: str) -> None:
    problem = _problem(typed)
    assert problem.key == "away.too_far"
    assert problem.params == {"days": 365, "latest": date(2027, 3, 2), "today": date(2026, 3, 2)}
    assert "最晚到 2027年3月2日（周二）" in t("zh", problem.key, **problem.params)


def test_the_last_allowed_day_is_accepted() -> None:
    assert parse_away("2027-03-02", TODAY) == date(2027, 3, 2)


@pytest.mark.parametrize("typed", ["2026-02-30", "13-01", "2026-13-01", "04-31"])
def test_impossible_dates_are_named(typed: str) -> None:
    assert _problem(typed).key == "away.bad_date"


def test_feb_29_is_the_next_leap_day() -> None:
    assert parse_away("02-29", date(2027, 6, 1)) == date(2028, 2, 29)
    # From March 2026 the next 29 February (2028) is more than a year away.
    assert _problem("02-29").key == "away.too_far"


@pytest.mark.parametrize("typed", ["0", "tomorrow", "下个月", "2026-05", "-3", "1,5"])
def test_unreadable_input_is_echoed(typed: str) -> None:
    problem = _problem(typed)
    assert problem.key == "away.bad_input"
    assert problem.params == {"text": typed}


def test_empty_input_gets_the_usage() -> None:
    assert _problem("   ").key == "away.usage"


def test_is_away_is_inclusive() -> None:
    assert is_away("2026-03-02", TODAY)
    assert is_away("2026-04-01", TODAY)
    assert not is_away("2026-03-01", TODAY)
    assert not is_away(None, TODAY)
