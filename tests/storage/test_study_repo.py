"""The study repository, and the study planner on it, against a migrated in-memory database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.domain.models import Category, MemberStatus
from bot.domain.outgoing import OutgoingMessage
from bot.domain.study import NextKind, Progress
from bot.services import Services
from handlers.study import plan_study
from storage.repositories import helpers, life_changes, members, outbox, people, study, units
from tests.pg import sqlite_only

NOW = 1_772_413_200  # 2026-03-02 01:00 UTC


async def _unit(db, key: str, parent: int | None = None, level: str = "branch") -> int:
    cursor = await db.execute(
        "INSERT INTO units (key, parent_id, level, name, kind, timezone, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'village', NULL, 0, 0)",
        (key, parent, level, key),
    )
    return cursor.lastrowid


async def _member(db, telegram_id: int, branch_id: int, name: str, **kwargs) -> tuple[int, int]:
    person = await people.ensure_person(db, telegram_id=telegram_id, now=NOW, name=name, **kwargs)
    member = await members.add_member(
        db, person_id=person.id, branch_id=branch_id, category=Category.REGULAR, place=None,
        invite_id=None, now=NOW,
    )
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=NOW)
    return member.id, person.id


@pytest.fixture
async def branches(db):
    general = await _unit(db, "renhe", level="general_branch")
    return general, await _unit(db, "citrus", general), await _unit(db, "pigs", general)


async def test_create_items_shares_a_batch(db, branches):
    _, citrus, pigs = branches
    items = await study.create_items(
        db, branch_ids=[citrus, pigs], title="二十大报告", body="https://example.org",
        due_date="2026-03-08", remind_at={citrus: "19:30", pigs: "20:00"}, created_by=None,
        now=NOW,
    )
    assert [item.branch_id for item in items] == [citrus, pigs]
    assert {item.batch for item in items} == {items[0].id}
    assert [item.remind_at for item in items] == ["19:30", "20:00"]
    assert [i.id for i in await study.batch_items(db, items[0].id)] == [i.id for i in items]
    single = await study.create_items(
        db, branch_ids=[citrus], title="t", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    assert single[0].batch == single[0].id


async def test_update_and_withdraw(db, branches):
    _, citrus, _ = branches
    member_id, _ = await _member(db, 1, citrus, "张伟")
    (item,) = await study.create_items(
        db, branch_ids=[citrus], title="旧", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    await study.update_items(db, [item.id], now=NOW + 1, title="新", due_date="2026-03-09")
    changed = await study.get_item(db, item.id)
    assert (changed.title, changed.body, changed.due_date) == ("新", "b", "2026-03-09")
    await study.add_missing_targets(db, min_due="2026-03-01")
    assert await study.withdraw_items(db, [item.id], by=None, now=NOW + 2) == [member_id]
    assert (await study.get_item(db, item.id)).is_withdrawn
    assert await study.due_targets(db, NOW + 10**6) == []
    assert await study.open_items(db, [citrus], min_due="2026-03-01") == []


async def test_targets_progress_and_outbox_lookup(db, branches):
    _, citrus, pigs = branches
    member_id, person_id = await _member(db, 1, citrus, "张伟", timezone="Europe/Madrid")
    await _member(db, 2, pigs, "王芳")
    (item,) = await study.create_items(
        db, branch_ids=[citrus], title="t", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    assert await study.add_missing_targets(db, min_due="2026-03-01") == 1
    assert await study.add_missing_targets(db, min_due="2026-03-01") == 0
    (row,) = await study.due_targets(db, NOW)
    assert (row.item.id, row.member_id, row.person_id) == (item.id, member_id, person_id)
    assert row.timezone == "Europe/Madrid" and row.telegram_id == 1 and not row.answered
    assert row.progress == Progress("new")

    when = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)
    waiting = Progress("waiting", NextKind.REMINDER, 0, when)
    await study.save_progress(db, [(item.id, member_id, waiting)])
    assert await study.due_targets(db, NOW) == []
    (due,) = await study.due_targets(db, int(when.timestamp()))
    assert due.progress == waiting

    key = f"study.reminder|m{member_id}|{item.id}|0"
    await outbox.enqueue(
        db, [OutgoingMessage(key, "study.reminder", person_id, 1, "hi", 123)], now=NOW
    )
    assert await study.outbox_due_at(db, [key, "study.reminder|m9|9|0"]) == {key: 123}


async def test_answers_close_the_schedule_and_only_the_first_counts(db, branches):
    _, citrus, _ = branches
    member_id, person_id = await _member(db, 1, citrus, "张伟")
    helper_id, helper_person = await _member(db, 2, citrus, "陈秀兰")
    (item,) = await study.create_items(
        db, branch_ids=[citrus], title="t", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    await study.add_missing_targets(db, min_due="2026-03-01")
    assert [c.member_id for c in await study.unanswered_members(db, item.id)] == [
        member_id, helper_id,
    ]  # by name: 张 before 陈 in code point order
    assert await study.record_answer(
        db, item.id, member_id, status="done", entered_by=helper_person, on_behalf=True, now=NOW,
    )
    assert not await study.record_answer(
        db, item.id, member_id, status="excused", reason="ill", entered_by=person_id, now=NOW,
    )
    answer = await study.get_answer(db, item.id, member_id)
    assert (answer.status, answer.on_behalf, answer.entered_by_name) == ("done", True, "陈秀兰")
    assert [row.member_id for row in await study.due_targets(db, NOW)] == [helper_id]

    assert await study.record_answer(
        db, item.id, helper_id, status="excused", reason="other", entered_by=helper_person,
        now=NOW, late=True,
    )
    assert await study.set_note(db, item.id, helper_id, "家里有事")
    assert not await study.set_note(db, item.id, member_id, "not an excuse")
    answers = {a.member_id: a for a in await study.answers_for(db, item.id)}
    assert answers[helper_id].note == "家里有事" and answers[helper_id].late
    counts = (await study.item_counts(db, [item.id]))[item.id]
    assert (counts.done, counts.excused, counts.missing) == (1, 1, 0)


async def test_list_items_groups_batches_with_counts(db, branches):
    _, citrus, pigs = branches
    member_id, person_id = await _member(db, 1, citrus, "张伟")
    await _member(db, 2, pigs, "王芳")
    batch = await study.create_items(
        db, branch_ids=[citrus, pigs], title="t", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30", pigs: "19:30"}, created_by=None, now=NOW,
    )
    await study.record_answer(db, batch[0].id, member_id, status="done", entered_by=person_id,
                              now=NOW)
    listed = await study.list_items(db, [citrus, pigs], min_due="2026-03-01")
    assert len(listed) == 1
    assert [(c.done, c.missing) for c in listed[0]] == [(1, 0), (0, 1)]
    only_pigs = await study.list_items(db, [pigs], min_due="2026-03-01")
    assert [c.item.branch_id for c in only_pigs[0]] == [pigs]


async def test_snooze_target_counts_up(db, branches):
    _, citrus, _ = branches
    member_id, _ = await _member(db, 1, citrus, "张伟")
    (item,) = await study.create_items(
        db, branch_ids=[citrus], title="t", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    assert await study.snooze_target(db, item.id, member_id, NOW + 100) == 1
    assert await study.snooze_target(db, item.id, member_id, NOW + 200) == 2
    (row,) = await study.due_targets(db, NOW + 200)
    assert (row.progress.next_kind, row.progress.next_seq) == (NextKind.SNOOZE, 2)


async def test_weekly_items_once_per_setting(db, branches):
    _, citrus, _ = branches
    await study.set_study_day(
        db, branch_id=citrus, weekday=3, remind_at="20:00", starts_on="2026-03-04", set_by=None,
        now=NOW,
    )
    (day,) = await study.list_study_days(db)
    assert (day.weekday, day.remind_at, day.set_at) == (3, "20:00", NOW)
    occurrence = (citrus, "2026-03-04", "2026-03-10", "20:00", NOW)
    assert await study.ensure_weekly_items(db, [occurrence], now=NOW) == 1
    assert await study.ensure_weekly_items(db, [occurrence], now=NOW) == 0
    withdrawn = await study.withdraw_weekly_after(db, citrus, "2026-03-03", by=None, now=NOW)
    assert len(withdrawn) == 1
    # Withdrawn stays withdrawn under the same setting; a new setting may replace it.
    assert await study.ensure_weekly_items(db, [occurrence], now=NOW) == 0
    assert await study.ensure_weekly_items(db, [(*occurrence[:4], NOW + 1)], now=NOW) == 1
    assert await study.clear_study_day(db, citrus)
    assert not await study.clear_study_day(db, citrus)
    assert await study.get_study_day(db, citrus) is None


async def test_planner_holds_each_study_days_occurrences_without_rewriting_them_each_tick(
    db, branches, monkeypatch
):
    """The weekly occurrences change only with the date or a study day (issue 14: cost per tick)."""
    _, citrus, pigs = branches
    writes: list[int] = []
    ensure = study.ensure_weekly_items

    async def counted(db, occurrences, *, now):
        occurrences = list(occurrences)
        writes.append(len(occurrences))
        return await ensure(db, occurrences, now=now)

    monkeypatch.setattr(study, "ensure_weekly_items", counted)

    async def weekly() -> set[tuple[int, str]]:
        async with db.execute(
            "SELECT branch_id, occurrence_date FROM study_items"
            " WHERE kind = 'weekly' AND withdrawn_at IS NULL"
        ) as cur:
            return {(row[0], row[1]) for row in await cur.fetchall()}

    tuesday = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    # Citrus studies on Tuesdays (ISO weekday 2), from today.
    await study.set_study_day(
        db, branch_id=citrus, weekday=2, remind_at="20:00", starts_on="2026-03-03", set_by=None,
        now=NOW,
    )
    await plan_study(_services(db, tuesday), tuesday)
    assert await weekly() == {(citrus, "2026-03-03")} and len(writes) == 1
    # Idle ticks the same day write nothing.
    for minutes in (1, 2, 30):
        later = tuesday.replace(minute=minutes)
        await plan_study(_services(db, later), later)
    assert len(writes) == 1
    # A study day set meanwhile (here, or through another process) is held at the next tick.
    await study.set_study_day(
        db, branch_id=pigs, weekday=3, remind_at="19:00", starts_on="2026-03-04", set_by=None,
        now=NOW + 60,
    )
    await plan_study(_services(db, tuesday.replace(hour=2)), tuesday.replace(hour=2))
    assert await weekly() == {(citrus, "2026-03-03"), (pigs, "2026-03-04")}
    # Replaced in the same second it was set: the bot stamps the replacement a second later.
    await study.set_study_day(
        db, branch_id=pigs, weekday=2, remind_at="19:00", starts_on="2026-03-03", set_by=None,
        now=NOW + 61,
    )
    await plan_study(_services(db, tuesday.replace(hour=3)), tuesday.replace(hour=3))
    assert (pigs, "2026-03-03") in await weekly()
    writes.clear()
    # A new UTC date: next week's Tuesday comes within reach once the date moves on.
    next_tuesday = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    await plan_study(_services(db, next_tuesday), next_tuesday)
    await plan_study(_services(db, next_tuesday), next_tuesday)
    assert (citrus, "2026-03-10") in await weekly() and len(writes) == 1


async def test_due_rows_are_read_by_index_even_when_the_statistics_say_everything_is_due(
    db, branches
):
    """After a fan-out moved its rows on, stale statistics must not turn idle ticks into scans.

    3,000 rows analysed while unscheduled, then all closed without a new
    ANALYZE: PostgreSQL (autovacuum off here, as it is between its runs)
    expected every one still due and read the whole table and its joins.
    """
    _, citrus, _ = branches
    (item,) = await study.create_items(
        db, branch_ids=[citrus], title="t", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    await db.executemany(
        "INSERT INTO people (id, telegram_id, name, created_at) VALUES (?, ?, ?, 0)",
        [(i, 9000 + i, f"p{i}") for i in range(100, 3100)],
    )
    await db.executemany(
        "INSERT INTO members (id, person_id, branch_id, category, status, requested_at)"
        " VALUES (?, ?, ?, 'regular', 'active', 0)",
        [(i, i, citrus) for i in range(100, 3100)],
    )
    assert await study.add_missing_targets(db, min_due="2026-03-01") == 3000
    if getattr(db, "engine", "sqlite") == "postgresql":
        await db.execute("ALTER TABLE study_targets SET (autovacuum_enabled = false)")
    await db.execute("ANALYZE")
    await db.execute("UPDATE study_targets SET state = 'closed' WHERE item_id = ?", (item.id,))

    plans = await study.due_keys_query_plans(db)
    assert any("study_targets_due" in line for line in plans), plans
    assert not any("Seq Scan" in line or line.startswith("SCAN") for line in plans), plans
    assert await study.due_targets(db, int(datetime(2026, 3, 3, tzinfo=UTC).timestamp())) == []
    # What is due is still found, with its member's details.
    await db.execute(
        "UPDATE study_targets SET state = 'waiting', next_at = ? WHERE member_id IN (100, 101)",
        (NOW,),
    )
    due = await study.due_targets(db, NOW)
    assert sorted((row.member_id, row.telegram_id) for row in due) == [(100, 9100), (101, 9101)]


async def test_pairing_and_elderly(db, branches):
    _, citrus, _ = branches
    person = await people.ensure_person(db, telegram_id=5, now=NOW, name="李大爷")
    elderly = await members.add_member(
        db, person_id=person.id, branch_id=citrus, category=Category.ELDERLY, place=None,
        invite_id=None, now=NOW,
    )
    await members.decide_member(db, elderly.id, approve=True, decided_by=None, now=NOW)
    _, helper = await _member(db, 6, citrus, "张伟")
    (found,) = await study.elderly_members(db, [citrus])
    assert found.member_id == elderly.id and found.paired_with is None
    # Helpers live in member_helpers since migration 0009 (storage.repositories.helpers).
    pair = {"member_id": elderly.id, "helper_person_id": helper, "now": NOW}
    await helpers.add_helper(db, **pair, kind=helpers.HELPER, added_by=None)
    assert [c.member_id for c in await study.paired_members(db, helper)] == [elderly.id]
    await helpers.remove_helper(db, **pair)
    assert await study.paired_members(db, helper) == []


# ---------------------------------------------------------------- the planner on this database


def _services(db, moment: datetime) -> Services:
    return Services(settings=Settings(), clock=FakeClock(moment), db=db)


async def test_planner_sends_each_occurrence_once_and_never_early(db, branches):
    _, citrus, _ = branches
    member_id, person_id = await _member(db, 1, citrus, "张伟", timezone="Asia/Shanghai")
    (item,) = await study.create_items(
        db, branch_ids=[citrus], title="学习党章", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    early = datetime(2026, 3, 2, 11, 29, tzinfo=UTC)
    assert await plan_study(_services(db, early), early) == []
    due = datetime(2026, 3, 2, 11, 30, tzinfo=UTC)  # 19:30 in Beijing
    (message,) = await plan_study(_services(db, due), due)
    assert message.dedupe_key == f"study.reminder|m{member_id}|{item.id}|0"
    assert (message.kind, message.person_id, message.chat_id) == ("study.reminder", person_id, 1)
    assert message.due_at == int(due.timestamp())
    assert message.expires_at == int(datetime(2026, 3, 8, 16, tzinfo=UTC).timestamp())
    assert "学习党章" in message.text
    assert message.reply_markup["inline_keyboard"][0][0]["callback_data"] == f"study:done:{item.id}"

    # Not yet in the outbox (a crash before enqueueing): planned again, same key.
    again = await plan_study(_services(db, due), due)
    assert [m.dedupe_key for m in again] == [message.dedupe_key]
    await outbox.enqueue(db, again, now=int(due.timestamp()))
    # Once in the outbox, the next is the first follow-up, a day later.
    assert await plan_study(_services(db, due), due) == []
    next_day = datetime(2026, 3, 3, 11, 30, tzinfo=UTC)
    (followup,) = await plan_study(_services(db, next_day), next_day)
    assert followup.dedupe_key == f"study.followup|m{member_id}|{item.id}|1"


async def test_planner_skips_members_who_answered_or_left(db, branches):
    _, citrus, _ = branches
    answered, person_id = await _member(db, 1, citrus, "张伟")
    leaver, _ = await _member(db, 2, citrus, "王芳")
    (item,) = await study.create_items(
        db, branch_ids=[citrus], title="t", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    await study.record_answer(db, item.id, answered, status="done", entered_by=person_id,
                              now=NOW)
    await members.end_membership(db, leaver, MemberStatus.LEFT, NOW)
    due = datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    assert await plan_study(_services(db, due), due) == []


@sqlite_only("counts statements with SQLite's trace callback")
async def test_missing_targets_read_only_branches_something_arrived_in(db, branches):
    _, citrus, pigs = branches
    first, _ = await _member(db, 1, citrus, "张伟")
    (item,) = await study.create_items(
        db, branch_ids=[citrus], title="t", body="b", due_date="2026-03-08",
        remind_at={citrus: "19:30"}, created_by=None, now=NOW,
    )
    assert await study.add_missing_targets(db, min_due="2026-03-01") == 1

    # Nothing arrived since: an idle call does not read items or members at all.
    statements: list[str] = []
    await db.set_trace_callback(statements.append)
    assert await study.add_missing_targets(db, min_due="2026-03-01") == 0
    await db.set_trace_callback(None)
    assert not any("study_items" in s or "members" in s for s in statements), statements

    # A member approved into the branch, or moved into it, gets the open item.
    joined, _ = await _member(db, 2, citrus, "王芳")
    moved, _ = await _member(db, 3, pigs, "李明")
    assert await study.add_missing_targets(db, min_due="2026-03-01") == 1
    await life_changes.move_branch(db, moved, citrus)
    assert await study.add_missing_targets(db, min_due="2026-03-01") == 1
    assert {m.member_id for m in await study.unanswered_members(db, item.id)} == {
        first, joined, moved,
    }


async def test_planner_reads_only_the_due_branches_units(db, monkeypatch):
    # The zone comes from the committee two levels up; a sibling branch elsewhere.
    cursor = await db.execute(
        "INSERT INTO units (key, parent_id, level, name, kind, timezone, created_at, updated_at)"
        " VALUES ('ny', NULL, 'committee', 'ny', 'township', 'America/New_York', 0, 0)"
    )
    general = await _unit(db, "queens", cursor.lastrowid, level="general_branch")
    branch = await _unit(db, "astoria", general)
    await _unit(db, "elsewhere", await _unit(db, "other", level="general_branch"))
    await _member(db, 1, branch, "张伟")
    await study.create_items(
        db, branch_ids=[branch], title="学习党章", body="b", due_date="2026-03-08",
        remind_at={branch: "19:30"}, created_by=None, now=NOW,
    )

    # Planning reads the due branches and the units above them, never the whole
    # tree (a province's 55,000 units took 0.5 s a tick on PostgreSQL).
    async def whole_tree(_db):
        raise AssertionError("the study planner read every unit")

    monkeypatch.setattr(units, "list_units", whole_tree)
    beijing = datetime(2026, 3, 2, 11, 30, tzinfo=UTC)  # 19:30 in the default zone
    assert await plan_study(_services(db, beijing), beijing) == []
    new_york = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # 19:30 in the committee's zone
    (message,) = await plan_study(_services(db, new_york), new_york)
    assert message.due_at == int(new_york.timestamp())


async def test_with_ancestors_returns_the_units_and_those_above(db, branches):
    general, citrus, pigs = branches
    other = await _unit(db, "other", level="general_branch")
    far = await _unit(db, "far", other)
    assert [u.id for u in await units.with_ancestors(db, [citrus, citrus])] == [general, citrus]
    assert [u.id for u in await units.with_ancestors(db, [pigs, far])] == sorted(
        [general, pigs, other, far])
    assert await units.with_ancestors(db, []) == []
