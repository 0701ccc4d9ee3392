"""Several bots in webhook mode (issue 15.4): one server, one port, one path per bot.

Two county bots of one deployment in one process, as `branchbot run` starts
them: each registers `<webhook_url>/<name>` and its own secret (derived from
the one configured `[telegram].webhook_secret`); the emulator posts each bot's
pending updates to its path, as a TLS-ending reverse proxy would forward them,
and each bot answers its own user.  A forged post (no secret, a wrong one, or
bot A's secret on bot B's path) gets 403 and is never handled; a path no bot
serves gets 404, a body that is not an update 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientSession
from telegram.ext import Application

from bot.app import start_webhook_server
from bot.clock import FakeClock
from bot.config import parse_settings
from bot.demo_bots import start_bots
from bot.emulator import BotApiEmulator
from bot.webhooks import BotsWebhook, bot_secret
from tests.e2e import multibot
from tests.e2e.multibot import BOT_A, BOT_B, BOT_IDS, SUNDAY_NOON, TOKENS
from tests.e2e.test_two_bots import ORG
from tests.e2e.test_webhook import forged_start

PUBLIC_URL = "https://bot.example.org/telegram"
SECRET = "province-secret_0123456789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Receiver:
    emulator: BotApiEmulator
    apps: list[Application]
    server: BotsWebhook
    port: int

    def local_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/{name}"


@pytest.fixture
async def receiver(tmp_path) -> AsyncIterator[Receiver]:
    clock = FakeClock(SUNDAY_NOON)
    port = _free_port()
    async with contextlib.AsyncExitStack() as stack:
        database = await stack.enter_async_context(multibot.database(tmp_path))
        emulator = await multibot.two_bot_emulator(stack, clock)
        await multibot.seed(database, clock, ORG)
        raw = multibot.raw_settings(emulator, database)
        raw["telegram"].update(
            mode="webhook", webhook_url=PUBLIC_URL, webhook_listen="127.0.0.1",
            webhook_port=port, webhook_secret=SECRET,
        )
        settings = parse_settings(raw)
        # As bot.app._serve builds and starts them: one Application per bot (no polling).
        apps = await start_bots(stack, settings, clock, poll=False)
        server = await start_webhook_server(apps, settings, webhook_secret=SECRET)
        assert server is not None
        stack.push_async_callback(server.stop)
        for name, bot_id in BOT_IDS.items():
            # The reverse proxy forwards the whole prefix: /telegram/<name> → here.
            emulator.route_webhook(f"http://127.0.0.1:{port}/telegram/{name}", bot_id=bot_id)
        yield Receiver(emulator=emulator, apps=apps, server=server, port=port)


def start_from(user_id: int) -> dict[str, Any]:
    """A /start from `user_id`, as anyone who learnt a bot's URL could post it."""
    return forged_start(user_id, date=1772956800)


async def test_each_bot_registers_its_own_path_and_secret(receiver):
    emulator = receiver.emulator
    registered = {name: emulator.webhook_of(bot_id) for name, bot_id in BOT_IDS.items()}
    assert registered["a"]["url"] == f"{PUBLIC_URL}/a"
    assert registered["b"]["url"] == f"{PUBLIC_URL}/b"
    # Derived, so every receiver behind a load balancer registers the same ones.
    settings = receiver.apps[0].bot_data["branchbot.boot"][0]
    assert [registered[bot.name]["secret_token"] for bot in settings.bots] == [
        bot_secret(SECRET, bot) for bot in settings.bots
    ]
    assert registered["a"]["secret_token"] != registered["b"]["secret_token"]
    assert SECRET not in (registered["a"]["secret_token"], registered["b"]["secret_token"])


async def test_each_bot_answers_its_own_user_through_one_port(receiver):
    emulator = receiver.emulator
    alice = emulator.add_user(4101, first_name="Alice", bot_id=BOT_A)
    bob = emulator.add_user(4102, first_name="Bob", bot_id=BOT_B)
    await alice.send_command("start")
    await bob.send_command("start")
    assert await emulator.deliver_webhook_updates(bot_id=BOT_A) == [200]
    assert await emulator.deliver_webhook_updates(bot_id=BOT_B) == [200]
    await alice.wait_for_message(timeout=5)
    await bob.wait_for_message(timeout=5)
    await asyncio.sleep(0.3)  # anything else either bot would send
    assert {m.bot_id for m in alice.messages} == {BOT_A}
    assert {m.bot_id for m in bob.messages} == {BOT_B}


@pytest.mark.parametrize("forgery", ["none", "empty", "wrong", "configured", "other-bot"])
async def test_a_forged_post_is_refused_and_never_handled(receiver, forgery):
    emulator = receiver.emulator
    mallory = emulator.add_user(4103, first_name="Mallory", bot_id=BOT_B)
    secret = {
        "none": None,
        "empty": "",
        "wrong": "wrong-secret",
        # The configured secret itself is no bot's secret.
        "configured": SECRET,
        # Bot A's secret on bot B's path.
        "other-bot": emulator.webhook_of(BOT_A)["secret_token"],
    }[forgery]
    status = await emulator.post_update(start_from(4103), secret_token=secret, bot_id=BOT_B)
    assert status == 403
    await asyncio.sleep(0.5)
    assert emulator.sent_to(4103) == []
    # The same post with bot B's own secret is answered, by bot B: the refusal was the secret's.
    assert await emulator.post_update(start_from(4103), bot_id=BOT_B) == 200
    reply = await mallory.wait_for_message(timeout=5)
    assert reply.bot_id == BOT_B


async def test_a_path_no_bot_serves_is_not_found(receiver):
    emulator = receiver.emulator
    emulator.add_user(4104, first_name="Mallory", bot_id=BOT_A)
    for path in ("/telegram/c", "/telegram", "/telegram/a/x", "/a"):
        status = await emulator.post_update(
            start_from(4104), bot_id=BOT_A, url=f"http://127.0.0.1:{receiver.port}{path}"
        )
        assert status == 404, path
    await asyncio.sleep(0.3)
    assert emulator.sent_to(4104) == []


async def test_garbage_and_oversized_bodies_are_refused_without_logging_a_secret(
    receiver, caplog
):
    secret_a = receiver.emulator.webhook_of(BOT_A)["secret_token"]
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret_a, "Content-Type": "application/json"}
    caplog.set_level(logging.DEBUG)
    async with ClientSession() as session:
        for body, expected in [
            (b"{not json", 400),
            (b"[1, 2]", 400),
            (b'{"no_update_id": true}', 400),
            (b'{"update_id": 1, "message": ' + b"x" * (2 * 1024 * 1024) + b"}", 413),
        ]:
            async with session.post(
                receiver.local_url("a"), data=body, headers=headers
            ) as response:
                assert response.status == expected, body[:30]
    await asyncio.sleep(0.2)
    assert receiver.emulator.all_sent == []
    for record in caplog.records:
        message = record.getMessage()
        assert secret_a not in message and SECRET not in message
        assert TOKENS["a"] not in message and TOKENS["b"] not in message
