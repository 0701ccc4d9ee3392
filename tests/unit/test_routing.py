"""bot.routing with the one default bot: a message to another person goes out at once, as ever."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bot.clock import FakeClock
from bot.routing import send_to_person
from bot.services import SERVICES_KEY, Services


class _NoDatabase:
    """A database the single-bot path must not touch (it sends as it always has)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used: {name}")


class _Bot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str, Any]] = []

    async def send_message(self, chat_id: int, text: str, reply_markup: Any = None) -> str:
        self.sent.append((chat_id, text, reply_markup))
        return "message"


async def test_with_the_one_default_bot_it_sends_through_context_bot_at_once():
    services = Services(
        settings=None,  # type: ignore[arg-type]
        clock=FakeClock(datetime(2026, 3, 8, tzinfo=UTC)),
        db=_NoDatabase(),  # type: ignore[arg-type]
        bot_name="",
    )
    bot = _Bot()
    context = SimpleNamespace(application=SimpleNamespace(bot_data={SERVICES_KEY: services}),
                              bot=bot)
    assert await send_to_person(context, 2001, "您好", reply_markup="kb") == "message"
    assert bot.sent == [(2001, "您好", "kb")]
