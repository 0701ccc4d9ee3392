"""JSON control API under ``/_emulator/`` so another process can drive the emulator.

A thin layer over the same in-memory model that in-process tests use. Useful when the
bot runs in a separate process (``python -m bot.emulator``) during the offline demo.

Example (from a shell)::

    curl -XPOST localhost:8081/_emulator/users -d '{"user_id": 1001, "first_name": "Alice"}'
    curl -XPOST localhost:8081/_emulator/bots -d '{"bot_id": 7000000002, "username": "b_bot"}'
    curl -XPOST localhost:8081/_emulator/users -d '{"user_id": 1003, "bot_id": 7000000002}'
    curl -XPOST localhost:8081/_emulator/users/1001/text -d '{"text": "/start"}'
    curl -XPOST localhost:8081/_emulator/users/1001/wait -d '{"timeout": 5}'
    curl -XPOST localhost:8081/_emulator/users/1001/press -d '{"button": "签到"}'
    curl localhost:8081/_emulator/users/1001/messages
    curl -XPOST localhost:8081/_emulator/inject -d '{"chat_id": 1001, "kind": "flood"}'
    curl -XPOST localhost:8081/_emulator/rate_limit -d '{"global_per_second": 30}'
    curl -XPOST localhost:8081/_emulator/reject_token -d '{"token": "123:REVOKED"}'
    curl localhost:8081/_emulator/stats
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.emulator.users import EmulatedUser

if TYPE_CHECKING:
    from bot.emulator.server import BotApiEmulator

__all__ = ["install_control_api"]

_PREFIX = "/_emulator"
_Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def install_control_api(app: web.Application, emulator: BotApiEmulator) -> None:
    """Register the ``/_emulator/...`` routes on ``app``."""
    api = _ControlApi(emulator)
    routes: list[tuple[str, str, _Route]] = [
        ("GET", "/users", api.list_users),
        ("POST", "/users", api.add_user),
        ("POST", "/bots", api.add_bot),
        ("POST", "/users/{user_id}/text", api.send_text),
        ("POST", "/users/{user_id}/command", api.send_command),
        ("POST", "/users/{user_id}/press", api.press),
        ("POST", "/users/{user_id}/location", api.share_location),
        ("POST", "/users/{user_id}/block", api.block),
        ("POST", "/users/{user_id}/unblock", api.unblock),
        ("GET", "/users/{user_id}/messages", api.messages),
        ("POST", "/users/{user_id}/wait", api.wait),
        ("POST", "/inject", api.inject),
        ("POST", "/rate_limit", api.rate_limit),
        ("POST", "/reject_token", api.reject_token),
        ("GET", "/stats", api.stats),
        ("POST", "/stats/reset", api.reset_stats),
        ("GET", "/commands", api.commands),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, _PREFIX + path, _guarded(handler))


class _NotFound(LookupError):
    """The addressed user does not exist."""


def _guarded(handler: _Route) -> _Route:
    """Turn lookup/validation errors into JSON 4xx responses."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _NotFound as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except KeyError as exc:
            return web.json_response({"error": f"missing field {exc}"}, status=400)
        except (LookupError, ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except TimeoutError as exc:
            return web.json_response({"error": str(exc)}, status=408)

    return wrapper


async def _body(request: web.Request) -> dict[str, Any]:
    """Parse an optional JSON object body."""
    if not request.can_read_body:
        return {}
    body = json.loads(await request.read() or b"{}")
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _user_json(user: EmulatedUser) -> dict[str, Any]:
    """Summarise a user for the control API."""
    return {
        **user.user_dict,
        "bot_id": user.bot_id,
        "blocked": user.blocked,
        "messages": len(user.messages),
    }


class _ControlApi:
    """Route handlers bound to one emulator."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self._emulator = emulator

    def _user(self, request: web.Request) -> EmulatedUser:
        """Return the user named in the path, or raise ``_NotFound``."""
        user_id = int(request.match_info["user_id"])
        user = self._emulator.users.get(user_id)
        if user is None:
            raise _NotFound(f"no user {user_id}")
        return user

    async def list_users(self, request: web.Request) -> web.StreamResponse:
        """GET /users."""
        return web.json_response([_user_json(u) for u in self._emulator.users.values()])

    async def add_user(self, request: web.Request) -> web.StreamResponse:
        """POST /users {user_id, first_name, last_name, username, language_code, bot_id}.

        `bot_id` (one added with POST /bots) is the bot the user talks to;
        without it, the emulator's own bot.
        """
        body = await _body(request)
        bot_id = body.get("bot_id")
        user = self._emulator.add_user(
            int(body["user_id"]),
            first_name=str(body.get("first_name", "")),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code", "zh-hans"),
            bot_id=int(bot_id) if bot_id is not None else None,
        )
        return web.json_response(_user_json(user), status=201)

    async def add_bot(self, request: web.Request) -> web.StreamResponse:
        """POST /bots {bot_id, username, first_name}: a token "<bot_id>:…" is this bot."""
        body = await _body(request)
        bot = self._emulator.add_bot(
            int(body["bot_id"]),
            username=str(body["username"]),
            first_name=str(body.get("first_name", "")),
        )
        return web.json_response(bot, status=201)

    async def send_text(self, request: web.Request) -> web.StreamResponse:
        """POST /users/{id}/text {text}."""
        body = await _body(request)
        message_id = await self._user(request).send_text(str(body["text"]))
        return web.json_response({"message_id": message_id})

    async def send_command(self, request: web.Request) -> web.StreamResponse:
        """POST /users/{id}/command {command, args}."""
        body = await _body(request)
        user = self._user(request)
        message_id = await user.send_command(str(body["command"]), str(body.get("args", "")))
        return web.json_response({"message_id": message_id})

    async def press(self, request: web.Request) -> web.StreamResponse:
        """POST /users/{id}/press {button, message_id?}."""
        body = await _body(request)
        message_id = body.get("message_id")
        query_id = await self._user(request).press(
            str(body["button"]), int(message_id) if message_id is not None else None
        )
        return web.json_response({"callback_query_id": query_id})

    async def share_location(self, request: web.Request) -> web.StreamResponse:
        """POST /users/{id}/location {latitude, longitude}."""
        body = await _body(request)
        message_id = await self._user(request).share_location(
            float(body["latitude"]), float(body["longitude"])
        )
        return web.json_response({"message_id": message_id})

    async def block(self, request: web.Request) -> web.StreamResponse:
        """POST /users/{id}/block {notify_bot?}."""
        body = await _body(request)
        self._user(request).block(notify_bot=bool(body.get("notify_bot", False)))
        return web.json_response({"ok": True})

    async def unblock(self, request: web.Request) -> web.StreamResponse:
        """POST /users/{id}/unblock {notify_bot?}."""
        body = await _body(request)
        self._user(request).unblock(notify_bot=bool(body.get("notify_bot", False)))
        return web.json_response({"ok": True})

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """GET /users/{id}/messages."""
        return web.json_response([m.to_json() for m in self._user(request).messages])

    async def wait(self, request: web.Request) -> web.StreamResponse:
        """POST /users/{id}/wait {timeout?, after?}: the next message or edit."""
        body = await _body(request)
        after = body.get("after")
        message = await self._user(request).wait_for_message(
            timeout=float(body.get("timeout", 5.0)),
            after=int(after) if after is not None else None,
        )
        return web.json_response(message.to_json())

    async def inject(self, request: web.Request) -> web.StreamResponse:
        """POST /inject {chat_id, kind, times, retry_after}."""
        body = await _body(request)
        chat_id = body.get("chat_id")
        self._emulator.inject(
            int(chat_id) if chat_id is not None else None,
            body["kind"],
            times=body.get("times", 1),
            retry_after=int(body.get("retry_after", 1)),
        )
        return web.json_response({"ok": True})

    async def rate_limit(self, request: web.Request) -> web.StreamResponse:
        """POST /rate_limit {global_per_second, per_chat_per_second, retry_after, burst}."""
        body = await _body(request)
        burst = body.get("burst")
        self._emulator.set_rate_limit(
            global_per_second=body.get("global_per_second"),
            per_chat_per_second=body.get("per_chat_per_second"),
            retry_after=int(body.get("retry_after", 1)),
            burst=None if burst is None else int(burst),
        )
        return web.json_response({"ok": True})

    async def reject_token(self, request: web.Request) -> web.StreamResponse:
        """POST /reject_token {token}: 401 Unauthorized for every call with it."""
        body = await _body(request)
        self._emulator.reject_token(str(body["token"]))
        return web.json_response({"ok": True})

    async def stats(self, request: web.Request) -> web.StreamResponse:
        """GET /stats."""
        return web.json_response(self._emulator.stats.to_dict())

    async def reset_stats(self, request: web.Request) -> web.StreamResponse:
        """POST /stats/reset."""
        self._emulator.reset_stats()
        return web.json_response({"ok": True})

    async def commands(self, request: web.Request) -> web.StreamResponse:
        """GET /commands."""
        return web.json_response(
            [
                {"scope": scope, "language_code": language, "commands": commands}
                for (scope, language), commands in self._emulator.commands.items()
            ]
        )
