"""Who sees which of a member's data: the table the consent text and /me state.

    WHO_SEES["place"]        # ("self", "branch_leaders", "higher_leaders", "admins")
    sees("branch_members", "pledges_approved")   # True: approved pledges are public

It is read off the permission rules, not a promise beside them: every leader
command (/members, /mobile, /pledges, /digest, /export, /studies, /checkin)
asks bot.domain.permissions.can_manage_branch, which is true for a secretary
or committee member of the branch or of any unit above it, and for admins;
approved pledges are shown by /pledges to every member of the branch; a
helper (帮学人 paired by /pair, from any branch of the same committee, or a
联系人 registered through a helper link) acts for the members they were given
and sees what acting needs: their study items, pledges, reports, ratings,
whereabouts asks and meeting notices (bot.domain.helpers.may_act_for), never a roster.
tests/unit/test_visibility.py ties each row to those functions;
docs/threat-model.md states the same table.
"""

from __future__ import annotations

__all__ = ["DATA", "ROLES", "WHO_SEES", "sees"]

# Who can be a viewer, in the order the catalogue names them.
ROLES = (
    "self",
    "branch_leaders",  # the branch's secretary and committee members (支委委员)
    "higher_leaders",  # secretaries and committee members of the 党总支 / 党委 above
    "admins",  # the Telegram ids in [general].admins
    "branch_members",  # every active member of the same branch
    "helper",  # a 帮学人 or 联系人 the secretary gave the member (/pair, helper link)
)

_LEADERS = ("self", "branch_leaders", "higher_leaders", "admins")

# Each kind of data a member has, and who sees it.
WHO_SEES: dict[str, tuple[str, ...]] = {
    # Name and category: on every roster, digest and ledger; a helper sees the name.
    "name": (*_LEADERS, "helper"),
    "place": _LEADERS,  # place and time zone (/members, /mobile, the ledger)
    # Study answers and excuse reasons (digest details, the ledger); a helper
    # sees the items the member has not answered, to check in for them.
    "study": (*_LEADERS, "helper"),
    "pledges_approved": (*_LEADERS, "branch_members"),  # public (公开) once approved
    # Drafts, monthly reports (践诺), ratings (评诺): a helper enters them for the member.
    "pledges_other": (*_LEADERS, "helper"),
    # A mobile member's answers and days without contact: a helper confirms them.
    "whereabouts": (*_LEADERS, "helper"),
    # Meeting notices, replies (请假 reasons), attendance and 学时: the member's
    # leaders confirm attendance; a helper receives a phone-less member's notices,
    # answers them and marks attendance (handlers/meetings: is_helper_of). A meeting
    # of another branch the member chose to attend (/attend) is seen by its leaders too.
    "meetings": (*_LEADERS, "helper"),
    # Posts and 评比 (handlers/posts.py, campaigns.py): the post a member holds,
    # nominations of them with their reasons and the stars chosen are shown to
    # the branch (a 评比 opened above: to the branches beneath); 履岗 reports
    # only to leaders and the helper who enters them; a vote to nobody at all.
    "posts_campaigns": (*_LEADERS, "branch_members", "helper"),
    # 结对帮扶 visits and contact attempts (calls, visits; the place found stays
    # with leaders): a helper records them for the member.
    "households_contact": (*_LEADERS, "helper"),
    # Who may enter a record for the member (代为登记), named on the record.
    "acts_for": ("branch_leaders", "higher_leaders", "admins", "helper"),
}

DATA = tuple(WHO_SEES)


def sees(role: str, data: str) -> bool:
    """Tell whether someone in `role` sees (or, for "acts_for", may enter) this data."""
    return role in WHO_SEES[data]
