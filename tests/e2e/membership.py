"""Get emulated members into a branch the real way, for self-service and secretary tests.

    member = await admitted(h, "renhe-citrus", 3001, "张伟")
    member = await admitted(h, "renhe-mobile", 3002, "Zhao Lei", "mobile", "en", city="Madrid")
    assert (await stored(h, member.id)).membership.status == "active"
"""

from __future__ import annotations

from typing import NamedTuple

from bot.domain.models import Member, Person
from bot.emulator import EmulatedUser
from storage.repositories import members, people
from tests.e2e.flows import APPROVE_BUTTON, BRANCH_SECRETARIES, invite_by_command, join
from tests.e2e.harness import BotHarness

__all__ = ["Stored", "admitted", "requested", "stored"]


class Stored(NamedTuple):
    """What the database holds for a Telegram user: their person row and current membership."""

    person: Person
    membership: Member | None


async def stored(h: BotHarness, user_id: int) -> Stored:
    """Return the stored person (who must exist) and their current membership, if any."""
    person = await people.get_person_by_telegram(h.services.db, user_id)
    assert person is not None
    return Stored(person, await members.current_membership(h.services.db, person.id))


async def requested(
    h: BotHarness, branch_key: str, user_id: int, name: str, category: str = "regular",
    language: str = "zh", **where: object,
) -> EmulatedUser:
    """Have the branch secretary /invite and the member register up to the pending request."""
    secretary = h.user(BRANCH_SECRETARIES[branch_key], "zh")
    member = h.user(user_id, language)
    code = await invite_by_command(secretary)
    await join(h, member, code, name, category, language, **where)  # type: ignore[arg-type]
    return member


async def admitted(
    h: BotHarness, branch_key: str, user_id: int, name: str, category: str = "regular",
    language: str = "zh", **where: object,
) -> EmulatedUser:
    """Return a member who joined through invite, registration and the secretary's ✅."""
    member = await requested(h, branch_key, user_id, name, category, language, **where)
    secretary = h.user(BRANCH_SECRETARIES[branch_key], "zh")
    # The request comes in the secretary's stored language (zh until they pick one).
    request = await secretary.wait_for_message(
        lambda m: name in m.plain and any(b in m.button_texts for b in APPROVE_BUTTON.values())
    )
    await secretary.press(next(b for b in APPROVE_BUTTON.values() if b in request.button_texts),
                          request)
    await member.wait_for_message(
        lambda m: "的支部助手登记！" in m.plain or "You are now registered" in m.plain
    )
    return member
