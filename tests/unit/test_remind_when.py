"""What a secretary is promised about reminder hours is what the scheduler does (issue 10)."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedule import Windows, first_allowed, local_instant, moved_wall_time
from handlers.study.render import remind_when

WINDOWS = Windows()  # quiet 21:00–08:00, elderly 09:00–18:00


@pytest.mark.parametrize(
    ("at", "elderly", "expected"),
    [
        (time(21, 18), False, (time(8, 0), 1)),
        (time(21, 18), True, (time(9, 0), 1)),
        (time(6, 30), False, (time(8, 0), 0)),
        (time(20, 0), False, (time(20, 0), 0)),
        (time(20, 0), True, (time(9, 0), 1)),
        (time(10, 0), True, (time(10, 0), 0)),
    ],
)
def test_moved_wall_time(at: time, elderly: bool, expected: tuple[time, int]) -> None:
    assert moved_wall_time(at, WINDOWS, elderly=elderly) == expected


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Madrid", "America/New_York"])
def test_moved_wall_time_agrees_with_the_scheduler(zone: str) -> None:
    tz = ZoneInfo(zone)
    day = date(2026, 3, 4)
    for at in (time(21, 18), time(6, 0), time(12, 0), time(19, 0)):
        for elderly in (False, True):
            real = first_allowed(local_instant(day, at, tz), tz, WINDOWS, elderly=elderly)
            local = real.astimezone(tz)
            assert moved_wall_time(at, WINDOWS, elderly=elderly) == (
                local.time().replace(tzinfo=None), (local.date() - day).days
            )


def test_remind_when_wording() -> None:
    assert remind_when("zh", {1: "10:00"}, WINDOWS) == "党员会在当地时间 10:00 左右收到提醒。"
    evening = remind_when("zh", {1: "20:00"}, WINDOWS)
    assert "20:00 左右" in evening and "09:00—18:00" in evening and "次日 09:00" in evening
    night = remind_when("en", {1: "21:18", 2: "21:18"}, WINDOWS)
    assert "21:18 local time is within quiet hours" in night
    assert "the next day at 08:00" in night and "the next day at 09:00" in night
    assert night.count("\n") == 0  # one sentence per distinct hour
