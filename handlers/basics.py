"""/start without a code, /help by role, the command menu and unknown commands."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.domain.permissions import Actor, is_leader
from bot.i18n import LANGUAGES, t
from bot.services import Services
from handlers.common import load_actor, reply

__all__ = [
    "MEMBER_COMMANDS",
    "SECRETARY_COMMANDS",
    "help_text",
    "register",
    "register_fallback",
    "set_commands",
    "set_leader_commands",
]

MEMBER_COMMANDS = (
    "start", "help", "me", "language", "timezone", "away", "leave", "forget",
    "mypledges", "pledges",
)
SECRETARY_COMMANDS = (
    *MEMBER_COMMANDS, "members", "pending", "invite", "invites", "revoke", "remove", "org",
    "digest", "export", "study", "studies", "studyday", "checkin", "pair", "mobile",
)
# Menu descriptions a feature keeps in its own catalogue table (default: commands.<name>).
COMMAND_KEYS = {"digest": "digest.commands.digest", "export": "digest.commands.export"}
COMMAND_KEYS.update(
    {name: f"study.commands.{name}" for name in ("study", "studies", "studyday", "checkin", "pair")}
)
COMMAND_KEYS.update(
    {name: f"pledges.commands.{name}" for name in ("pledges", "mypledges")},
    mobile="whereabouts.commands.mobile",
)
ADMIN_COMMANDS = (*SECRETARY_COMMANDS, "appoint")


def help_text(actor: Actor) -> str:
    """Return the help for what this actor may do."""
    parts = [t(actor.language, "help.member"), t(actor.language, "pledges.help_member")]
    if is_leader(actor):
        parts.append(t(actor.language, "help.secretary"))
        parts.append(t(actor.language, "pledges.help_secretary"))
        parts.append(t(actor.language, "digest.help"))
        parts.append(t(actor.language, "study.help_secretary"))
    if actor.is_admin:
        parts.append(t(actor.language, "help.admin"))
    return "\n\n".join(parts)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user: members and leaders get their menu, strangers learn how to join."""
    actor = await load_actor(update, context)
    if actor.person_id is None and not actor.is_admin:
        await reply(update, actor.language, "start.stranger")
        return
    name = actor.name or (update.effective_user.first_name if update.effective_user else "")
    await reply(update, actor.language, "start.welcome", name=name)
    await update.effective_chat.send_message(help_text(actor))


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the commands this user may use."""
    actor = await load_actor(update, context)
    await update.effective_chat.send_message(help_text(actor))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a command the bot does not know with a pointer to /help."""
    actor = await load_actor(update, context)
    await reply(update, actor.language, "errors.unknown_command")


def _commands(language: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [
        BotCommand(name, t(language, COMMAND_KEYS.get(name, f"commands.{name}")))
        for name in names
    ]


async def set_commands(app: Application, services: Services) -> None:
    """Publish the member menu for everyone, in zh by default and en for English clients."""
    default = services.settings.general.default_language
    await app.bot.set_my_commands(_commands(default, MEMBER_COMMANDS), BotCommandScopeDefault())
    for language in LANGUAGES:
        await app.bot.set_my_commands(
            _commands(language, MEMBER_COMMANDS), BotCommandScopeDefault(), language_code=language
        )
    for admin_id in services.settings.general.admins:
        await set_leader_commands(app, admin_id, default, admin=True)


async def set_leader_commands(
    app: Application, telegram_id: int, language: str, *, admin: bool = False
) -> None:
    """Give a secretary (or admin) the longer menu in their own chat."""
    names = ADMIN_COMMANDS if admin else SECRETARY_COMMANDS
    try:
        await app.bot.set_my_commands(
            _commands(language, names), BotCommandScopeChat(telegram_id)
        )
    except BadRequest:
        # The leader has never opened the bot, so the chat does not exist yet;
        # they get the menu the next time they are appointed or run /start.
        pass


def register(app: Application) -> None:
    """Add /start (without a code) and /help."""
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", show_help))


def register_fallback(app: Application) -> None:
    """Add the unknown-command answer; must come after every feature's commands."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
