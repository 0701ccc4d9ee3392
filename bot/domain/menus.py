"""Which commands a user may use, from their actual roles: one rule for /help and the menu.

    roles = Roles(has_person=True, member=True)
    allowed_commands(roles)          # ("start", "help", "me", "language", ..., "pledges")
    keep_allowed_lines(text, {"me"}) # drops the help lines of other commands

An admin or a secretary who is not a member of a branch gets no member
commands (/leave, /away, /mypledges, /moving ...); /checkin and /helpfor are
shown to leaders and to 帮学人 and 联系人 (who need not be members).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

__all__ = [
    "ADMIN_ONLY",
    "EVERYONE",
    "HELPER",
    "LEADER",
    "MEMBER",
    "PERSON",
    "Roles",
    "allowed_commands",
    "keep_allowed_lines",
]

# Who may use each command (the menu shows them in this order).
EVERYONE = ("start", "help", "language")
PERSON = ("me", "forget")  # anyone with stored data may see and delete it
MEMBER = (
    "timezone", "away", "leave", "mypledges", "pledges", "households", "mymeetings", "attend",
    "posts", "campaign", "moving", "transfer", "buttons",
)
# 帮学人 and 联系人: a 联系人 is no member, so these must not depend on MEMBER.
HELPER = ("helpfor", "checkin", "households")
LEADER = (
    "members", "pending", "invite", "invites", "revoke", "remove", "org",
    "digest", "export", "study", "studies", "studyday", "checkin", "pair", "mobile", "pledges",
    "addmember", "offline", "households", "household", "meeting", "meetings",
    "post", "posts", "campaign", "gongshi", "elderly",
)
ADMIN_ONLY = ("appoint",)
_ORDER = (
    "start", "help", "me", "language", "timezone", "away", "moving", "transfer", "buttons",
    "leave", "forget", "mypledges", "pledges", "helpfor", "members", "pending", "invite",
    "invites", "revoke", "remove", "org", "digest", "export", "study", "studies", "studyday",
    "checkin", "pair", "elderly", "mobile", "addmember", "offline", "households", "household",
    "meeting", "meetings", "mymeetings", "attend", "post", "posts", "campaign", "gongshi",
    "appoint",
)

# A help line about a command starts with it: "/leave — …".
_COMMAND_LINE = re.compile(r"^\s*/([a-z_]+)")


@dataclass(frozen=True, slots=True)
class Roles:
    """What a user is: stored at all, a registered member, a 帮学人, a leader, an admin."""

    has_person: bool = False
    member: bool = False
    helper: bool = False
    leader: bool = False
    admin: bool = False


def allowed_commands(roles: Roles) -> tuple[str, ...]:
    """Return the commands these roles may use, each once, in menu order."""
    allowed = set(EVERYONE)
    if roles.has_person or roles.member:
        allowed.update(PERSON)
    if roles.member:
        allowed.update(MEMBER)
    if roles.helper:
        allowed.update(HELPER)
    if roles.leader or roles.admin:
        allowed.update(LEADER)
    if roles.admin:
        allowed.update(ADMIN_ONLY)
    return tuple(name for name in _ORDER if name in allowed)


def keep_allowed_lines(text: str, allowed: Collection[str]) -> str:
    """Return a help section without the lines of commands not in `allowed` ("" if none is left)."""
    kept: list[str] = []
    commands = 0
    for line in text.split("\n"):
        match = _COMMAND_LINE.match(line)
        if match is None:
            kept.append(line)
        elif match.group(1) in allowed:
            kept.append(line)
            commands += 1
    return "\n".join(kept) if commands else ""
