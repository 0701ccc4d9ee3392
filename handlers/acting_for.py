"""Whom a press records for: the presser, or the member named by the press itself.

    subject = await subject_of(update, services)
    subject.person      # whose record the press changes (the member acted for, or the presser)
    subject.entered_by  # the helper's person id while acting for someone, else None
    subject.member_id   # the member acted for (what the helper's buttons carry), else None

    markup = carrying(markup, subject.member_id)   # the helper's buttons name the member

    for r in await readers_of(db, member_id, person_id, telegram_id, language):
        r.chat_id, r.for_member   # the member, or each helper reading for a phone-less one

One resolver for every member flow (study answers, pledges, whereabouts), so
that each flow runs unchanged for a helper (STYLE.md §4.1: one cycle, many
uses).  Whom a press acts for comes from the press, never from ambient state:
the buttons /helpfor shows carry the member as a trailing `f<member id>`
part (bot.callback_data.SUBJECT), buttons on a member's own messages carry
none and always act for the presser, and a typed answer acts for the subject
stored on the pending input its press opened.  A slash command is always the
presser's own.  The permission (a helper of that member, or a leader of their
branch) is checked on every press and typed answer that names someone,
before anything is looked up; a refusal raises PermissionDenied, which
handlers.errors answers with the one errors.button_not_allowed text.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callback_data import subject_in, with_subject
from bot.domain import helpers as rules
from bot.domain.models import Member, Person
from bot.domain.permissions import Actor
from bot.errors import PermissionDenied
from bot.services import Services
from storage.repositories import helpers, members, pending_inputs, people, roles, units

__all__ = ["Reader", "Subject", "acting", "carrying", "readers_of", "subject_of"]


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose record a press changes, and the helper entering it (None: themselves)."""

    person: Person | None
    helper: Person | None = None
    member_id: int | None = None  # the member acted for, when a helper acts

    @property
    def entered_by(self) -> int | None:
        """Return the helper's person id while acting for someone, else None."""
        return self.helper.id if self.helper else None


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a planned message for a member goes to: the member, or a helper reading for them."""

    person_id: int
    chat_id: int
    language: str | None
    suffix: str  # "" for the member; "p<helper>" keeps each helper's outbox key apart

    @property
    def for_member(self) -> bool:
        """Tell whether this reader answers on the member's behalf (a helper)."""
        return bool(self.suffix)


async def readers_of(
    db: aiosqlite.Connection, member_id: int, person_id: int, telegram_id: int | None,
    language: str | None,
) -> list[Reader]:
    """Return who reads a member's planned message: them, or (no Telegram) each helper."""
    if telegram_id is not None:
        return [Reader(person_id, telegram_id, language, "")]
    # A member registered without Telegram is reached through their current
    # helpers (帮学人 / 联系人), who answer for them (meetings, posts).
    return [
        Reader(helper.person_id, helper.telegram_id, helper.language, f"p{helper.person_id}")
        for helper in await helpers.helpers_of(db, member_id)
        if helper.telegram_id is not None
    ]


def _is_command(update: Update) -> bool:
    message = update.message
    return bool(message and message.text and message.text.startswith("/"))


async def _named_member(update: Update, services: Services, presser: Person | None) -> int | None:
    """Return the member the press (or the pending input a typed answer answers) names."""
    if update.callback_query is not None:
        return subject_in(update.callback_query.data or "")
    if presser is None or update.effective_user is None or _is_command(update):
        return None
    pending = await pending_inputs.get_pending(services.db, update.effective_user.id)
    return pending.subject_member_id if pending else None


async def _may_act(services: Services, presser: Person, member: Member) -> bool:
    """Tell whether the presser may enter records for the member (helper, or leader)."""
    if await helpers.is_helper_of(services.db, presser.id, member.id):
        return True
    assert presser.telegram_id is not None
    actor = Actor(
        telegram_id=presser.telegram_id,
        person_id=presser.id,
        is_admin=services.settings.is_admin(presser.telegram_id),
        led_unit_ids=await roles.led_unit_ids(services.db, presser.id),
        member_branch_ids=frozenset(),
    )
    return rules.may_act_for(actor, member_branch=member.branch_id, is_helper=False,
                             units=await units.list_units(services.db))


async def acting(services: Services, presser: Person | None, member_id: int) -> Subject:
    """Return the subject for a helper acting for member_id, or raise PermissionDenied."""
    member = await members.get_member(services.db, member_id)
    # One refusal whether the member exists, left, or is someone else's.
    if (
        presser is None or presser.telegram_id is None or member is None
        or member.status != "active" or member.person_id == presser.id
        or not await _may_act(services, presser, member)
    ):
        raise PermissionDenied(member_id)
    person = await people.get_person(services.db, member.person_id)
    if person is None:
        raise PermissionDenied(member_id)
    return Subject(person, presser, member.id)


async def subject_of(update: Update, services: Services) -> Subject:
    """Return whose record the update changes: the member it names, else the presser."""
    presser = await people.get_person_by_telegram(services.db, update.effective_user.id)
    member_id = await _named_member(update, services, presser)
    if member_id is None:
        return Subject(presser)
    return await acting(services, presser, member_id)


def carrying(
    markup: InlineKeyboardMarkup | None, member_id: int | None
) -> InlineKeyboardMarkup | None:
    """Return the markup with every button naming member_id (unchanged when None)."""
    if markup is None or member_id is None:
        return markup
    return InlineKeyboardMarkup([
        [
            InlineKeyboardButton(b.text, callback_data=with_subject(b.callback_data, member_id))
            if isinstance(b.callback_data, str) else b
            for b in row
        ]
        for row in markup.inline_keyboard
    ])
