"""Whom a press records for: the presser, or the member a helper chose in /helpfor.

    subject = await subject_of(update, services)
    subject.person      # whose record the press changes (the member acted for, or the presser)
    subject.entered_by  # the helper's person id while acting for someone, else None

One resolver for every member flow (study answers, pledges, whereabouts), so
that each flow runs unchanged for a helper (STYLE.md §4.1: one cycle, many
uses).  Only presses and typed answers act for someone: a slash command is
always the presser's own, so a helper who is also a member gets their own
/mypledges back at once, and the choice lapses after ACTING_MINUTES.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update

from bot.domain.models import Person
from bot.services import Services
from storage.repositories import helpers, members, people

__all__ = ["ACTING_MINUTES", "Subject", "subject_of"]

ACTING_MINUTES = 30


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose record a press changes, and the helper entering it (None: themselves)."""

    person: Person | None
    helper: Person | None = None

    @property
    def entered_by(self) -> int | None:
        """Return the helper's person id while acting for someone, else None."""
        return self.helper.id if self.helper else None


def _is_command(update: Update) -> bool:
    message = update.message
    return bool(message and message.text and message.text.startswith("/"))


async def subject_of(update: Update, services: Services) -> Subject:
    """Return whose record the update changes: a helper's chosen member, else the presser."""
    presser = await people.get_person_by_telegram(services.db, update.effective_user.id)
    if presser is None or _is_command(update):
        return Subject(presser)
    not_before = services.now_ts() - ACTING_MINUTES * 60
    member_id = await helpers.acting_member(services.db, presser.id, not_before=not_before)
    if member_id is None:
        return Subject(presser)
    member = await members.get_member(services.db, member_id)
    person = await people.get_person(services.db, member.person_id) if member else None
    if person is None:
        return Subject(presser)
    return Subject(person, presser)
