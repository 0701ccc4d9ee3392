"""Fixtures for emulator tests: a running emulator and a real PTB Bot pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
import telegram
from telegram.request import HTTPXRequest

from bot.emulator import BotApiEmulator

from .support import FIXED_NOW, TOKEN


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """Yield a started emulator with a fixed message clock."""
    async with BotApiEmulator(clock=lambda: FIXED_NOW) as emu:
        yield emu


@pytest_asyncio.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[telegram.Bot]:
    """Yield an initialised PTB Bot talking to ``emulator`` with short timeouts."""
    request = HTTPXRequest(connect_timeout=2, read_timeout=2)
    client = telegram.Bot(
        TOKEN,
        base_url=emulator.base_url,
        base_file_url=emulator.base_file_url,
        request=request,
        get_updates_request=HTTPXRequest(connect_timeout=2, read_timeout=2),
    )
    async with client:
        yield client
