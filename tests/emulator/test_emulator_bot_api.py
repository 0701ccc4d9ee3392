"""A real PTB Bot against the emulator: shapes, recording, edits, files, errors."""

from __future__ import annotations

import httpx
import pytest
import telegram
from telegram import BotCommand, BotCommandScopeAllPrivateChats, InlineKeyboardButton
from telegram import InlineKeyboardMarkup as Keyboard
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken

from bot.emulator import BotApiEmulator

from .support import FIXED_NOW, TOKEN

pytestmark = pytest.mark.asyncio

PNG_2X3 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03"
    b"\x08\x02\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 32
)


def keyboard(*buttons: tuple[str, str]) -> Keyboard:
    """One-row inline keyboard of (text, callback_data)."""
    return Keyboard([[InlineKeyboardButton(text, callback_data=data) for text, data in buttons]])


async def test_get_me_shape(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot is True
    assert bot.username == "branchbot_demo_bot"
    assert me.first_name == "支部助手"
    assert me.id == 7000000001
    assert me.can_join_groups is True
    assert TOKEN in emulator.tokens_seen


async def test_send_message_records_html_and_keyboard(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    alice = emulator.add_user(1001, first_name="Alice")
    sent = await bot.send_message(
        1001,
        "<b>欢迎</b> &lt;Alice&gt;\n<i>请选择</i>",
        parse_mode="HTML",
        reply_markup=keyboard(("签到", "checkin:1"), ("帮助", "help")),
    )
    message = alice.last_message
    assert message is not None
    assert message.text == "<b>欢迎</b> &lt;Alice&gt;\n<i>请选择</i>"
    assert message.plain == "欢迎 <Alice>\n请选择"
    assert message.parse_mode == "HTML"
    assert message.buttons == [[("签到", "checkin:1"), ("帮助", "help")]]
    assert message.button_texts == ["签到", "帮助"]
    assert message.kind == "text"
    assert message.date == int(FIXED_NOW)
    # What PTB parsed is what Telegram would return: plain text plus entities.
    assert sent.text == "欢迎 <Alice>\n请选择"
    assert sent.text_html == "<b>欢迎</b> &lt;Alice&gt;\n<i>请选择</i>"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.chat.id == 1001 and sent.chat.type == "private"
    assert sent.reply_markup == keyboard(("签到", "checkin:1"), ("帮助", "help"))
    assert emulator.all_sent == [message]
    assert emulator.sent_to(1001) == [message]
    assert alice.texts == ["欢迎 <Alice>\n请选择"]


async def test_bad_html_is_rejected_like_telegram(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    emulator.add_user(1001)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1001, "line<br>break", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1001, "<b>unclosed", parse_mode="HTML")
    assert emulator.all_sent == []


async def test_send_to_unknown_chat_is_chat_not_found(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")


async def test_blocked_user_gets_forbidden(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    alice = emulator.add_user(1001)
    alice.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1001, "hello")
    alice.unblock()
    await bot.send_message(1001, "hello again")
    assert alice.texts == ["hello again"]


async def test_edit_message_text_updates_stored_message(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    alice = emulator.add_user(1001)
    sent = await bot.send_message(1001, "v1", reply_markup=keyboard(("A", "a")))
    edited = await bot.edit_message_text(
        "<b>v2</b>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, telegram.Message)
    message = alice.last_message
    assert message is not None
    assert message.plain == "v2"
    assert message.edits == 1
    assert message.history == ["v1"]
    # Like Telegram, editing text without reply_markup drops the inline keyboard.
    assert message.reply_markup is None
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard(("B", "b")))
    assert message.button_texts == ["B"]
    assert message.edits == 2
    assert len(alice.messages) == 1


async def test_edit_without_change_is_not_modified(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    emulator.add_user(1001)
    markup = keyboard(("A", "a"))
    sent = await bot.send_message(1001, "<b>same</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>same</b>",
            chat_id=1001,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=markup,
        )
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=markup)


async def test_edit_and_delete_unknown_messages(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    alice = emulator.add_user(1001)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=99)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(1001, 99)
    sent = await bot.send_message(1001, "bye")
    assert await bot.delete_message(1001, sent.message_id) is True
    assert alice.messages[0].deleted is True
    assert alice.last_message is None
    assert alice.texts == []
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=sent.message_id)


async def test_photo_and_document_bytes_round_trip(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    alice = emulator.add_user(1001)
    photo = await bot.send_photo(
        1001, PNG_2X3, caption="<b>图表</b>", parse_mode="HTML", filename="chart.png"
    )
    document = await bot.send_document(
        1001,
        b"name,score\nAlice,3\n",
        filename="report.csv",
        caption="报表",
        reply_markup=keyboard(("下载", "dl")),
    )
    first, second = alice.messages
    assert first.kind == "photo"
    assert first.file_bytes == PNG_2X3
    assert first.caption == "<b>图表</b>"
    assert first.plain == "图表"
    assert second.kind == "document"
    assert second.file_bytes == b"name,score\nAlice,3\n"
    assert second.filename == "report.csv"
    assert second.caption == "报表"
    assert second.button_texts == ["下载"]
    assert photo.photo[-1].width == 2 and photo.photo[-1].height == 3
    assert photo.caption == "图表"
    assert document.document is not None and document.document.file_name == "report.csv"
    # The uploaded bytes can be downloaded back through getFile + base_file_url.
    file = await bot.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"name,score\nAlice,3\n"
    await bot.edit_message_caption(1001, photo.message_id, caption="新图表")
    assert first.caption == "新图表" and first.history == ["<b>图表</b>"]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_caption(1001, photo.message_id, caption="新图表")
    # Re-sending by file_id reuses the stored bytes.
    await bot.send_document(1001, document.document.file_id)
    assert alice.messages[-1].file_bytes == b"name,score\nAlice,3\n"


async def test_commands_are_stored_per_scope_and_language(
    emulator: BotApiEmulator, bot: telegram.Bot
) -> None:
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await bot.set_my_commands(
        [BotCommand("start", "Start")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="en",
    )
    assert emulator.commands[("default", "")] == [("start", "开始"), ("help", "帮助")]
    assert emulator.commands[("all_private_chats", "en")] == [("start", "Start")]
    fetched = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="en")
    assert [(c.command, c.description) for c in fetched] == [("start", "Start")]
    assert await bot.delete_my_commands() is True
    assert ("default", "") not in emulator.commands
    with pytest.raises(BadRequest, match=r"Bot_command_invalid|BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])


async def test_misc_methods(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    emulator.add_user(1001, first_name="Alice", username="alice")
    assert await bot.send_chat_action(1001, "typing") is True
    chat = await bot.get_chat(1001)
    assert chat.first_name == "Alice" and chat.username == "alice"
    assert await bot.set_my_name("支部助手") is True
    assert await bot.set_my_description("desc") is True
    assert await bot.set_my_short_description("short") is True
    assert await bot.delete_webhook() is True
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(5)
    with pytest.raises(BadRequest, match=r"[Qq]uery is too old"):
        await bot.answer_callback_query("1001-77")


async def test_unknown_method_is_404(emulator: BotApiEmulator, bot: telegram.Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("frobnicate")
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{emulator.base_url}{TOKEN}/frobnicate")
    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
    assert issubclass(EndPointNotFound, telegram.error.TelegramError)
    assert InvalidToken is not EndPointNotFound


async def test_json_and_get_requests_are_accepted(emulator: BotApiEmulator) -> None:
    alice = emulator.add_user(1001)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{emulator.base_url}{TOKEN}/sendMessage",
            json={"chat_id": 1001, "text": "json body", "reply_markup": markup},
        )
        me = await client.get(f"{emulator.base_url}{TOKEN}/getMe")
    body = response.json()
    assert body["ok"] is True
    assert body["result"]["reply_markup"] == markup
    assert alice.last_message is not None and alice.last_message.buttons == [[("A", "a")]]
    assert me.json()["result"]["username"] == "branchbot_demo_bot"
