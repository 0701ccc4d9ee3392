"""Study rules without Telegram: input checks, who is reminded and followed up, check-in rights."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import StudySettings
from bot.domain import study as rules
from bot.domain.models import Category, Level, Member, MemberStatus, Unit
from bot.domain.permissions import Actor
from bot.domain.schedule import Windows
from bot.domain.study import NextKind, Progress
from bot.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
POLICY = rules.Policy(Windows(), max_followups=2, followup_hours=24)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- input


def test_clean_title_tidies_spaces_and_refuses_empty_or_long():
    assert rules.clean_title("  学习  二十大报告 ") == "学习 二十大报告"
    with pytest.raises(InvalidInput) as empty:
        rules.clean_title("   ")
    assert empty.value.key == "study.title_empty"
    with pytest.raises(InvalidInput) as long:
        rules.clean_title("学" * (rules.TITLE_MAX + 1))
    assert long.value.key == "study.too_long"
    assert long.value.params == {"limit": rules.TITLE_MAX, "length": rules.TITLE_MAX + 1}


def test_clean_body_keeps_lines_and_links():
    text = "第一部分\nhttps://example.org/a?b=1&c=2"
    assert rules.clean_body(f"  {text}  ") == text
    with pytest.raises(InvalidInput):
        rules.clean_body("")


def test_clean_note():
    assert rules.clean_note(" 家里有事 ") == "家里有事"
    with pytest.raises(InvalidInput) as long:
        rules.clean_note("x" * 201)
    assert long.value.key == "study.too_long"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-08", date(2026, 3, 8)),
        ("２０２６－０３－０８", date(2026, 3, 8)),
        ("2026/3/8", date(2026, 3, 8)),
        ("2026年3月8日", date(2026, 3, 8)),
        ("2026-03-02", date(2026, 3, 2)),
    ],
)
def test_parse_due_accepts_dates(text, expected):
    assert rules.parse_due(text, today=date(2026, 3, 2)) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("next week", "study.due_bad"),
        ("2026-02-30", "study.due_bad"),
        ("2026-03-01", "study.due_past"),
        ("2027-03-08", "study.due_too_far"),
    ],
)
def test_parse_due_refuses(text, key):
    with pytest.raises(InvalidInput) as problem:
        rules.parse_due(text, today=date(2026, 3, 2))
    assert problem.value.key == key


def test_due_presets_this_sunday_and_later():
    monday = date(2026, 3, 2)
    assert rules.due_presets(monday) == [
        ("study.due_sunday", date(2026, 3, 8)),
        ("study.due_7", date(2026, 3, 9)),
        ("study.due_14", date(2026, 3, 16)),
    ]
    sunday = date(2026, 3, 8)
    assert rules.due_presets(sunday)[0] == ("study.due_sunday", sunday)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["3", "20:00"], rules.StudyDay(3, time(20, 0))),
        (["周三", "20:00"], rules.StudyDay(3, time(20, 0))),
        (["星期日", "9:30"], rules.StudyDay(7, time(9, 30))),
        (["7", "２０：１５"], rules.StudyDay(7, time(20, 15))),
        (["1", "8点"], rules.StudyDay(1, time(8, 0))),
        (["off"], rules.OFF),
        (["关闭"], rules.OFF),
    ],
)
def test_parse_studyday(args, expected):
    assert rules.parse_studyday(args) == expected


@pytest.mark.parametrize("args", [[], ["3"], ["8", "20:00"], ["3", "25:00"], ["3", "20:61"],
                                  ["周八", "20:00"], ["3", "20:00", "x"]])
def test_parse_studyday_refuses(args):
    with pytest.raises(InvalidInput) as problem:
        rules.parse_studyday(args)
    assert problem.value.key == "study.day_usage"


def test_study_day_starts_on_this_week_or_next():
    wednesday = rules.StudyDay(3, time(20, 0))
    monday_morning = utc(2026, 3, 2, 1)  # 09:00 in Shanghai
    assert rules.study_day_starts_on(wednesday, monday_morning, SHANGHAI) == date(2026, 3, 4)
    wednesday_night = utc(2026, 3, 4, 13)  # 21:00 in Shanghai, after the hour
    assert rules.study_day_starts_on(wednesday, wednesday_night, SHANGHAI) == date(2026, 3, 11)
    wednesday_noon = utc(2026, 3, 4, 4)
    assert rules.study_day_starts_on(wednesday, wednesday_noon, SHANGHAI) == date(2026, 3, 4)


def test_replaced_after():
    today = date(2026, 3, 4)
    assert rules.replaced_after(today, today) == date(2026, 3, 3)
    assert rules.replaced_after(date(2026, 3, 11), today) == today


def test_weekly_occurrences_reach_back_a_week_and_to_tomorrow():
    today = date(2026, 3, 10)  # Tuesday
    got = rules.weekly_occurrences(3, date(2026, 3, 1), today)
    assert got == [
        (date(2026, 3, 4), date(2026, 3, 10)),
        (date(2026, 3, 11), date(2026, 3, 17)),
    ]
    assert rules.weekly_occurrences(3, date(2026, 3, 11), today) == [
        (date(2026, 3, 11), date(2026, 3, 17))
    ]
    assert rules.weekly_occurrences(5, date(2026, 3, 1), today) == [
        (date(2026, 3, 6), date(2026, 3, 12))
    ]


def test_is_late_and_earliest_open_due():
    due = date(2026, 3, 8)
    assert not rules.is_late(due, utc(2026, 3, 8, 15, 59), SHANGHAI)
    assert rules.is_late(due, utc(2026, 3, 8, 16), SHANGHAI)
    assert not rules.is_late(due, utc(2026, 3, 9, 3), NEW_YORK)
    assert rules.earliest_open_due(utc(2026, 3, 8, 23)) == date(2026, 3, 7)


# ---------------------------------------------------------------- permissions

UNITS = [
    Unit(1, "town", None, Level.COMMITTEE, "乡党委", "township"),
    Unit(2, "village", 1, Level.GENERAL_BRANCH, "村党总支", "village"),
    Unit(3, "citrus", 2, Level.BRANCH, "脐橙支部", "industry"),
    Unit(4, "sunset", 2, Level.BRANCH, "夕阳红支部", "elderly"),
]


def actor(person_id: int, led: set[int] = frozenset()) -> Actor:
    return Actor(telegram_id=person_id * 10, person_id=person_id, is_admin=False,
                 led_unit_ids=frozenset(led))


def test_secretary_of_branch_or_above_may_check_in():
    assert rules.can_check_in_for(actor(1, {3}), 3, None, UNITS)
    assert rules.can_check_in_for(actor(1, {2}), 4, None, UNITS)
    assert not rules.can_check_in_for(actor(1, {3}), 4, None, UNITS)


def test_paired_helper_may_check_in_only_for_their_elderly_member():
    helper = actor(7)
    assert rules.can_check_in_for(helper, 4, 7, UNITS)
    assert not rules.can_check_in_for(helper, 4, 8, UNITS)
    assert not rules.can_check_in_for(helper, 4, None, UNITS)
    nobody = Actor(telegram_id=5, person_id=None, is_admin=False)
    assert not rules.can_check_in_for(nobody, 4, None, UNITS)


def test_admin_may_check_in_anywhere():
    admin = Actor(telegram_id=1, person_id=None, is_admin=True)
    assert rules.can_check_in_for(admin, 3, None, UNITS)


# ---------------------------------------------------------------- advance

ITEM = rules.ItemTiming(
    kind="item",
    remind_at=time(19, 30),
    published_at=utc(2026, 3, 2, 2),  # Monday 10:00 Shanghai
    due_date=date(2026, 3, 8),
)
WEEKLY = rules.ItemTiming(
    kind="weekly",
    remind_at=time(20, 0),
    published_at=utc(2026, 3, 1),
    due_date=date(2026, 3, 10),
    occurrence_date=date(2026, 3, 4),
)


def person(tz: ZoneInfo = SHANGHAI, **changes: object) -> rules.Recipient:
    base = rules.Recipient(tz=tz, elderly=False, can_receive=True, answered=False, away_until=None)
    return replace(base, **changes)


NEW = Progress("new")


def test_new_member_is_scheduled_at_the_local_hour_and_nothing_sent_early():
    decision = rules.advance(NEW, person(), ITEM, utc(2026, 3, 2, 2), POLICY)
    assert decision.message is None
    assert decision.progress == Progress("waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30))


def test_due_reminder_is_sent_with_its_key_parts():
    waiting = Progress("waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30))
    now = utc(2026, 3, 2, 11, 30, 20)
    decision = rules.advance(waiting, person(), ITEM, now, POLICY)
    assert decision.message == (NextKind.REMINDER, 0, now)
    assert decision.progress == waiting  # advanced once its outbox row exists


def test_once_planned_the_next_is_a_followup_a_day_later():
    planned = Progress(
        "waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30), planned=True,
        planned_at=utc(2026, 3, 2, 11, 30),
    )
    decision = rules.advance(planned, person(), ITEM, utc(2026, 3, 2, 12), POLICY)
    assert decision.message is None
    assert decision.progress == Progress(
        "waiting", NextKind.FOLLOWUP, 1, utc(2026, 3, 3, 11, 30), followups=0
    )


def test_followups_stop_after_the_maximum():
    second = Progress(
        "waiting", NextKind.FOLLOWUP, 2, utc(2026, 3, 4, 11, 30), followups=1, planned=True,
        planned_at=utc(2026, 3, 4, 11, 30),
    )
    decision = rules.advance(second, person(), ITEM, utc(2026, 3, 4, 12), POLICY)
    assert decision.progress.state == "closed"
    assert decision.progress.followups == 2


def test_no_followups_when_maximum_is_zero():
    policy = replace(POLICY, max_followups=0)
    planned = Progress("waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30), planned=True)
    assert rules.advance(planned, person(), ITEM, utc(2026, 3, 2, 12), policy).progress.state == (
        "closed"
    )


def test_followup_past_the_due_date_is_dropped():
    planned = Progress(
        "waiting", NextKind.REMINDER, 0, utc(2026, 3, 8, 11, 30), planned=True,
        planned_at=utc(2026, 3, 8, 11, 30),
    )
    decision = rules.advance(planned, person(), ITEM, utc(2026, 3, 8, 12), POLICY)
    assert decision.progress.state == "closed"


def test_answered_member_gets_nothing_more():
    waiting = Progress("waiting", NextKind.FOLLOWUP, 1, utc(2026, 3, 3, 11, 30))
    decision = rules.advance(waiting, person(answered=True), ITEM, utc(2026, 3, 3, 12), POLICY)
    assert decision.message is None and decision.progress.state == "closed"


def test_member_who_left_or_has_no_chat_gets_nothing():
    decision = rules.advance(NEW, person(can_receive=False), ITEM, utc(2026, 3, 3), POLICY)
    assert decision.progress.state == "closed"


def test_away_member_gets_nothing_and_is_excused():
    waiting = Progress("waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30))
    away = person(away_until="2026-03-02")
    decision = rules.advance(waiting, away, ITEM, utc(2026, 3, 2, 11, 30), POLICY)
    assert decision.message is None
    assert decision.excuse_away
    assert decision.progress.state == "closed"


def test_away_until_yesterday_is_back():
    waiting = Progress("waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30))
    back = person(away_until="2026-03-01")
    decision = rules.advance(waiting, back, ITEM, utc(2026, 3, 2, 11, 30), POLICY)
    assert decision.message is not None and not decision.excuse_away


def test_due_during_downtime_waits_for_the_morning_instead_of_the_night():
    waiting = Progress("waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30))
    night = utc(2026, 3, 2, 16)  # 00:00 in Shanghai: the bot was down at 19:30
    decision = rules.advance(waiting, person(), ITEM, night, POLICY)
    assert decision.message is None
    assert decision.progress.next_at == utc(2026, 3, 3, 0)  # 08:00 Shanghai


def test_late_send_spaces_the_followup_from_now():
    planned = Progress(
        "waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30), planned=True,
        planned_at=utc(2026, 3, 3, 12),
    )
    decision = rules.advance(planned, person(), ITEM, utc(2026, 3, 3, 12, 1), POLICY)
    assert decision.progress.next_at == utc(2026, 3, 4, 12)


def test_weekly_occurrence_at_the_study_day_hour_in_each_zone():
    decision = rules.advance(NEW, person(NEW_YORK), WEEKLY, utc(2026, 3, 4), POLICY)
    assert decision.progress.next_at == utc(2026, 3, 5, 1)  # Wednesday 20:00 EST
    elderly = rules.advance(NEW, person(NEW_YORK, elderly=True), WEEKLY, utc(2026, 3, 4), POLICY)
    assert elderly.progress.next_at == utc(2026, 3, 5, 14)  # Thursday 09:00 EST


def test_snooze_then_followups_resume_from_it():
    snoozed = Progress("waiting", NextKind.SNOOZE, 1, utc(2026, 3, 3, 0), followups=0)
    now = utc(2026, 3, 3, 0, 0, 30)
    sent = rules.advance(snoozed, person(), ITEM, now, POLICY)
    assert sent.message == (NextKind.SNOOZE, 1, now)
    planned = replace(snoozed, planned=True, planned_at=now)
    after = rules.advance(planned, person(), ITEM, utc(2026, 3, 3, 1), POLICY)
    assert after.progress.next_kind == NextKind.FOLLOWUP
    assert after.progress.next_seq == 1
    assert after.progress.next_at == utc(2026, 3, 4, 0, 0, 30)


def test_closed_stays_closed():
    closed = Progress("closed")
    assert rules.advance(closed, person(), ITEM, utc(2026, 3, 3), POLICY).progress is closed


def test_expired_item_closes_without_sending():
    waiting = Progress("waiting", NextKind.FOLLOWUP, 1, utc(2026, 3, 8, 11, 30))
    decision = rules.advance(waiting, person(), ITEM, utc(2026, 3, 9), POLICY)
    assert decision.message is None and decision.progress.state == "closed"


def test_every_message_time_lies_in_allowed_hours_over_a_week():
    # Walk a member's whole item hour by hour, as the scheduler would.
    for tz in (SHANGHAI, NEW_YORK, ZoneInfo("Europe/Madrid")):
        for elderly in (False, True):
            progress, sent = NEW, []
            now = utc(2026, 3, 2)
            while now < utc(2026, 3, 10):
                decision = rules.advance(progress, person(tz, elderly=elderly), ITEM, now, POLICY)
                progress = decision.progress
                if decision.message is not None:
                    sent.append(now)
                    progress = replace(progress, planned=True, planned_at=now)
                now += timedelta(minutes=30)
            assert len(sent) == 3  # the reminder and two follow-ups
            low, high = (9, 18) if elderly else (8, 21)
            assert all(low <= moment.astimezone(tz).hour < high for moment in sent)


# ---------------------------------------------------------------- publishing, answering, zones


def test_publish_targets_offer_a_led_unit_as_all_its_branches_then_each_branch():
    village = UNITS[1]
    citrus, sunset = UNITS[2], UNITS[3]
    assert rules.publish_targets(actor(1, {2}), UNITS) == [(village, 2), (citrus, 1), (sunset, 1)]
    assert rules.publish_targets(actor(1, {3}), UNITS) == [(citrus, 1)]
    assert rules.publish_targets(actor(1), UNITS) == []
    admin = Actor(telegram_id=1, person_id=None, is_admin=True)
    assert rules.publish_targets(admin, UNITS)[0] == (UNITS[0], 2)


def test_publish_branches_keep_only_the_actors_branches_under_the_unit():
    assert [b.id for b in rules.publish_branches(actor(1, {2}), UNITS, 2)] == [3, 4]
    assert [b.id for b in rules.publish_branches(actor(1, {3}), UNITS, 2)] == [3]
    assert rules.publish_branches(actor(1, {3}), UNITS, 4) == []


def test_only_an_active_member_of_the_items_branch_may_answer():
    member = Member(1, person_id=7, branch_id=3, category=Category.REGULAR,
                    status=MemberStatus.ACTIVE)
    assert rules.can_answer(member, 3)
    assert not rules.can_answer(member, 4)
    assert not rules.can_answer(replace(member, status=MemberStatus.LEFT), 3)
    assert not rules.can_answer(None, 3)


def test_zone_finder_takes_the_branch_zone_else_the_nearest_above_else_the_default():
    units = [
        replace(UNITS[0], timezone="Asia/Shanghai"),
        UNITS[1],
        replace(UNITS[2], timezone="Europe/Madrid"),
        UNITS[3],
    ]
    find = rules.zone_finder(units, "UTC")
    assert find(3) == "Europe/Madrid"
    assert find(4) == "Asia/Shanghai"
    assert rules.zone_finder(UNITS, "UTC")(4) == "UTC"
    assert find(99) == "UTC"


def test_snooze_comes_back_in_allowed_hours_unless_that_is_past_the_due_date():
    due = date(2026, 3, 8)
    # 10:00 in Shanghai: two hours later.
    assert rules.snooze(
        utc(2026, 3, 5, 2), SHANGHAI, due, minutes=120, windows=Windows(), elderly=False
    ) == utc(2026, 3, 5, 4)
    # 20:00 on the due date: 22:00 is a quiet hour, and the morning is too late.
    assert rules.snooze(
        utc(2026, 3, 8, 12), SHANGHAI, due, minutes=120, windows=Windows(), elderly=False
    ) is None


def test_remind_hour_and_a_study_days_setting_stamp():
    assert rules.remind_hour("20:00") == "20:00"
    assert rules.remind_hour(None) == "19:30"
    assert rules.setting_stamp(100, None) == 100
    assert rules.setting_stamp(100, 50) == 100
    assert rules.setting_stamp(100, 100) == 101  # set twice within a second


def test_policy_from_settings_and_what_progress_stores():
    settings = StudySettings(max_followups=3, followup_hours=12)
    assert rules.Policy.from_settings(settings) == rules.Policy(Windows(), 3, 12)
    waiting = Progress("waiting", NextKind.REMINDER, 0, utc(2026, 3, 2, 11, 30))
    planned = replace(waiting, planned=True, planned_at=utc(2026, 3, 2, 11, 30))
    assert planned.stored() == waiting.stored()
    assert waiting.closed().stored() != waiting.stored()


def test_publish_branches_of_a_deleted_unit_is_empty_not_an_error():
    assert rules.publish_branches(actor(1, {2}), UNITS, 9999) == []
