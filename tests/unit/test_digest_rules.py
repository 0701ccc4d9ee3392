"""The digest's rules: periods, study counts, silence, attention and the roll-up ranking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import PledgeSettings, StudySettings, WhereaboutsSettings
from bot.domain.digest import (
    Answer,
    BranchWeek,
    MemberFacts,
    Outcome,
    Period,
    RollupLine,
    Silence,
    StudyItem,
    build_digest,
    chart_weeks,
    current_week,
    digest_due,
    is_unconfirmed,
    mobile_status,
    parse_week_code,
    period_days,
    previous_week,
    rank_rollup,
    rollup_line,
    study_section,
    week_period,
    weekly_rates,
)
from bot.domain.pledges import (
    Pledge,
    may_secretary_rate,
    member_hours,
    pledge_gaps,
    secretary_rating_moment,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = WhereaboutsSettings()
DAY = 86400
TD_DAY = timedelta(days=1)
HOURS = member_hours("regular", StudySettings())


def ts(year: int, month: int, day: int, hour: int = 0, tz: ZoneInfo = SHANGHAI) -> int:
    return int(datetime(year, month, day, hour, tzinfo=tz).timestamp())


def member(mid: int, name: str | None, **kwargs) -> MemberFacts:
    fields = {"person_id": 100 + mid, "category": "regular", "joined_at": ts(2026, 1, 1)}
    fields.update(kwargs)
    return MemberFacts(member_id=mid, name=name, **fields)


def item(iid: int, due: str, title: str | None = "学习二十大报告") -> StudyItem:
    day = date.fromisoformat(due)
    return StudyItem(iid, title, due, ts(day.year, day.month, day.day) + DAY)


WEEK9 = week_period(2026, 9, SHANGHAI)  # Mon 23 Feb – Sun 1 Mar 2026
NOW = ts(2026, 3, 2, 8)


def week(**kwargs) -> BranchWeek:
    fields = {
        "branch_id": 7, "branch_key": "renhe-citrus", "branch_name": "脐橙支部",
        "timezone": "Asia/Shanghai", "period": WEEK9, "now": NOW,
    }
    fields.update(kwargs)
    return BranchWeek(**fields)


# ---------------------------------------------------------------- periods


def test_previous_week_is_the_iso_week_just_ended_in_the_zone() -> None:
    period = previous_week(NOW, SHANGHAI)
    assert (period.iso_year, period.iso_week, period.partial) == (2026, 9, False)
    assert period.start == ts(2026, 2, 23) and period.end == ts(2026, 3, 2)
    assert period.code == "2026W09" and period.label == "2026-W09"


def test_current_week_runs_from_monday_to_now() -> None:
    now = ts(2026, 3, 4, 15)
    period = current_week(now, SHANGHAI)
    assert period.partial and period.start == ts(2026, 3, 2) and period.end == now
    assert period.code == "2026W10p"
    first, stop, next_stop = period_days(period, SHANGHAI)
    # Items due today are not counted yet: members still have today.  "Next week"
    # takes in day 7 (11 March), the 7天后 button's due date, and stops before the 12th.
    assert (first, stop, next_stop) == (date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 12))


def test_whole_week_days_and_the_next_week() -> None:
    first, stop, next_stop = period_days(WEEK9, SHANGHAI)
    # Read on Monday 2 March: the new week and day 7, Monday 9 March, are "next week".
    assert (first, stop, next_stop) == (date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 10))


def test_next_week_counts_from_the_day_the_digest_is_read() -> None:
    # A digest of week 9 read on Wednesday 4 March: day 7 from then is 11 March.
    _, stop, next_stop = period_days(WEEK9, SHANGHAI, ts(2026, 3, 4, 9))
    assert (stop, next_stop) == (date(2026, 3, 2), date(2026, 3, 12))


def test_iso_week_across_the_year_end() -> None:
    # Monday 4 January 2027 opens ISO week 2027-W01; the week before is 2026-W53.
    period = previous_week(ts(2027, 1, 4, 9), SHANGHAI)
    assert (period.iso_year, period.iso_week) == (2026, 53)
    assert period.start == ts(2026, 12, 28) and period.end == ts(2027, 1, 4)
    assert parse_week_code(period.code) == (2026, 53, False)


@pytest.mark.parametrize("code", ["", "2026", "2026W", "2026W54", "26W01", "2026X01", "abcdW01p"])
def test_bad_week_codes_are_refused(code: str) -> None:
    assert parse_week_code(code) is None


def test_digest_falls_due_on_the_weekday_and_hour_in_the_leaders_zone() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    due = digest_due(NOW, SHANGHAI, weekday=1, hour=8)
    assert due == ts(2026, 3, 2, 8)
    due_madrid = digest_due(ts(2026, 3, 4, 12), madrid, weekday=1, hour=8)
    assert due_madrid == int(datetime(2026, 3, 2, 8, tzinfo=madrid).timestamp())
    friday = digest_due(NOW, SHANGHAI, weekday=5, hour=18)
    assert friday == ts(2026, 3, 6, 18)


# ---------------------------------------------------------------- study


def test_study_counts_missed_names_and_excuses() -> None:
    people = (
        member(1, "张伟"),
        member(2, "王芳"),
        member(3, "李强"),
        member(4, "赵磊", away_until="2026-03-05"),
        member(5, "陈静", joined_at=ts(2026, 2, 28)),  # joined after item 11 fell due
    )
    items = (item(11, "2026-02-25"), item(12, "2026-03-01", None))
    answers = (
        Answer(11, 1, Outcome.STUDIED),
        Answer(12, 1, Outcome.STUDIED),
        Answer(11, 2, Outcome.EXCUSED),
        Answer(12, 2, Outcome.STUDIED, on_behalf=True, entered_by_name="陈秀兰"),
        Answer(12, 5, Outcome.STUDIED),
    )
    section = study_section(people, items, answers)
    assert [(c.expected, c.studied, c.excused, c.missed) for c in section.items] == [
        (4, 1, 2, 1),  # 张伟 ✅, 王芳 🙋, 赵磊 away, 李强 ❌; 陈静 not expected
        (5, 3, 1, 1),
    ]
    assert (section.expected, section.studied, section.excused, section.missed) == (9, 4, 3, 2)
    assert section.rate == pytest.approx(4 / 6)
    assert [(m.member.name, len(m.items)) for m in section.missed_members] == [("李强", 2)]
    assert [(o.member.name, o.entered_by) for o in section.on_behalf] == [("王芳", "陈秀兰")]


def test_nothing_due_has_no_rate() -> None:
    assert study_section([member(1, "张伟")], [], []).rate is None


def test_everyone_excused_has_no_rate_rather_than_zero() -> None:
    section = study_section([member(1, "张伟")], [item(1, "2026-02-25")],
                            [Answer(1, 1, Outcome.EXCUSED)])
    assert section.rate is None and section.missed == 0


def test_weekly_rates_cover_twelve_weeks() -> None:
    weeks = chart_weeks(WEEK9, SHANGHAI)
    assert len(weeks) == 12 and weeks[-1][0] == "2026W09" and weeks[0][0] == "2025W50"
    joined = ts(2025, 1, 1)
    people = [member(1, "张伟", joined_at=joined), member(2, "王芳", joined_at=joined)]
    items = [item(1, "2026-02-25"), item(2, "2026-01-07")]
    answers = [Answer(1, 1, Outcome.STUDIED), Answer(2, 1, Outcome.STUDIED),
               Answer(2, 2, Outcome.STUDIED)]
    rates = weekly_rates(people, items, answers, weeks)
    assert len(rates) == 12
    by_week = dict(zip((code for code, _, _ in weeks), rates, strict=True))
    assert by_week["2026W09"] == 0.5 and by_week["2026W02"] == 1.0
    assert sum(rate is None for rate in rates) == 10


# ---------------------------------------------------------------- mobile, unreachable, attention


@pytest.mark.parametrize(
    ("days", "state", "mark"),
    [(0, Silence.OK, 0), (89, Silence.OK, 0), (90, Silence.SILENT, 90),
     (151, Silence.SILENT, 150), (180, Silence.LOST, 180), (400, Silence.LOST, 180)],
)
def test_mobile_silence_marks(days: int, state: Silence, mark: int) -> None:
    assert mobile_status(days, RULES) == (state, mark)


def test_digest_names_only_who_needs_attention() -> None:
    people = (
        member(1, "张伟"),
        member(2, "王芳", category="mobile", last_contact_at=NOW - 100 * DAY),
        member(3, "李强", category="mobile", last_contact_at=NOW - 200 * DAY),
        member(4, "赵磊", category="mobile", last_contact_at=NOW - 200 * DAY),
        member(5, "周杰", reachable=False, unreachable_reason="Forbidden: bot was blocked"),
        member(6, None, has_chat=False),
        member(7, "孙丽"),
    )
    digest = build_digest(
        week(
            members=people,
            items=(item(1, "2026-02-26"),),
            answers=tuple(Answer(1, m, Outcome.STUDIED) for m in (2, 3, 4, 5, 6, 7)),
            late_pledges=((7, "2026-02"),),
            # 赵磊 answered the whereabouts question recently: not silent.
            mobile_contacts=((4, NOW - 3 * DAY),),
        ),
        RULES,
    )
    assert digest.member_count == 7 and digest.mobile_count == 3
    assert [m.member.name for m in digest.study.missed_members] == ["张伟"]
    assert [(m.member.name, m.days, m.state) for m in digest.mobile] == [
        ("李强", 200, Silence.LOST), ("王芳", 100, Silence.SILENT),
    ]
    assert [(u.member.member_id, u.reason) for u in digest.unreachable] == [
        (6, "no_chat"), (5, "blocked"),
    ]
    assert [(m.name, month) for m, month in digest.late_pledges] == [("孙丽", "2026-02")]
    named = {a.member.member_id: a.reasons for a in digest.attention}
    assert named == {1: ("missed",), 2: ("silent",), 3: ("lost",), 5: ("unreachable",),
                     6: ("unreachable",), 7: ("late_pledge",)}


# ---------------------------------------------------------------- roll-up


def line(branch_id: int, **kwargs) -> RollupLine:
    fields = {
        "branch_key": f"b{branch_id}", "branch_name": f"支部{branch_id}", "members": 10,
        "study_rate": 1.0, "missed": 0, "late_pledges": 0, "silent": 0, "lost": 0,
        "unreachable": 0, "pending": 0, "health": 100.0,
    }
    fields.update(kwargs)
    return RollupLine(branch_id=branch_id, **fields)


def test_health_score_halves_study_and_attention() -> None:
    people = tuple(member(i, f"m{i}") for i in range(1, 5))
    answers = (Answer(1, 1, Outcome.STUDIED), Answer(1, 2, Outcome.STUDIED))
    digest = build_digest(week(members=people, items=(item(1, "2026-02-26"),), answers=answers,
                               late_pledges=((3, "2026-02"),)), RULES)
    result = rollup_line(digest)
    # study 2/4 = 0.5; attention: 1 of 4 members flagged → 0.75; health = 100 × (0.25 + 0.375)
    assert result.study_rate == 0.5 and result.health == 62.5
    assert (result.members, result.missed, result.late_pledges) == (4, 2, 1)


def test_no_study_uses_attention_alone_and_empty_branch_has_no_score() -> None:
    people = (member(1, "a"), member(2, "b", reachable=False))
    assert rollup_line(build_digest(week(members=people), RULES)).health == 50.0
    assert rollup_line(build_digest(week(), RULES)).health is None


def test_rollup_ranks_weakest_first_then_ties_then_empty_last() -> None:
    lines = [
        line(1, health=90.0),
        line(2, health=40.0),
        line(3, members=0, health=None, study_rate=None),
        line(4, health=40.0, study_rate=0.3),
        line(5, health=40.0, study_rate=0.3, missed=9),
        line(6, health=75.0),
    ]
    assert [x.branch_id for x in rank_rollup(lines, order=[1, 2, 3, 4, 5, 6])] == [5, 4, 2, 6, 1, 3]


def test_period_dataclass_next_window() -> None:
    period = Period(0, 7 * DAY, 2026, 1)
    assert period.next_end == 15 * DAY  # day 7 of the next week included
    assert datetime.fromtimestamp(WEEK9.start, UTC) == datetime(2026, 2, 22, 16, tzinfo=UTC)


# ---------------------------------------------------------------- what the year asks


def _pledge(pid: int, year: int, status: str = "approved", **kwargs) -> Pledge:
    return Pledge(id=pid, member_id=1, year=year, text="带动5户", target=None, unit=None,
                  status=status, decided_at=ts(year, 1, 20), **kwargs)


PLEDGE_SETTINGS = PledgeSettings()


def _gaps(pledges, when: int, approved_at: int | None = None,
          settings: PledgeSettings = PLEDGE_SETTINGS) -> tuple[str, ...]:
    moment = datetime.fromtimestamp(when, UTC)
    return tuple(str(g) for g in pledge_gaps(
        pledges, now=moment, tz=SHANGHAI, hours=HOURS, settings=settings,
        approved_at=approved_at if approved_at is not None else ts(2025, 6, 1),
    ))


def test_a_member_who_never_submitted_pledges_is_missing_them_once_asked() -> None:
    # Asked on 15 January; a member's pledges are missing from 18 January (3 days' grace).
    assert _gaps([], ts(2026, 1, 16, 12)) == ()
    assert _gaps([], ts(2026, 3, 2, 8)) == ("no_pledges",)
    # Drafts and returned pledges are not submitted; submitted ones await the branch.
    assert _gaps([_pledge(1, 2026, "draft")], ts(2026, 3, 2, 8)) == ("no_pledges",)
    assert _gaps([_pledge(1, 2026, "submitted")], ts(2026, 3, 2, 8)) == ("unapproved",)
    assert _gaps([_pledge(1, 2026), _pledge(2, 2026)], ts(2026, 3, 2, 8)) == ()


def test_a_late_joiner_is_not_missing_pledges_for_a_year_nearly_over() -> None:
    # Approved on 29 November: not asked for 2026's pledges, so not missing them.
    assert _gaps([], ts(2026, 12, 7, 8), approved_at=ts(2026, 11, 29, 10)) == ()
    assert _gaps([], ts(2026, 10, 7, 8), approved_at=ts(2026, 10, 1, 10)) == ("no_pledges",)


def test_ratings_not_given_are_missing_while_the_evaluation_runs() -> None:
    pledges = [_pledge(1, 2026), _pledge(2, 2026, self_rating="good")]
    # 28 December opens 评诺; the member's own rating is missing after 3 days, the
    # secretary's as soon as the member has rated.
    assert _gaps(pledges, ts(2026, 12, 27, 12)) == ()
    assert _gaps(pledges, ts(2026, 12, 29, 12)) == ("no_secretary_rating",)
    assert _gaps(pledges, ts(2027, 1, 4, 8)) == ("no_self_rating", "no_secretary_rating")
    # The secretary owes only the self-rated pledge until 11 January, then both.
    rated = [_pledge(1, 2026, self_rating="good", secretary_rating="fair")]
    assert _gaps(rated, ts(2027, 1, 4, 8)) == ()
    unrated = [_pledge(1, 2026)]
    assert _gaps(unrated, ts(2027, 1, 4, 8)) == ("no_self_rating",)
    assert _gaps(unrated, ts(2027, 1, 12, 8)) == ("no_self_rating", "no_secretary_rating")


def test_the_secretary_rates_without_the_members_rating_only_from_the_set_day() -> None:
    settings = PledgeSettings(secretary_rates_after_days=14)
    unrated = _pledge(1, 2026)
    opens = datetime(2026, 12, 28, 2, tzinfo=UTC)  # 10:00 in Beijing
    assert secretary_rating_moment(2026, SHANGHAI, HOURS, settings) == opens + 14 * TD_DAY
    before = datetime(2027, 1, 11, 1, 59, tzinfo=UTC)
    after = datetime(2027, 1, 11, 2, 0, tzinfo=UTC)
    assert not may_secretary_rate(unrated, before, SHANGHAI, HOURS, settings)
    assert may_secretary_rate(unrated, after, SHANGHAI, HOURS, settings)
    # Once the member has rated, the secretary need not wait; before 评诺 opens nobody rates.
    self_rated = _pledge(2, 2026, self_rating="fair")
    assert may_secretary_rate(self_rated, opens, SHANGHAI, HOURS, settings)
    assert not may_secretary_rate(self_rated, opens - TD_DAY, SHANGHAI, HOURS, settings)
    # 0 days: the secretary may rate from the day rating opens.
    now_settings = PledgeSettings(secretary_rates_after_days=0)
    assert may_secretary_rate(unrated, opens, SHANGHAI, HOURS, now_settings)


def test_a_mobile_member_is_unconfirmed_three_days_after_an_unanswered_ask() -> None:
    answered = ts(2026, 1, 30, 12)  # asked again 30 days later, 1 March at 10:00
    kwargs = {"interval_days": 30, "tz": SHANGHAI, "hours": HOURS}
    assert not is_unconfirmed(answered, ts(2026, 3, 2, 8), **kwargs)
    assert is_unconfirmed(answered, ts(2026, 3, 4, 12), **kwargs)


def test_members_the_year_waits_for_are_named_and_not_counted_as_fine() -> None:
    people = (member(1, "张伟"), member(2, "王芳", category="mobile"), member(3, "李强"),
              member(4, "赵磊"))
    facts = week(members=people, year_gaps=(
        (1, "no_pledges"), (3, "no_self_rating"), (3, "no_secretary_rating"),
        (2, "unconfirmed"), (9, "no_pledges"),  # 9: not an active member, ignored
    ))
    digest = build_digest(facts, RULES)
    assert [(g.member.name, g.gaps) for g in digest.year_gaps] == [
        ("张伟", ("no_pledges",)),
        ("李强", ("no_self_rating", "no_secretary_rating")),
        ("王芳", ("unconfirmed",)),
    ]
    assert {a.member.name for a in digest.attention} == {"张伟", "李强", "王芳"}
    assert [m.name for m in digest.missing("no_pledges")] == ["张伟"]
    line = rollup_line(digest)
    assert line.year_gaps == 3
    assert line.health == 25.0  # 3 of 4 members need attention, no study this week


def test_a_silent_mobile_member_is_not_also_listed_as_unconfirmed() -> None:
    quiet = member(2, "王芳", category="mobile", joined_at=NOW - 120 * DAY,
                   last_contact_at=NOW - 100 * DAY)
    digest = build_digest(week(members=(quiet,), year_gaps=((2, "unconfirmed"),)), RULES)
    assert digest.silent and digest.year_gaps == ()


def test_next_week_names_a_weekly_study_day_by_its_day_not_its_due_date_twice() -> None:
    from bot.digest_render import render_detail, render_summary
    from bot.domain.digest import Upcoming

    friday = item(5, "2026-03-06", title=None)  # a weekly study day's occurrence
    digest = build_digest(week(
        members=(member(1, "张伟"),), upcoming=(Upcoming("study", "2026-03-06", item=friday),),
        year_gaps=((1, "no_pledges"),),
    ), RULES)
    text = render_summary("zh", digest)
    assert "📅 下周：3月6日（周五）学习日" in text
    assert "03-06" not in text.split("📅 下周：")[1]
    assert "📝 未提交今年承诺（1 人）：张伟" in text and "一切正常" not in text
    assert "study day, Friday 6/3" in render_summary("en", digest)
    assert "• 张伟：未提交承诺" in render_detail("zh", digest, "year")[0]
