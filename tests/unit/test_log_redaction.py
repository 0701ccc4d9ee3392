"""The bot token never reaches a log line, whoever logs it and however."""

from __future__ import annotations

import io
import logging

from bot.log_redaction import install_token_redaction

TOKEN = "987654321:AAHsecretPartOfTheTokenxyz"


def _logger_writing_to(buffer: io.StringIO) -> logging.Logger:
    logger = logging.getLogger(f"redaction-test-{id(buffer)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger.addHandler(handler)
    return logger


def test_token_in_message_arguments_and_traceback_is_masked():
    buffer = io.StringIO()
    logger = _logger_writing_to(buffer)
    install_token_redaction(TOKEN, logger)
    child = logging.getLogger(logger.name + ".httpx")  # records from a library below it
    child.info('HTTP Request: POST https://api.telegram.org/bot%s/getMe "200 OK"', TOKEN)
    logger.warning(f"plain f-string with https://api.telegram.org/bot{TOKEN}/sendMessage")
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/getUpdates")
    except RuntimeError:
        logger.exception("delivery failed")
    output = buffer.getvalue()
    assert TOKEN not in output
    assert output.count("/bot***/") == 3
    assert "delivery failed" in output and "RuntimeError" in output


def test_no_token_configured_changes_nothing():
    buffer = io.StringIO()
    logger = _logger_writing_to(buffer)
    install_token_redaction(None, logger)
    logger.info("hello %s", "world")
    assert buffer.getvalue().strip().endswith("hello world")


async def test_running_bot_logs_no_token(tmp_path):
    """Run the real bot at DEBUG over HTTP: httpx logs every URL, none shows the token."""
    from tests.e2e.harness import BotHarness

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        install_token_redaction(TOKEN)
        config = {"telegram": {"token": TOKEN}}
        async with BotHarness.started(tmp_path, config=config, seed_county=False) as h:
            user = h.user(4001, "zh")
            await user.send_command("start")
            await user.wait_for_message()
            assert TOKEN in h.emulator.tokens_seen  # the bot really used the token
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    output = buffer.getvalue()
    assert "getUpdates" in output or "sendMessage" in output  # the URLs were logged...
    assert TOKEN not in output  # ...without the token
