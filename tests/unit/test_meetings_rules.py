"""Branch life's pure rules: reminder moments in allowed hours, rhythm and what is owed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.meetings import (
    Attendance,
    Kind,
    Rhythm,
    absent_streaks,
    confirm_moment,
    owed,
    parse_clock,
    parse_hours,
    period_of,
    prefill,
    reminder_moments,
    toggle,
)
from bot.domain.schedule import Windows
from bot.errors import InvalidInput

BEIJING = ZoneInfo("Asia/Shanghai")
WINDOWS = Windows()  # quiet 21:00–08:00, elderly 09:00–18:00


def at(day: int, hour: int, minute: int = 0, tz: ZoneInfo = BEIJING) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=tz).astimezone(UTC)


def local(moments: list[tuple[int, datetime]], tz: ZoneInfo = BEIJING) -> list[tuple[int, str]]:
    return [(seq, m.astimezone(tz).strftime("%d %H:%M")) for seq, m in moments]


def test_reminders_come_the_day_before_and_two_hours_before():
    moments = reminder_moments(at(5, 14, 30), BEIJING, WINDOWS, elderly=False)
    assert local(moments) == [(1, "04 14:30"), (2, "05 12:30")]


def test_an_early_meeting_moves_the_two_hour_reminder_out_of_quiet_hours():
    moments = reminder_moments(at(5, 9), BEIJING, WINDOWS, elderly=False)
    assert local(moments) == [(1, "04 09:00"), (2, "05 08:00")]


def test_the_elderly_get_reminders_only_inside_their_window_and_never_after_the_start():
    # 19:30 the day before is outside 09:00–18:00: it moves to 09:00 on the day.
    assert local(reminder_moments(at(5, 19, 30), BEIJING, WINDOWS, elderly=True)) == [
        (1, "05 09:00"), (2, "05 17:30"),
    ]
    # 07:00 would move to 09:00, the start itself: dropped rather than sent late.
    assert local(reminder_moments(at(5, 9), BEIJING, WINDOWS, elderly=True)) == [(1, "04 09:00")]


def test_reminders_follow_the_members_own_zone():
    madrid = ZoneInfo("Europe/Madrid")
    moments = reminder_moments(at(5, 19, 30), madrid, WINDOWS, elderly=False)
    # 19:30 in Beijing is 12:30 in Madrid: both reminders fall in allowed hours there.
    assert local(moments, madrid) == [(1, "04 12:30"), (2, "05 10:30")]


def test_the_secretary_is_asked_to_confirm_in_allowed_hours():
    moment = confirm_moment(at(5, 19, 30), BEIJING, WINDOWS, 2)
    assert moment.astimezone(BEIJING).strftime("%d %H:%M") == "06 08:00"


def test_roster_starts_from_replies_and_a_tap_cycles():
    assert prefill("attend") == prefill("online") == Attendance.PRESENT
    assert prefill("leave") == Attendance.EXCUSED
    assert prefill(None) == Attendance.ABSENT
    assert [toggle("present"), toggle("excused"), toggle("absent")] == [
        Attendance.EXCUSED, Attendance.ABSENT, Attendance.PRESENT,
    ]


@pytest.mark.parametrize(("rhythm", "day", "first", "last"), [
    (Rhythm.MONTHLY, date(2026, 2, 14), date(2026, 2, 1), date(2026, 2, 28)),
    (Rhythm.QUARTERLY, date(2026, 3, 31), date(2026, 1, 1), date(2026, 3, 31)),
    (Rhythm.QUARTERLY, date(2026, 11, 2), date(2026, 10, 1), date(2026, 12, 31)),
    (Rhythm.YEARLY, date(2026, 6, 1), date(2026, 1, 1), date(2026, 12, 31)),
])
def test_periods(rhythm, day, first, last):
    assert period_of(rhythm, day) == (first, last)


RHYTHM = {Kind.THEME_DAY: Rhythm.MONTHLY, Kind.ASSEMBLY: Rhythm.QUARTERLY,
          Kind.TRAINING: Rhythm.NONE}


def test_what_is_owed_this_month_and_quarter():
    held = [(Kind.THEME_DAY, date(2026, 3, 5))]
    result = owed(RHYTHM, held, date(2026, 3, 10))
    assert [(o.kind, o.urgent, o.ended) for o in result] == [(Kind.ASSEMBLY, False, False)]
    late = owed(RHYTHM, held, date(2026, 3, 25))
    assert [(o.kind, o.urgent) for o in late] == [(Kind.ASSEMBLY, True)]


def test_a_quarter_just_ended_is_reported_as_missed_for_a_week():
    result = owed(RHYTHM, [(Kind.ASSEMBLY, date(2026, 4, 2))], date(2026, 4, 3))
    missed = [(o.kind, o.first, o.ended) for o in result if o.ended]
    assert (Kind.ASSEMBLY, date(2026, 1, 1), True) in missed
    assert (Kind.THEME_DAY, date(2026, 3, 1), True) in missed
    assert owed(RHYTHM, [], date(2026, 4, 20))[0].ended is False


def test_absent_three_in_a_row():
    history = {1: ["absent"] * 3, 2: ["absent", "absent", "present"], 3: ["absent"] * 2,
               4: ["absent", "absent", "absent", "present"]}
    assert absent_streaks(history) == [1, 4]


def test_typed_times_and_hours():
    assert parse_clock("9:00") == time(9, 0)
    assert parse_clock("下午2点") == time(14, 0)
    assert parse_clock("１９：３０") == time(19, 30)
    assert parse_hours("2") == 2.0 and parse_hours("1.5学时") == 1.5
    for bad in ("25:00", "noon"):
        with pytest.raises(InvalidInput):
            parse_clock(bad)
    for bad in ("0", "0.3", "41", "abc"):
        with pytest.raises(InvalidInput):
            parse_hours(bad)


def test_rhythm_per_kind_of_branch_from_the_config():
    from bot.config import parse_settings
    from bot.errors import ConfigError

    env = {"BRANCHBOT_TOKEN": "123456:ABC-DEFabc"}
    settings = parse_settings({"meetings": {"hours_target": 40, "rhythm": {
        "elderly": {"group": "quarterly"}}}}, env)
    assert settings.meetings.hours_target == 40
    assert settings.meetings.rhythm_for("elderly")["group"] == "quarterly"
    assert settings.meetings.rhythm_for("industry")["group"] == "monthly"
    with pytest.raises(ConfigError, match=r"\[meetings.rhythm.elderly\].group"):
        parse_settings({"meetings": {"rhythm": {"elderly": {"group": "weekly"}}}}, env)
