"""The pledge cycle's rules: reading pledges and numbers, and when each ask falls due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import PledgeSettings, StudySettings
from bot.domain import pledges as rules
from bot.domain.pledges import MonthState, ParsedPledge, Pledge, PledgeReport
from bot.errors import InvalidInput
from bot.i18n import catalogue

SHANGHAI = ZoneInfo("Asia/Shanghai")
MADRID = ZoneInfo("Europe/Madrid")
REGULAR = rules.member_hours("regular", StudySettings())
ELDERLY = rules.member_hours("elderly", StudySettings())


# --- reading pledges ----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("带动5户群众改造果园", ParsedPledge("带动5户群众改造果园", 5.0, "户")),
        ("带动五户群众发展产业", ParsedPledge("带动五户群众发展产业", 5.0, "户")),
        ("全年发展十二名入党积极分子", ParsedPledge("全年发展十二名入党积极分子", 12.0, "名")),
        ("种植２．５亩脐橙示范园", ParsedPledge("种植２．５亩脐橙示范园", 2.5, "亩")),
        # 一 reads as an article ("a qualified member"), not a target of 1.
        ("做一名合格党员", ParsedPledge("做一名合格党员")),
        ("每月参加一次组织生活", ParsedPledge("每月参加一次组织生活")),
        # A year is not a target.
        ("2026年争创党员示范户", ParsedPledge("2026年争创党员示范户")),
        ("学习党章 | 12 次", ParsedPledge("学习党章", 12.0, "次")),
        ("学习党章｜12次", ParsedPledge("学习党章", 12.0, "次")),
        ("学习党章 | 二十 篇", ParsedPledge("学习党章", 20.0, "篇")),
        ("带动5户群众 | ", ParsedPledge("带动5户群众")),
        (
            "Help 5 households renovate orchards",
            ParsedPledge("Help 5 households renovate orchards", 5.0, "households"),
        ),
        (
            "In 2026 I will study 12 hours",
            ParsedPledge("In 2026 I will study 12 hours", 12.0, "hours"),
        ),
        ("  多余   的  空格  ", ParsedPledge("多余 的 空格")),
    ],
)
def test_parse_pledge(typed: str, expected: ParsedPledge) -> None:
    assert rules.parse_pledge(typed) == expected


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "pledges.text_empty"),
        ("   | 5 户", "pledges.text_empty"),
        ("长" * 201, "pledges.text_too_long"),
        ("学习党章 | 很多", "pledges.bad_target"),
        ("学习党章 | 5 | 6", "pledges.bad_target"),
        ("学习党章 | 0 次", "pledges.target_not_positive"),
    ],
)
def test_parse_pledge_refuses(typed: str, key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.parse_pledge(typed)
    assert raised.value.key == key


def test_two_hundred_characters_are_allowed() -> None:
    assert rules.parse_pledge("长" * 200).text == "长" * 200
    with pytest.raises(InvalidInput) as raised:
        rules.parse_pledge("长" * 201)
    assert raised.value.params == {"length": 201, "limit": 200}


@pytest.mark.parametrize(
    ("typed", "target", "expected"),
    [
        ("3", 5.0, 3.0),
        ("3户", 5.0, 3.0),
        (" 5 ", 5.0, 5.0),
        ("三", 5.0, 3.0),
        ("0", 5.0, 0.0),
        ("2.5", None, 2.5),
        ("９", None, 9.0),
    ],
)
def test_parse_amount(typed: str, target: float | None, expected: float) -> None:
    assert rules.parse_amount(typed, target) == expected


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("abc", "pledges.amount_not_number"),
        ("3 4", "pledges.amount_not_number"),
        ("-1", "pledges.amount_negative"),
        ("6", "pledges.amount_over_target"),
    ],
)
def test_parse_amount_refuses(typed: str, key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.parse_amount(typed, 5.0)
    assert raised.value.key == key


def test_submit_count_is_two_to_five() -> None:
    for count in (2, 3, 5):
        rules.check_submit_count(count)
    for count, key in ((0, "pledges.too_few"), (1, "pledges.too_few"), (6, "pledges.too_many")):
        with pytest.raises(InvalidInput) as raised:
            rules.check_submit_count(count)
        assert raised.value.key == key


def test_a_draft_numbers_pledges_until_it_is_full() -> None:
    assert rules.next_draft_number(0) == 1
    assert rules.next_draft_number(rules.MAX_DRAFTS - 1) == rules.MAX_DRAFTS
    with pytest.raises(InvalidInput) as raised:
        rules.next_draft_number(rules.MAX_DRAFTS)
    assert raised.value.key == "pledges.drafts_full"
    assert raised.value.params == {"maximum": rules.MAX_DRAFTS}


def test_comment_and_year() -> None:
    assert rules.clean_comment("  请写具体一些 ") == "请写具体一些"
    with pytest.raises(InvalidInput):
        rules.clean_comment("  ")
    with pytest.raises(InvalidInput):
        rules.clean_comment("长" * 501)
    assert rules.parse_year([], 2026) == 2026
    assert rules.parse_year(["2025"], 2026) == 2025
    assert rules.parse_year(["２０２５年"], 2026) == 2025
    for args in (["abc"], ["1999"], ["2025", "x"]):
        with pytest.raises(InvalidInput):
            rules.parse_year(args, 2026)


def test_format_number() -> None:
    assert rules.format_number(5.0) == "5"
    assert rules.format_number(2.5) == "2.5"


# --- months ---------------------------------------------------------------------


def test_month_arithmetic() -> None:
    assert rules.month_key(2026, 3) == 202603
    assert rules.month_of(202603) == (2026, 3)
    assert rules.next_month(202612) == 202701
    assert rules.next_month(202603) == 202604


def test_report_moment_is_local_morning_in_allowed_hours() -> None:
    moment = rules.report_moment(202603, 25, SHANGHAI, REGULAR)
    assert moment == datetime(2026, 3, 25, 2, 0, tzinfo=UTC)  # 10:00 Beijing
    madrid = rules.report_moment(202603, 25, MADRID, REGULAR)
    assert madrid.astimezone(MADRID).time() == time(10, 0)


def test_asks_move_into_the_elderly_window() -> None:
    late = StudySettings(elderly_start=time(11, 0), elderly_end=time(17, 0))
    hours = rules.member_hours("elderly", late)
    moment = rules.report_moment(202603, 25, SHANGHAI, hours)
    assert moment.astimezone(SHANGHAI).time() == time(11, 0)
    # Regular members are not affected by the elderly window.
    regular = rules.member_hours("regular", late)
    assert rules.report_moment(202603, 25, SHANGHAI, regular).astimezone(SHANGHAI).hour == 10


def test_open_month_switches_at_the_report_moment() -> None:
    before = datetime(2026, 3, 25, 1, 59, tzinfo=UTC)
    after = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
    assert rules.open_month(before, 25, SHANGHAI, REGULAR) == 202602
    assert rules.open_month(after, 25, SHANGHAI, REGULAR) == 202603
    # Early January still reports on last December.
    assert rules.open_month(datetime(2027, 1, 10, tzinfo=UTC), 25, SHANGHAI, REGULAR) == 202612


def test_month_state() -> None:
    report_at = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
    state = rules.month_state
    assert state(due=0, reported=0, now=report_at, report_at=report_at) == MonthState.NOT_DUE
    assert state(due=2, reported=2, now=report_at, report_at=report_at) == MonthState.REPORTED
    assert state(due=2, reported=1, now=report_at, report_at=report_at) == MonthState.WAITING
    late = report_at + timedelta(days=rules.FOLLOWUP_DAYS)
    assert state(due=2, reported=1, now=late, report_at=report_at) == MonthState.LATE


def _pledge(status: str = "approved", year: int = 2026, decided: datetime | None = None) -> Pledge:
    decided_at = int(decided.timestamp()) if decided else None
    return Pledge(1, 1, year, "带动5户群众", 5.0, "户", status, decided_at=decided_at)


def test_a_month_asks_about_pledges_approved_before_its_ask() -> None:
    report_at = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
    assert rules.is_due(_pledge(decided=report_at), 202603, report_at)
    assert not rules.is_due(_pledge(decided=report_at + timedelta(seconds=1)), 202603, report_at)
    assert not rules.is_due(_pledge(decided=None), 202603, report_at)
    assert not rules.is_due(_pledge("submitted", decided=report_at), 202603, report_at)
    # December's ask about last year's pledges, not this year's.
    assert not rules.is_due(_pledge(year=2025, decided=report_at), 202603, report_at)


def test_latest_report_and_months_reported() -> None:
    assert rules.latest_report(1, []) == (None, 0)
    reports = [
        PledgeReport(1, 202603, "ongoing"),
        PledgeReport(2, 202605, "done"),
        PledgeReport(1, 202604, "done"),
        PledgeReport(1, 202602, "not_started"),
    ]
    assert rules.latest_report(1, reports) == (PledgeReport(1, 202604, "done"), 3)


def test_followups_come_every_few_days_up_to_the_maximum() -> None:
    first = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
    step = timedelta(days=rules.FOLLOWUP_DAYS)
    assert rules.latest_followup(first, first, 2) == (0, first)
    assert rules.latest_followup(first, first + step - timedelta(seconds=1), 2) == (0, first)
    assert rules.latest_followup(first, first + step, 2) == (1, first + step)
    assert rules.latest_followup(first, first + 10 * step, 2) == (2, first + 2 * step)


def test_evaluation_asks_are_planned_for_a_while_after_28_december() -> None:
    opens = rules.evaluation_moment(2026, SHANGHAI, REGULAR)
    ask = rules.evaluation_ask_moment
    assert ask(2026, opens - timedelta(seconds=1), SHANGHAI, REGULAR) is None
    assert ask(2026, opens, SHANGHAI, REGULAR) == opens
    last = opens + timedelta(days=rules.EVALUATION_ASK_DAYS) - timedelta(seconds=1)
    assert ask(2026, last, SHANGHAI, REGULAR) == opens
    assert ask(2026, last + timedelta(seconds=1), SHANGHAI, REGULAR) is None


# --- the yearly ask ---------------------------------------------------------------


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def test_pledge_ask_at_year_start_for_members_approved_before() -> None:
    settings = PledgeSettings()
    approved = _ts(datetime(2025, 6, 1, tzinfo=UTC))
    ask = rules.pledge_ask_moment(2026, settings, SHANGHAI, REGULAR, approved)
    assert ask == datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


def test_pledge_ask_on_approval_mid_year_moved_out_of_the_night() -> None:
    settings = PledgeSettings()
    daytime = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 11:00 Beijing
    assert rules.pledge_ask_moment(2026, settings, SHANGHAI, REGULAR, _ts(daytime)) == daytime
    night = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 Beijing
    ask = rules.pledge_ask_moment(2026, settings, SHANGHAI, REGULAR, _ts(night))
    assert ask == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 next morning
    elderly = rules.pledge_ask_moment(2026, settings, SHANGHAI, ELDERLY, _ts(night))
    assert elderly == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 for the elderly


def test_member_approved_at_year_end_pledges_from_next_year() -> None:
    settings = PledgeSettings()
    december = _ts(datetime(2026, 12, 28, 3, 0, tzinfo=UTC))
    assert rules.pledge_ask_moment(2026, settings, SHANGHAI, REGULAR, december) is None
    assert rules.pledge_ask_moment(2027, settings, SHANGHAI, REGULAR, december) == datetime(
        2027, 1, 15, 2, 0, tzinfo=UTC
    )


def test_evaluation_opens_on_28_december_local() -> None:
    opens = rules.evaluation_moment(2026, SHANGHAI, REGULAR)
    assert opens.astimezone(SHANGHAI).date() == date(2026, 12, 28)
    assert not rules.is_evaluation_open(2026, opens - timedelta(seconds=1), SHANGHAI, REGULAR)
    assert rules.is_evaluation_open(2026, opens, SHANGHAI, REGULAR)


def test_send_time_keeps_schedule_unless_planned_late() -> None:
    scheduled = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
    assert (
        rules.send_time(scheduled, scheduled + timedelta(minutes=5), SHANGHAI, REGULAR) == scheduled
    )
    # Planned two days late at 23:00 Beijing: sent the next allowed morning.
    late = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
    assert rules.send_time(scheduled, late, SHANGHAI, REGULAR) == datetime(
        2026, 3, 28, 0, 0, tzinfo=UTC
    )


def test_every_pledge_text_exists_in_both_languages() -> None:
    zh = {k for k in catalogue("zh") if k.startswith(("pledges.", "whereabouts."))}
    en = {k for k in catalogue("en") if k.startswith(("pledges.", "whereabouts."))}
    assert zh == en
    assert {f"pledges.rating.{r}" for r in rules.RATINGS} <= zh
    assert {f"pledges.progress.{p}" for p in rules.PROGRESS} <= zh
    assert {f"pledges.state.{s.value}" for s in MonthState} <= zh
