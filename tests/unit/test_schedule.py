"""The pure timing rules: local hours in each member's zone, DST, quiet hours, elderly daytime."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import StudySettings
from bot.domain.schedule import (
    Windows,
    allowed_spans,
    due_end,
    first_allowed,
    first_reminder,
    followup_at,
    is_allowed,
    local_instant,
    next_wall_time,
    snooze_until,
    wall_add,
    weekday_dates,
    weekly_reminder,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # a 30-minute DST shift
W = Windows()
NO_QUIET = Windows(quiet_start=time(0, 0), quiet_end=time(0, 0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


# ---------------------------------------------------------------- windows


def test_windows_from_settings():
    settings = StudySettings(quiet_start=time(22, 0), quiet_end=time(7, 30))
    assert Windows.from_settings(settings) == Windows(time(22, 0), time(7, 30))


def test_default_spans():
    assert allowed_spans(W, elderly=False) == ((8 * 3600, 21 * 3600),)
    assert allowed_spans(W, elderly=True) == ((9 * 3600, 18 * 3600),)


def test_quiet_hours_inside_one_day_leave_two_spans():
    windows = Windows(quiet_start=time(12, 0), quiet_end=time(14, 0))
    assert allowed_spans(windows, elderly=False) == ((0, 12 * 3600), (14 * 3600, 86400))
    assert allowed_spans(windows, elderly=True) == ((9 * 3600, 12 * 3600), (14 * 3600, 18 * 3600))


def test_equal_quiet_ends_mean_no_quiet_hours():
    assert allowed_spans(NO_QUIET, elderly=False) == ((0, 86400),)


def test_elderly_window_wholly_in_quiet_hours_falls_back_to_quiet_hours():
    windows = Windows(elderly_start=time(22, 0), elderly_end=time(23, 0))
    assert allowed_spans(windows, elderly=True) == allowed_spans(windows, elderly=False)


@pytest.mark.parametrize(
    ("hour", "minute", "elderly", "expected"),
    [
        (7, 59, False, False),
        (8, 0, False, True),
        (20, 59, False, True),
        (21, 0, False, False),
        (3, 0, False, False),
        (8, 30, True, False),
        (9, 0, True, True),
        (17, 59, True, True),
        (18, 0, True, False),
    ],
)
def test_is_allowed_at_the_edges(hour, minute, elderly, expected):
    moment = local_instant(date(2026, 3, 4), time(hour, minute), MADRID)
    assert is_allowed(moment, MADRID, W, elderly=elderly) is expected


# ---------------------------------------------------------------- local instants and DST


def test_local_instant_ordinary():
    assert local_instant(date(2026, 3, 4), time(20, 0), SHANGHAI) == utc(2026, 3, 4, 12)
    assert local_instant(date(2026, 3, 4), time(20, 0), MADRID) == utc(2026, 3, 4, 19)
    assert local_instant(date(2026, 3, 4), time(20, 0), NEW_YORK) == utc(2026, 3, 5, 1)


def test_local_instant_follows_each_zones_own_dst():
    # US DST starts 8 March 2026, EU DST 29 March 2026: same wall time, new offsets.
    assert local_instant(date(2026, 3, 11), time(20, 0), NEW_YORK) == utc(2026, 3, 12, 0)
    assert local_instant(date(2026, 3, 11), time(20, 0), MADRID) == utc(2026, 3, 11, 19)
    assert local_instant(date(2026, 4, 1), time(20, 0), MADRID) == utc(2026, 4, 1, 18)
    assert local_instant(date(2026, 4, 1), time(20, 0), SHANGHAI) == utc(2026, 4, 1, 12)


def test_nonexistent_time_becomes_first_valid_instant_after_the_gap():
    # 02:30 on 8 March 2026 does not exist in New York: clocks jump 02:00 → 03:00 EDT.
    moment = local_instant(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert moment == utc(2026, 3, 8, 7, 0)
    assert local(moment, NEW_YORK).strftime("%H:%M %Z") == "03:00 EDT"
    # Madrid skips 02:00–03:00 on 29 March 2026.
    assert local(local_instant(date(2026, 3, 29), time(2, 15), MADRID), MADRID).hour == 3


def test_nonexistent_time_with_a_half_hour_shift():
    # Lord Howe Island moves from +10:30 to +11 at 02:00 on 4 October 2026.
    moment = local_instant(date(2026, 10, 4), time(2, 15), LORD_HOWE)
    assert local(moment, LORD_HOWE).strftime("%H:%M") == "02:30"


def test_ambiguous_time_is_its_first_occurrence():
    # 01:30 happens twice in New York on 1 November 2026; fold=0 is the EDT one.
    moment = local_instant(date(2026, 11, 1), time(1, 30), NEW_YORK)
    assert moment == utc(2026, 11, 1, 5, 30)
    assert local(moment, NEW_YORK).strftime("%Z") == "EDT"


def test_wall_add_keeps_the_local_hour_across_dst():
    evening = local_instant(date(2026, 3, 7), time(20, 0), NEW_YORK)  # EST
    next_day = wall_add(evening, NEW_YORK, timedelta(hours=24))
    assert local(next_day, NEW_YORK).strftime("%Y-%m-%d %H:%M %Z") == "2026-03-08 20:00 EDT"
    assert next_day - evening == timedelta(hours=23)


def test_next_wall_time_today_or_tomorrow():
    assert next_wall_time(utc(2026, 3, 4, 10), time(19, 30), SHANGHAI) == utc(2026, 3, 4, 11, 30)
    assert next_wall_time(utc(2026, 3, 4, 12), time(19, 30), SHANGHAI) == utc(2026, 3, 5, 11, 30)
    exact = utc(2026, 3, 4, 11, 30)
    assert next_wall_time(exact, time(19, 30), SHANGHAI) == exact


def test_due_end_is_the_members_next_local_midnight():
    assert due_end(date(2026, 3, 8), SHANGHAI) == utc(2026, 3, 8, 16)
    assert due_end(date(2026, 3, 8), NEW_YORK) == utc(2026, 3, 9, 4)  # EDT from 8 March


# ---------------------------------------------------------------- moving into allowed hours


def test_first_allowed_keeps_an_allowed_moment():
    moment = local_instant(date(2026, 3, 4), time(19, 30), MADRID)
    assert first_allowed(moment, MADRID, W, elderly=False) == moment


def test_first_allowed_moves_late_evening_to_next_morning():
    moment = local_instant(date(2026, 3, 4), time(22, 15), MADRID)
    moved = first_allowed(moment, MADRID, W, elderly=False)
    assert local(moved, MADRID).strftime("%m-%d %H:%M") == "03-05 08:00"


def test_first_allowed_moves_early_morning_to_same_day():
    moment = local_instant(date(2026, 3, 4), time(5, 0), SHANGHAI)
    moved = first_allowed(moment, SHANGHAI, W, elderly=False)
    assert local(moved, SHANGHAI).strftime("%m-%d %H:%M") == "03-04 08:00"


def test_elderly_evening_reminder_moves_to_next_morning_nine():
    moment = local_instant(date(2026, 3, 4), time(19, 30), SHANGHAI)
    moved = first_allowed(moment, SHANGHAI, W, elderly=True)
    assert local(moved, SHANGHAI).strftime("%m-%d %H:%M") == "03-05 09:00"


def test_elderly_early_morning_moves_to_nine():
    moment = local_instant(date(2026, 3, 4), time(8, 15), SHANGHAI)
    moved = first_allowed(moment, SHANGHAI, W, elderly=True)
    assert local(moved, SHANGHAI).strftime("%m-%d %H:%M") == "03-04 09:00"


def test_first_allowed_never_moves_earlier():
    for minutes in range(0, 24 * 60, 7):
        moment = utc(2026, 3, 4) + timedelta(minutes=minutes)
        for elderly in (False, True):
            moved = first_allowed(moment, KOLKATA, W, elderly=elderly)
            assert moved >= moment
            assert is_allowed(moved, KOLKATA, W, elderly=elderly)
            assert moved - moment < timedelta(hours=16)


def test_quiet_end_inside_a_dst_gap_is_the_gaps_end():
    windows = Windows(quiet_start=time(21, 0), quiet_end=time(2, 30))
    moment = local_instant(date(2026, 3, 8), time(1, 0), NEW_YORK)
    moved = first_allowed(moment, NEW_YORK, windows, elderly=False)
    assert local(moved, NEW_YORK).strftime("%H:%M %Z") == "03:00 EDT"


# ---------------------------------------------------------------- reminders


def test_first_reminder_at_branch_hour_in_members_zone():
    published = utc(2026, 3, 2, 2)  # Monday 10:00 in Shanghai
    expires = utc(2026, 3, 9)
    for tz, expected in (
        (SHANGHAI, utc(2026, 3, 2, 11, 30)),
        (MADRID, utc(2026, 3, 2, 18, 30)),
        (NEW_YORK, utc(2026, 3, 3, 0, 30)),  # Monday 19:30 EST
    ):
        at = first_reminder(published, time(19, 30), tz, W, elderly=False, expires=expires)
        assert at == expected


def test_first_reminder_after_the_hour_passed_is_the_next_day():
    published = utc(2026, 3, 2, 13)  # Monday 21:00 in Shanghai
    at = first_reminder(
        published, time(19, 30), SHANGHAI, W, elderly=False, expires=utc(2026, 3, 9)
    )
    assert local(at, SHANGHAI).strftime("%m-%d %H:%M") == "03-03 19:30"


def test_first_reminder_when_the_hour_is_past_the_due_date_comes_soon_instead():
    published = utc(2026, 3, 8, 4)  # Sunday 12:00 in Shanghai, due that Sunday
    expires = due_end(date(2026, 3, 8), SHANGHAI)
    at = first_reminder(published, time(19, 30), SHANGHAI, W, elderly=True, expires=expires)
    # 19:30 is outside the elderly window; moving it lands on Monday, past the due date.
    assert at == published


def test_first_reminder_none_when_nothing_fits_before_expiry():
    published = local_instant(date(2026, 3, 8), time(22, 0), SHANGHAI)
    expires = due_end(date(2026, 3, 8), SHANGHAI)
    assert (
        first_reminder(published, time(19, 30), SHANGHAI, W, elderly=False, expires=expires)
        is None
    )


def test_weekly_reminder_moved_for_quiet_hours_and_elderly():
    expires = utc(2026, 3, 11)
    late = weekly_reminder(date(2026, 3, 4), time(22, 0), MADRID, W, elderly=False, expires=expires)
    assert local(late, MADRID).strftime("%m-%d %H:%M") == "03-05 08:00"
    old = weekly_reminder(date(2026, 3, 4), time(20, 0), MADRID, W, elderly=True, expires=expires)
    assert local(old, MADRID).strftime("%m-%d %H:%M") == "03-05 09:00"
    gone = weekly_reminder(
        date(2026, 3, 4), time(20, 0), MADRID, W, elderly=False, expires=utc(2026, 3, 4)
    )
    assert gone is None


def test_followups_keep_the_local_hour_and_respect_quiet_hours():
    first = local_instant(date(2026, 3, 7), time(20, 0), NEW_YORK)
    following = followup_at(first, NEW_YORK, hours=24, windows=W, elderly=False)
    assert local(following, NEW_YORK).strftime("%m-%d %H:%M") == "03-08 20:00"
    late = local_instant(date(2026, 3, 7), time(20, 30), NEW_YORK)
    following = followup_at(late, NEW_YORK, hours=1, windows=W, elderly=False)
    assert local(following, NEW_YORK).strftime("%m-%d %H:%M") == "03-08 08:00"


def test_snooze_is_real_minutes_then_moved():
    pressed = local_instant(date(2026, 3, 4), time(19, 45), SHANGHAI)
    back = snooze_until(pressed, SHANGHAI, minutes=120, windows=W, elderly=False)
    assert local(back, SHANGHAI).strftime("%m-%d %H:%M") == "03-05 08:00"
    pressed = local_instant(date(2026, 3, 4), time(10, 0), SHANGHAI)
    back = snooze_until(pressed, SHANGHAI, minutes=120, windows=W, elderly=True)
    assert local(back, SHANGHAI).strftime("%H:%M") == "12:00"


def test_no_quiet_hours_send_any_time():
    moment = local_instant(date(2026, 3, 4), time(3, 0), MADRID)
    assert first_allowed(moment, MADRID, NO_QUIET, elderly=False) == moment


def test_weekday_dates():
    wednesdays = weekday_dates(3, date(2026, 3, 1), date(2026, 3, 31))
    assert wednesdays == [date(2026, 3, 4), date(2026, 3, 11), date(2026, 3, 18),
                          date(2026, 3, 25)]
    assert weekday_dates(3, date(2026, 3, 4), date(2026, 3, 4)) == [date(2026, 3, 4)]
    assert weekday_dates(3, date(2026, 3, 5), date(2026, 3, 10)) == []
