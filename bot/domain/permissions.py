"""Who may see and change what: the one permission check every handler uses.

    actor = Actor(telegram_id=1, person_id=5, is_admin=False,
                  led_unit_ids=frozenset({3}), member_branch_ids=frozenset())
    can_manage_branch(actor, branch_id=7, units=units)

A member sees and changes only their own data.  A secretary (or committee
member) of a unit manages every branch at or beneath it.  Admins (ids in the
config) manage everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.models import Level, Unit
from bot.domain.tree import ancestors, branches_under

__all__ = [
    "Actor",
    "can_manage",
    "can_manage_branch",
    "can_manage_unit",
    "is_leader",
    "managed_branch_ids",
    "managed_branches",
    "top_led_units",
]


@dataclass(frozen=True, slots=True)
class Actor:
    """The person behind an update, with what they lead and belong to."""

    telegram_id: int
    person_id: int | None
    is_admin: bool
    led_unit_ids: frozenset[int] = frozenset()
    member_branch_ids: frozenset[int] = frozenset()
    language: str = "zh"
    name: str | None = None


def is_leader(actor: Actor) -> bool:
    """Tell whether the actor leads any unit or is an admin."""
    return actor.is_admin or bool(actor.led_unit_ids)


def managed_branch_ids(actor: Actor, units: Sequence[Unit]) -> set[int]:
    """Return the ids of every branch the actor may manage."""
    if actor.is_admin:
        return {unit.id for unit in units if unit.level == "branch"}
    managed: set[int] = set()
    for unit_id in actor.led_unit_ids:
        managed.update(u.id for u in branches_under(units, unit_id))
    return managed


def managed_branches(actor: Actor, units: Sequence[Unit]) -> list[Unit]:
    """Return the branches the actor may manage, in the order of `units` (the tree file's)."""
    ids = managed_branch_ids(actor, units)
    return [unit for unit in units if unit.id in ids]


def can_manage_branch(actor: Actor, branch_id: int, units: Sequence[Unit]) -> bool:
    """Tell whether the actor may read and change the branch's members and records."""
    return branch_id in managed_branch_ids(actor, units)


def can_manage_unit(actor: Actor, unit_id: int, units: Sequence[Unit]) -> bool:
    """Tell whether the actor leads `unit_id` or a unit above it (admins: any)."""
    if actor.is_admin:
        return True
    by_id = {unit.id: unit for unit in units}
    current = by_id.get(unit_id)
    while current is not None:
        if current.id in actor.led_unit_ids:
            return True
        current = by_id.get(current.parent_id) if current.parent_id is not None else None
    return False


def can_manage(actor: Actor, unit: Unit, units: Sequence[Unit]) -> bool:
    """Tell whether the actor may manage `unit`: a branch, or a higher unit and all beneath it."""
    if unit.level == Level.BRANCH:
        return can_manage_branch(actor, unit.id, units)
    return can_manage_unit(actor, unit.id, units)


def top_led_units(actor: Actor, units: Sequence[Unit]) -> list[Unit]:
    """Return the units the actor leads that are not beneath another unit they lead."""
    led = [unit for unit in units if unit.id in actor.led_unit_ids]
    return [
        unit for unit in led
        if not any(above.id in actor.led_unit_ids for above in ancestors(units, unit.id))
    ]
