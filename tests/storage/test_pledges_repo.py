"""Pledge and whereabouts repositories against a migrated in-memory database."""

from __future__ import annotations

import aiosqlite
import pytest

from bot.domain.models import Category
from bot.domain.outgoing import OutgoingMessage
from bot.domain.pledges import ParsedPledge
from storage.repositories import members, outbox, people, whereabouts
from storage.repositories import pledges as repo
from tests.pg import sqlite_only

NOW = 1_770_000_000


async def _branch(db: aiosqlite.Connection, key: str = "b1", timezone: str | None = None) -> int:
    cursor = await db.execute(
        "INSERT INTO units (key, level, name, kind, timezone, created_at, updated_at)"
        " VALUES (?, 'branch', ?, 'mobile', ?, 0, 0)",
        (key, f"支部{key}", timezone),
    )
    return cursor.lastrowid or 0


async def _member(
    db: aiosqlite.Connection,
    branch_id: int,
    telegram_id: int,
    name: str,
    category: Category = Category.REGULAR,
    *,
    place: str | None = None,
    timezone: str | None = None,
) -> int:
    person = await people.ensure_person(
        db, telegram_id=telegram_id, now=NOW, name=name, timezone=timezone
    )
    member = await members.add_member(
        db,
        person_id=person.id,
        branch_id=branch_id,
        category=category,
        place=place,
        invite_id=None,
        now=NOW,
    )
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=NOW)
    return member.id


@pytest.fixture
async def member_id(db: aiosqlite.Connection) -> int:
    return await _member(db, await _branch(db), 2001, "张伟")


async def test_draft_submit_return_fix_approve(db: aiosqlite.Connection, member_id: int) -> None:
    first = await repo.add_pledge(
        db, member_id=member_id, year=2026, parsed=ParsedPledge("带动5户", 5.0, "户"), now=NOW
    )
    second = await repo.add_pledge(
        db, member_id=member_id, year=2026, parsed=ParsedPledge("学习党章"), now=NOW + 1
    )
    assert first.status == "draft" and first.target == 5.0 and first.unit == "户"
    assert await repo.count_pledges(db, member_id, 2026) == 2

    assert await repo.submit_pledges(db, member_id=member_id, year=2026, now=NOW + 2) == [
        first.id,
        second.id,
    ]
    # Submitted pledges are locked for the member.
    assert not await repo.update_pledge_text(db, first.id, ParsedPledge("x"), NOW + 3)
    assert not await repo.delete_pledge(db, first.id)

    assert await repo.decide_pledge(db, first.id, approve=True, by=None, now=NOW + 4)
    assert await repo.decide_pledge(
        db, second.id, approve=False, by=None, now=NOW + 4, comment="请写具体"
    )
    assert not await repo.decide_pledge(db, first.id, approve=False, by=None, now=NOW + 5)
    returned = await repo.get_pledge(db, second.id)
    assert returned is not None and returned.status == "returned"
    assert returned.return_comment == "请写具体" and returned.is_editable

    assert await repo.update_pledge_text(
        db, second.id, ParsedPledge("学习党章", 12.0, "次"), NOW + 6
    )
    assert await repo.submit_pledges(db, member_id=member_id, year=2026, now=NOW + 7) == [second.id]
    resubmitted = await repo.get_pledge(db, second.id)
    assert resubmitted is not None and resubmitted.return_comment is None
    assert resubmitted.target == 12.0
    assert await repo.decide_pledge(db, second.id, approve=True, by=None, now=NOW + 8)
    listed = await repo.member_pledges(db, member_id, 2026)
    assert [p.status for p in listed] == ["approved", "approved"]
    assert await repo.members_with_pledges(db, 2026) == {member_id}
    assert [p.id for p in await repo.approved_pledges(db, [2025, 2026])] == [first.id, second.id]


async def test_delete_only_drafts(db: aiosqlite.Connection, member_id: int) -> None:
    pledge = await repo.add_pledge(
        db, member_id=member_id, year=2026, parsed=ParsedPledge("x"), now=NOW
    )
    assert await repo.delete_pledge(db, pledge.id)
    assert await repo.get_pledge(db, pledge.id) is None


async def test_reports_upsert_keep_number_and_note(
    db: aiosqlite.Connection, member_id: int
) -> None:
    pledge = await repo.add_pledge(
        db, member_id=member_id, year=2026, parsed=ParsedPledge("带动5户", 5.0, "户"), now=NOW
    )
    await repo.save_report_status(db, pledge.id, 202603, "ongoing", now=NOW)
    await repo.save_report_amount(db, pledge.id, 202603, 3.0)
    await repo.save_report_note(db, pledge.id, 202603, "已改造3户")
    await repo.save_report_status(db, pledge.id, 202603, "done", now=NOW + 10)
    report = await repo.get_report(db, pledge.id, 202603)
    assert report is not None
    assert (report.status, report.amount, report.note, report.reported_at) == (
        "done",
        3.0,
        "已改造3户",
        NOW + 10,
    )
    await repo.save_report_status(db, pledge.id, 202604, "not_started", now=NOW)
    assert [r.month for r in await repo.reports_for(db, [pledge.id])] == [202603, 202604]
    assert [r.month for r in await repo.reports_for(db, [pledge.id], 202604)] == [202604]
    assert await repo.reports_for(db, []) == []


async def test_ratings(db: aiosqlite.Connection, member_id: int) -> None:
    pledge = await repo.add_pledge(
        db, member_id=member_id, year=2026, parsed=ParsedPledge("x"), now=NOW
    )
    # Only approved pledges are rated.
    assert not await repo.set_self_rating(db, pledge.id, "good", NOW)
    await repo.submit_pledges(db, member_id=member_id, year=2026, now=NOW)
    await repo.decide_pledge(db, pledge.id, approve=True, by=None, now=NOW)
    assert await repo.set_self_rating(db, pledge.id, "good", NOW)
    assert await repo.set_self_rating(db, pledge.id, "fair", NOW)
    assert await repo.set_secretary_rating(db, pledge.id, "average", by=None, now=NOW)
    await repo.set_secretary_comment(db, pledge.id, "继续努力")
    # Once the secretary has rated, the member's own rating is final.
    assert not await repo.set_self_rating(db, pledge.id, "good", NOW)
    rated = await repo.get_pledge(db, pledge.id)
    assert rated is not None
    assert (rated.self_rating, rated.secretary_rating, rated.secretary_comment) == (
        "fair",
        "average",
        "继续努力",
    )
    with pytest.raises(aiosqlite.IntegrityError):
        await repo.set_secretary_rating(db, pledge.id, "excellent", by=None, now=NOW)


async def test_planner_reads(db: aiosqlite.Connection) -> None:
    branch = await _branch(db, "b1", "Asia/Shanghai")
    regular = await _member(db, branch, 2001, "张伟")
    mobile = await _member(
        db, branch, 2002, "王芳", Category.MOBILE, place="深圳", timezone="Europe/Madrid"
    )
    found = await repo.active_members(db)
    assert [m.member_id for m in found] == [regular, mobile]
    assert found[0].timezone == "Asia/Shanghai"  # the branch's zone when the person has none
    assert found[1].timezone == "Europe/Madrid"
    assert [m.member_id for m in await repo.active_members(db, category="mobile")] == [mobile]
    rows = await repo.branch_pledges(db, branch, 2026)
    assert [(r.name, r.pledges) for r in rows] == [("张伟", ()), ("王芳", ())]


async def test_known_outbox_keys(db: aiosqlite.Connection) -> None:
    message = OutgoingMessage(
        dedupe_key="k1", kind="x", person_id=None, chat_id=1, text="t", due_at=NOW
    )
    await outbox.enqueue(db, [message], now=NOW)
    keys = [f"k{i}" for i in range(1200)]
    assert await outbox.known_keys(db, keys) == {"k1"}


async def test_whereabouts_register(db: aiosqlite.Connection) -> None:
    branch = await _branch(db)
    mobile = await _member(db, branch, 2002, "王芳", Category.MOBILE, place="深圳")
    await _member(db, branch, 2001, "张伟")
    [row] = await whereabouts.mobile_members(db)
    assert (row.member_id, row.place, row.confirmed_at, row.last_contact_at) == (
        mobile,
        "深圳",
        None,
        NOW,
    )
    await whereabouts.record_answer(
        db, member_id=mobile, kind="confirmed", place="深圳", timezone="Asia/Shanghai", now=NOW + 10
    )
    await whereabouts.record_answer(
        db, member_id=mobile, kind="moved", place="马德里", timezone="Europe/Madrid", now=NOW + 20
    )
    assert await whereabouts.last_answer_at(db, mobile) == NOW + 20
    [row] = await whereabouts.mobile_members(db, [branch])
    assert row.confirmed_at == NOW + 20
    assert await whereabouts.mobile_members(db, []) == []


@sqlite_only("asserts SQLite's EXPLAIN QUERY PLAN")
async def test_planner_queries_use_indexes(db: aiosqlite.Connection) -> None:
    plans = {
        "SELECT id FROM pledges WHERE year = 2026 AND status = 'approved'": "pledges_year_status",
        "SELECT pledge_id FROM pledge_reports WHERE month = 202603": "pledge_reports_month",
        "SELECT id FROM members WHERE status = 'active' AND category = 'mobile'": (
            "members_status_category"
        ),
        "SELECT MAX(at) FROM whereabouts_log WHERE member_id = 1": "whereabouts_member_at",
    }
    for sql, index in plans.items():
        async with db.execute("EXPLAIN QUERY PLAN " + sql) as cur:
            detail = " ".join(row[3] for row in await cur.fetchall())
        assert index in detail, (sql, detail)
