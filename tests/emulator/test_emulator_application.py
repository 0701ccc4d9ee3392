"""A real PTB Application polling the emulator while tests act as users."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator import BotApiEmulator

from .support import TOKEN

pytestmark = pytest.mark.asyncio


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with the command args and a two-button keyboard."""
    assert update.effective_message is not None and update.effective_user is not None
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("签到", callback_data="checkin"),
                InlineKeyboardButton("链接", url="https://example.org"),
            ]
        ]
    )
    args = " ".join(context.args or [])
    await update.effective_message.reply_html(
        f"<b>欢迎</b> {update.effective_user.first_name} [{args}] "
        f"{update.effective_user.language_code}",
        reply_markup=markup,
    )


async def checkin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the callback and edit the message it came from."""
    query = update.callback_query
    assert query is not None
    await query.answer("已签到")
    await query.edit_message_text(f"已签到 ({query.data}, was: {query.message.text})")


async def location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo a shared location."""
    assert update.effective_message is not None
    loc = update.effective_message.location
    assert loc is not None
    await update.effective_message.reply_text(f"{loc.latitude:.2f},{loc.longitude:.2f}")


@pytest_asyncio.fixture
async def app(emulator: BotApiEmulator) -> AsyncIterator[Application]:
    """Yield a started, polling Application wired to ``emulator``."""
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(checkin, pattern="^checkin$"))
    application.add_handler(MessageHandler(filters.LOCATION, location))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


async def test_command_reaches_command_handler(emulator: BotApiEmulator, app: Application) -> None:
    alice = emulator.add_user(1001, first_name="Alice")
    await alice.send_command("start", "code42")
    reply = await alice.wait_for_message(timeout=3)
    assert reply.plain == "欢迎 Alice [code42] zh-hans"
    assert reply.button_texts == ["签到", "链接"]
    assert emulator.pending_updates == 0 or emulator.pending_updates == 1


async def test_press_reaches_callback_handler(emulator: BotApiEmulator, app: Application) -> None:
    alice = emulator.add_user(1001, first_name="Alice")
    await alice.send_text("/start")
    greeting = await alice.wait_for_message()
    query_id = await alice.press("签到")
    answer = await alice.wait_for_callback_answer(query_id, timeout=3)
    assert answer.text == "已签到"
    edited = await alice.wait_for_message(lambda m: m.edits > 0, timeout=3)
    assert edited is greeting
    assert edited.plain.startswith("已签到 (checkin, was: 欢迎 Alice")
    assert alice.callback_answers == ["已签到"]
    assert len(alice.messages) == 1


async def test_press_by_callback_data_and_errors(
    emulator: BotApiEmulator, app: Application
) -> None:
    alice = emulator.add_user(1001)
    with pytest.raises(LookupError, match="no inline button"):
        await alice.press("签到")
    await alice.send_command("start")
    await alice.wait_for_message()
    with pytest.raises(LookupError, match="callback_data"):
        await alice.press("链接")
    await alice.press("checkin")
    await alice.wait_for_callback_answer()
    assert alice.callback_answers == ["已签到"]


async def test_location_message(emulator: BotApiEmulator, app: Application) -> None:
    alice = emulator.add_user(1001)
    await alice.share_location(31.2304, 121.4737)
    reply = await alice.wait_for_message()
    assert reply.plain == "31.23,121.47"


async def test_wait_for_messages_counts_new_messages(
    emulator: BotApiEmulator, app: Application
) -> None:
    alice = emulator.add_user(1001)
    bob = emulator.add_user(1002)
    await alice.send_command("start")
    await bob.send_command("start")
    await alice.send_command("start")
    replies = await alice.wait_for_messages(2, timeout=3)
    assert len({m.message_id for m in replies}) == 2
    assert all(m.plain.startswith("欢迎") for m in replies)
    assert (await bob.wait_for_message()).plain.startswith("欢迎")
    with pytest.raises(TimeoutError):
        await alice.wait_for_message(timeout=0.2)


async def test_long_poll_returns_promptly(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    alice = emulator.add_user(1001)
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await alice.send_text("hello")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.0
    assert [u.message.text for u in updates if u.message] == ["hello"]
    # Confirming with offset drops them; an empty long poll waits for its timeout.
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
    assert time.monotonic() - started >= 0.9
    assert emulator.pending_updates == 0


async def test_update_shapes(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    alice = emulator.add_user(1001, first_name="Alice", username="alice", language_code="en")
    await alice.send_text("/help@branchbot_demo_bot me")
    alice.block(notify_bot=True)
    updates = await bot.get_updates()
    message = updates[0].message
    assert message is not None and message.from_user is not None
    assert message.from_user.is_bot is False
    assert message.from_user.language_code == "en"
    assert message.chat.id == 1001
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/help@branchbot_demo_bot")
    assert updates[1].update_id == updates[0].update_id + 1
    member = updates[1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
