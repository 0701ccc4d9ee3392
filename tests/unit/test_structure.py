"""The structure check flags small branches, wrong committee sizes and missing secretaries."""

from __future__ import annotations

from bot.config import StructureSettings
from bot.domain.models import Level, Unit
from bot.domain.structure import (
    COMMITTEE_SIZE,
    NO_SECRETARY,
    SHOULD_BE_JOINT,
    StructureFinding,
    check_structure,
)

C, G, B = Level.COMMITTEE, Level.GENERAL_BRANCH, Level.BRANCH
SEED = StructureSettings()

UNITS = [
    Unit(1, "xianshui", None, C, "咸水乡党委", "township"),
    Unit(2, "renhe", 1, G, "人和村党总支部", "village"),
    Unit(3, "citrus", 2, B, "脐橙种植党支部", "industry"),
    Unit(4, "pigs", 2, B, "生猪养殖党支部", "industry"),
    Unit(5, "joint", 1, B, "非公企业联合党支部", "joint"),
]
ALL = {1, 2, 3, 4, 5}


def rules(findings: list[StructureFinding]) -> list[tuple[str, str]]:
    return [(f.unit_name, f.rule) for f in findings]


def test_a_clean_tree_has_no_findings() -> None:
    # 5 members: secretary only; 12 members: secretary and 2 committee members.
    findings = check_structure(UNITS, {3: 5, 4: 12, 5: 4}, {4: 2}, ALL, SEED)
    assert findings == []


def test_a_branch_under_three_should_be_joint() -> None:
    findings = check_structure(UNITS, {3: 2, 4: 5, 5: 4}, {}, ALL, SEED)
    assert findings == [StructureFinding(3, "脐橙种植党支部", SHOULD_BE_JOINT, 2, 3, 2)]


def test_a_joint_branch_is_not_told_to_be_joint() -> None:
    assert check_structure(UNITS, {3: 5, 4: 5, 5: 2}, {}, ALL, SEED) == []


def test_an_empty_branch_is_not_judged_by_size() -> None:
    # Nobody has registered yet: a count of 0 says nothing about the real branch.
    assert check_structure(UNITS, {}, {}, ALL, SEED) == []


def test_committee_size_both_ways() -> None:
    findings = check_structure(UNITS, {3: 9, 4: 8, 5: 3}, {4: 1}, ALL, SEED)
    assert findings == [
        StructureFinding(3, "脐橙种植党支部", COMMITTEE_SIZE, 9, 2, 0),
        StructureFinding(4, "生猪养殖党支部", COMMITTEE_SIZE, 8, 0, 1),
    ]


def test_no_secretary_at_any_level_and_members_are_totals() -> None:
    findings = check_structure(UNITS, {3: 5, 4: 5, 5: 4}, {}, {3, 4, 5}, SEED)
    assert findings == [
        StructureFinding(1, "咸水乡党委", NO_SECRETARY, 14, 1, 0),
        StructureFinding(2, "人和村党总支部", NO_SECRETARY, 10, 1, 0),
    ]


def test_findings_come_in_tree_order_with_rules_in_order() -> None:
    # Unit 5 is listed first but sits after 2's subtree in the tree.
    units = [UNITS[4], *UNITS[:4]]
    findings = check_structure(units, {3: 1, 4: 10, 5: 5}, {}, {1, 2}, SEED)
    assert rules(findings) == [
        ("脐橙种植党支部", SHOULD_BE_JOINT),
        ("脐橙种植党支部", NO_SECRETARY),
        ("生猪养殖党支部", COMMITTEE_SIZE),
        ("生猪养殖党支部", NO_SECRETARY),
        ("非公企业联合党支部", NO_SECRETARY),
    ]


def test_numbers_come_from_settings() -> None:
    custom = StructureSettings(joint_below=5, small_max=10, small_committee=1, large_committee=4)
    findings = check_structure(UNITS, {3: 4, 4: 10, 5: 11}, {4: 1, 5: 2}, ALL, custom)
    assert findings == [
        StructureFinding(3, "脐橙种植党支部", SHOULD_BE_JOINT, 4, 5, 4),
        StructureFinding(5, "非公企业联合党支部", COMMITTEE_SIZE, 11, 4, 2),
    ]
