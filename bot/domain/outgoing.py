"""A message planned for later delivery, as the planners produce it.

    OutgoingMessage(dedupe_key=occurrence_key("study.reminder", member_id, item_id, 0),
                    kind="study.reminder", person_id=7, chat_id=2001,
                    text=t(lang, "study.reminder", ...), due_at=ts)

The dedupe key names (kind, member, item, occurrence): the outbox keeps one
row per key forever, so planning the same occurrence twice sends it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

__all__ = [
    "LEADER_KINDS",
    "URGENT_KINDS",
    "OutgoingMessage",
    "occurrence_key",
    "priority_of",
    "quiet_hours",
]

# Messages a person gets as a leader, not as a member: they outlive a membership.
LEADER_KINDS = ("digest", "where.warn", "where.lost")
# Time-sensitive kinds (by prefix): delivery sends them ahead of bulk reminders,
# so a secretary's 09:00 digest or a cancelled meeting does not wait behind a
# county-wide fan-out of study reminders.
URGENT_KINDS = (
    *LEADER_KINDS,
    "meet.cancel",
    "meet.notice",
    "meet.confirm",
    "contact.call",
    "reply",
)


def priority_of(kind: str) -> int:
    """Return the delivery priority of a kind: 0 time-sensitive, 1 bulk."""
    return 0 if kind.startswith(URGENT_KINDS) else 1


def quiet_hours(
    zone: tzinfo | str | None, category: str | None = None, *, for_helper: bool = False
) -> dict[str, Any]:
    """Return OutgoingMessage's send-time quiet-hours fields for a message to a member.

        OutgoingMessage(..., **quiet_hours(tz, row.category))

    Every member-facing planner passes these, so delivery checks quiet hours
    (and an elderly member's daytime window) again when the message really
    goes: a long fan-out that reaches someone after 21:00 moves the message to
    the morning.  A helper reading for a member (`for_helper`) is not elderly
    himself; he is asked at his member's hours.  A zone without an IANA name
    (None, a fixed offset) gives no check rather than a wrong one.
    """
    key = zone if isinstance(zone, str) or zone is None else getattr(zone, "key", None)
    return {"quiet_zone": key, "elderly": category == "elderly" and not for_helper}


def occurrence_key(kind: str, member_id: int, item: object, occurrence: object) -> str:
    """Return the send-log key of one occurrence of `kind` for one member."""
    return f"{kind}|m{member_id}|{item}|{occurrence}"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to send at or after `due_at` (UTC seconds), at most once per key."""

    dedupe_key: str
    kind: str
    person_id: int | None
    chat_id: int
    text: str
    due_at: int
    reply_markup: dict[str, Any] | None = None
    expires_at: int | None = None
    photo: bytes | None = None
    # Re-check quiet hours (and with `elderly`, the daytime window) in this IANA
    # zone when the message is actually sent: a fan-out that runs late pushes it
    # to the morning instead of waking the member.  None: send whenever due.
    quiet_zone: str | None = None
    elderly: bool = False
