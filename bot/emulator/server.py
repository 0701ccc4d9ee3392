"""A local Telegram Bot API server for tests, benchmarks and the offline demo.

:class:`BotApiEmulator` is a real aiohttp server on 127.0.0.1 that runs inside the
caller's event loop. Point PTB at it with ``base_url``/``base_file_url``, act as users
through :meth:`BotApiEmulator.add_user`, and inspect what the bot sent.

Example::

    async with BotApiEmulator(clock=fake_clock) as emulator:
        alice = emulator.add_user(1001, first_name="Alice")
        app = (
            ApplicationBuilder().token("123:TEST")
            .base_url(emulator.base_url).base_file_url(emulator.base_file_url)
            .build()
        )
        ...  # start polling
        await alice.send_command("start")
        reply = await alice.wait_for_message()
        emulator.inject(1001, "flood", retry_after=2)
        emulator.set_rate_limit(global_per_second=30, per_chat_per_second=1)
        print(emulator.stats.achieved_rate())

    emulator.reject_token("123:REVOKED")   # every call with it gets 401 Unauthorized

Webhook mode: the bot's setWebhook registers an https URL and secret; the
test says where a reverse proxy would forward that URL, then the emulator
posts pending updates there (with the secret), or posts a forged one::

    emulator.route_webhook("http://127.0.0.1:8443/telegram")
    await alice.send_command("start")
    await emulator.deliver_webhook_updates()            # -> [200]
    await emulator.post_update(forged, secret_token=None)  # -> 403

Several bots: each registers its own URL and secret (``webhook_of(bot_id)``);
route, post and deliver per bot with ``bot_id=``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

from aiohttp import ClientSession, ClientTimeout, web

from bot.emulator.control import install_control_api
from bot.emulator.errors import ApiError
from bot.emulator.faults import Fault, FaultInjector, FaultKind, SlidingWindowLimiter
from bot.emulator.messages import SentMessage
from bot.emulator.methods import SEND_METHODS, BotApiMethods
from bot.emulator.params import read_params
from bot.emulator.state import CommandKey, EmulatorState
from bot.emulator.stats import EmulatorStats
from bot.emulator.users import EmulatedUser

__all__ = ["BotApiEmulator"]

_LOGGER = logging.getLogger(__name__)
_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# post_update's default: send the secret the bot registered with setWebhook.
_REGISTERED: Any = object()


def _json(body: Any, status: int = 200) -> web.Response:
    """Serialise ``body`` compactly (UTF-8, no ASCII escaping) as a JSON response."""
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


class BotApiEmulator:
    """In-process HTTP emulator of the Telegram Bot API subset the bot uses."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "branchbot_demo_bot",
        bot_first_name: str = "支部助手",
        bot_id: int = 7000000001,
        clock: Callable[[], float] | None = None,
        rtt: float = 0.0,
        jitter: float = 0.0,
    ) -> None:
        self.host = host
        self.set_latency(rtt, jitter)
        self._requested_port = port
        self._port: int | None = None
        self.state = EmulatorState(
            bot_id=bot_id,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            clock=clock,
        )
        self.faults = FaultInjector()
        self.stats = EmulatorStats()
        self.tokens_seen: set[str] = set()
        self.rejected_tokens: set[str] = set()
        # Where a reverse proxy forwards each bot's webhook URL, by bot id.
        self._webhook_routes: dict[int, str] = {}
        self._forged_update_ids = itertools.count(10**9)
        self._limiter: SlidingWindowLimiter | None = None
        self._methods = BotApiMethods(self.state)
        self._runner: web.AppRunner | None = None

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Bind the HTTP server (ephemeral port when ``port=0``) in the running loop."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        app = web.Application(client_max_size=_MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        install_control_api(app, self)
        # No access log: it would dominate per-request cost in fan-out benchmarks.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Release long polls and shut the server down."""
        self.state.close_updates()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (valid after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:8081``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """PTB ``base_url``: PTB appends ``{token}/{method}``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB ``base_file_url``: PTB appends ``{token}/{file_path}``."""
        return f"{self.url}/file/bot"

    # ----------------------------------------------------------------- users & results
    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        bot_id: int | None = None,
    ) -> EmulatedUser:
        """Create a user whose private chat id equals ``user_id``, talking to ``bot_id``.

        ``bot_id`` is one added with :meth:`add_bot` (default: the emulator's own bot).
        """
        return self.state.add_user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            bot_id=bot_id,
        )

    def add_bot(self, bot_id: int, *, username: str, first_name: str = "") -> dict[str, Any]:
        """Add another bot: a token "<bot_id>:…" polls its own updates and sends as it."""
        return self.state.add_bot(bot_id, username=username, first_name=first_name)

    def user(self, user_id: int) -> EmulatedUser:
        """Return an existing user; ``KeyError`` if unknown."""
        return self.state.user(user_id)

    @property
    def users(self) -> Mapping[int, EmulatedUser]:
        """All users by id."""
        return self.state.users

    @property
    def all_sent(self) -> list[SentMessage]:
        """Every message the bot sent, across chats, in send order."""
        return self.state.all_sent

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages to ``chat_id``, in order."""
        return self.state.sent_to(chat_id)

    @property
    def commands(self) -> dict[CommandKey, list[tuple[str, str]]]:
        """setMyCommands results keyed by ``(scope_type, language_code or "")``."""
        return self.state.commands

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot's getUpdates offset."""
        return len(self.state.updates)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,
    ) -> None:
        """Wait until ``predicate()`` holds, re-checked after each delivered send or edit."""
        if not await self.state.wait_until(predicate, timeout):
            raise TimeoutError(f"condition not met within {timeout}s")

    # ----------------------------------------------------------------- faults & limits
    def inject(
        self,
        chat_id: int | None,
        kind: FaultKind,
        *,
        times: int | None = 1,
        retry_after: int = 1,
        delay: float = 0.0,
    ) -> Fault:
        """Make the next ``times`` sends to ``chat_id`` (None: any chat) fail as ``kind``."""
        return self.faults.inject(
            chat_id, kind, times=times, retry_after=retry_after, delay=delay
        )

    def clear_faults(self) -> None:
        """Disarm every injected fault."""
        self.faults.clear(all_chats=True)

    def set_rate_limit(
        self,
        *,
        global_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        retry_after: int = 1,
        burst: int | None = None,
    ) -> None:
        """Refuse sends above these rates with 429; both ``None`` disables enforcement.

        As Telegram's, the limits are per token: ``global_per_second`` is each
        bot's own overall rate and a chat's rate counts per (bot, chat); the
        stats count per bot too (``stats.achieved_rate(bot=<token's number>)``).

        ``burst`` makes the overall limit a token bucket of that size instead of
        a strict sliding window (see bot.emulator.faults).
        """
        if global_per_second is None and per_chat_per_second is None:
            self._limiter = None
            return
        self._limiter = SlidingWindowLimiter(
            global_per_second=global_per_second,
            per_chat_per_second=per_chat_per_second,
            retry_after=retry_after,
            burst=burst,
        )

    def reset_stats(self) -> None:
        """Start measuring afresh."""
        self.stats = EmulatorStats()

    def reject_token(self, token: str) -> None:
        """Answer every call made with ``token`` with 401 Unauthorized, as for a revoked token."""
        self.rejected_tokens.add(token)

    # ----------------------------------------------------------------- webhook
    @property
    def webhook(self) -> dict[str, Any] | None:
        """What the bot registered with setWebhook: ``url`` and ``secret_token``, or None."""
        return self._methods.webhooks.get(self.state.default_bot_id)

    def webhook_of(self, bot_id: int) -> dict[str, Any] | None:
        """What bot ``bot_id`` (one added with :meth:`add_bot`) registered, or None."""
        return self._methods.webhooks.get(bot_id)

    def route_webhook(self, local_url: str, *, bot_id: int | None = None) -> None:
        """Post bot ``bot_id``'s updates to ``local_url``, as a TLS-ending reverse proxy would."""
        self._webhook_routes[self.state.default_bot_id if bot_id is None else bot_id] = local_url

    async def post_update(
        self,
        update: dict[str, Any],
        *,
        secret_token: str | None = _REGISTERED,
        bot_id: int | None = None,
        url: str | None = None,
    ) -> int:
        """POST one update to bot ``bot_id``'s routed webhook and return the HTTP status.

        By default the header carries the secret that bot registered; pass
        ``None`` (no header) or another string to forge a post, and ``url`` to
        post somewhere else than the bot's route (a path no bot serves).
        """
        bot_id = self.state.default_bot_id if bot_id is None else bot_id
        url = url or self._webhook_routes.get(bot_id)
        if url is None:
            raise RuntimeError("no webhook route; call route_webhook() first")
        if secret_token is _REGISTERED:
            secret_token = (self.webhook_of(bot_id) or {}).get("secret_token")
        headers = {} if secret_token is None else {_SECRET_HEADER: secret_token}
        body = {"update_id": next(self._forged_update_ids), **update}
        async with (
            ClientSession(timeout=ClientTimeout(total=10)) as session,
            session.post(url, json=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    async def deliver_webhook_updates(self, *, bot_id: int | None = None) -> list[int]:
        """Post bot ``bot_id``'s pending updates (what users did) to its webhook."""
        bot_id = self.state.default_bot_id if bot_id is None else bot_id
        queue = self.state.bot_updates[bot_id]
        pending = await queue.fetch(limit=100)
        statuses = []
        for update in pending:
            statuses.append(await self.post_update(update, bot_id=bot_id))
        if pending:
            # Telegram drops an update once the webhook answered (or gave up).
            queue.confirm(pending[-1]["update_id"] + 1)
        return statuses

    def set_latency(self, rtt: float, jitter: float = 0.0) -> None:
        """Give every API call a network round trip of ``rtt`` ± ``jitter`` seconds.

        Half is spent before the call is handled (the request travelling) and
        half after (the answer travelling), each half jittered on its own, so
        rate limits see requests arrive with real spread.  0 turns it off.
        """
        if rtt < 0 or jitter < 0 or jitter > rtt:
            raise ValueError("need 0 <= jitter <= rtt")
        self.rtt = rtt
        self.jitter = jitter

    async def _travel(self) -> None:
        if self.rtt > 0:
            half, spread = self.rtt / 2, self.jitter / 2
            await asyncio.sleep(max(0.0, half + random.uniform(-spread, spread)))

    # ----------------------------------------------------------------- HTTP
    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        """Dispatch ``/bot{token}/{method}`` to the method handler, after the round trip."""
        await self._travel()  # the request on its way in
        response = await self._handle_api_call(request)
        await self._travel()  # the answer on its way back
        return response

    async def _handle_api_call(self, request: web.Request) -> web.StreamResponse:
        self.tokens_seen.add(request.match_info["token"])
        # getUpdates, getMe and the sends act as the bot this token names.
        self.state.serving(request.match_info["token"])
        if request.match_info["token"] in self.rejected_tokens:
            return self._error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        self.stats.record_request(method)
        handler = self._methods.get(method)
        if handler is None:
            return self._error(ApiError.method_not_found())
        try:
            params, files = await read_params(request)
        except ValueError as exc:
            return self._error(ApiError.bad_request(str(exc)))
        is_send = method.lower() in SEND_METHODS
        chat_id = params.get("chat_id") if is_send else None
        # Flood limits and their counts are per token, as Telegram's are.
        bot = _token_number(request.match_info["token"])
        try:
            if is_send:
                fault = self.faults.take(chat_id)
                if fault is not None and fault.kind == "drop":
                    return self._drop(request)
                if fault is not None and fault.kind != "slow":
                    raise _fault_error(fault)
                if self._limiter is not None and not self._limiter.admit(chat_id, bot):
                    raise ApiError.too_many_requests(self._limiter.retry_after)
            result = await handler(params, files)
        except ApiError as err:
            return self._error(err, bot)
        if is_send:
            self.stats.record_delivery(chat_id, bot)
            await self.state.notify_changed()
            if fault is not None and fault.kind == "slow":
                # Delivered and recorded; the answer comes after the client gave up.
                await asyncio.sleep(fault.delay)
        return _json({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """Serve an uploaded file at ``base_file_url + token/file_path``."""
        self.tokens_seen.add(request.match_info["token"])
        stored = self.state.files_by_path.get(request.match_info["path"])
        if stored is None:
            return self._error(ApiError(404, "Not Found"))
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    def _error(self, err: ApiError, bot: int | str | None = None) -> web.Response:
        """Count and render an error response (to ``bot``'s token)."""
        self.stats.record_error(err.code, bot)
        return _json(err.payload(), status=err.code)

    def _drop(self, request: web.Request) -> web.StreamResponse:
        """Abort the TCP connection so the client sees a network error, not a response."""
        self.stats.drops += 1
        transport = request.transport
        if transport is not None:
            transport.abort()
        # aiohttp cannot write to the aborted transport; this response is never sent.
        return web.Response(status=500)


def _token_number(token: str) -> int | str:
    """Return the bot id a token starts with ("<id>:<secret>"), or the token if it has none."""
    number = token.split(":", 1)[0]
    return int(number) if number.isdigit() else token


def _fault_error(fault: Fault) -> ApiError:
    """Translate an injected (non-drop) fault into its API error."""
    if fault.kind == "blocked":
        return ApiError.blocked()
    if fault.kind == "chat_not_found":
        return ApiError.chat_not_found()
    return ApiError.too_many_requests(fault.retry_after)
