"""/org (the tree), /org check (structure rules) and /appoint (admins name secretaries)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.callback_data import parse_id
from bot.domain import joining
from bot.domain.free_text import echo
from bot.domain.models import Unit
from bot.domain.permissions import Actor, can_manage_unit, top_led_units
from bot.domain.text import split_message
from bot.domain.tree import render_tree
from bot.i18n import t
from bot.org_report import load_structure_findings
from bot.services import get_services
from handlers.common import load_actor, load_units, reply
from handlers.scope import load_leader
from storage.db import transaction
from storage.repositories import audit, people, roles, units

__all__ = ["register"]


async def show_org(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the organisation tree (admins: all of it; secretaries: the part they lead)."""
    actor = await load_leader(update, context)
    if actor is None:
        return
    all_units = await load_units(context)
    if context.args and context.args[0].lower() == "check":
        await _check(update, context, actor, all_units)
        return
    if not all_units:
        await reply(update, actor.language, "org.empty")
        return
    lines = render_tree(
        all_units,
        # Admins see the whole tree; a unit led within another led unit is drawn inside it.
        root_ids=None if actor.is_admin else [u.id for u in top_led_units(actor, all_units)],
        label=lambda unit: t(
            actor.language,
            "org.unit",
            name=unit.name,
            key=unit.key,
            kind=t(actor.language, f"kind.{unit.kind}"),
        ),
    )
    text = t(actor.language, "org.title") + "\n" + "\n".join(lines)
    for part in split_message(text):
        await update.effective_chat.send_message(part)


async def _check(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, all_units: list[Unit]
) -> None:
    services = get_services(context)
    findings = await load_structure_findings(services.db, services.settings.structure)
    visible = [f for f in findings if can_manage_unit(actor, f.unit_id, all_units)]
    if not visible:
        await reply(update, actor.language, "org.check_clean")
        return
    lines = [t(actor.language, "org.check_title", count=len(visible))]
    lines += [
        "• "
        + t(
            actor.language,
            f"org.finding_{f.rule}",
            name=f.unit_name,
            members=f.members,
            expected=f.expected,
            found=f.found,
        )
        for f in visible
    ]
    for part in split_message("\n".join(lines)):
        await update.effective_chat.send_message(part)


async def appoint(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Appoint a secretary: `/appoint KEY` gives a one-time link; `/appoint KEY ID` is direct."""
    actor = await load_actor(update, context)
    if not actor.is_admin:
        await reply(update, actor.language, "errors.not_admin")
        return
    services = get_services(context)
    args = context.args or []
    if not args or len(args) > 3:
        await reply(update, actor.language, "org.appoint_usage")
        return
    unit = await units.get_unit_by_key(services.db, args[0])
    if unit is None:
        await reply(update, actor.language, "org.unknown_unit", key=echo(args[0]))
        return
    role = "committee" if "committee" in args[1:] else "secretary"
    telegram_ids = [arg for arg in args[1:] if arg.isdigit()]
    if any(parse_id(arg) is None for arg in telegram_ids):
        # '²' passes isdigit() but not int(); a huge number overflows SQLite.
        await reply(update, actor.language, "org.appoint_usage")
        return
    now = services.now_ts()
    role_name = t(actor.language, f"role.{role}")
    if telegram_ids:
        async with transaction(services.db):
            person = await people.ensure_person(
                services.db, telegram_id=int(telegram_ids[0]), now=now
            )
            await roles.appoint(
                services.db,
                unit_id=unit.id,
                person_id=person.id,
                role=role,
                appointed_by=actor.person_id,
                now=now,
            )
            await audit.record(
                services.db,
                at=now,
                actor=f"tg:{actor.telegram_id}",
                action="role.appoint",
                subject=f"unit:{unit.id}",
                detail=f"{role}:{person.id}",
            )
        await reply(
            update,
            actor.language,
            "org.appointed",
            unit=unit.name,
            role=role_name,
            who=telegram_ids[0],
        )
        return
    code = joining.new_code(12)
    async with transaction(services.db):
        await roles.create_claimable_role(
            services.db,
            unit_id=unit.id,
            role=role,
            code=code,
            appointed_by=actor.person_id,
            now=now,
        )
        await audit.record(
            services.db,
            at=now,
            actor=f"tg:{actor.telegram_id}",
            action="role.invite",
            subject=f"unit:{unit.id}",
            detail=role,
        )
    link = f"https://t.me/{context.bot.username}?start=sec_{code}"
    await reply(
        update, actor.language, "org.appoint_link", unit=unit.name, role=role_name, link=link
    )


def register(app: Application) -> None:
    """Add /org and /appoint."""
    app.add_handler(CommandHandler("org", show_org))
    app.add_handler(CommandHandler("appoint", appoint))
