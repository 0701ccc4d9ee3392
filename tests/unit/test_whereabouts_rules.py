"""Whereabouts rules: when a mobile member is asked, and the silence marks before 失联."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import StudySettings, WhereaboutsSettings
from bot.domain import whereabouts as rules
from bot.domain.pledges import member_hours
from bot.domain.whereabouts import Level

SHANGHAI = ZoneInfo("Asia/Shanghai")
MADRID = ZoneInfo("Europe/Madrid")
HOURS = member_hours("mobile", StudySettings())
SETTINGS = WhereaboutsSettings()
DAY = 86400


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def test_silence_starts_at_last_contact_else_approval() -> None:
    assert rules.silence_start(100, 50) == 100
    assert rules.silence_start(None, 50) == 50
    assert rules.silence_start(None, None) is None


def test_silence_days_are_whole_days() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert rules.silence_days(_ts(now) - 90 * DAY + 1, now) == 89
    assert rules.silence_days(_ts(now) - 90 * DAY, now) == 90
    assert rules.silence_days(_ts(now) + 10, now) == 0


def test_passed_mark_is_the_highest_reached() -> None:
    assert rules.all_marks(SETTINGS) == (90, 150, 180)
    assert rules.passed_mark(89, SETTINGS) is None
    assert rules.passed_mark(90, SETTINGS) == 90
    assert rules.passed_mark(149, SETTINGS) == 90
    assert rules.passed_mark(150, SETTINGS) == 150
    assert rules.passed_mark(400, SETTINGS) == 180


def test_silence_level() -> None:
    assert rules.silence_level(10, SETTINGS) == Level.OK
    assert rules.silence_level(90, SETTINGS) == Level.WARNED
    assert rules.silence_level(179, SETTINGS) == Level.WARNED
    assert rules.silence_level(180, SETTINGS) == Level.LOST
    custom = WhereaboutsSettings(warn_days=(30,), lost_days=60)
    assert rules.all_marks(custom) == (30, 60)
    assert rules.silence_level(30, custom) == Level.WARNED


def test_warning_waits_for_the_secretarys_daytime() -> None:
    # Silence began at 23:30 Beijing: the 90-day mark falls at night, sent at 08:00.
    start = _ts(datetime(2026, 1, 1, 15, 30, tzinfo=UTC))
    due = rules.warning_due(start, 90, SHANGHAI, HOURS)
    assert due == datetime(2026, 4, 2, 0, 0, tzinfo=UTC)  # 23:30 on 1 April: next morning
    daytime = _ts(datetime(2026, 1, 1, 3, 0, tzinfo=UTC))
    assert rules.warning_due(daytime, 90, SHANGHAI, HOURS) == datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


def test_first_ask_comes_interval_days_after_the_base_at_local_ten() -> None:
    base = _ts(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # 09:00 Beijing, 2 March
    due = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # 10:00 Beijing, 1 April
    ask = rules.next_ask(
        base=base, now=due - timedelta(seconds=1), interval_days=30, tz=SHANGHAI, hours=HOURS
    )
    assert ask is None
    ask = rules.next_ask(base=base, now=due, interval_days=30, tz=SHANGHAI, hours=HOURS)
    assert ask is not None and ask.number == 1 and ask.due_at == due
    assert ask.next_due_at == datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def test_unanswered_asks_repeat_each_interval() -> None:
    base = _ts(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    later = datetime(2026, 5, 10, tzinfo=UTC)
    ask = rules.next_ask(base=base, now=later, interval_days=30, tz=SHANGHAI, hours=HOURS)
    assert ask is not None and ask.number == 2
    assert ask.due_at == datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def test_ask_follows_the_members_zone() -> None:
    base = _ts(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # 13:00 in Madrid
    now = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    ask = rules.next_ask(base=base, now=now, interval_days=30, tz=MADRID, hours=HOURS)
    assert ask is not None
    local = ask.due_at.astimezone(MADRID)
    assert (local.date().isoformat(), local.hour) == ("2026-04-01", 10)
