"""A member who joins late in the year pledges from the next year on (issue 10, item 5)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, PledgeSettings, StudySettings, parse_settings
from bot.domain import pledges as rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
REGULAR = rules.member_hours("regular", StudySettings())


@pytest.mark.parametrize(
    ("joined_on", "year", "expected"),
    [
        (None, 2026, True),
        (date(2025, 11, 29), 2026, True),
        (date(2026, 3, 2), 2026, True),
        (date(2026, 10, 31), 2026, True),
        (date(2026, 11, 1), 2026, False),
        (date(2026, 11, 29), 2026, False),
        (date(2026, 11, 29), 2027, True),
        (date(2027, 1, 3), 2026, False),
    ],
)
def test_pledges_expected_for_year(joined_on: date | None, year: int, expected: bool) -> None:
    assert rules.pledges_expected_for_year(joined_on, year) is expected


def test_cutoff_is_configurable() -> None:
    assert rules.pledges_expected_for_year(date(2026, 11, 29), 2026, (12, 1))
    assert not rules.pledges_expected_for_year(date(2026, 9, 1), 2026, (9, 1))
    settings = parse_settings({"pledges": {"late_join_month": 12, "late_join_day": 1}})
    assert settings.pledges.late_join_cutoff == (12, 1)
    assert PledgeSettings().late_join_cutoff == rules.LATE_JOIN_CUTOFF == (11, 1)
    with pytest.raises(ConfigError, match="late_join_month"):
        parse_settings({"pledges": {"late_join_month": 13}})


def test_member_approved_on_29_november_is_asked_in_january() -> None:
    settings = PledgeSettings()
    approved = int(datetime(2026, 11, 29, 3, 0, tzinfo=UTC).timestamp())
    assert rules.pledge_ask_moment(2026, settings, SHANGHAI, REGULAR, approved) is None
    assert rules.pledge_ask_moment(2027, settings, SHANGHAI, REGULAR, approved) == datetime(
        2027, 1, 15, 2, 0, tzinfo=UTC
    )
