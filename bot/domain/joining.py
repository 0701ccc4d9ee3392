"""Rules of joining a branch: invite validity, names, the registration steps.

    problem = invite_problem(invite, now)      # None when the code may be used
    name = clean_name("  张 三 ")               # "张 三", or InvalidInput
"""

from __future__ import annotations

import secrets
import string
import unicodedata
from enum import StrEnum

from bot.domain.free_text import clean_text
from bot.domain.models import Category, Invite
from bot.errors import InvalidInput

__all__ = [
    "NAME_MAX",
    "InviteProblem",
    "Step",
    "clean_name",
    "invite_problem",
    "new_code",
    "step_after_category",
]

NAME_MAX = 64
_CODE_ALPHABET = string.ascii_letters + string.digits


class Step(StrEnum):
    """What the registration conversation awaits next."""

    NAME = "name"
    CATEGORY = "category"
    PLACE = "place"
    CONSENT = "consent"


class InviteProblem(StrEnum):
    """Why an invite code cannot be used."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"


def new_code(length: int = 10) -> str:
    """Return a random code that fits a t.me deep link (letters and digits)."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def invite_problem(invite: Invite | None, now: int) -> InviteProblem | None:
    """Return why the invite cannot admit anyone now, or None if it can."""
    if invite is None:
        return InviteProblem.UNKNOWN
    if invite.revoked_at is not None:
        return InviteProblem.REVOKED
    if now >= invite.expires_at:
        return InviteProblem.EXPIRED
    if invite.uses >= invite.max_uses:
        return InviteProblem.USED_UP
    return None


def clean_name(text: str | None) -> str:
    """Return the member's real name tidied up, or raise InvalidInput saying what is wrong."""
    # Invisible characters (a right-to-left override, a Hangul filler) could
    # make the name display blank or misleadingly in the secretary's messages.
    name = clean_text(text)
    if not name:
        typed_something = bool((text or "").strip())
        raise InvalidInput("join.name_invisible" if typed_something else "join.name_empty")
    if len(name) > NAME_MAX:
        raise InvalidInput("join.name_too_long", limit=NAME_MAX, length=len(name))
    # A real name has at least one letter (any script); emoji and symbols alone are not one.
    if not any(unicodedata.category(char).startswith("L") for char in name):
        raise InvalidInput("join.name_no_letters")
    return name


def step_after_category(category: Category) -> Step:
    """Mobile members say where they are; everyone else goes straight to consent."""
    return Step.PLACE if category is Category.MOBILE else Step.CONSENT
