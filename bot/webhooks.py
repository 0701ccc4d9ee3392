"""One webhook server for every bot a process serves (several `[[bots]]` in webhook mode).

PTB's `Updater.start_webhook` starts one HTTP server per Application, each on
its own port; a province of 100 county bots behind a load balancer needs one
port per receiver.  This server, after PTB's `examples/customwebhookbot/`,
takes Telegram's posts for all of them on one port, one path per bot:

    <[telegram].webhook_url>/<bot name>   e.g. https://bot.example.org/telegram/county-a

checks that bot's secret header and puts the update into that bot's
Application.  A receiver keeps nothing in memory, so any number of them can
run behind a load balancer: each derives every bot's secret from the one
configured `[telegram].webhook_secret`, so all of them agree.

One bot (no `[[bots]]`, or one entry) keeps PTB's own webhook server at
`webhook_url` itself (bot.app.start_receiving).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.config import BotSettings, Settings
from bot.log_redaction import add_secret

__all__ = [
    "MAX_BODY_BYTES",
    "BotsWebhook",
    "bot_secret",
    "bot_webhook_url",
    "uses_bot_paths",
]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few KB (a 4,096-character message with entities and the
# message it replies to); anything near this is not from Telegram.
MAX_BODY_BYTES = 1024 * 1024


def uses_bot_paths(settings: Settings) -> bool:
    """Whether webhook mode takes each bot's posts at its own path (several `[[bots]]`).

    Decided by the deployment, not by the bots one process serves
    (`--bots`): every receiver must register and serve the same URLs.
    """
    return settings.telegram.mode == "webhook" and len(settings.bots) > 1


def bot_webhook_url(settings: Settings, bot: BotSettings) -> str:
    """Return the public URL Telegram posts the bot's updates to: `<webhook_url>/<name>`."""
    return f"{(settings.telegram.webhook_url or '').rstrip('/')}/{bot.name}"


def bot_secret(webhook_secret: str, bot: BotSettings) -> str:
    """Return the bot's own secret token, derived from the deployment's one secret.

    HMAC, so every receiver computes the same secret without configuring one
    per bot, and learning one bot's secret tells nothing about another's or
    the configured one.  43 characters of A-Z a-z 0-9 _ -, as Telegram accepts.
    """
    digest = hmac.new(
        webhook_secret.encode(), b"branchbot-webhook:" + bot.name.encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class BotsWebhook:
    """An aiohttp server taking Telegram's posts for several Applications on one port."""

    def __init__(
        self,
        served: Sequence[tuple[BotSettings, Application]],
        settings: Settings,
        *,
        webhook_secret: str,
    ) -> None:
        self._settings = settings
        self._bots = [bot for bot, _ in served]
        self._apps = [app for _, app in served]
        self._secrets = {bot.name: bot_secret(webhook_secret, bot) for bot in self._bots}
        for secret in self._secrets.values():
            add_secret(secret)  # masked in every log line, like the token
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on `[telegram].webhook_listen:webhook_port`, then register every bot's URL."""
        telegram = self._settings.telegram
        server = web.Application(client_max_size=MAX_BODY_BYTES)
        prefix = urlsplit(telegram.webhook_url or "").path.rstrip("/")
        for app, bot in zip(self._apps, self._bots, strict=True):
            # Anything else (a bot of the deployment this process does not serve,
            # a misspelt name) is aiohttp's 404.
            server.router.add_post(f"{prefix}/{bot.name}", self._handler(app, bot))
        # No access log: a reverse proxy already keeps one, and aiohttp's would
        # add a line per update on a busy province.
        runner = web.AppRunner(server, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, telegram.webhook_listen, telegram.webhook_port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        try:
            for app, bot in zip(self._apps, self._bots, strict=True):
                # Every receiver registers the same URL and secret, so the last
                # one to start changes nothing for the others.
                await app.bot.set_webhook(
                    url=bot_webhook_url(self._settings, bot), secret_token=self._secrets[bot.name]
                )
        except BaseException:
            await self.stop()
            raise
        log.info(
            "webhook server on %s:%d for %d bot(s) under %s/",
            telegram.webhook_listen, telegram.webhook_port, len(self._apps), prefix,
        )

    async def stop(self) -> None:
        """Stop taking posts; the webhooks stay registered (other receivers still serve them)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def _handler(
        self, app: Application, bot: BotSettings
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        secret = self._secrets[bot.name].encode()

        async def receive(request: web.Request) -> web.Response:
            """Check the bot's secret, read the update and queue it for the bot's Application."""
            given = request.headers.get(SECRET_HEADER)
            # Constant time, as a forger could otherwise learn the secret byte by byte.
            if given is None or not hmac.compare_digest(given.encode(), secret):
                log.debug("webhook %r: a post without the right secret (403)", bot.name)
                return web.Response(status=403)
            try:
                body = await request.read()  # over client_max_size: 413
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                update = Update.de_json(data, app.bot)
            except web.HTTPException:
                raise
            except Exception:  # garbage JSON or no update: never quoted (may hold anything)
                log.warning("webhook %r: a post that is not an update (400)", bot.name)
                return web.Response(status=400)
            if isinstance(app.bot, ExtBot):
                app.bot.insert_callback_data(update)  # as PTB's own webhook handler does
            await app.update_queue.put(update)
            return web.Response(status=200)

        return receive
