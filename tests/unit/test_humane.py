"""Humane times: zones by their distance from Beijing, weeks and dates as people write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.humane import (
    clock_label,
    day_label,
    iso_day_label,
    moment_label,
    week_label,
    zone_label,
)

WINTER = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "at", "zh", "en"),
    [
        ("Asia/Shanghai", WINTER, "北京时间", "Beijing time"),
        (None, WINTER, "北京时间", "Beijing time"),
        ("Asia/Singapore", WINTER, "当地时间与北京时间相同", "local time (same as Beijing)"),
        # Madrid keeps daylight saving: 7 hours behind in winter, 6 in summer.
        ("Europe/Madrid", WINTER, "当地时间比北京时间晚 7 小时",
         "local time (7 h behind Beijing)"),
        ("Europe/Madrid", SUMMER, "当地时间比北京时间晚 6 小时",
         "local time (6 h behind Beijing)"),
        ("America/New_York", WINTER, "当地时间比北京时间晚 13 小时",
         "local time (13 h behind Beijing)"),
        ("America/New_York", SUMMER, "当地时间比北京时间晚 12 小时",
         "local time (12 h behind Beijing)"),
        # Ahead of Beijing, and a half-hour zone.
        ("Asia/Tokyo", SUMMER, "当地时间比北京时间早 1 小时",
         "local time (1 h ahead of Beijing)"),
        ("Australia/Sydney", WINTER, "当地时间比北京时间早 3 小时",
         "local time (3 h ahead of Beijing)"),
        ("Asia/Kolkata", WINTER, "当地时间比北京时间晚 2 小时 30 分",
         "local time (2 h 30 min behind Beijing)"),
    ],
)
def test_a_zone_reads_as_its_distance_from_beijing(zone, at, zh, en) -> None:
    assert zone_label("zh", zone, at) == zh
    assert zone_label("en", zone, at.timestamp()) == en


def test_no_label_spells_the_zone_name() -> None:
    for name in ("Asia/Shanghai", "Europe/Madrid", "America/New_York", "Asia/Tokyo"):
        assert "/" not in zone_label("zh", name, SUMMER)


def test_dates_and_weeks_read_as_written_by_hand() -> None:
    assert day_label("zh", date(2026, 4, 5)) == "4月5日（周日）"
    assert day_label("en", date(2026, 4, 5)) == "Sun 5 Apr"
    assert week_label("zh", date(2026, 3, 30), date(2026, 4, 5)) == "3月30日—4月5日"
    assert week_label("en", date(2026, 3, 30), date(2026, 4, 5)) == "30 Mar – 5 Apr"
    # The year only when it is not this year's.
    assert day_label("zh", date(2027, 1, 4), today=date(2026, 12, 28)) == "2027年1月4日（周一）"
    assert day_label("zh", date(2026, 12, 31), today=date(2026, 12, 28)) == "12月31日（周四）"
    assert iso_day_label("zh", "2026-03-08") == "3月8日（周日）"
    assert iso_day_label("zh", None) == ""


@pytest.mark.parametrize(
    ("clock", "zh", "en"),
    [
        (time(9, 0), "上午9:00", "9:00 am"),
        (time(12, 30), "中午12:30", "12:30 pm"),
        (time(15, 5), "下午3:05", "3:05 pm"),
        (time(20, 0), "晚上8:00", "8:00 pm"),
        (time(0, 30), "凌晨0:30", "12:30 am"),
    ],
)
def test_a_time_of_day_says_which_part_of_the_day(clock, zh, en) -> None:
    assert clock_label("zh", clock) == zh
    assert clock_label("en", clock) == en


def test_a_moment_is_shown_in_the_readers_zone() -> None:
    stamp = datetime(2026, 4, 5, 1, 0, tzinfo=UTC).timestamp()
    assert moment_label("zh", stamp, ZoneInfo("Asia/Shanghai")) == "4月5日（周日）上午9:00"
    # The same instant is still Saturday evening in New York.
    assert moment_label("zh", stamp, ZoneInfo("America/New_York")) == "4月4日（周六）晚上9:00"
    assert moment_label("en", stamp, ZoneInfo("Europe/Madrid")) == "Sun 5 Apr, 3:00 am"
