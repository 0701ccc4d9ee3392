"""The meetings planner: notices, changes, cancellations, reminders and "请确认到会情况".

Each message's outbox key names (kind, member, meeting, occurrence):

    meet.notice|m<member>|<meeting>|v<version>[p<helper>]   a notice or a change, once per version
    meet.cancel|m<member>|<meeting>|x[p<helper>]            a cancellation, once
    meet.remind|m<member>|<meeting>|v<version>s<seq>        1 the day before, 2 two hours before
    meet.mark|m<member>|<meeting>|p<helper>                 a helper marks a phone-less member
    meet.confirm|p<person>|<meeting>|v<version>             the secretary confirms attendance

so planning twice (a crash between planning and the outbox) sends once, and
after downtime the first tick finds what fell due meanwhile.  A member without
Telegram is written to through their helpers (帮学人 / 联系人), who answer for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.domain import meetings as rules
from bot.domain.localtime import zone
from bot.domain.outgoing import OutgoingMessage, occurrence_key, quiet_hours
from bot.domain.schedule import Windows
from bot.domain.study import zone_finder
from bot.i18n import raw, t
from bot.services import Services
from handlers.acting_for import readers_of
from handlers.meetings.render import button, details, meeting_name, reply_keyboard, when_text
from storage.repositories import meetings as repo
from storage.repositories import outbox, roles, units
from storage.repositories.meetings import Meeting, Recipient

__all__ = ["cancel_waiting", "plan_meetings"]


async def cancel_waiting(db: Any, meeting_id: int, member_ids: list[int]) -> None:
    """Withdraw the meeting's notices and reminders still waiting in the outbox."""
    for member_id in member_ids:
        for kind in ("meet.notice", "meet.remind"):
            await outbox.cancel_pending(
                db, key_prefix=occurrence_key(kind, member_id, meeting_id, "")
            )


class _Planning:
    """One tick's context: settings, zones, branch names and the messages made."""

    def __init__(self, services: Services, now: datetime) -> None:
        self.services = services
        self.now = now
        self.ts = int(now.timestamp())
        self.default = services.settings.general.default_language
        self.windows = Windows.from_settings(services.settings.study)
        self._units: dict[int, Any] = {}
        self.zone_of = zone_finder([], services.settings.general.default_timezone)
        self.names: dict[int, str] = {}
        self.messages: list[OutgoingMessage] = []

    async def load_units(self, branch_ids: Iterable[int]) -> None:
        """Read these branches and the units above them (zones are inherited), once each.

        Not the whole tree: a province's 55,000 units cost 0.5 s on every
        tick with a meeting message due (issue 14: planning follows what is due).
        """
        missing = sorted({b for b in branch_ids if b not in self._units})
        if not missing:
            return
        for unit in await units.with_ancestors(self.services.db, missing):
            self._units[unit.id] = unit
        known = list(self._units.values())
        self.zone_of = zone_finder(known, self.services.settings.general.default_timezone)
        self.names = {unit.id: unit.name for unit in known}

    def member_zone(self, recipient: Recipient) -> Any:
        return zone(recipient.timezone, self.zone_of(recipient.branch_id))

    async def addressees(self, recipient: Recipient) -> list[tuple[int, int, str, str]]:
        """Return (person, chat, language, key suffix) who read for this invitee."""
        # A member without Telegram: each current helper reads and answers for them.
        return [
            (r.person_id, r.chat_id, r.language or self.default, r.suffix)
            for r in await readers_of(self.services.db, recipient.member_id,
                                      recipient.person_id, recipient.telegram_id,
                                      recipient.language)
        ]

    def text(self, language: str, head: str, meeting: Meeting, recipient: Recipient,
             for_helper: bool, **params: Any) -> str:
        body = details(language, meeting, self.member_zone(recipient),
                       self.names.get(meeting.branch_id, ""))
        lines = [t(language, head, **params), body]
        if for_helper:
            lines.insert(1, t(language, "meetings.for_member", name=recipient.name or "—"))
        return "\n".join(lines)


def _helper(recipient: Recipient, suffix: str) -> bool:
    return bool(suffix) and recipient.telegram_id is None


async def _announce(plan: _Planning, meeting: Meeting) -> None:
    """Fan out the meeting's latest version: the notice, or the change, once each."""
    db = plan.services.db
    first = meeting.announced_version == 0
    head = "meetings.notice" if first else "meetings.changed"
    reminders: list[tuple[int, int, int | None, int]] = []
    recipients = await repo.recipients(db, meeting.id)
    await plan.load_units(r.branch_id for r in recipients)
    for recipient in recipients:
        for person, chat, language, suffix in await plan.addressees(recipient):
            plan.messages.append(OutgoingMessage(
                dedupe_key=occurrence_key("meet.notice", recipient.member_id, meeting.id,
                                          f"v{meeting.version}{suffix}"),
                kind="meet.notice", person_id=person, chat_id=chat,
                text=plan.text(language, head, meeting, recipient, _helper(recipient, suffix)),
                due_at=plan.ts,
                reply_markup=reply_keyboard(language, meeting, recipient.member_id,
                                            mobile=recipient.category == "mobile").to_dict(),
                expires_at=meeting.starts_at,
            ))
        if recipient.reply != rules.Reply.LEAVE:
            reminders.append((meeting.id, recipient.member_id,
                              *_next_reminder(plan, meeting, recipient, after_seq=0,
                                              catch_up=False)))
    await repo.set_reminders(db, reminders)
    await repo.mark_announced(db, meeting.id, meeting.version)


def _next_reminder(
    plan: _Planning, meeting: Meeting, recipient: Recipient, *, after_seq: int,
    catch_up: bool = True,
) -> tuple[int | None, int]:
    """Return (instant, seq) of the invitee's next reminder after `after_seq`, or (None, seq)."""
    moments = rules.reminder_moments(
        datetime.fromtimestamp(meeting.starts_at, UTC), plan.member_zone(recipient),
        plan.windows, elderly=recipient.category == "elderly",
    )
    for seq, moment in moments:
        if seq > after_seq and moment > plan.now:
            return int(moment.timestamp()), seq
    # Every moment is past (a catch-up after downtime): the latest one still due goes now.
    late = [(seq, moment) for seq, moment in moments if seq > after_seq]
    if catch_up and late and meeting.starts_at > plan.ts:
        return plan.ts, late[-1][0]
    return None, after_seq


async def _remind(plan: _Planning, due: list[Recipient]) -> None:
    """Send the reminders due now and schedule each invitee's next one."""
    db = plan.services.db
    cache: dict[int, Meeting | None] = {}
    updates: list[tuple[int, int, int | None, int]] = []
    for recipient in due:
        if recipient.meeting_id not in cache:
            cache[recipient.meeting_id] = await repo.get_meeting(db, recipient.meeting_id)
        meeting = cache[recipient.meeting_id]
        seq = recipient.reminder_seq
        live = (meeting is not None and meeting.cancelled_at is None
                and meeting.starts_at > plan.ts and recipient.reply != rules.Reply.LEAVE)
        if not live or meeting is None:
            updates.append((recipient.meeting_id, recipient.member_id, None, seq))
            continue
        head = "meetings.remind_day" if seq == 1 else "meetings.remind_soon"
        for person, chat, language, suffix in await plan.addressees(recipient):
            plan.messages.append(OutgoingMessage(
                dedupe_key=occurrence_key("meet.remind", recipient.member_id, meeting.id,
                                          f"v{meeting.version}s{seq}{suffix}"),
                kind="meet.remind", person_id=person, chat_id=chat,
                text=plan.text(language, head, meeting, recipient, _helper(recipient, suffix)),
                due_at=plan.ts, expires_at=meeting.starts_at,
                **quiet_hours(plan.member_zone(recipient), recipient.category,
                              for_helper=_helper(recipient, suffix)),
                reply_markup=None if recipient.reply else reply_keyboard(
                    language, meeting, recipient.member_id,
                    mobile=recipient.category == "mobile").to_dict(),
            ))
        updates.append((meeting.id, recipient.member_id,
                        *_next_reminder(plan, meeting, recipient, after_seq=seq)))
    await repo.set_reminders(db, updates)


async def _cancelled(plan: _Planning, meeting: Meeting) -> None:
    """Tell everyone who got a notice that the meeting is cancelled, once."""
    db = plan.services.db
    invited = await repo.recipients(db, meeting.id)
    await plan.load_units(r.branch_id for r in invited)
    await cancel_waiting(db, meeting.id, [r.member_id for r in invited])
    if meeting.announced_version > 0:
        for recipient in invited:
            for person, chat, language, suffix in await plan.addressees(recipient):
                what = meeting_name(language, meeting.kind, meeting.subject)
                text = t(language, "meetings.cancelled", what=what,
                         when=when_text(language, meeting, plan.member_zone(recipient)),
                         branch=plan.names.get(meeting.branch_id, ""))
                plan.messages.append(OutgoingMessage(
                    dedupe_key=occurrence_key("meet.cancel", recipient.member_id, meeting.id,
                                              f"x{suffix}"),
                    kind="meet.cancel", person_id=person, chat_id=chat, text=text,
                    due_at=plan.ts, expires_at=meeting.starts_at,
                ))
    await repo.mark_cancel_announced(db, meeting.id)


async def _ask_confirmation(plan: _Planning, meeting: Meeting) -> None:
    """Ask the branch's secretary to confirm attendance, and helpers to mark their members."""
    db = plan.services.db
    tz = zone(meeting.timezone)
    moment = rules.confirm_moment(datetime.fromtimestamp(meeting.starts_at, UTC), tz,
                                  plan.windows, plan.services.settings.meetings.confirm_after_hours)
    if moment > plan.now:
        return
    leaders = await roles.nearest_leaders(db, meeting.branch_id, ("secretary",))
    for person, chat, language in leaders:
        language = language or plan.default
        title = t(language, "meetings.title", what=meeting_name(language, meeting.kind,
                                                                 meeting.subject),
                  when=when_text(language, meeting, tz))
        markup = {"inline_keyboard": [[button(t(language, "meetings.btn_roster"), "att",
                                              meeting.id).to_dict()]]}
        plan.messages.append(OutgoingMessage(
            dedupe_key=f"meet.confirm|p{person}|{meeting.id}|v{meeting.version}",
            kind="meet.confirm", person_id=person, chat_id=chat,
            text=t(language, "meetings.confirm_ask", title=raw(title),
                   branch=plan.names.get(meeting.branch_id, "")),
            due_at=plan.ts, reply_markup=markup,
        ))
    recipients = await repo.recipients(db, meeting.id)
    await plan.load_units(r.branch_id for r in recipients)
    for recipient in recipients:
        if recipient.telegram_id is not None:
            continue
        for person, chat, language, suffix in await plan.addressees(recipient):
            what = meeting_name(language, meeting.kind, meeting.subject)
            markup = {"inline_keyboard": [[
                button(f"{t(language, f'meetings.att_btn.{mark.value}')}", "hm", meeting.id,
                       recipient.member_id, mark.value).to_dict()
                for mark in rules.Attendance
            ]]}
            plan.messages.append(OutgoingMessage(
                dedupe_key=occurrence_key("meet.mark", recipient.member_id, meeting.id, suffix),
                kind="meet.mark", person_id=person, chat_id=chat,
                text=t(language, "meetings.helper_mark", name=recipient.name or "—", what=what,
                       when=when_text(language, meeting, plan.member_zone(recipient))),
                due_at=plan.ts, reply_markup=markup,
            ))
    await repo.mark_confirm_asked(db, meeting.id)


async def plan_meetings(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the meeting messages due at `now`, keeping each invitee's schedule.

    A tick costs: the meetings still to announce, cancel or confirm (a handful),
    their invitees once, and one indexed read of the reminders due.
    """
    db = services.db
    ts = int(now.timestamp())
    announce = await repo.meetings_to_announce(db, ts)
    cancelled = await repo.meetings_to_cancel(db, ts)
    confirm = await repo.meetings_to_confirm(db, ts)
    due = await repo.due_reminders(db, ts)
    if not (announce or cancelled or confirm or due):
        return []
    plan = _Planning(services, now)
    await plan.load_units([m.branch_id for m in (*cancelled, *announce, *confirm)]
                          + [r.branch_id for r in due])
    for meeting in cancelled:
        await _cancelled(plan, meeting)
    for meeting in announce:
        await _announce(plan, meeting)
    await _remind(plan, [r for r in due if r.meeting_id not in {m.id for m in announce}])
    for meeting in confirm:
        await _ask_confirmation(plan, meeting)
    return plan.messages
