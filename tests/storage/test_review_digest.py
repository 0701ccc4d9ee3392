"""Review findings on the digest's reads: year boundaries and zones."""

from __future__ import annotations

from datetime import UTC, datetime

import aiosqlite

from bot.config import Settings
from bot.domain.digest import previous_week
from bot.domain.localtime import zone
from bot.domain.models import Category
from bot.domain.pledges import ParsedPledge
from storage.repositories import digest as repo
from storage.repositories import members, people
from storage.repositories import pledges as pledges_repo

SETTINGS = Settings()
DAY = 86400


def _ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


async def _branch(db: aiosqlite.Connection, timezone: str = "Asia/Shanghai") -> int:
    cursor = await db.execute(
        "INSERT INTO units (key, level, name, kind, timezone, created_at, updated_at)"
        " VALUES ('b1', 'branch', '支部', 'village', ?, 0, 0)",
        (timezone,),
    )
    return cursor.lastrowid or 0


async def _member(db: aiosqlite.Connection, branch_id: int, telegram_id: int, at: int) -> int:
    person = await people.ensure_person(db, telegram_id=telegram_id, now=at, name=f"m{telegram_id}")
    member = await members.add_member(
        db, person_id=person.id, branch_id=branch_id, category=Category.REGULAR,
        place=None, invite_id=None, now=at,
    )
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=at)
    return member.id


async def _approved(db: aiosqlite.Connection, member_id: int, year: int, at: int) -> int:
    pledge = await pledges_repo.add_pledge(
        db, member_id=member_id, year=year, parsed=ParsedPledge("学习党章"), now=at
    )
    await pledges_repo.submit_pledges(db, member_id=member_id, year=year, now=at)
    await pledges_repo.decide_pledge(db, pledge.id, approve=True, by=None, now=at)
    return pledge.id


async def test_january_report_day_counts_only_members_with_this_years_pledges(
    db: aiosqlite.Connection,
) -> None:
    # Both members pledged for 2025 and reported December; only one has 2026 pledges yet.
    branch_id = await _branch(db)
    joined = _ts(2025, 1, 2)
    first = await _member(db, branch_id, 1, joined)
    second = await _member(db, branch_id, 2, joined)
    for member_id in (first, second):
        old = await _approved(db, member_id, 2025, _ts(2025, 1, 20))
        await pledges_repo.save_report_status(db, old, 202512, "done", now=_ts(2025, 12, 26))
    await _approved(db, first, 2026, _ts(2026, 1, 16))
    # Monday 19 January 2026, 08:00 in Beijing: the week ahead holds the 25 January report day.
    now = _ts(2026, 1, 19, 0)
    branch = await repo.branch_context(db, branch_id, default_timezone="Asia/Shanghai")
    assert branch is not None
    period = previous_week(now, zone(branch.timezone))
    week = await repo.load_branch_week(db, branch, period, now=now, settings=SETTINGS)
    reports = [u for u in week.upcoming if u.kind == "pledge_report"]
    # The second member has no 2026 pledge: nobody will ask them on 25 January.
    assert [(u.due_date, u.count) for u in reports] == [("2026-01-25", 1)]
    assert week.late_pledges == ()


async def test_scheduled_digest_waits_until_the_week_is_over_where_the_branch_is(
    db: aiosqlite.Connection,
) -> None:
    # A New York branch whose secretary has no zone of their own (the default: Beijing).
    # Monday 08:00 in Beijing is still Sunday 19:00 in New York: Sunday's item is open.
    from bot.clock import FakeClock
    from bot.services import Services
    from handlers.digest import plan_digests
    from storage.repositories import roles, study

    branch_id = await _branch(db, "America/New_York")
    member_id = await _member(db, branch_id, 1, _ts(2026, 1, 5))
    secretary = await people.ensure_person(db, telegram_id=99, now=_ts(2026, 1, 5), name="书记")
    await roles.appoint(db, unit_id=branch_id, person_id=secretary.id, role="secretary",
                        appointed_by=None, now=_ts(2026, 1, 5))
    [item] = await study.create_items(
        db, branch_ids=[branch_id], title="周日学习", body="正文", due_date="2026-02-15",
        remind_at={branch_id: "19:30"}, created_by=None, now=_ts(2026, 2, 10),
    )
    monday_8_beijing = datetime(2026, 2, 16, 0, 0, tzinfo=UTC)
    services = Services(settings=SETTINGS, clock=FakeClock(monday_8_beijing), db=db)
    early = await plan_digests(services, monday_8_beijing)
    assert all("周日学习" not in m.text and "未学习" not in m.text for m in early), early
    # The member studies on Sunday evening, New York time.
    await study.record_answer(db, item.id, member_id, status="done", entered_by=None,
                              now=_ts(2026, 2, 16, 2))
    # Once the New York week is over (Monday 00:00 there), the digest comes, counting it.
    ny_monday = datetime(2026, 2, 16, 5, 0, tzinfo=UTC)
    later = await plan_digests(services, ny_monday)
    text = "\n".join(m.text for m in later if m.kind == "digest")
    assert "2月9日—2月15日" in text  # the week as people write it, not "2026-W07"
    assert "已学 1" in text and "未学习" not in text


async def test_the_week_lists_what_the_year_still_asks_of_each_member(
    db: aiosqlite.Connection,
) -> None:
    # Monday 4 January 2027, 08:00 in Beijing: 2026's 评诺 opened on 28 December.
    branch_id = await _branch(db)
    joined = _ts(2025, 6, 1)
    never = await _member(db, branch_id, 1, joined)  # never submitted 2026's pledges
    unrated = await _member(db, branch_id, 2, joined)  # approved, never rated them
    rated = await _member(db, branch_id, 3, joined)  # rated; the secretary has too
    late_joiner = await _member(db, branch_id, 4, _ts(2026, 11, 29))  # not asked for 2026
    await _approved(db, unrated, 2026, _ts(2026, 1, 20))
    done = await _approved(db, rated, 2026, _ts(2026, 1, 20))
    await pledges_repo.set_self_rating(db, done, "good", _ts(2026, 12, 28, 5))
    await pledges_repo.set_secretary_rating(db, done, "good", by=None, now=_ts(2026, 12, 29))
    now = _ts(2027, 1, 4, 0)
    branch = await repo.branch_context(db, branch_id, default_timezone="Asia/Shanghai")
    assert branch is not None
    week = await repo.load_branch_week(
        db, branch, previous_week(now, zone(branch.timezone)), now=now, settings=SETTINGS
    )
    gaps = sorted(week.year_gaps)
    assert (never, "no_pledges") not in gaps  # 2027's ask is still to come (15 January)
    assert (unrated, "no_self_rating") in gaps
    assert all(member_id not in (rated, late_joiner) for member_id, _ in gaps)
    # A week into December 2026 the member who never pledged is listed; the late joiner not.
    december = _ts(2026, 12, 7, 0)
    week = await repo.load_branch_week(
        db, branch, previous_week(december, zone(branch.timezone)), now=december,
        settings=SETTINGS,
    )
    assert sorted(week.year_gaps) == [(never, "no_pledges")]


async def test_next_week_includes_an_item_due_in_exactly_seven_days(
    db: aiosqlite.Connection,
) -> None:
    # On demand on Thursday 5 March: the 7天后 button sets 12 March; it is "next week".
    from bot.domain.digest import current_week
    from bot.domain.study import due_presets
    from storage.repositories import study

    branch_id = await _branch(db)
    await _member(db, branch_id, 1, _ts(2026, 1, 5))
    now = _ts(2026, 3, 5, 6)
    tz = zone("Asia/Shanghai")
    seventh = dict(due_presets(datetime.fromtimestamp(now, UTC).astimezone(tz).date()))
    due = seventh["study.due_7"].isoformat()
    assert due == "2026-03-12"
    await study.create_items(
        db, branch_ids=[branch_id], title="七天后", body="正文", due_date=due,
        remind_at={branch_id: "19:30"}, created_by=None, now=now,
    )
    branch = await repo.branch_context(db, branch_id, default_timezone="Asia/Shanghai")
    assert branch is not None
    week = await repo.load_branch_week(db, branch, current_week(now, tz), now=now,
                                       settings=SETTINGS)
    assert [(u.kind, u.due_date) for u in week.upcoming] == [("study", "2026-03-12")]
