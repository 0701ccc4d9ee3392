"""Webhook mode end to end: the real Application behind PTB's webhook server, updates posted
by the emulator as Telegram would (through a TLS-ending reverse proxy), and forged posts
without the secret refused with 403 and never answered.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application, start_receiving
from bot.clock import FakeClock
from bot.config import Settings, parse_settings
from bot.emulator import BotApiEmulator

PUBLIC_URL = "https://bot.example.org/telegram"
SECRET = "test-secret_0123456789"
ADMIN_ID = 900001


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _settings(emulator: BotApiEmulator, tmp_path: Path, port: int) -> Settings:
    return parse_settings(
        {
            "telegram": {
                "api_base_url": emulator.base_url,
                "api_base_file_url": emulator.base_file_url,
                "mode": "webhook",
                # Public https URL; PTB itself listens on plain http locally,
                # as it does behind a reverse proxy.
                "webhook_url": PUBLIC_URL,
                "webhook_listen": "127.0.0.1",
                "webhook_port": port,
                "webhook_secret": SECRET,
            },
            "storage": {"database": str(tmp_path / "bot.sqlite3")},
            "general": {"admins": [ADMIN_ID]},
            "delivery": {"tick_seconds": 3600},
        }
    )


@pytest.fixture
async def webhook_bot(tmp_path: Path) -> AsyncIterator[tuple[BotApiEmulator, Application]]:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    port = _free_port()
    async with BotApiEmulator(clock=clock.timestamp) as emulator:
        settings = _settings(emulator, tmp_path, port)
        app = build_application(settings, clock=clock)
        async with app:
            await app.start()
            await start_receiving(app, settings, webhook_secret=settings.telegram.webhook_secret)
            emulator.route_webhook(f"http://127.0.0.1:{port}/telegram")
            try:
                yield emulator, app
            finally:
                await app.updater.stop()
                await app.stop()


def forged_start(user_id: int, *, date: int = 1772413200) -> dict[str, Any]:
    """A /start from `user_id`, as anyone who learnt the URL could post it."""
    person = {"id": user_id, "is_bot": False, "first_name": "Mallory"}
    return {
        "message": {
            "message_id": 1,
            "date": date,
            "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
            "from": person,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        }
    }


async def test_the_bot_registers_its_https_url_and_secret(webhook_bot):
    emulator, _ = webhook_bot
    assert emulator.webhook == {"url": PUBLIC_URL, "secret_token": SECRET}


async def test_an_update_with_the_secret_is_answered(webhook_bot):
    emulator, _ = webhook_bot
    member = emulator.add_user(4001, first_name="Alice", language_code="zh-hans")
    await member.send_command("start")
    assert await emulator.deliver_webhook_updates() == [200]
    reply = await member.wait_for_message(timeout=5)
    assert "支部助手" in reply.plain


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_a_forged_update_is_refused_and_never_answered(webhook_bot, secret):
    emulator, _ = webhook_bot
    emulator.add_user(ADMIN_ID, first_name="Admin")
    assert await emulator.post_update(forged_start(ADMIN_ID), secret_token=secret) == 403
    await asyncio.sleep(0.5)
    assert emulator.sent_to(ADMIN_ID) == []
    # The same update with the right secret is answered: the refusal was the secret's.
    assert await emulator.post_update(forged_start(ADMIN_ID)) == 200
    await emulator.user(ADMIN_ID).wait_for_message(timeout=5)
