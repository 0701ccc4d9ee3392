"""What study actions write besides their own rows: an answer, whoever enters it, and the audit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.domain import study as rules
from bot.domain.permissions import Actor
from bot.domain.study import Answer, Reason
from bot.services import Services
from handlers.study.messaging import tell_already
from handlers.study.planner import cancel_scheduled
from storage.repositories import audit, study
from storage.repositories.study import StudyItem

__all__ = ["audit_action", "record_answer"]


async def record_answer(
    update: Update,
    language: str,
    services: Services,
    item: StudyItem,
    member_id: int,
    *,
    tz: ZoneInfo,
    now: datetime,
    status: Answer,
    entered_by: int | None,
    reason: Reason | None = None,
    on_behalf: bool = False,
) -> bool | None:
    """Record the answer, cancel waiting reminders; return whether late, None if one was there."""
    late = rules.is_late(date.fromisoformat(item.due_date), now, tz)
    inserted = await study.record_answer(
        services.db, item.id, member_id, status=status, reason=reason, entered_by=entered_by,
        on_behalf=on_behalf, now=int(now.timestamp()), late=late,
    )
    if not inserted:
        # Two quick presses, or a helper and the member at once: the other got there first.
        existing = await study.get_answer(services.db, item.id, member_id)
        if existing is not None:
            await tell_already(update, language, existing)
        return None
    await cancel_scheduled(services.db, member_id, item.id)
    return late


async def audit_action(
    services: Services,
    actor: Actor,
    action: str,
    *,
    at: int,
    subject: str,
    detail: Mapping[str, Any] | str,
) -> None:
    """Append the actor's study action to the audit trail."""
    await audit.record(
        services.db, at=at, actor=f"tg:{actor.telegram_id}", action=f"study.{action}",
        subject=subject, detail=detail,
    )
