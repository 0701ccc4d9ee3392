"""The tree helpers walk, search and draw a flat list of units."""

from __future__ import annotations

import pytest

from bot.domain.models import Level, Unit
from bot.domain.tree import (
    ancestors,
    branches_under,
    children_of,
    descendants,
    render_tree,
    walk,
)
from bot.errors import NotFound

C, G, B = Level.COMMITTEE, Level.GENERAL_BRANCH, Level.BRANCH

# Ids deliberately out of name order: siblings must come in id (file) order.
UNITS = [
    Unit(1, "xianshui", None, C, "咸水乡党委", "township"),
    Unit(2, "renhe", 1, G, "人和村党总支部", "village"),
    Unit(3, "citrus", 2, B, "脐橙种植党支部", "industry"),
    Unit(4, "pigs", 2, B, "生猪养殖党支部", "industry"),
    Unit(5, "agri", 1, B, "农业党支部", "department"),
    Unit(6, "longshui", None, C, "龙水镇党委", "township"),
    Unit(7, "tingzijiang", 6, G, "亭子江村党总支部", "village"),
    Unit(8, "sunset", 7, B, "夕阳红党支部", "elderly"),
]


def ids(units: list[Unit]) -> list[int]:
    return [unit.id for unit in units]


def test_children_in_insertion_order_and_roots_for_none() -> None:
    assert ids(children_of(UNITS, 1)) == [2, 5]
    assert ids(children_of(UNITS, None)) == [1, 6]
    assert children_of(UNITS, 8) == []


def test_descendants_in_tree_order_without_the_unit() -> None:
    assert ids(descendants(UNITS, 1)) == [2, 3, 4, 5]
    assert descendants(UNITS, 3) == []


def test_ancestors_nearest_first() -> None:
    assert ids(ancestors(UNITS, 3)) == [2, 1]
    assert ids(ancestors(UNITS, 5)) == [1]
    assert ancestors(UNITS, 1) == []


def test_branches_under_includes_a_branch_itself() -> None:
    assert ids(branches_under(UNITS, 1)) == [3, 4, 5]
    assert ids(branches_under(UNITS, 7)) == [8]
    assert ids(branches_under(UNITS, 4)) == [4]


def test_unknown_unit_is_not_found() -> None:
    with pytest.raises(NotFound):
        ancestors(UNITS, 99)
    with pytest.raises(NotFound):
        children_of(UNITS, 99)


def test_order_ignores_list_order() -> None:
    shuffled = list(reversed(UNITS))
    assert [(d, u.id) for d, u in walk(shuffled)] == [(d, u.id) for d, u in walk(UNITS)]


def test_render_tree_draws_branches_and_continuations() -> None:
    assert render_tree(UNITS) == [
        "咸水乡党委",
        "├─ 人和村党总支部",
        "│  ├─ 脐橙种植党支部",
        "│  └─ 生猪养殖党支部",
        "└─ 农业党支部",
        "龙水镇党委",
        "└─ 亭子江村党总支部",
        "   └─ 夕阳红党支部",
    ]


def test_render_subtree_with_custom_label() -> None:
    lines = render_tree(UNITS, root_ids=[2], label=lambda u: u.key)
    assert lines == ["renhe", "├─ citrus", "└─ pigs"]


def test_a_unit_whose_parent_is_missing_is_a_root() -> None:
    subset = [u for u in UNITS if u.id in (2, 3, 4)]
    assert render_tree(subset)[0] == "人和村党总支部"
    assert ids(children_of(subset, None)) == [2]
