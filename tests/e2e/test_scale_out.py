"""Two delivery worker processes on one PostgreSQL database, one SIGKILLed mid-fan-out:
every member gets the reminder, and at most the killed worker's k sends in flight
are repeated, each to a different person, once.

The emulator answers after a 50 ms round trip and refuses sends beyond the
token's limit (a token bucket at RATE per second): the two workers share that
limit through their delivery leases, so together they stay within it.  The
survivor finishes the killed worker's claims once it sees the worker is gone.

PostgreSQL only: one SQLite file accepts one process (storage/lock.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.emulator import BotApiEmulator
from storage.db import open_database
from storage.repositories import outbox
from tests.e2e.fanout import seed_fanout, start_bot_process
from tests.pg import fresh_schema, server_url

pytestmark = pytest.mark.skipif(
    server_url() is None,
    reason="PostgreSQL only: one SQLite file accepts one process (storage/lock.py); "
    "set BRANCHBOT_TEST_DATABASE to run it",
)

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
MEMBERS = 400
FIRST_ID = 810000
RATE = 60  # the token's limit, per second (the emulator's and the bot's)
K = 12  # [delivery].max_in_flight's default: the most one worker has in flight


async def start_worker(emulator: BotApiEmulator, url: str, log: Path):
    return await start_bot_process(
        emulator, url, START, log, str(RATE), "delivery", timeout=30, name="worker"
    )


async def test_two_delivery_workers_one_killed_mid_fanout(tmp_path):
    server = server_url()
    assert server is not None
    log = tmp_path / "workers.log"
    async with fresh_schema(server) as url:
        await seed_fanout(url, START, FIRST_ID, MEMBERS)
        clock = FakeClock(START)
        async with BotApiEmulator(clock=clock.timestamp, rtt=0.05, jitter=0.01) as emulator:
            emulator.set_rate_limit(global_per_second=RATE, burst=RATE // 4)
            for telegram_id in range(FIRST_ID, FIRST_ID + MEMBERS):
                emulator.add_user(telegram_id)
            stats = emulator.stats

            doomed, survivor = await asyncio.gather(
                start_worker(emulator, url, log), start_worker(emulator, url, log)
            )
            try:
                await emulator.wait_until(lambda: stats.sends_ok >= MEMBERS // 3, timeout=30)
                doomed.kill()  # SIGKILL: no shutdown, its claims stay 'sending'
                await doomed.wait()
                killed_after = stats.sends_ok
                assert killed_after < MEMBERS, "the fan-out finished before the kill"
                await emulator.wait_until(
                    lambda: len(stats.sends_by_chat) == MEMBERS, timeout=40
                )
                await asyncio.sleep(0.5)  # a repeat still on its way would land now
            finally:
                for process in (doomed, survivor):
                    if process.returncode is None:
                        process.terminate()
                        await asyncio.wait_for(process.wait(), timeout=20)

            chats = range(FIRST_ID, FIRST_ID + MEMBERS)
            counts = {chat: stats.sends_by_chat[chat] for chat in chats}
            missing = [chat for chat, n in counts.items() if n == 0]
            repeated = [chat for chat, n in counts.items() if n > 1]
            print(
                f"killed after {killed_after} sends; repeated to {repeated};"
                f" 429s {stats.flood_refusals}"
            )
            assert missing == []
            assert len(repeated) <= K, repeated
            assert all(counts[chat] == 2 for chat in repeated)  # one extra copy each, at most
            assert stats.sends_ok == MEMBERS + len(repeated)
            # Two workers shared the token's limit: the emulator refused (almost) nothing.
            assert stats.flood_refusals <= 3, stats.flood_refusals

        db = await open_database(url)
        try:
            assert await outbox.count_by_status(db) == {"sent": MEMBERS}
            # Only the killed worker's claims were recovered (each marked when it was).
            async with db.execute(
                "SELECT chat_id FROM outbox WHERE uncertain_at IS NOT NULL"
            ) as cur:
                recovered = {row[0] for row in await cur.fetchall()}
            # Both workers sent part of the fan-out (each claim names its worker).
            async with db.execute(
                "SELECT COUNT(DISTINCT claimed_by) FROM outbox WHERE status = 'sent'"
            ) as cur:
                workers = (await cur.fetchone())[0]
        finally:
            await db.close()
        assert workers == 2
        assert len(recovered) <= K
        assert set(repeated) <= recovered


async def test_every_role_started_together_on_a_new_schema_comes_up(tmp_path):
    """A county's processes started by one `systemctl start` all come up, and stop cleanly."""
    server = server_url()
    assert server is not None
    log = tmp_path / "roles.log"
    roles = ("delivery", "delivery", "planner", "updates", "all")
    async with fresh_schema(server) as url:
        clock = FakeClock(START)
        async with BotApiEmulator(clock=clock.timestamp) as emulator:
            processes = await asyncio.gather(
                *(
                    start_bot_process(
                        emulator, url, START, log, str(RATE), role, timeout=60, name=role
                    )
                    for role in roles
                ),
                return_exceptions=True,
            )
            started = [p for p in processes if not isinstance(p, BaseException)]
            for process in started:
                process.terminate()
            codes = [await asyncio.wait_for(p.wait(), timeout=20) for p in started]
        failures = [p for p in processes if isinstance(p, BaseException)]
        assert failures == [], f"{failures}; see {log}"
        assert codes == [0] * len(roles), f"see {log}"
