"""Who presses a pledge button or types an answer: the member, or the secretary deciding."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain import pledges as rules
from bot.domain.localtime import zone
from bot.domain.models import Category, Member, Person
from bot.domain.permissions import Actor, can_manage_branch
from bot.domain.pledges import Pledge
from bot.services import Services, get_services
from handlers.acting_for import Subject, subject_of
from handlers.common import load_actor, load_units, user_language
from handlers.pledges.messaging import stale
from handlers.pledges.render import month_label, number_of
from storage.repositories import members, units
from storage.repositories import pledges as repo

__all__ = [
    "Me",
    "approved",
    "approved_number",
    "current_year",
    "is_due_in",
    "language_of",
    "leads",
    "load_me",
    "member_or_stale",
    "month_is_open",
    "open_month",
    "own_pledge",
    "pledge_and_member",
    "secretary_of",
]


@dataclass(frozen=True, slots=True)
class Me:
    """The member behind an update, with their zone and allowed hours."""

    person: Person
    member: Member
    language: str
    tz: ZoneInfo
    hours: rules.Hours
    # The helper entering this on the member's behalf (handlers.acting_for), else None.
    entered_by: int | None = None
    # The presser's chat: where typed answers are awaited (a helper's, when acting).
    chat_id: int = 0
    # The member a helper's press named (handlers.acting_for), else None: every
    # button shown and question awaited in answer names them too.
    subject: int | None = None

    @property
    def is_elderly(self) -> bool:
        """Tell whether this member answers by buttons only."""
        return self.member.category == Category.ELDERLY


async def load_me(
    update: Update, services: Services, subject: Subject | None = None
) -> Me | None:
    """Return the active member the update acts for (or `subject`'s), or None."""
    if subject is None:
        subject = await subject_of(update, services)
    person = subject.person
    if person is None:
        return None
    member = await members.current_membership(services.db, person.id)
    if member is None or member.status != "active":
        return None
    branch = await units.get_unit(services.db, member.branch_id)
    default = services.settings.general.default_timezone
    return Me(
        person=person,
        member=member,
        language=user_language(
            update, services, (subject.helper or person).language
        ),
        tz=zone(person.timezone or (branch.timezone if branch else None), default),
        hours=rules.member_hours(member.category, services.settings.study),
        entered_by=subject.entered_by,
        chat_id=update.effective_user.id,
        subject=subject.member_id,
    )


def language_of(update: Update, services: Services, person: Person | None) -> str:
    """Return the language to answer a person (or a stranger) in."""
    return user_language(update, services, person.language if person else None)


async def member_or_stale(update: Update, services: Services) -> Me | None:
    """Return the member pressing a button, or answer that only members may and return None."""
    me = await load_me(update, services)
    if me is None:
        await stale(update, language_of(update, services, None), "errors.not_member")
    return me


async def own_pledge(
    update: Update, services: Services, pledge_id: int
) -> tuple[Me | None, Pledge | None]:
    """Return the member and their pledge, answering the button when either is missing."""
    me = await member_or_stale(update, services)
    if me is None:
        return None, None
    pledge = await repo.get_pledge(services.db, pledge_id)
    if pledge is None or pledge.member_id != me.member.id:
        await stale(update, me.language)
        return me, None
    return me, pledge


async def pledge_and_member(
    services: Services, pledge_id: int
) -> tuple[Pledge | None, Member | None]:
    """Return a pledge and the membership it belongs to (None for what is gone)."""
    pledge = await repo.get_pledge(services.db, pledge_id)
    member = await members.get_member(services.db, pledge.member_id) if pledge else None
    return pledge, member


async def leads(context: ContextTypes.DEFAULT_TYPE, actor: Actor, member: Member) -> bool:
    """Tell whether the actor may decide on this member's pledges."""
    return can_manage_branch(actor, member.branch_id, await load_units(context))


async def secretary_of(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pledge_id: int, denial: str
) -> tuple[Actor, Pledge, Member] | None:
    """Return (actor, pledge, member) if the presser leads the pledge's branch, else answer."""
    actor = await load_actor(update, context)
    pledge, member = await pledge_and_member(get_services(context), pledge_id)
    # One answer whether the pledge exists or is another branch's: ids are sequential.
    if pledge is None or member is None or not await leads(context, actor, member):
        await stale(update, actor.language, denial)
        return None
    return actor, pledge, member


async def approved(services: Services, member_id: int, year: int) -> list[Pledge]:
    """Return a member's approved pledges of a year (what reports and ratings number)."""
    pledges = await repo.member_pledges(services.db, member_id, year)
    return [p for p in pledges if p.status == "approved"]


async def approved_number(services: Services, pledge: Pledge) -> int:
    """Return a pledge's place among its member's approved pledges of the year."""
    return number_of(await approved(services, pledge.member_id, pledge.year), pledge.id)


def current_year(me: Me, services: Services) -> int:
    """Return the year it is now where the member lives."""
    return rules.local_year(services.clock.now(), me.tz)


def open_month(me: Me, services: Services) -> int:
    """Return the month the member may report on now."""
    return rules.open_month(
        services.clock.now(), services.settings.pledges.report_day, me.tz, me.hours
    )


async def month_is_open(
    update: Update, services: Services, me: Me, month: int, stale_key: str
) -> bool:
    """Tell whether `month` may still be reported on, answering the button when not."""
    current = open_month(me, services)
    if month == current:
        return True
    # The alert names both months, so a member pressing last month's button sees which is open.
    await stale(
        update,
        me.language,
        stale_key,
        month=month_label(me.language, month),
        current=month_label(me.language, current),
    )
    return False


def is_due_in(pledge: Pledge, month: int, me: Me, services: Services) -> bool:
    """Tell whether a pledge was asked about in `month` (approved before that month's ask)."""
    report_at = rules.report_moment(month, services.settings.pledges.report_day, me.tz, me.hours)
    return rules.is_due(pledge, month, report_at)
