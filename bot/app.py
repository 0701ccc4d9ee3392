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
import logging
import signal
from datetime import UTC

from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults
from telegram.request import BaseRequest

import handlers
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.errors import ConfigError
from bot.log_redaction import install_token_redaction
from bot.services import SERVICES_KEY, Services
from storage.db import open_database
from storage.migrate import migrate

__all__ = ["build_application", "run_bot"]

log = logging.getLogger(__name__)
# With max_retries=0 the limiter logs every 429 as an ERROR with a traceback;
# bot.delivery handles and logs 429s itself, once, as a warning.
logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)

# Used only when no token is configured and the Bot API is a local emulator,
# which accepts any token.
OFFLINE_TOKEN = "123456:OFFLINE-DEMO-TOKEN-0000000000"


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    database: str | None = None,
) -> Application:
    """Return a ready-to-start Application with every handler registered."""
    token = settings.telegram.token
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
        db = await open_database(database or settings.storage.database)
        applied = await migrate(db)
        if applied:
            log.info("applied migrations %s", applied)
        services = Services(settings=settings, clock=clock, db=db)
        self.bot_data[SERVICES_KEY] = services
        await handlers.on_startup(self, services)

    async def shutdown(self) -> None:
        """Close the database, then shut the bot down."""
        services: Services | None = self.bot_data.pop(SERVICES_KEY, None)
        if services is not None:
            await services.db.close()
        await super().shutdown()


async def run_bot(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: long polling, or a webhook if configured."""
    logging.getLogger().setLevel(settings.general.log_level)
    install_token_redaction(settings.telegram.token)
    app = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with app:
        await app.start()
        if settings.telegram.mode == "webhook":
            await app.updater.start_webhook(
                listen=settings.telegram.webhook_listen,
                port=settings.telegram.webhook_port,
                webhook_url=settings.telegram.webhook_url,
            )
        else:
            await app.updater.start_polling()
        log.info("branchbot is running; press Ctrl-C to stop")
        await stop.wait()
        await app.updater.stop()
        await app.stop()
