"""Local Telegram Bot API emulator: a real HTTP server that plays Telegram for the bot.

Tests act as users and assert on what the bot sent; benchmarks measure delivery rate;
the offline demo runs the bot against it (``python -m bot.emulator --port 8081``).

Example::

    from bot.emulator import BotApiEmulator

    async with BotApiEmulator() as emulator:
        alice = emulator.add_user(1001, first_name="Alice")
        bot = telegram.Bot("123:TEST", base_url=emulator.base_url,
                           base_file_url=emulator.base_file_url)
        async with bot:
            await bot.send_message(1001, "<b>hi</b>", parse_mode="HTML")
        assert alice.last_message.plain == "hi"
"""

from bot.emulator.errors import NOT_MODIFIED_DESCRIPTION, ApiError
from bot.emulator.faults import FAULT_KINDS, Fault, FaultInjector, FaultKind, SlidingWindowLimiter
from bot.emulator.formatting import command_entities, render_html, render_text, utf16_len
from bot.emulator.messages import MessageKind, SentMessage
from bot.emulator.server import BotApiEmulator
from bot.emulator.state import EmulatorState, StoredFile
from bot.emulator.stats import EmulatorStats
from bot.emulator.users import CallbackAnswer, EmulatedUser, MessagePredicate

__all__ = [
    "FAULT_KINDS",
    "NOT_MODIFIED_DESCRIPTION",
    "ApiError",
    "BotApiEmulator",
    "CallbackAnswer",
    "EmulatedUser",
    "EmulatorState",
    "EmulatorStats",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "MessageKind",
    "MessagePredicate",
    "SentMessage",
    "SlidingWindowLimiter",
    "StoredFile",
    "command_entities",
    "render_html",
    "render_text",
    "utf16_len",
]
