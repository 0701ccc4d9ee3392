"""SIGKILL the bot in the middle of a 1,000-member fan-out, restart it: nobody is missed,
at most the k messages in flight at the kill are repeated, each to a different person.

The emulator answers after a 50 ms round trip, so the bot keeps its full k = 8
sends in flight (rate × round trip + 1, capped at [delivery].max_in_flight).

The emulator runs in this process; the bot runs in a subprocess
(tests/e2e/crash_bot.py) on a database file prepared here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FakeClock
from bot.emulator import BotApiEmulator
from storage.db import open_database
from storage.repositories import outbox
from tests.e2e.fanout import seed_fanout, start_bot_process

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
MEMBERS = 1000
FIRST_ID = 700000
K = 12  # [delivery].max_in_flight's default; at 300/s and 50 ms k reaches it


async def start_bot(emulator: BotApiEmulator, database: Path, log: Path):
    return await start_bot_process(emulator, database, START, log, "300", timeout=20)


async def test_kill_mid_fanout_and_restart_sends_each_reminder_once(tmp_path):
    database = tmp_path / "crash.sqlite3"
    log = tmp_path / "bot.log"
    await seed_fanout(database, START, FIRST_ID, MEMBERS)
    clock = FakeClock(START)
    async with BotApiEmulator(clock=clock.timestamp, rtt=0.05, jitter=0.01) as emulator:
        for telegram_id in range(FIRST_ID, FIRST_ID + MEMBERS):
            emulator.add_user(telegram_id)
        stats = emulator.stats

        bot = await start_bot(emulator, database, log)
        try:
            await emulator.wait_until(lambda: stats.sends_ok >= MEMBERS // 2, timeout=30)
        finally:
            bot.kill()  # SIGKILL: no shutdown, no flush, mid-send
            await bot.wait()
        await asyncio.sleep(0.1)  # requests already on the wire land (half a round trip)
        delivered_before_kill = stats.sends_ok
        assert delivered_before_kill < MEMBERS, "the fan-out finished before the kill"
        # What the kill left claimed but unrecorded: at most k rows, one per chat.
        db = await open_database(database)
        try:
            async with db.execute("SELECT chat_id FROM outbox WHERE status = 'sending'") as cur:
                in_flight = [row[0] for row in await cur.fetchall()]
        finally:
            await db.close()
        assert len(in_flight) <= K and len(set(in_flight)) == len(in_flight), in_flight

        bot = await start_bot(emulator, database, log)
        try:
            await emulator.wait_until(lambda: len(stats.sends_by_chat) == MEMBERS, timeout=30)
        finally:
            bot.terminate()  # a clean stop: the tick in progress finishes its marks
            await asyncio.wait_for(bot.wait(), timeout=20)

        counts = {chat: stats.sends_by_chat[chat] for chat in range(FIRST_ID, FIRST_ID + MEMBERS)}
        missing = [chat for chat, n in counts.items() if n == 0]
        repeated = [chat for chat, n in counts.items() if n > 1]
        assert missing == []
        print(f"killed after {delivered_before_kill} sends; repeated to {repeated}")
        assert len(repeated) <= K, f"repeated to {repeated}"
        assert all(counts[chat] == 2 for chat in repeated)  # one extra copy each, at most
        assert set(repeated) <= set(in_flight)  # only what was in flight at the kill
        assert stats.sends_ok == MEMBERS + len(repeated)
        for chat in (FIRST_ID, FIRST_ID + MEMBERS - 1):
            assert emulator.sent_to(chat)[0].plain == f"学习提醒 第一课 {chat}"

    db = await open_database(database)
    try:
        assert await outbox.count_by_status(db) == {"sent": MEMBERS}
    finally:
        await db.close()
