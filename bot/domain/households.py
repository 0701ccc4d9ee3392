"""Pairing with households (结对帮扶): the pure rules, no Telegram, no SQL.

    is_reminder_due(gap_start, now, days=30)                      # stretch long enough?
    may_remind_now(now, tz, windows, elderly=False)               # inside allowed hours?
    summary = month_summary([(1, "王某户", created, last)], visited_ids={1}, now=now, days=30)
    summary.needs_attention                                       # a digest line only then
    can_log_visit(actor, branch_id, member_person_id, helper_ids, units)

A household is "overdue" when nobody has visited it for `days` (counted from
its last visit, else from its registration); a paired member is reminded
once per stretch without a visit that reaches `days`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.models import Unit
from bot.domain.permissions import Actor, can_manage_branch
from bot.domain.schedule import Windows, is_allowed

__all__ = [
    "KINDS",
    "NAME_LIMIT",
    "NEEDS",
    "NOTE_LIMIT",
    "MonthSummary",
    "can_log_visit",
    "is_overdue",
    "is_reminder_due",
    "may_remind_now",
    "month_summary",
    "toggle_need",
]

NEEDS = ("tech", "sales", "jobs", "care")  # 技术, 销售, 就业, 照料
KINDS = ("visit", "tech", "sales", "jobs", "other")  # 走访, 技术指导, 帮助销售, 就业帮扶, 其他
NAME_LIMIT = 30  # "王某户（三组）" is 7 characters; a name is not a description
NOTE_LIMIT = 200
_DAY = 86400


def toggle_need(needs: Sequence[str], need: str) -> tuple[str, ...]:
    """Return the needs with `need` added or taken away, in the fixed order of NEEDS."""
    chosen = set(needs) ^ {need}
    return tuple(n for n in NEEDS if n in chosen)


def is_reminder_due(gap_start: int, now: int, days: int) -> bool:
    """Tell whether a stretch without a visit that began at `gap_start` has lasted `days`."""
    return now - gap_start >= days * _DAY


def may_remind_now(now: datetime, tz: ZoneInfo, windows: Windows, *, elderly: bool) -> bool:
    """Tell whether a gentle reminder may go to the member now (their allowed hours)."""
    return is_allowed(now, tz, windows, elderly=elderly)


def is_overdue(last_visit_at: int | None, created_at: int, now: int, days: int) -> bool:
    """Tell whether nobody has visited a household for `days` (since registration if never)."""
    return is_reminder_due(last_visit_at if last_visit_at is not None else created_at, now, days)


@dataclass(frozen=True, slots=True)
class MonthSummary:
    """A branch's households this month: how many, how many visited, which are overdue."""

    count: int
    visited: int
    overdue: tuple[str, ...]

    @property
    def needs_attention(self) -> bool:
        """Tell whether the digest should carry the line (some household waits too long)."""
        return bool(self.overdue)


def month_summary(
    households: Sequence[tuple[int, str, int, int | None]],
    *,
    visited_ids: Collection[int],
    now: int,
    days: int,
) -> MonthSummary:
    """Summarise (id, name, created_at, last visit) per household; `visited_ids`: this month's."""
    overdue = tuple(
        name for _, name, created, last in households if is_overdue(last, created, now, days)
    )
    visited = sum(1 for household_id, *_ in households if household_id in visited_ids)
    return MonthSummary(len(households), visited, overdue)


def can_log_visit(
    actor: Actor,
    branch_id: int,
    member_person_id: int,
    helper_ids: Collection[int],
    units: Sequence[Unit],
) -> bool:
    """Tell whether the actor may log a visit counted for a paired member.

    The member themselves, their helpers and 联系人 (entered on their behalf),
    and the household's branch secretaries (and those above), for members
    without a phone; nobody else.
    """
    if actor.person_id is not None and actor.person_id in (member_person_id, *helper_ids):
        return True
    return can_manage_branch(actor, branch_id, units)
