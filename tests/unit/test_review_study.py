"""Review findings in study timing and delivery: each test failed before its fix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace

import aiosqlite
import pytest_asyncio

from bot.clock import FakeClock
from bot.config import DeliverySettings, Settings
from bot.delivery import deliver_due
from bot.domain.outgoing import OutgoingMessage, occurrence_key
from bot.services import Services
from storage.db import open_database
from storage.migrate import migrate
from storage.repositories import outbox, people

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def db() -> AsyncIterator[aiosqlite.Connection]:
    connection = await open_database(":memory:")
    await migrate(connection)
    try:
        yield connection
    finally:
        await connection.close()


class CancellingBot:
    """A bot whose first send is followed by a cancel of another pending row (a withdraw)."""

    token = "4242:REVIEWSTUDYCANCEL"
    base_url = "http://review.invalid/bot"

    def __init__(self, db: aiosqlite.Connection, cancel_prefix: str) -> None:
        self.db = db
        self.cancel_prefix = cancel_prefix
        self.sent: list[int] = []

    async def send_message(self, chat_id: int, text: str, **_: object) -> SimpleNamespace:
        self.sent.append(chat_id)
        if len(self.sent) == 1:
            # Meanwhile a secretary withdraws the item (or the member answers):
            # the waiting reminder is cancelled while the run holds it in memory.
            await outbox.cancel_pending(self.db, key_prefix=self.cancel_prefix)
        return SimpleNamespace(message_id=len(self.sent))


async def test_a_row_cancelled_during_the_run_is_not_sent(db):
    now = int(NOW.timestamp())
    first = await people.ensure_person(db, telegram_id=7001, now=now)
    second = await people.ensure_person(db, telegram_id=7002, now=now)
    messages = [
        OutgoingMessage(
            dedupe_key=occurrence_key("study.reminder", person.id, 9, 0),
            kind="study.reminder",
            person_id=person.id,
            chat_id=person.telegram_id,
            text="reminder",
            due_at=now,
        )
        for person in (first, second)
    ]
    await outbox.enqueue(db, messages, now=now)
    bot = CancellingBot(db, messages[1].dedupe_key)
    # One send in flight, so the second row is read again after the first send.
    settings = Settings(delivery=DeliverySettings(max_in_flight=1))
    services = Services(settings, FakeClock(NOW), db)
    report = await deliver_due(bot, services)  # type: ignore[arg-type]
    assert bot.sent == [7001]
    assert report.sent == 1
    row = await outbox.get_row(db, messages[1].dedupe_key)
    assert row is not None and row.status == "cancelled"
