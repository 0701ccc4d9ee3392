"""The study planner: reminders, follow-ups and snoozes due now, and cancelling those not needed.

Each message's outbox key is `study.<kind>` + member + item + sequence, so a
message planned twice (a crash between planning and enqueueing) is sent once,
and a member's answer cancels what is still waiting by the key's prefix.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import study as rules
from bot.domain.localtime import zone
from bot.domain.outgoing import OutgoingMessage, occurrence_key, quiet_hours
from bot.domain.schedule import due_end
from bot.domain.study import Answer, NextKind, Progress, Reason
from bot.services import Services
from handlers.study.render import answer_keyboard, item_text
from storage.repositories import outbox, study, units
from storage.repositories.study import StudyItem, TargetRow

__all__ = ["cancel_scheduled", "plan_study"]


def _message_key(kind: NextKind, member_id: int, item_id: int, seq: object) -> str:
    return occurrence_key(f"study.{kind.value}", member_id, item_id, seq)


async def cancel_scheduled(db: Any, member_id: int, item_id: int) -> None:
    """Cancel the member's reminders for the item still waiting in the outbox."""
    for kind in NextKind:
        await outbox.cancel_pending(db, key_prefix=_message_key(kind, member_id, item_id, ""))


def _timing(item: StudyItem) -> rules.ItemTiming:
    return rules.ItemTiming(
        kind=item.kind,
        remind_at=time.fromisoformat(item.remind_at),
        published_at=datetime.fromtimestamp(item.created_at, UTC),
        due_date=date.fromisoformat(item.due_date),
        occurrence_date=date.fromisoformat(item.occurrence_date) if item.occurrence_date else None,
    )


def _next_key(row: TargetRow) -> str:
    progress = row.progress
    return _message_key(progress.next_kind, row.member_id, row.item.id, progress.next_seq)


# What _ensure_weekly last made sure of, per connection: (UTC date, study days'
# fingerprint).  The occurrences to hold change only with the date or a study
# day, so the other ticks skip one INSERT per branch with a study day (a
# province of 50,000 such branches would write 50,000 rows on every tick).
_ENSURED: weakref.WeakKeyDictionary[Any, tuple[date, tuple[int, int, int]]] = (
    weakref.WeakKeyDictionary()
)


async def _ensure_weekly(db: Any, now: datetime) -> None:
    """Create the study days' occurrences the planner should hold now (idempotent)."""
    today = now.astimezone(UTC).date()
    # Read each tick, so a day set through another process is seen at once.
    state = (today, await study.study_days_fingerprint(db))
    if _ENSURED.get(db) == state:
        return
    days = await study.list_study_days(db)
    occurrences = [
        (day.branch_id, when.isoformat(), due.isoformat(), day.remind_at, day.set_at)
        for day in days
        for when, due in rules.weekly_occurrences(
            day.weekday, date.fromisoformat(day.starts_on), today
        )
    ]
    if occurrences:
        await study.ensure_weekly_items(db, occurrences, now=int(now.timestamp()))
    _ENSURED[db] = state


async def plan_study(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the study reminders, follow-ups and snoozes due at `now`, keeping the schedule.

    A tick costs: the study days, one INSERT..SELECT giving members who joined
    since a schedule row, one indexed read of the rows due, one read of which
    of their messages are already in the outbox, and the updates.
    """
    db = services.db
    await _ensure_weekly(db, now)
    await study.add_missing_targets(db, min_due=rules.earliest_open_due(now).isoformat())
    rows = await study.due_targets(db, int(now.timestamp()))
    if not rows:
        return []
    keys = [_next_key(row) for row in rows]
    planned = await study.outbox_due_at(
        db, [key for key, row in zip(keys, rows, strict=True) if row.progress.state == "waiting"]
    )
    # Only the due rows' branches and the units above them (zones are inherited).
    zone_of = rules.zone_finder(
        await units.with_ancestors(db, [row.item.branch_id for row in rows]),
        services.settings.general.default_timezone,
    )
    policy = rules.Policy.from_settings(services.settings.study)
    changes: list[tuple[int, int, Progress]] = []
    messages: list[OutgoingMessage] = []
    for row, key in zip(rows, keys, strict=True):
        progress = row.progress
        if key in planned:
            progress = replace(
                progress, planned=True, planned_at=datetime.fromtimestamp(planned[key], UTC)
            )
        tz = zone(row.timezone, zone_of(row.item.branch_id))
        recipient = rules.Recipient(
            tz=tz,
            elderly=row.category == "elderly",
            can_receive=row.member_status == "active" and row.telegram_id is not None,
            answered=row.answered,
            away_until=row.away_until,
        )
        decision = rules.advance(progress, recipient, _timing(row.item), now, policy)
        if decision.progress.stored() != row.progress.stored():
            changes.append((row.item.id, row.member_id, decision.progress))
        if decision.excuse_away:
            await study.record_answer(
                db, row.item.id, row.member_id, status=Answer.EXCUSED, reason=Reason.AWAY,
                entered_by=None, now=int(now.timestamp()),
            )
        if decision.message is not None:
            messages.append(_outgoing(services, row, decision.message, tz))
    await study.save_progress(db, changes)
    return messages


def _outgoing(
    services: Services, row: TargetRow, message: tuple[NextKind, int, datetime], tz: ZoneInfo
) -> OutgoingMessage:
    kind, seq, due_at = message
    language = row.language or services.settings.general.default_language
    assert row.telegram_id is not None
    return OutgoingMessage(
        dedupe_key=_message_key(kind, row.member_id, row.item.id, seq),
        kind=f"study.{kind.value}",
        person_id=row.person_id,
        chat_id=row.telegram_id,
        text=item_text(language, row.item, kind, seq, row.category == "elderly"),
        due_at=int(due_at.timestamp()),
        reply_markup=answer_keyboard(language, row.item.id).to_dict(),
        expires_at=int(due_end(date.fromisoformat(row.item.due_date), tz).timestamp()),
        # A fan-out that runs late must not wake the member: delivery checks again.
        **quiet_hours(tz, row.category),
    )
