"""Frozen records the repositories return and the rules work on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BRANCH_KINDS",
    "COMMITTEE_KINDS",
    "GENERAL_BRANCH_KINDS",
    "Category",
    "Invite",
    "Level",
    "Member",
    "MemberStatus",
    "Person",
    "RoleName",
    "Unit",
]


class Level(StrEnum):
    """The three levels of the organisation tree, top down."""

    COMMITTEE = "committee"
    GENERAL_BRANCH = "general_branch"
    BRANCH = "branch"


# Kinds from DOMAIN.md (the seed's six ways of setting up branches, plus joint).
BRANCH_KINDS = (
    "industry",      # 产业基地 e.g. 脐橙种植党支部
    "association",   # 行业协会 e.g. 食用菌种植协会党支部
    "mobile",        # 流动党员党支部
    "elderly",       # 夕阳红党支部
    "stability",     # 维稳党支部
    "village",       # 自然村党支部
    "department",    # 机关部门 e.g. 就业中心党支部
    "joint",         # 联合党支部
)
GENERAL_BRANCH_KINDS = ("village", "agency")
COMMITTEE_KINDS = ("township", "agency")


class Category(StrEnum):
    """A member's category, which shapes how the bot talks to them."""

    REGULAR = "regular"
    MOBILE = "mobile"
    ELDERLY = "elderly"


class MemberStatus(StrEnum):
    """Where a membership stands."""

    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"
    LEFT = "left"
    REMOVED = "removed"


class RoleName(StrEnum):
    """Leadership roles within a unit."""

    SECRETARY = "secretary"
    COMMITTEE = "committee"


@dataclass(frozen=True, slots=True)
class Unit:
    """A committee, general branch or branch."""

    id: int
    key: str
    parent_id: int | None
    level: Level
    name: str
    kind: str
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """Someone known to the bot (a member, a secretary, or both)."""

    id: int
    telegram_id: int | None
    name: str | None
    language: str | None
    timezone: str | None
    is_reachable: bool = True
    last_contact_at: int | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A person's membership of one branch."""

    id: int
    person_id: int
    branch_id: int
    category: Category
    status: MemberStatus
    place: str | None = None
    away_until: str | None = None
    requested_at: int = 0
    decided_at: int | None = None


@dataclass(frozen=True, slots=True)
class Invite:
    """A secretary's join link for one branch."""

    id: int
    code: str
    branch_id: int
    created_by: int | None
    created_at: int
    expires_at: int
    max_uses: int
    uses: int
    revoked_at: int | None = None
