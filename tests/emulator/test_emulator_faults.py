"""Injected faults and rate limits, as the bot sees them through PTB's error types."""

from __future__ import annotations

import datetime as dtm
import warnings

import pytest
import telegram
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.emulator import BotApiEmulator

pytestmark = [
    pytest.mark.asyncio,
    # PTB warns about RetryAfter's int form every time it builds the exception.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


def retry_seconds(error: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds, whether PTB exposes int or timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 deprecates the int form
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_blocked_fault_is_forbidden_then_clears(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    alice = emulator.add_user(1001)
    emulator.inject(1001, "blocked", times=2)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(1001, "x")
    await bot.send_message(1001, "delivered")
    assert alice.texts == ["delivered"]
    assert emulator.stats.sends_ok == 1
    assert emulator.stats.errors_by_code[403] == 2


async def test_chat_not_found_fault(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    emulator.add_user(1001)
    emulator.inject(1001, "chat_not_found")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(1001, "x")
    await bot.send_message(1001, "ok")


async def test_flood_fault_is_retry_after(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    alice = emulator.add_user(1001)
    emulator.inject(1001, "flood", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1001, "x")
    assert retry_seconds(caught.value) == 7
    assert emulator.stats.flood_refusals == 1
    await bot.send_message(1001, "after flood")
    assert alice.texts == ["after flood"]


async def test_drop_fault_is_network_error(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    alice = emulator.add_user(1001)
    emulator.inject(1001, "drop")
    with pytest.raises(NetworkError):
        await bot.send_message(1001, "lost")
    assert alice.messages == []
    assert emulator.stats.drops == 1
    await bot.send_message(1001, "through")
    assert alice.texts == ["through"]


async def test_faults_apply_to_edits_and_media(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    emulator.add_user(1001)
    sent = await bot.send_message(1001, "v1")
    emulator.inject(1001, "flood", times=2, retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.edit_message_text("v2", chat_id=1001, message_id=sent.message_id)
    with pytest.raises(RetryAfter):
        await bot.send_document(1001, b"data", filename="a.txt")
    # Non-send methods are never affected.
    emulator.inject(1001, "blocked")
    assert await bot.get_me()
    with pytest.raises(Forbidden):
        await bot.send_message(1001, "x")


async def test_forever_and_any_chat_faults(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    emulator.add_user(1001)
    emulator.add_user(1002)
    emulator.inject(None, "flood", times=None, retry_after=2)
    for chat_id in (1001, 1002, 1001):
        with pytest.raises(RetryAfter):
            await bot.send_message(chat_id, "x")
    emulator.clear_faults()
    await bot.send_message(1002, "ok")
    assert emulator.stats.flood_refusals == 3


async def test_chat_specific_fault_wins_over_any_chat(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    emulator.add_user(1001)
    emulator.inject(None, "flood")
    emulator.inject(1001, "blocked")
    with pytest.raises(Forbidden):
        await bot.send_message(1001, "x")
    with pytest.raises(RetryAfter):
        await bot.send_message(1001, "x")
    await bot.send_message(1001, "x")


async def test_global_rate_limit_refuses_excess(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    for user_id in range(1, 9):
        emulator.add_user(user_id)
    emulator.set_rate_limit(global_per_second=5, retry_after=4)
    refused: list[RetryAfter] = []
    for user_id in range(1, 9):
        try:
            await bot.send_message(user_id, "hi")
        except RetryAfter as error:
            refused.append(error)
    assert len(refused) == 3
    assert all(retry_seconds(error) == 4 for error in refused)
    assert emulator.stats.sends_ok == 5
    assert emulator.stats.flood_refusals == 3
    assert len(emulator.all_sent) == 5
    assert emulator.stats.peak_per_second() <= 5


async def test_per_chat_rate_limit(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    emulator.add_user(1001)
    emulator.add_user(1002)
    emulator.set_rate_limit(per_chat_per_second=1)
    await bot.send_message(1001, "first")
    with pytest.raises(RetryAfter):
        await bot.send_message(1001, "too soon")
    await bot.send_message(1002, "other chat is fine")
    emulator.set_rate_limit()  # disable
    await bot.send_message(1001, "now fine")
    assert emulator.stats.sends_by_chat == {1001: 2, 1002: 1}


async def test_stats_measure_delivery(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    emulator.add_user(1001)
    emulator.add_user(1002)
    for _ in range(3):
        await bot.send_message(1001, "a")
    await bot.send_message(1002, "b")
    stats = emulator.stats
    assert stats.sends_ok == 4
    assert stats.requests_by_method["sendMessage"] == 4
    assert stats.requests_by_method["getMe"] == 1
    assert sum(stats.per_second.values()) == 4
    assert stats.achieved_rate() > 0
    interval = stats.per_chat_min_interval(1001)
    assert interval is not None and interval >= 0
    assert stats.per_chat_min_interval(1002) is None
    emulator.reset_stats()
    assert emulator.stats.sends_ok == 0
    assert emulator.stats.peak_per_second() == 0
