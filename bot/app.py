"""Build and run the one Application that serves `run`, `demo` and the tests.

    app = build_application(settings, clock=FakeClock(...))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0)

Seams are keyword-only arguments, like httpx's `transport=`: tests pass a
clock and point `settings.telegram.api_base_url` at the local emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from datetime import UTC
from urllib.parse import urlsplit

import aiosqlite
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults
from telegram.request import BaseRequest

import handlers
from bot.clock import Clock, SystemClock
from bot.config import BotSettings, Settings
from bot.errors import BranchbotError, ConfigError
from bot.log_redaction import add_secret, install_token_redaction
from bot.scheduling import ROLE_KEY, release_leases, role_of
from bot.services import SERVICES_KEY, Services
from bot.webhooks import BotsWebhook, uses_bot_paths
from storage.health import open_checked_database
from storage.lock import DatabaseLock
from storage.repositories import units as units_repo

__all__ = [
    "BOT_KEY",
    "StartFailed",
    "build_application",
    "check_bot_unit",
    "run_bot",
    "select_bots",
    "start_receiving",
    "start_webhook_server",
]

log = logging.getLogger(__name__)
# With max_retries=0 the limiter logs every 429 as an ERROR with a traceback;
# bot.delivery handles and logs 429s itself, once, as a warning.
logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)

# Used only when no token is configured and the Bot API is a local emulator,
# which accepts any token.
OFFLINE_TOKEN = "123456:OFFLINE-DEMO-TOKEN-0000000000"
# bot_data key of the BotSettings an Application serves.
BOT_KEY = "branchbot.bot"
# bot_data flag read by bot.scheduling.start_scheduler: False on every
# Application of a process but the first, so planning runs once per tick.
PLANS_KEY = "branchbot.plans"
# bot_data key of the list of Applications of this process (their planner wakes them all).
SIBLINGS_KEY = "branchbot.siblings"


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    database: str | None = None,
    bot: BotSettings | None = None,
) -> Application:
    """Return a ready-to-start Application with every handler registered.

    `bot` is one of `settings.served_bots` (default: the first, which is the
    one bot of `[telegram].token` when no `[[bots]]` are listed).
    """
    bot = bot or settings.served_bots[0]
    token = bot.token
    if token is None and settings.bots:
        raise bot.missing_token()
    if token is None:
        if settings.telegram.api_base_url.startswith(("http://127.", "http://localhost")):
            token = OFFLINE_TOKEN
        else:
            raise ConfigError(
                "[telegram].token", None, "a bot token (or set the BRANCHBOT_TOKEN variable)"
            )
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram.api_base_url)
        .base_file_url(settings.telegram.api_base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=UTC))
        # The limiter keeps the overall and per-group rates; it never retries:
        # bot.delivery owns retries so each send is logged exactly once.
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=settings.delivery.global_per_second,
                group_max_rate=settings.delivery.per_group_per_minute,
                max_retries=0,
            )
        )
        .concurrent_updates(8)
        .application_class(BranchbotApplication)
    )
    if request is not None:
        builder = builder.request(request)
    app = builder.build()
    app.bot_data["branchbot.boot"] = (settings, clock or SystemClock(), database)
    app.bot_data[BOT_KEY] = bot
    handlers.register_all(app)
    return app


class BranchbotApplication(Application):
    """An Application that opens the database on initialize and closes it on shutdown.

    PTB calls `post_init` only from run_polling/run_webhook; overriding
    initialize() makes `async with app:` enough for run, demo and tests alike.
    """

    async def initialize(self) -> None:
        """Initialize the bot, then open and migrate the database and publish the menu."""
        await super().initialize()
        if SERVICES_KEY in self.bot_data:
            return
        settings, clock, database = self.bot_data["branchbot.boot"]
        # Checked (quick_check) and closed again if anything fails, so a bad
        # database ends the start with one line instead of a hung process.
        db = await open_checked_database(database or settings.storage.database, migrated=True)
        bot: BotSettings = self.bot_data[BOT_KEY]
        if bot.unit is not None:
            try:
                await check_bot_unit(db, bot)
            except BaseException:
                await db.close()
                raise
        services = Services(settings=settings, clock=clock, db=db, bot_name=bot.name)
        self.bot_data[SERVICES_KEY] = services
        await handlers.on_startup(self, services)

    async def shutdown(self) -> None:
        """Close the database, then shut the bot down."""
        services: Services | None = self.bot_data.pop(SERVICES_KEY, None)
        if services is not None:
            await release_leases(self, services)  # a clean stop: others take over at once
            await services.db.close()
        await super().shutdown()


async def check_bot_unit(db: aiosqlite.Connection, bot: BotSettings) -> None:
    """Raise ConfigError unless the unit a `[[bots]]` entry serves is in the database."""
    if bot.unit is not None and await units_repo.get_unit_by_key(db, bot.unit) is None:
        raise ConfigError(
            f'[[bots]] "{bot.name}".unit', bot.unit,
            "the key of a unit in the database (see branchbot org show)",
        )


def select_bots(settings: Settings, names: str | None) -> tuple[BotSettings, ...]:
    """Return the bots this process serves: all, or those `--bots a,b` names.

    Each must have its token (a `[[bots]]` token_env may be unset for a bot
    another machine serves); the first without one is a ConfigError.
    """
    served = settings.served_bots
    if names:
        wanted = [name.strip() for name in names.split(",") if name.strip()]
        if not settings.bots:
            raise ConfigError(
                "--bots", names, "[[bots]] entries in the config (it lists none: leave --bots out)"
            )
        known = {bot.name for bot in served}
        for name in wanted:
            if name not in known:
                raise ConfigError("--bots", name, "names of [[bots]] entries: " + ", ".join(
                    sorted(known)))
        served = tuple(bot for bot in served if bot.name in wanted)
    if settings.bots:
        for bot in served:
            if bot.token is None:
                raise bot.missing_token()
    return served


class StartFailed(BranchbotError):
    """The bot could not start; `exit_status` 1 tells a supervisor to try again later."""

    exit_status = 1


async def start_receiving(app: Application, settings: Settings, *, webhook_secret: str) -> None:
    """Start taking updates: long polling, or PTB's webhook server if configured.

    With several `[[bots]]` in webhook mode this does nothing: one
    server for all of them (start_webhook_server) takes their posts.
    """
    if role_of(app) not in ("all", "updates"):
        return  # a planner or delivery process takes no updates (--role)
    telegram = settings.telegram
    if uses_bot_paths(settings):
        return
    if telegram.mode != "webhook":
        await app.updater.start_polling()
        return
    # Behind a reverse proxy: Telegram posts to the public https URL, the proxy
    # forwards the same path here over plain http.  PTB registers the URL and
    # the secret with setWebhook and answers 403 to any post whose
    # X-Telegram-Bot-Api-Secret-Token header is missing or wrong.
    await app.updater.start_webhook(
        listen=telegram.webhook_listen,
        port=telegram.webhook_port,
        url_path=urlsplit(telegram.webhook_url or "").path.lstrip("/"),
        webhook_url=telegram.webhook_url,
        secret_token=webhook_secret,
    )


async def start_webhook_server(
    apps: list[Application], settings: Settings, *, webhook_secret: str
) -> BotsWebhook | None:
    """Start one webhook server for all `apps` when several `[[bots]]` use webhooks, else None.

    PTB's start_webhook would start a server, on its own port, per bot; this
    one takes every bot's posts at `<webhook_url>/<bot name>` (bot.webhooks).
    """
    if not apps or not uses_bot_paths(settings) or role_of(apps[0]) not in ("all", "updates"):
        return None
    server = BotsWebhook(
        [(app.bot_data[BOT_KEY], app) for app in apps], settings, webhook_secret=webhook_secret
    )
    try:
        await server.start()
    except OSError as exc:  # the port is taken, or the address is not this machine's
        telegram = settings.telegram
        raise StartFailed(
            f"cannot listen for webhooks on {telegram.webhook_listen}:{telegram.webhook_port}:"
            f" {exc.strerror or exc}"
        ) from None
    return server


async def run_bot(settings: Settings, *, bots: str | None = None, role: str = "all") -> None:
    """Run until SIGINT/SIGTERM: long polling, or a webhook if configured.

    `bots` ("a,b", from `branchbot run --bots`) serves a subset of `[[bots]]`;
    None serves them all.  `role` (`branchbot run --role`) is what this process
    does: all, updates, planner or delivery.  Every failed start raises a BranchbotError (one
    line, never a token); nothing is left running, so the process exits and a
    supervisor sees it.
    """
    logging.getLogger().setLevel(settings.general.log_level)
    install_token_redaction(settings.telegram.token)
    for bot in settings.bots:
        install_token_redaction(bot.token)
    served = select_bots(settings, bots)
    # Made fresh at every start when not configured; setWebhook registers it.
    webhook_secret = settings.telegram.webhook_secret or secrets.token_urlsafe(32)
    add_secret(webhook_secret)
    if (
        settings.telegram.mode == "webhook"
        and settings.telegram.webhook_secret is None
        and settings.storage.is_postgres
        and role in ("all", "updates")
    ):
        # Several receivers behind a load balancer: each would register its own
        # random secret with setWebhook, and the others would refuse Telegram's posts.
        log.warning(
            "webhook receivers behind a load balancer need one shared"
            " [telegram].webhook_secret; this process registers a random one"
        )
    database = settings.storage.database
    # One process per SQLite file; PostgreSQL is shared by design (issue 15).
    lock = (
        DatabaseLock(database)
        if database != ":memory:" and not settings.storage.is_postgres
        else None
    )
    if lock is not None and role != "all":
        log.warning(
            "--role=%s on SQLite: one process per database file, so nothing else plans,"
            " delivers or takes updates; split roles need PostgreSQL", role,
        )
    if lock is not None:
        # A second process would send every reminder again (issue: 107 of 300
        # members got one twice); the kernel frees the lock if we die.
        await asyncio.to_thread(lock.acquire)
    try:
        await _serve(settings, webhook_secret, served, role=role)
    finally:
        if lock is not None:
            lock.release()


_TOKEN_REJECTED = (
    "the Bot API rejected the token (401 Unauthorized): it was revoked or mistyped; "
    "get a new one from @BotFather, see docs/deploy.md#rotate"
)


class _TokenRejectedWatch(logging.Handler):
    """Notice any logged InvalidToken (Telegram answered 401) and ask the bot to stop.

    A token revoked while the bot runs makes PTB's polling loop log the
    InvalidToken and end, leaving a process that looks alive and does nothing.
    Watching the log is the one public place where every 401 shows up.
    """

    def __init__(self, stop: asyncio.Event, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._stop = stop
        self._loop = loop
        self.rejected = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
            self.rejected = True
            # Records may come from worker threads.
            self._loop.call_soon_threadsafe(self._stop.set)


async def _serve(
    settings: Settings,
    webhook_secret: str,
    served: tuple[BotSettings, ...] | None = None,
    *,
    role: str = "all",
) -> None:
    """Start one Application per bot, wait for a stop signal (or a rejected token), stop them.

    All share one database; each has its own token, pacing and delivery
    worker (which sends only its own bot's rows).  Only the first plans: a
    tick plans for every bot once, never once per bot.
    """
    apps = [build_application(settings, bot=bot) for bot in served or settings.served_bots]
    for app in apps:
        # `--role`: what this process does (bot.scheduling reads it at start).
        app.bot_data[ROLE_KEY] = role
    for app in apps[1:]:
        app.bot_data[PLANS_KEY] = False
    for app in apps:
        # A planner wakes every delivery worker of the process, not only its own.
        app.bot_data[SIBLINGS_KEY] = apps
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    watch = _TokenRejectedWatch(stop, loop)
    logging.getLogger().addHandler(watch)
    try:
        async with contextlib.AsyncExitStack() as stack:
            for app in apps:
                # Entered in order: the first opens (and migrates) the database
                # before the others open it; a bot whose unit is unknown stops the start.
                await stack.enter_async_context(app)
            running: list[Application] = []
            webhook: BotsWebhook | None = None
            try:
                for app in apps:
                    await app.start()
                    running.append(app)
                    await start_receiving(app, settings, webhook_secret=webhook_secret)
                webhook = await start_webhook_server(
                    apps, settings, webhook_secret=webhook_secret
                )
                log.info("branchbot is running (%d bot(s)); press Ctrl-C to stop", len(apps))
                await stop.wait()
            finally:
                if webhook is not None:
                    await webhook.stop()  # no update is queued into a stopping Application
                await _stop_all(running)
    except InvalidToken:
        # PTB's own message quotes the token; this one never does.
        raise BranchbotError(_TOKEN_REJECTED) from None
    except NetworkError as exc:
        raise StartFailed(
            f"cannot reach the Bot API at {settings.telegram.api_base_url}: {exc}"
        ) from None
    finally:
        logging.getLogger().removeHandler(watch)
    if watch.rejected:
        # Exit non-zero so a supervisor shows the failure instead of a silent bot.
        raise BranchbotError(_TOKEN_REJECTED)


async def _stop_all(apps: list[Application]) -> None:
    """Stop every running Application; re-raise the first error (what ended polling)."""
    first: BaseException | None = None
    for app in apps:
        try:
            try:
                # Re-raises what ended polling (InvalidToken after a 401).
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
            finally:
                # Shutting down a running Application raises and hides the cause.
                await app.stop()
        except Exception as exc:  # every bot is stopped before the cause is raised
            first = first or exc
    if first is not None:
        raise first
