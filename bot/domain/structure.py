"""Check the organisation tree against the structure rules.

    findings = check_structure(units, member_counts, committee_counts,
                               with_secretary, settings.structure)

Rules, with the numbers from `[structure]` (seed defaults in brackets):

- ``should_be_joint``: a branch with fewer than `joint_below` [3] active
  members should be organised as a joint branch (联合党支部).  A branch whose
  kind is already 'joint' is exempt: being joint *is* the remedy the rule
  asks for.  A branch with no active members is skipped as well: the bot only
  counts members who registered, so right after an import every branch would
  read 0 and the finding would be noise rather than news.
- ``committee_size``: a branch of up to `small_max` [8] members should have
  `small_committee` [0] committee members, a larger one `large_committee` [2].
  Both too few and too many are reported (the seed fixes the number).  Not
  checked for a branch already told it should be joint, nor for an empty one.
- ``no_secretary``: a unit at any level without a secretary role.  Higher
  units need one too, because their secretary gets the roll-up digest.  A
  role named in the org file but not yet claimed on Telegram counts: the
  post is filled, the person just has not started the bot.

The findings carry numbers only; the catalogue (or the CLI) words them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from bot.config import StructureSettings
from bot.domain.models import Level, Unit
from bot.domain.tree import walk

__all__ = [
    "COMMITTEE_SIZE",
    "NO_SECRETARY",
    "SHOULD_BE_JOINT",
    "StructureFinding",
    "check_structure",
]

SHOULD_BE_JOINT = "should_be_joint"
COMMITTEE_SIZE = "committee_size"
NO_SECRETARY = "no_secretary"


@dataclass(frozen=True, slots=True)
class StructureFinding:
    """One broken rule at one unit.

    `members` is the unit's active members (for a higher unit, those of all
    branches beneath it).  `expected`/`found`: for should_be_joint the minimum
    members and the members; for committee_size the committee members wanted
    and present; for no_secretary 1 and 0.
    """

    unit_id: int
    unit_name: str
    rule: str
    members: int
    expected: int
    found: int


def check_structure(
    units: Sequence[Unit],
    member_counts: Mapping[int, int],
    committee_counts: Mapping[int, int],
    with_secretary: Set[int],
    settings: StructureSettings,
) -> list[StructureFinding]:
    """Return every broken rule, in tree order, rules in a fixed order per unit."""
    order = [unit for _, unit in walk(units)]
    # Reverse tree order visits children before parents, so one pass totals
    # each unit's members from the branches beneath it.
    totals: dict[int, int] = {}
    for unit in reversed(order):
        totals[unit.id] = totals.get(unit.id, 0) + (
            member_counts.get(unit.id, 0) if unit.level == Level.BRANCH else 0
        )
        if unit.parent_id is not None:
            totals[unit.parent_id] = totals.get(unit.parent_id, 0) + totals[unit.id]

    findings: list[StructureFinding] = []
    for unit in order:
        members = totals[unit.id]
        broken: list[tuple[str, int, int]] = []  # (rule, expected, found)
        if unit.level == Level.BRANCH and members > 0:
            if members < settings.joint_below and unit.kind != "joint":
                broken.append((SHOULD_BE_JOINT, settings.joint_below, members))
            else:
                wanted = (
                    settings.small_committee
                    if members <= settings.small_max
                    else settings.large_committee
                )
                present = committee_counts.get(unit.id, 0)
                if present != wanted:
                    broken.append((COMMITTEE_SIZE, wanted, present))
        if unit.id not in with_secretary:
            broken.append((NO_SECRETARY, 1, 0))
        findings.extend(
            StructureFinding(unit.id, unit.name, rule, members, expected, found)
            for rule, expected, found in broken
        )
    return findings
