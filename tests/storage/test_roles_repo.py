"""Roles: who leads a unit, and who is the nearest leader to tell about a branch."""

from __future__ import annotations

from pathlib import Path

from bot.org_file import parse_org_file
from storage.repositories import people, roles, units

COUNTY = Path(__file__).resolve().parents[2] / "bot" / "data" / "county.toml"


async def _county(db):
    await units.upsert_units(db, parse_org_file(COUNTY), now=0, actor="test")
    return {unit.key: unit for unit in await units.list_units(db)}


async def test_nearest_leaders_is_the_branch_secretary_when_there_is_one(db):
    tree = await _county(db)
    leaders = await roles.nearest_leaders(db, tree["renhe-citrus"].id)
    assert [telegram_id for _, telegram_id, _ in leaders] == [910003]


async def test_nearest_leaders_walks_up_past_a_branch_without_secretary(db):
    tree = await _county(db)
    citrus = tree["renhe-citrus"]
    await db.execute("DELETE FROM roles WHERE unit_id = ?", (citrus.id,))
    leaders = await roles.nearest_leaders(db, citrus.id)
    assert [telegram_id for _, telegram_id, _ in leaders] == [910002]  # 人和村党总支部
    await db.execute("DELETE FROM roles WHERE unit_id = ?", (tree["renhe"].id,))
    leaders = await roles.nearest_leaders(db, citrus.id)
    assert [telegram_id for _, telegram_id, _ in leaders] == [910001]  # 咸水乡党委


async def test_nearest_leaders_skips_leaders_not_on_telegram_and_can_include_committee(db):
    tree = await _county(db)
    pigs = tree["renhe-pigs"]
    member = await people.ensure_person(db, telegram_id=930001, now=0, name="委员")
    await roles.appoint(db, unit_id=pigs.id, person_id=member.id, role="committee",
                        appointed_by=None, now=0)
    both = await roles.nearest_leaders(db, pigs.id, ("secretary", "committee"))
    assert sorted(telegram_id for _, telegram_id, _ in both) == [910004, 930001]
    await db.execute("UPDATE people SET telegram_id = NULL WHERE telegram_id = 910004")
    assert [t for _, t, _ in await roles.nearest_leaders(db, pigs.id)] == [910002]
    assert await roles.nearest_leaders(db, 99999) == []
