"""Several bots in one emulator (issue 15): each token polls its own updates and sends as itself."""

from __future__ import annotations

import pytest
import telegram

from bot.emulator import BotApiEmulator

from .support import TOKEN

pytestmark = pytest.mark.asyncio

OTHER = 7000000002


async def test_each_bot_gets_only_its_users_updates_and_is_named_on_its_sends(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    emulator.add_bot(OTHER, username="county_b_bot", first_name="乙县")
    other = telegram.Bot(f"{OTHER}:OTHER-TOKEN", base_url=emulator.base_url)
    async with other:
        alice = emulator.add_user(1001, first_name="Alice")  # the default bot's user
        bob = emulator.add_user(1002, first_name="Bob", bot_id=OTHER)
        assert (alice.bot_id, bob.bot_id) == (emulator.state.default_bot_id, OTHER)
        await alice.send_text("to A")
        await bob.send_text("to B")

        [for_a] = await bot.get_updates(timeout=0)
        [for_b] = await other.get_updates(timeout=0)
        assert (for_a.message.text, for_a.message.chat.id) == ("to A", 1001)
        assert (for_b.message.text, for_b.message.chat.id) == ("to B", 1002)
        assert (await other.get_me()).username == "county_b_bot"
        assert (await bot.get_me()).id == emulator.state.default_bot_id

        await bot.send_message(1001, "from A")
        sent = await other.send_message(1002, "from B")
        assert sent.from_user.id == OTHER
        assert [(m.plain, m.bot_id) for m in bob.messages] == [("from B", OTHER)]
        assert [m.bot_id for m in alice.messages] == [emulator.state.default_bot_id]
    # Any other token is the default bot, as before (TOKEN's number is no added bot).
    assert emulator.state.bot_id_for_token(TOKEN) == emulator.state.default_bot_id
