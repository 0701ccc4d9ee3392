"""/start, /help, the command menu and the error handler, over HTTP through the emulator."""

from __future__ import annotations

import pytest

from tests.e2e.harness import ADMIN_ID, BotHarness


@pytest.fixture
async def harness(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        yield h


async def test_stranger_start_in_chinese_explains_how_to_join(harness):
    stranger = harness.user(5001, "zh")
    await stranger.send_command("start")
    reply = await stranger.wait_for_message()
    assert "支部助手" in reply.plain
    assert "邀请链接" in reply.plain


async def test_stranger_start_in_english(harness):
    stranger = harness.user(5002, "en")
    await stranger.send_command("start")
    reply = await stranger.wait_for_message()
    assert "Branch Assistant" in reply.plain
    assert "invite link" in reply.plain


async def test_help_by_role(harness):
    stranger = harness.user(5003, "zh")
    await stranger.send_command("help")
    text = (await stranger.wait_for_message()).plain
    # Someone not yet registered learns how to register, and no member command.
    assert "邀请码" in text and "/language" in text
    for command in ("/leave", "/forget", "/mypledges", "/invite", "/appoint"):
        assert command not in text, command

    # The admin is not a member: no member commands (issue 10).
    admin = harness.user(ADMIN_ID, "en")
    await admin.send_command("help")
    text = (await admin.wait_for_message()).plain
    assert "Member commands" not in text
    for command in ("/leave", "/forget", "/timezone", "/away", "/mypledges"):
        assert command not in text, command
    assert "/invite" in text and "/appoint" in text and "/checkin" in text


async def test_admin_start_greets_with_menu(harness):
    admin = harness.user(ADMIN_ID, "zh", first_name="管理员")
    await admin.send_command("start")
    greeting = await admin.wait_for_message(lambda m: "您好" in m.plain)
    assert "管理员" in greeting.plain
    menu = await admin.wait_for_message(lambda m: "/appoint" in m.plain)
    assert "书记可用命令" in menu.plain


async def test_command_menu_published_in_both_languages(harness):
    commands = harness.emulator.commands
    zh = dict(commands[("default", "zh")])
    en = dict(commands[("default", "en")])
    assert zh["me"] == "我的信息"
    assert en["me"] == "My data"
    assert "appoint" not in zh


async def test_unknown_command_answered_in_users_language(harness):
    member = harness.user(5004, "en")
    await member.send_command("frobnicate")
    reply = await member.wait_for_message()
    assert "don't know that command" in reply.plain
    chinese = harness.user(5005, "zh")
    await chinese.send_command("frobnicate")
    assert "没有这个命令" in (await chinese.wait_for_message()).plain


async def test_error_handler_apologises_without_a_trace(harness, monkeypatch, caplog):
    import handlers.basics as basics

    async def broken(update, context):
        raise RuntimeError("boom: secret internals")

    # Replace the /help callback in the running application with one that fails.
    for group in harness.app.handlers.values():
        for handler in group:
            if getattr(handler, "callback", None) is basics.show_help:
                monkeypatch.setattr(handler, "callback", broken)
    user = harness.user(5006, "zh")
    await user.send_command("help")
    reply = await user.wait_for_message()
    assert "抱歉" in reply.plain
    assert "boom" not in reply.plain and "Traceback" not in reply.plain
    assert any("boom" in str(record.exc_info) for record in caplog.records if record.exc_info)


async def test_error_apology_uses_the_language_the_user_chose(harness, monkeypatch):
    import handlers.basics as basics
    from storage.repositories import people

    async def broken(update, context):
        raise RuntimeError("boom")

    user = harness.user(5007, "zh")  # a Chinese Telegram client...
    db = harness.services.db
    person = await people.ensure_person(db, telegram_id=user.id, now=0, name="Lee")
    await people.set_language(db, person.id, "en")  # ...who picked English with /language
    for group in harness.app.handlers.values():
        for handler in group:
            if getattr(handler, "callback", None) is basics.show_help:
                monkeypatch.setattr(handler, "callback", broken)
    await user.send_command("help")
    assert "Sorry, something went wrong" in (await user.wait_for_message()).plain
