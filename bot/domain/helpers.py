"""Who may help whom (issue 11 item 2): helpers under the same committee, and acting for.

    committee = committee_of(units, branch_id)       # the top unit a branch sits under
    helper_branches(units, branch_id)                # where a member's helpers may come from
    may_help(units, member_branch=3, helper_branch=5)  # same committee?
    may_act_for(actor, member_branch=3, is_helper=True, units=units)

A helper is a member of any branch under the same committee as the member, a
leader of the member's branch, or a 联系人 registered through a helper link
(no membership at all).  A helper acts for their own members only; leaders
act for every member of the branches they manage.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.models import Unit
from bot.domain.permissions import Actor, can_manage_branch
from bot.domain.tree import ancestors, branches_under

__all__ = ["committee_of", "helper_branches", "may_act_for", "may_help"]


def committee_of(units: Sequence[Unit], branch_id: int) -> Unit | None:
    """Return the topmost unit above (or at) the branch; None for an unknown branch."""
    by_id = {unit.id: unit for unit in units}
    if branch_id not in by_id:
        return None
    above = ancestors(units, branch_id)
    return above[-1] if above else by_id[branch_id]


def helper_branches(units: Sequence[Unit], branch_id: int) -> list[Unit]:
    """Return the branches a member's helpers may belong to (all under the same committee)."""
    top = committee_of(units, branch_id)
    return branches_under(units, top.id) if top else []


def may_help(units: Sequence[Unit], *, member_branch: int, helper_branch: int) -> bool:
    """Tell whether a member of `helper_branch` may be paired with one of `member_branch`."""
    top = committee_of(units, member_branch)
    return top is not None and top == committee_of(units, helper_branch)


def may_act_for(
    actor: Actor, *, member_branch: int, is_helper: bool, units: Sequence[Unit]
) -> bool:
    """Tell whether the actor may enter records for a member (代为登记)."""
    return is_helper or can_manage_branch(actor, member_branch, units)
