"""Several bots in one emulator (issue 15): each token polls its own updates and sends as itself."""

from __future__ import annotations

import asyncio

import pytest
import telegram
from telegram.request import HTTPXRequest

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


async def _send_evenly(bot: telegram.Bot, chats: list[int], rate: float) -> int:
    """Send one message to each chat at `rate` a second, all in flight at once; return 429s."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(index: int, chat: int) -> int:
        await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
        try:
            await bot.send_message(chat, "x")
        except telegram.error.RetryAfter:
            return 1
        return 0

    return sum(await asyncio.gather(*(one(i, chat) for i, chat in enumerate(chats))))


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_the_overall_flood_limit_is_per_token_and_so_are_the_stats(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    # Telegram's ~30/s is per token: two bots at 30/s each pass, one bot at 60/s does not.
    emulator.add_bot(OTHER, username="county_b_bot")
    # burst=5: arrivals bunched by a busy test machine are not taken for a flood.
    emulator.set_rate_limit(global_per_second=30, per_chat_per_second=1, burst=5)
    pool = HTTPXRequest(connection_pool_size=16, read_timeout=5)
    other = telegram.Bot(f"{OTHER}:OTHER-TOKEN", base_url=emulator.base_url, request=pool)
    a_chats = [emulator.add_user(2000 + i).user_id for i in range(60)]
    b_chats = [emulator.add_user(3000 + i, bot_id=OTHER).user_id for i in range(30)]
    fast = telegram.Bot(TOKEN, base_url=emulator.base_url,
                        request=HTTPXRequest(connection_pool_size=16, read_timeout=5))
    async with other, fast:
        refused = await asyncio.gather(
            _send_evenly(fast, a_chats[:30], 30), _send_evenly(other, b_chats, 30)
        )
        assert refused == [0, 0]
        stats = emulator.stats
        assert stats.flood_refusals == 0
        assert (stats.sends_by_bot[123], stats.sends_by_bot[OTHER]) == (30, 30)
        # Each bot's achieved rate is its own, about its 30/s (60/s in all).
        assert 20 < stats.achieved_rate(bot=OTHER) <= 35
        assert stats.to_dict()["by_bot"][str(OTHER)]["sends_ok"] == 30

        # A chat's limit is per (bot, chat): A may write to a chat B wrote to this second.
        await fast.send_message(b_chats[0], "from A")
        await asyncio.sleep(1.1)  # every bot's window empties
        emulator.reset_stats()
        refused_fast = await _send_evenly(fast, a_chats, 60)
    assert refused_fast > 10
    assert emulator.stats.flood_refusals_by_bot[123] == refused_fast
    assert emulator.stats.flood_refusals_by_bot[OTHER] == 0


async def test_the_control_api_adds_bots_and_their_users(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    """Another process (the standalone emulator) can set up several county bots too."""
    import aiohttp

    root = f"{emulator.url}/_emulator"
    other = telegram.Bot(f"{OTHER}:OTHER-TOKEN", base_url=emulator.base_url)
    async with aiohttp.ClientSession() as http, other:
        added = await http.post(f"{root}/bots", json={"bot_id": OTHER, "username": "county_b_bot"})
        assert added.status == 201 and (await added.json())["username"] == "county_b_bot"
        again = await http.post(f"{root}/bots", json={"bot_id": OTHER, "username": "x"})
        assert again.status == 400
        created = await http.post(f"{root}/users", json={"user_id": 1003, "bot_id": OTHER})
        assert created.status == 201 and (await created.json())["bot_id"] == OTHER
        unknown = await http.post(f"{root}/users", json={"user_id": 1004, "bot_id": 99})
        assert unknown.status == 400 and "no bot 99" in (await unknown.json())["error"]
        await http.post(f"{root}/users/1003/text", json={"text": "/start"})
        assert await bot.get_updates(timeout=0) == ()
        [update] = await other.get_updates(timeout=0)
        assert (update.message.text, update.message.chat.id) == ("/start", 1003)
        await other.send_message(1003, "from B")
        [message] = await (await http.get(f"{root}/users/1003/messages")).json()
        assert (message["plain"], message["bot_id"]) == ("from B", OTHER)


async def test_the_standalone_emulator_takes_bots_and_users_of_each() -> None:
    from bot.emulator.__main__ import parse_args, populate

    options = parse_args(
        ["--bot", f"{OTHER}:county_b_bot:乙县", "--user", "1001:Ann", "--user", f"1003:Cao@{OTHER}"]
    )
    emulator = BotApiEmulator()
    populate(emulator, options)
    assert emulator.state.bots[OTHER]["first_name"] == "乙县"
    assert emulator.state.bots[OTHER]["username"] == "county_b_bot"
    assert emulator.user(1001).bot_id == emulator.state.default_bot_id
    assert (emulator.user(1003).bot_id, emulator.user(1003).user_dict["first_name"]) == (
        OTHER, "Cao"
    )
