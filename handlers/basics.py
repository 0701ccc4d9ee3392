"""/start without a code, /help by role, the command menu and unknown commands."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.domain.menus import Roles, allowed_commands, keep_allowed_lines
from bot.domain.permissions import Actor
from bot.i18n import LANGUAGES, t
from bot.services import Services, get_services
from handlers.common import load_actor, reply
from storage.repositories import members, people, roles, study

__all__ = [
    "COMMAND_KEYS",
    "MEMBER_COMMANDS",
    "command_key",
    "help_text",
    "menu",
    "publish_menu",
    "register",
    "register_fallback",
    "roles_of",
    "set_commands",
]

log = logging.getLogger(__name__)

# The menu everyone sees until a chat gets its own: most users are members.
MEMBER_COMMANDS = allowed_commands(Roles(has_person=True, member=True))
# Menu descriptions a feature keeps in its own catalogue table (default: commands.<name>).
COMMAND_KEYS = {"digest": "digest.commands.digest", "export": "digest.commands.export"}
COMMAND_KEYS.update(
    {name: f"study.commands.{name}" for name in ("study", "studies", "studyday", "checkin", "pair")}
)
COMMAND_KEYS.update(
    {name: f"pledges.commands.{name}" for name in ("pledges", "mypledges")},
    mobile="whereabouts.commands.mobile",
)
COMMAND_KEYS.update({name: f"offline.commands.{name}" for name in ("addmember", "offline")})
COMMAND_KEYS.update({name: f"households.commands.{name}" for name in ("households", "household")})
COMMAND_KEYS.update({name: f"meetings.commands.{name}"
                     for name in ("meeting", "meetings", "mymeetings", "attend")})
COMMAND_KEYS.update({name: f"posts.commands.{name}" for name in ("post", "posts")})
COMMAND_KEYS.update({name: f"life.commands.{name}" for name in ("moving", "transfer", "elderly")})
COMMAND_KEYS.update(
    campaign="campaign.commands.campaign", gongshi="gongshi.commands.gongshi",
    buttons="bigbuttons.commands.buttons", helpfor="helpers.commands.helpfor",
)
# Help sections in the order shown; each keeps only the lines of allowed commands.
_MEMBER_HELP = ("help.member", "pledges.help_member", "households.help_member",
                "meetings.help_member", "posts.help_member", "life.help_member")
# Shown to 帮学人 and 联系人 whether or not they are members themselves.
_HELPER_HELP = ("helpers.help",)
_LEADER_HELP = (
    "help.secretary", "pledges.help_secretary", "digest.help", "study.help_secretary",
    "offline.help", "households.help", "meetings.help", "posts.help", "life.help",
)


def command_key(name: str) -> str:
    """Return the catalogue key of a command's menu description."""
    return COMMAND_KEYS.get(name, f"commands.{name}")


def menu(language: str, names: tuple[str, ...]) -> list[BotCommand]:
    """Return the menu entries of these commands in `language`."""
    return [BotCommand(name, t(language, command_key(name))) for name in names]


async def roles_of(services: Services, telegram_id: int) -> Roles:
    """Return what the Telegram user is, read from the database and the config."""
    admin = services.settings.is_admin(telegram_id)
    person = await people.get_person_by_telegram(services.db, telegram_id)
    if person is None:
        return Roles(admin=admin)
    membership = await members.current_membership(services.db, person.id)
    return Roles(
        has_person=True,
        member=membership is not None and membership.status == "active",
        helper=bool(await study.paired_members(services.db, person.id)),
        leader=bool(await roles.led_unit_ids(services.db, person.id)),
        admin=admin,
    )


def help_text(language: str, user_roles: Roles) -> str:
    """Return the help for what a user with these roles may do, and nothing else."""
    allowed = allowed_commands(user_roles)
    keys: list[str] = []
    if user_roles.member:
        keys += _MEMBER_HELP
    else:
        keys.append("help.basic")
    if user_roles.helper:
        keys += _HELPER_HELP
    if user_roles.leader or user_roles.admin:
        keys += _LEADER_HELP
    if user_roles.admin:
        keys.append("help.admin")
    sections = [keep_allowed_lines(t(language, key), allowed) for key in keys]
    if not (user_roles.has_person or user_roles.admin):
        # Someone the bot does not know yet: first how to register.
        sections.insert(0, t(language, "start.stranger"))
    return "\n\n".join(section for section in sections if section)


async def _actor_help(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> str:
    return help_text(actor.language, await roles_of(get_services(context), actor.telegram_id))


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user: members and leaders get their menu, strangers learn how to join."""
    actor = await load_actor(update, context)
    if actor.person_id is None and not actor.is_admin:
        await reply(update, actor.language, "start.stranger")
        return
    name = actor.name or (update.effective_user.first_name if update.effective_user else "")
    await reply(update, actor.language, "start.welcome", name=name)
    await update.effective_chat.send_message(await _actor_help(update, context, actor))


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the commands this user may use."""
    actor = await load_actor(update, context)
    await update.effective_chat.send_message(await _actor_help(update, context, actor))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a command the bot does not know with a pointer to /help."""
    actor = await load_actor(update, context)
    await reply(update, actor.language, "errors.unknown_command")


async def set_commands(app: Application, services: Services) -> None:
    """Publish the member menu for everyone, in zh by default and en for English clients."""
    default = services.settings.general.default_language
    await app.bot.set_my_commands(menu(default, MEMBER_COMMANDS), BotCommandScopeDefault())
    for language in LANGUAGES:
        await app.bot.set_my_commands(
            menu(language, MEMBER_COMMANDS), BotCommandScopeDefault(), language_code=language
        )
    for admin_id in services.settings.general.admins:
        await publish_menu(app, services, admin_id)


async def publish_menu(app: Application, services: Services, telegram_id: int) -> None:
    """Give the user's chat the menu of what their roles allow, in their language."""
    person = await people.get_person_by_telegram(services.db, telegram_id)
    language = (person.language if person else None) or services.settings.general.default_language
    names = allowed_commands(await roles_of(services, telegram_id))
    try:
        await app.bot.set_my_commands(menu(language, names), BotCommandScopeChat(telegram_id))
    except BadRequest:
        # The user has never opened the bot, so the chat does not exist yet;
        # they get the menu when they claim a role or pick a language.
        log.info("no chat yet for a command menu")


def register(app: Application) -> None:
    """Add /start (without a code) and /help."""
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", show_help))


def register_fallback(app: Application) -> None:
    """Add the unknown-command answer; must come after every feature's commands."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
