"""The emulator's building blocks in isolation, plus the JSON control API."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import telegram

from bot.emulator import (
    ApiError,
    BotApiEmulator,
    FaultInjector,
    SentMessage,
    SlidingWindowLimiter,
    command_entities,
    render_html,
    utf16_len,
)
from bot.emulator.__main__ import parse_args
from bot.emulator.updates import UpdateQueue


class FakeMonotonic:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_render_html_entities_and_utf16_offsets() -> None:
    plain, entities = render_html(
        '😀 <b>粗</b> <a href="https://x.org">链</a> &amp; <code>c</code>'
    )
    assert plain == "😀 粗 链 & c"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 1},
        {"type": "text_link", "url": "https://x.org", "offset": 5, "length": 1},
        {"type": "code", "offset": 9, "length": 1},
    ]
    assert utf16_len("😀") == 2


def test_render_html_pre_language_and_nesting() -> None:
    plain, entities = render_html('<pre><code class="language-python">x = 1</code></pre>')
    assert plain == "x = 1"
    assert entities == [{"type": "pre", "language": "python", "offset": 0, "length": 5}]
    plain, entities = render_html("<b>a<i>b</i></b>")
    assert [e["type"] for e in entities] == ["bold", "italic"]


@pytest.mark.parametrize(
    "markup", ["<br>", "<b>open", "<b>x</i>", "x</b>", "<div>x</div>"], ids=str
)
def test_render_html_rejects_what_telegram_rejects(markup: str) -> None:
    with pytest.raises(ApiError) as caught:
        render_html(markup)
    assert caught.value.code == 400
    assert "can't parse entities" in caught.value.description


def test_command_entities() -> None:
    assert command_entities("/start abc") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert command_entities("/start@bot") == [{"type": "bot_command", "offset": 0, "length": 10}]
    assert command_entities("hello /start") == []
    assert command_entities("/") == []


def test_sent_message_views() -> None:
    message = SentMessage(
        message_id=1,
        chat_id=5,
        date=0,
        text="<b>x</b>",
        parse_mode="HTML",
        rendered="x",
        reply_markup={
            "inline_keyboard": [
                [{"text": "A", "callback_data": "a"}, {"text": "L", "url": "https://e.org"}]
            ]
        },
    )
    assert message.plain == "x"
    assert message.buttons == [[("A", "a"), ("L", "https://e.org")]]
    assert message.find_button("a") == {"text": "A", "callback_data": "a"}
    reply_keyboard = SentMessage(
        message_id=2, chat_id=5, date=0, reply_markup={"keyboard": [["是", {"text": "否"}]]}
    )
    assert reply_keyboard.button_texts == ["是", "否"]
    assert "reply_markup" not in reply_keyboard.to_api({}, {})


def test_fault_injector_counts_down() -> None:
    faults = FaultInjector()
    faults.inject(1, "flood", times=2, retry_after=5)
    first = faults.take(1)
    assert first is not None and first.kind == "flood" and first.retry_after == 5
    assert faults.take(2) is None
    assert faults.take(1) is not None
    assert faults.take(1) is None
    assert not faults
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.inject(1, "explode")  # type: ignore[arg-type]


def test_sliding_window_limiter_global_and_per_chat() -> None:
    clock = FakeMonotonic()
    limiter = SlidingWindowLimiter(global_per_second=3, per_chat_per_second=1, monotonic=clock)
    assert limiter.admit(1)
    assert not limiter.admit(1)  # per-chat
    assert limiter.admit(2)
    assert limiter.admit(3)
    assert not limiter.admit(4)  # global
    clock.now += 1.01
    assert limiter.admit(1)
    assert limiter.admit(4)


def test_sliding_window_limiter_sub_one_rate() -> None:
    clock = FakeMonotonic()
    limiter = SlidingWindowLimiter(per_chat_per_second=0.5, monotonic=clock)
    assert limiter.admit(1)
    clock.now += 1.5
    assert not limiter.admit(1)
    clock.now += 0.6
    assert limiter.admit(1)


@pytest.mark.asyncio
async def test_update_queue_offsets_and_long_poll() -> None:
    queue = UpdateQueue()
    for n in range(5):
        queue.push({"message": {"n": n}})
    assert [u["update_id"] for u in await queue.fetch(limit=2)] == [1, 2]
    assert [u["update_id"] for u in await queue.fetch(offset=4)] == [4, 5]
    assert [u["update_id"] for u in await queue.fetch(offset=-1)] == [5]
    waiter = asyncio.create_task(queue.fetch(offset=6, poll_seconds=5))
    await asyncio.sleep(0.01)
    queue.push({"message": {"n": 6}})
    assert [u["update_id"] for u in await asyncio.wait_for(waiter, 1)] == [6]
    queue.close()
    assert await asyncio.wait_for(queue.fetch(offset=7, poll_seconds=5), 1) == []


@pytest.mark.asyncio
async def test_wait_for_message_after_and_edits(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    alice = emulator.add_user(1001)
    first = await bot.send_message(1001, "one")
    mark = alice.event_count
    await bot.edit_message_text("one'", chat_id=1001, message_id=first.message_id)
    edited = await alice.wait_for_message(after=mark)
    assert edited.plain == "one'" and edited.edits == 1
    assert (await alice.wait_for_message(after=0)).message_id == first.message_id
    waiter = asyncio.create_task(alice.wait_for_message(lambda m: m.plain == "two"))
    await asyncio.sleep(0.01)
    await bot.send_message(1001, "two")
    assert (await asyncio.wait_for(waiter, 1)).plain == "two"


@pytest.mark.asyncio
async def test_emulator_wait_until(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    emulator.add_user(1001)
    waiter = asyncio.create_task(emulator.wait_until(lambda: emulator.stats.sends_ok >= 2))
    await bot.send_message(1001, "a")
    await bot.send_message(1001, "b")
    await asyncio.wait_for(waiter, 1)
    with pytest.raises(TimeoutError):
        await emulator.wait_until(lambda: False, timeout=0.05)


@pytest.mark.asyncio
async def test_control_api_drives_users(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    root = f"{emulator.url}/_emulator"
    async with aiohttp.ClientSession() as http:
        created = await http.post(f"{root}/users", json={"user_id": 1001, "first_name": "Ann"})
        assert created.status == 201
        sent = await http.post(f"{root}/users/1001/text", json={"text": "/start"})
        assert (await sent.json())["message_id"] == 1
        updates = await bot.get_updates()
        assert updates[0].message is not None and updates[0].message.text == "/start"

        await bot.send_message(
            1001,
            "<b>hi</b>",
            parse_mode="HTML",
            reply_markup=telegram.InlineKeyboardMarkup(
                [[telegram.InlineKeyboardButton("Go", callback_data="go")]]
            ),
        )
        messages = await (await http.get(f"{root}/users/1001/messages")).json()
        assert messages[0]["plain"] == "hi" and messages[0]["buttons"] == [[["Go", "go"]]]
        pressed = await http.post(f"{root}/users/1001/press", json={"button": "Go"})
        assert (await pressed.json())["callback_query_id"]
        located = await http.post(
            f"{root}/users/1001/location", json={"latitude": 1.5, "longitude": 2.5}
        )
        assert located.status == 200
        updates = await bot.get_updates(offset=updates[-1].update_id + 1)
        assert updates[0].callback_query is not None and updates[0].callback_query.data == "go"
        assert updates[1].message is not None and updates[1].message.location is not None

        await http.post(f"{root}/inject", json={"chat_id": 1001, "kind": "blocked"})
        with pytest.raises(telegram.error.Forbidden):
            await bot.send_message(1001, "x")
        await http.post(f"{root}/rate_limit", json={"per_chat_per_second": 1})
        stats = await (await http.get(f"{root}/stats")).json()
        assert stats["sends_ok"] == 1
        assert stats["requests_by_method"]["sendMessage"] == 2

        missing = await http.post(f"{root}/users/5/text", json={"text": "x"})
        assert missing.status == 404
        bad = await http.post(f"{root}/users/1001/text", json={})
        assert bad.status == 400


def test_cli_arguments() -> None:
    options = parse_args(["--port", "0", "--user", "1001:Alice"])
    assert options.port == 0
    assert options.user == ["1001:Alice"]


def test_token_bucket_limiter_tolerates_bunching_not_excess() -> None:
    # burst=3 at 10/s: arrivals bunched by up to 0.2 s pass, a sustained excess does not.
    clock = FakeMonotonic()
    limiter = SlidingWindowLimiter(global_per_second=10, burst=3, monotonic=clock)
    assert all(limiter.admit(chat) for chat in (1, 2, 3))  # three at once
    assert not limiter.admit(4)  # a fourth is a burst above 3
    clock.now += 0.11
    assert limiter.admit(4)
    assert not limiter.admit(5)
    admitted = 0
    for chat in range(100, 140):  # 20/s for two seconds: about 10/s get through
        clock.now += 0.05
        admitted += limiter.admit(chat)
    assert 19 <= admitted <= 21
    with pytest.raises(ValueError, match="burst"):
        SlidingWindowLimiter(global_per_second=10, burst=0)
