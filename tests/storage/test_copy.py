"""`branchbot db copy SQLITE_FILE postgresql://…` (issue 15): a county's rows move over, counted."""

from __future__ import annotations

import asyncio

import pytest

from bot.__main__ import main
from bot.domain.models import Category
from bot.domain.outgoing import OutgoingMessage
from bot.domain.pledges import ParsedPledge
from storage.db import open_database
from storage.migrate import migrate
from storage.repositories import members, outbox, people, pledges, whereabouts
from tests.pg import fresh_schema, server_url

needs_postgres = pytest.mark.skipif(server_url() is None, reason="needs BRANCHBOT_TEST_DATABASE")

NOW = 1_770_000_000


async def _county(path) -> None:
    db = await open_database(path)
    await migrate(db)
    cursor = await db.execute(
        "INSERT INTO units (key, level, name, kind, created_at, updated_at)"
        " VALUES ('b1', 'branch', '流动党员党支部', 'mobile', 0, 0)"
    )
    branch = cursor.lastrowid
    for n in range(30):
        person = await people.ensure_person(db, telegram_id=1000 + n, now=NOW, name=f"党员{n}",
                                            timezone="Asia/Shanghai")
        member = await members.add_member(db, person_id=person.id, branch_id=branch,
                                          category=Category.MOBILE, place="深圳",
                                          invite_id=None, now=NOW)
        await members.decide_member(db, member.id, approve=True, decided_by=None, now=NOW)
        await pledges.add_pledge(db, member_id=member.id, year=2026,
                                 parsed=ParsedPledge("带动5户", 5.0, "户"), now=NOW)
        await whereabouts.record_answer(db, member_id=member.id, kind="moved", place="深圳",
                                        timezone="Asia/Shanghai", now=NOW)
        await outbox.enqueue(db, [OutgoingMessage(
            dedupe_key=f"where.ask|m{member.id}", kind="where.ask", person_id=person.id,
            chat_id=1000 + n, text="📍 您还在深圳吗？", due_at=NOW)], now=NOW)
    await db.close()


async def _counts(url: str) -> dict[str, int]:
    db = await open_database(url)
    try:
        found = {}
        for table in ("units", "people", "members", "pledges", "whereabouts_log", "outbox",
                      "member_schedule"):
            async with db.execute(f"SELECT COUNT(*) FROM {table}") as cursor:
                found[table] = (await cursor.fetchone())[0]
        # The planner starts from fresh statistics, not autovacuum's later ones.
        async with db.execute(
            "SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = current_schema()"
            " AND relname IN ('members', 'people', 'outbox') AND last_analyze IS NOT NULL"
        ) as cursor:
            found["analysed"] = (await cursor.fetchone())[0]
        # New rows continue after the copied ids.
        person = await people.ensure_person(db, telegram_id=99, now=NOW, name="新人")
        found["next_person_id"] = person.id
        return found
    finally:
        await db.close()


@needs_postgres
def test_copy_moves_every_row_and_says_how_many(tmp_path, capsys):
    source = tmp_path / "county.sqlite3"
    asyncio.run(_county(source))

    async def copy_and_count() -> tuple[int, dict[str, int], int]:
        async with fresh_schema(server_url()) as url:
            status = await asyncio.to_thread(main, ["db", "copy", str(source), url])
            again = await asyncio.to_thread(main, ["db", "copy", str(source), url])
            return status, await _counts(url), again

    status, counts, again = asyncio.run(copy_and_count())
    out, err = capsys.readouterr()
    assert status == 0
    assert counts == {"units": 1, "people": 30, "members": 30, "pledges": 30,
                      "whereabouts_log": 30, "outbox": 30,
                      # three planners schedule each member: pledges, whereabouts, contact ladder
                      "member_schedule": 90,
                      "analysed": 3, "next_person_id": 31}
    assert "people：30 行" in out and "两边行数一致" in out
    # A second copy would merge two counties' rows: refused, nothing changed.
    assert again == 2
    assert err.strip().startswith("branchbot: 目标数据库的 ")
    assert err.strip().endswith(" 表已有数据，未复制任何内容；请复制到空库")


def test_copy_refuses_a_target_that_is_not_postgresql(tmp_path, capsys):
    assert main(["db", "copy", str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3")]) == 2
    assert "postgresql://" in capsys.readouterr().err
