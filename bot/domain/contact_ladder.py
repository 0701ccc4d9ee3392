"""Contact that counts offline, and the search ladder for a silent mobile member.

    steps = due_steps(start=silence_start, now=now, attempts=attempts_since_start,
                      has_helpers=True, settings=settings.whereabouts)
    Step.ASK_HELPERS in steps   # "您最近联系上 X 了吗？" to each helper / 联系人
    Step.CALL_TASK in steps     # "请致电 X" to the secretary
    can_record_contact(actor, branch_id, helper_ids, units)

The ladder climbs within one silence (counted from the last contact of any
kind, bot.domain.whereabouts.silence_start): at ask_helpers_days the helpers
are asked; at call_task_days the secretary gets a call task, sooner when a
helper answered 联系不上 or there is no helper to ask.  The 90/150/180-day
warnings follow as before.  A reached attempt restarts the silence (the
repository stamps people.last_contact_at), so every step is once per silence.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.config import WhereaboutsSettings
from bot.domain.models import Unit
from bot.domain.permissions import Actor, can_manage_branch
from bot.domain.whereabouts import silence_days

__all__ = [
    "METHODS",
    "OFFLINE_METHODS",
    "Attempt",
    "Outcome",
    "Step",
    "can_record_contact",
    "due_steps",
    "failed_since",
]


class Outcome(StrEnum):
    """Whether an attempt reached the member."""

    REACHED = "reached"
    NOT_REACHED = "not_reached"


# How a contact was made: the three a secretary or helper records by hand, and
# the helper's answer to the ladder's question ('bot' is reserved for replies).
OFFLINE_METHODS = ("phone", "visit", "meeting")
METHODS = (*OFFLINE_METHODS, "helper", "bot")


class Step(StrEnum):
    """A rung of the search ladder."""

    ASK_HELPERS = "ask_helpers"
    CALL_TASK = "call_task"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One recorded attempt to reach a member, as the digest and the ledger show it."""

    member_id: int
    member_name: str | None
    at: int
    by_name: str | None
    method: str
    outcome: str
    place: str | None = None

    @property
    def is_reached(self) -> bool:
        """Tell whether the attempt reached the member."""
        return self.outcome == Outcome.REACHED


def failed_since(attempts: Sequence[Attempt], start: int) -> bool:
    """Tell whether anyone tried and failed to reach the member since `start`."""
    return any(a.at >= start and not a.is_reached for a in attempts)


def due_steps(
    *,
    start: int,
    now: datetime,
    attempts: Sequence[Attempt],
    has_helpers: bool,
    settings: WhereaboutsSettings,
) -> frozenset[Step]:
    """Return the ladder steps due now for a member silent since `start` (UTC seconds).

    `attempts` are the member's recorded attempts; only those within this
    silence count.  A step once due stays due: the outbox's key (with the
    silence start) makes it happen once.
    """
    days = silence_days(start, now)
    if days < settings.ask_helpers_days:
        return frozenset()
    steps = {Step.ASK_HELPERS} if has_helpers else set()
    # No one to ask, or someone asked could not reach them: the secretary
    # should not wait for the later rung.
    if days >= settings.call_task_days or not has_helpers or failed_since(attempts, start):
        steps.add(Step.CALL_TASK)
    return frozenset(steps)


def can_record_contact(
    actor: Actor, branch_id: int, helper_ids: Collection[int], units: Sequence[Unit]
) -> bool:
    """Tell whether the actor may record contact for a member of `branch_id`.

    The branch's secretaries (and those above) may, and the member's current
    helpers and 联系人; nobody else, whatever they lead elsewhere.
    """
    if can_manage_branch(actor, branch_id, units):
        return True
    return actor.person_id is not None and actor.person_id in helper_ids
