"""Walk the organisation tree held as a flat list of Units.

    ancestors(units, branch_id)        # [general branch, committee]
    branches_under(units, committee_id)
    print("\\n".join(render_tree(units)))

Siblings come in insertion (id) order, so the tree reads in the order of the
organisation file it was imported from.  A unit whose parent is not in the
list counts as a root, so a subtree can be walked or drawn on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from bot.domain.models import Level, Unit
from bot.errors import NotFound

__all__ = [
    "ancestors",
    "branches_under",
    "children_of",
    "descendants",
    "render_tree",
    "walk",
]


class _Index:
    """Units by id and children by parent id, each list in id order."""

    def __init__(self, units: Iterable[Unit]) -> None:
        self.by_id = {unit.id: unit for unit in units}
        self.children: dict[int | None, list[Unit]] = {}
        for unit in sorted(self.by_id.values(), key=lambda u: u.id):
            parent = unit.parent_id if unit.parent_id in self.by_id else None
            self.children.setdefault(parent, []).append(unit)

    def get(self, unit_id: int) -> Unit:
        try:
            return self.by_id[unit_id]
        except KeyError:
            raise NotFound(f"unit {unit_id}") from None

    def roots(self, root_ids: Sequence[int] | None) -> list[Unit]:
        if root_ids is None:
            return self.children.get(None, [])
        return [self.get(unit_id) for unit_id in root_ids]

    def preorder(self, unit: Unit, depth: int = 0) -> Iterator[tuple[int, Unit]]:
        yield depth, unit
        for child in self.children.get(unit.id, []):
            yield from self.preorder(child, depth + 1)


def children_of(units: Iterable[Unit], unit_id: int | None) -> list[Unit]:
    """Return the direct children of `unit_id` (None: the roots), in id order."""
    index = _Index(units)
    if unit_id is not None:
        index.get(unit_id)
    return list(index.children.get(unit_id, []))


def descendants(units: Iterable[Unit], unit_id: int) -> list[Unit]:
    """Return every unit below `unit_id` in tree order, not the unit itself."""
    index = _Index(units)
    return [unit for _, unit in index.preorder(index.get(unit_id))][1:]


def ancestors(units: Iterable[Unit], unit_id: int) -> list[Unit]:
    """Return the units above `unit_id`, nearest (its parent) first."""
    index = _Index(units)
    found: list[Unit] = []
    unit = index.get(unit_id)
    # The length guard stops a corrupt parent loop from spinning forever.
    while unit.parent_id in index.by_id and len(found) <= len(index.by_id):
        unit = index.by_id[unit.parent_id]
        found.append(unit)
    return found


def branches_under(units: Iterable[Unit], unit_id: int) -> list[Unit]:
    """Return the branches at or below `unit_id` (the unit itself if it is a branch)."""
    index = _Index(units)
    return [unit for _, unit in index.preorder(index.get(unit_id)) if unit.level == Level.BRANCH]


def walk(units: Iterable[Unit], *, root_ids: Sequence[int] | None = None) -> list[tuple[int, Unit]]:
    """Return (depth, unit) pairs in tree order, from the roots or from `root_ids`."""
    index = _Index(units)
    return [pair for root in index.roots(root_ids) for pair in index.preorder(root)]


def render_tree(
    units: Iterable[Unit],
    *,
    root_ids: Sequence[int] | None = None,
    label: Callable[[Unit], str] = lambda unit: unit.name,
) -> list[str]:
    """Return one line per unit, indented with ├─ / └─ drawing, roots flush left."""
    index = _Index(units)
    lines: list[str] = []

    def draw(unit: Unit, prefix: str) -> None:
        children = index.children.get(unit.id, [])
        for position, child in enumerate(children):
            last = position == len(children) - 1
            lines.append(prefix + ("└─ " if last else "├─ ") + label(child))
            draw(child, prefix + ("   " if last else "│  "))

    for root in index.roots(root_ids):
        lines.append(label(root))
        draw(root, "")
    return lines
