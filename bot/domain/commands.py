"""Read the arguments of secretary commands.

    parse_invite_args(["renhe-citrus", "14", "5"])
    # InviteArgs(branch_key="renhe-citrus", days=14, uses=5)
    same_name("张  三", "张 三")   # True

Wrong arguments raise InvalidInput with the catalogue key of the reply.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import InvalidInput

__all__ = [
    "MAX_INVITE_DAYS",
    "MAX_INVITE_USES",
    "InviteArgs",
    "check_invite_limits",
    "fold_name",
    "is_number",
    "parse_invite_args",
    "same_name",
]

# The same bounds as the [invites] settings that give the defaults.
MAX_INVITE_DAYS = 365
MAX_INVITE_USES = 100_000


@dataclass(frozen=True, slots=True)
class InviteArgs:
    """What /invite was given: an optional branch key, validity days and use limit."""

    branch_key: str | None
    days: int | None
    uses: int | None


def is_number(text: str) -> bool:
    """Tell whether `text` is a plain ASCII number int() reads (not '²', not '٣', not '-1')."""
    return text.isascii() and text.isdigit()


def parse_invite_args(
    args: Sequence[str], *, max_days: int = MAX_INVITE_DAYS, max_uses: int = MAX_INVITE_USES
) -> InviteArgs:
    """Return `/invite [branch_key] [days] [uses]` read, or raise InvalidInput."""
    rest = [unicodedata.normalize("NFKC", arg) for arg in args]
    key = None
    if rest and not is_number(rest[0]):
        key, rest = rest[0], rest[1:]
    if len(rest) > 2 or not all(is_number(arg) for arg in rest):
        raise InvalidInput("invite.usage")
    days = int(rest[0]) if rest else None
    uses = int(rest[1]) if len(rest) > 1 else None
    check_invite_limits(days, uses, max_days=max_days, max_uses=max_uses)
    return InviteArgs(key, days, uses)


def check_invite_limits(
    days: int | None, uses: int | None, *,
    max_days: int = MAX_INVITE_DAYS, max_uses: int = MAX_INVITE_USES,
) -> None:
    """Raise InvalidInput unless an invite's days and uses are within bounds (None: default).

    Typed /invite arguments and the values a branch-pick button carries both
    pass here: a button's data comes from the client and can be forged.
    """
    if days is not None and not 1 <= days <= max_days:
        raise InvalidInput("invite.bad_days", max=max_days)
    if uses is not None and not 1 <= uses <= max_uses:
        raise InvalidInput("invite.bad_uses", max=max_uses)


def fold_name(name: str | None) -> str:
    """Return a name folded for comparing: width, case and spacing ignored."""
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())


def same_name(typed: str, stored: str | None) -> bool:
    """Tell whether a typed name names the stored one."""
    return bool(stored) and fold_name(typed) == fold_name(stored)
