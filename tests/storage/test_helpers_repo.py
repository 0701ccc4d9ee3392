"""The helpers repository (issue 11 item 2) and migration 0009's move of members.paired_with."""

from __future__ import annotations

from bot.domain.models import Category
from storage import migrate as migrate_module
from storage.db import open_database
from storage.migrate import available_migrations, migrate
from storage.repositories import helpers, members, people

NOW = 1_772_413_200


async def _branch(db, key: str) -> int:
    cursor = await db.execute(
        "INSERT INTO units (key, parent_id, level, name, kind, timezone, created_at, updated_at)"
        " VALUES (?, NULL, 'branch', ?, 'village', NULL, 0, 0)",
        (key, key),
    )
    return cursor.lastrowid


async def _member(db, telegram_id: int | None, branch: int, name: str) -> tuple[int, int]:
    person = await people.ensure_person(db, telegram_id=telegram_id, now=NOW, name=name)
    member = await members.add_member(
        db, person_id=person.id, branch_id=branch, category=Category.ELDERLY, place=None,
        invite_id=None, now=NOW,
    )
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=NOW)
    return member.id, person.id


def _pair(member: int, helper: int) -> dict[str, object]:
    return {"member_id": member, "helper_person_id": helper, "added_by": None, "now": NOW}


async def test_a_member_has_several_helpers_and_a_removed_one_is_gone(db) -> None:
    branch = await _branch(db, "b1")
    elderly, _ = await _member(db, 1, branch, "王秀英")
    _, helper = await _member(db, 2, branch, "李明")
    _, other = await _member(db, 3, branch, "张华")
    assert await helpers.add_helper(db, **_pair(elderly, helper), kind=helpers.HELPER)
    assert not await helpers.add_helper(db, **_pair(elderly, helper), kind=helpers.HELPER)
    await helpers.add_helper(db, **_pair(elderly, other), kind=helpers.CONTACT)
    assert {h.name for h in await helpers.helpers_of(db, elderly)} == {"李明", "张华"}
    assert [m.member_id for m in await helpers.members_helped_by(db, helper)] == [elderly]

    assert await helpers.remove_helper(db, member_id=elderly, helper_person_id=helper, now=NOW)
    assert [h.name for h in await helpers.helpers_of(db, elderly)] == ["张华"]
    assert await helpers.members_helped_by(db, helper) == []
    # Added again later: a new current row beside the history.
    assert await helpers.add_helper(db, **_pair(elderly, helper), kind=helpers.HELPER)


async def test_a_helper_link_is_used_once(db) -> None:
    branch = await _branch(db, "b1")
    elderly, _ = await _member(db, 1, branch, "王秀英")
    contact = await people.ensure_person(db, telegram_id=9, now=NOW, name="王小红")
    link = await helpers.new_link(
        db, code="c0de", member_id=elderly, created_by=None, now=NOW, expires_at=NOW + 10
    )
    assert (await helpers.get_link(db, "c0de")).member_id == elderly
    assert await helpers.get_link(db, "nope") is None
    assert await helpers.use_link(db, link.id, contact.id, NOW)
    assert not await helpers.use_link(db, link.id, contact.id, NOW)


async def test_migration_moves_paired_with_into_member_helpers(monkeypatch) -> None:
    every = available_migrations()
    db = await open_database(":memory:")
    try:
        monkeypatch.setattr(migrate_module, "available_migrations", lambda: every[:8])
        await migrate(db)
        branch = await _branch(db, "b1")
        elderly, _ = await _member(db, 1, branch, "王秀英")
        _, helper = await _member(db, 2, branch, "李明")
        await db.execute("UPDATE members SET paired_with = ? WHERE id = ?", (helper, elderly))
        monkeypatch.setattr(migrate_module, "available_migrations", lambda: every)
        assert await migrate(db) == [m.version for m in every[8:]]
        assert [h.person_id for h in await helpers.helpers_of(db, elderly)] == [helper]
    finally:
        await db.close()



async def test_forgetting_a_helper_or_a_member_removes_their_helper_ties(db) -> None:
    from storage.repositories.erasure import Erasure, erase_person

    branch = await _branch(db, "b1")
    elderly, elderly_person = await _member(db, 1, branch, "王秀英")
    other, _ = await _member(db, 3, branch, "张华")
    contact = await people.ensure_person(db, telegram_id=9, now=NOW, name="王小红")
    for member in (elderly, other):
        await helpers.add_helper(db, **_pair(member, contact.id), kind=helpers.CONTACT)
    link = await helpers.new_link(
        db, code="c0de", member_id=elderly, created_by=None, now=NOW, expires_at=NOW + 10
    )
    await helpers.use_link(db, link.id, contact.id, NOW)

    await erase_person(db, Erasure(contact.id, 9, "王小红", "（已删除）", NOW))
    assert await helpers.helpers_of(db, elderly) == []
    assert await helpers.members_helped_by(db, contact.id) == []
    for table in ("member_helpers", "helper_links"):
        assert await db.execute_fetchall(f"SELECT * FROM {table}") == []
    assert (await people.get_person(db, contact.id)).name is None

    _, helper = await _member(db, 2, branch, "李明")
    await helpers.add_helper(db, **_pair(elderly, helper), kind=helpers.HELPER)
    await helpers.add_helper(db, **_pair(other, helper), kind=helpers.HELPER)
    await erase_person(db, Erasure(elderly_person, 1, "王秀英", "（已删除）", NOW))
    assert [m.member_id for m in await helpers.members_helped_by(db, helper)] == [other]
