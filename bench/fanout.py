"""Fan-out benchmark: one reminder to each of N members through the real bot and outbox.

    python bench/fanout.py [--members 10000] [--rate 30] [--rtt-ms 100] [--rtts 50,100,200]

The emulator answers each call after a network round trip (`--rtt-ms`, ±10 %
jitter): at 100 ms, one send in flight can reach only 10 messages/s.

Starts the Bot API emulator in a subprocess (`python -m bot.emulator`) with
Telegram-style limits (RATE messages/s overall, 1/s per chat; 429 above them;
the overall limit a token bucket tolerating 0.1 s of bunching, or with
`--strict-window` a zero-tolerance sliding window: see bot/emulator/faults.py),
then measures, against the same emulator and limits:

* BASELINE: a bare `telegram.Bot` with k sends in flight (k = RATE × RTT + 1,
  at most 8) and a token bucket (bot.pacing.Pacer paced on send start, just
  under RATE), waiting `retry_after` on a 429 — no Application, database or outbox;
* BRANCHBOT: a temporary database with N members and one due reminder each in
  the outbox, the real Application (`bot.app.build_application`, polling,
  `[delivery] global_per_second = RATE`) ticking the scheduler until the
  outbox is drained.

Prints one table: achieved rate (emulator's count / first-to-last delivery
time), its ratio to the allowed rate (goal >= 0.9), 429s received (goal 0),
chats that got a message twice or not at all (goal 0), wall time and the
peak RSS of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from telegram import Bot  # noqa: E402
from telegram.error import RetryAfter  # noqa: E402

from bot.app import OFFLINE_TOKEN, build_application  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import parse_settings  # noqa: E402
from bot.domain.outgoing import OutgoingMessage, occurrence_key  # noqa: E402
from bot.pacing import PACE_FRACTION, Pacer, pacer_for  # noqa: E402
from bot.scheduling import JOB_NAME, tick  # noqa: E402
from storage.db import open_database, transaction  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.repositories import outbox, people  # noqa: E402

FIRST_ID = 10_000_000
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TEXT = "<b>学习提醒</b>：本周学习《{lesson}》，请于周日前完成。成员 {member}"


@dataclass
class Result:
    """What the emulator saw during one run."""

    name: str
    sent: int
    achieved: float
    refusals: int
    duplicates: int
    missing: int
    wall: float
    peak_per_second: int
    rss_mb: float = 0.0


class Emulator:
    """A `python -m bot.emulator` subprocess and its control API."""

    def __init__(self, members: int, rtt_ms: float, burst: int | None) -> None:
        self.burst = burst
        users = [f"--user={FIRST_ID + i}" for i in range(members)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.emulator", "--port", "0", f"--rtt-ms={rtt_ms}", *users],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        urls = dict(self.process.stdout.readline().strip().split("=", 1) for _ in range(3))
        self.base_url = urls["base_url"]
        self.base_file_url = urls["base_file_url"]
        self.control = urls["control_api"]
        self.http = httpx.AsyncClient(base_url=self.control, timeout=60)

    async def limit(self, rate: float) -> None:
        """(Re)arm the limits with a fresh window, and reset the counters."""
        await self.http.post("/rate_limit", json={})  # off: forget the old windows
        await self.http.post(
            "/rate_limit",
            json={"global_per_second": rate, "per_chat_per_second": 1, "burst": self.burst},
        )
        await self.http.post("/stats/reset")

    async def stats(self) -> dict[str, Any]:
        response = await self.http.get("/stats")
        response.raise_for_status()
        return response.json()

    async def close(self) -> None:
        await self.http.aclose()
        self.process.terminate()
        self.process.wait(timeout=10)


def summarize(name: str, stats: dict[str, Any], members: int, wall: float) -> Result:
    by_chat = {int(chat): n for chat, n in stats["sends_by_chat"].items()}
    counts = [by_chat.get(FIRST_ID + i, 0) for i in range(members)]
    return Result(
        name=name,
        sent=stats["sends_ok"],
        achieved=stats["achieved_rate"],
        refusals=stats["flood_refusals"],
        duplicates=sum(1 for n in counts if n > 1),
        missing=sum(1 for n in counts if n == 0),
        wall=wall,
        peak_per_second=stats["peak_per_second"],
        rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


async def run_baseline(emulator: Emulator, members: int, rate: float, rtt: float) -> Result:
    """A bare Bot with k sends in flight and a token bucket, waiting out any 429."""
    await emulator.limit(rate)
    bot = Bot(OFFLINE_TOKEN, base_url=emulator.base_url, base_file_url=emulator.base_file_url)
    pacing = Pacer(global_per_second=rate * PACE_FRACTION, per_chat_per_second=1.0)
    k = max(1, min(8, math.ceil(rate * rtt) + 1))
    chats = iter(range(FIRST_ID, FIRST_ID + members))

    async def sender() -> None:
        for chat in chats:
            while True:
                delay = pacing.delay()
                if delay > 0:
                    await asyncio.sleep(delay)
                    continue  # another sender may have taken the slot meanwhile
                pacing.begin()
                try:
                    await bot.send_message(
                        chat, TEXT.format(lesson="党章", member=chat), parse_mode="HTML"
                    )
                    break
                except RetryAfter as exc:
                    pacing.pause(exc._retry_after.total_seconds())

    async with bot:
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(k)))
        wall = time.perf_counter() - started
    return summarize(f"bare Bot, k={k} + bucket", await emulator.stats(), members, wall)


async def prepare_database(path: Path, members: int) -> None:
    db = await open_database(path)
    try:
        await migrate(db)
        now = int(START.timestamp())
        messages = []
        async with transaction(db):
            for i in range(members):
                person = await people.ensure_person(db, telegram_id=FIRST_ID + i, now=now)
                messages.append(
                    OutgoingMessage(
                        dedupe_key=occurrence_key("study.reminder", person.id, "lesson-1", 0),
                        kind="study.reminder",
                        person_id=person.id,
                        chat_id=FIRST_ID + i,
                        text=TEXT.format(lesson="党章", member=FIRST_ID + i),
                        due_at=now - 60,
                        reply_markup={
                            "inline_keyboard": [
                                [{"text": "已学习", "callback_data": f"study:done:{person.id}"}]
                            ]
                        },
                    )
                )
            await outbox.enqueue(db, messages, now=now)
    finally:
        await db.close()


async def run_branchbot(emulator: Emulator, members: int, rate: float, workdir: Path) -> Result:
    """The real Application and outbox, ticked until nothing is pending."""
    database = workdir / "fanout.sqlite3"
    await prepare_database(database, members)
    settings = parse_settings(
        {
            "telegram": {
                "api_base_url": emulator.base_url,
                "api_base_file_url": emulator.base_file_url,
            },
            "storage": {"database": str(database)},
            "delivery": {"global_per_second": rate, "tick_seconds": 3600},
        }
    )
    app = build_application(settings, clock=FakeClock(START))
    await emulator.limit(rate)
    async with app:
        # The bench ticks by hand; the start-up tick of the job would only race it.
        assert app.job_queue is not None
        for job in app.job_queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        started = time.perf_counter()
        ticks = 0
        while True:
            report = await tick(app)
            ticks += 1
            assert report.delivery is not None
            db = app.bot_data["branchbot.services"].db
            pending = (await outbox.count_by_status(db)).get("pending", 0)
            if pending == 0 or ticks > 20:
                break
        wall = time.perf_counter() - started
        await app.updater.stop()
        await app.stop()
    name = f"branchbot ({ticks} tick{'s' * (ticks > 1)})"
    pacer = pacer_for(app.bot.token, settings.delivery, server=app.bot.base_url)
    if pacer.round_trip is not None:
        print(
            f"branchbot measured round trip {pacer.round_trip * 1000:.0f} ms"
            f" ± {(pacer.round_trip_deviation or 0) * 1000:.1f} ms (mean deviation):"
            f" starts {1 / pacer.start_gap():.1f}/s,"
            f" peak in flight {report.delivery.peak_in_flight}"
            f" (at most {settings.delivery.max_in_flight})"
        )
    return summarize(name, await emulator.stats(), members, wall)


def print_table(
    members: int, rate: float, rtt_ms: float, burst: int | None, results: list[Result]
) -> None:
    print()
    limit = "strict 1 s window" if burst is None else f"token bucket, burst {burst}"
    print(
        f"members: {members}   allowed rate: {rate:g} msg/s overall ({limit}), 1 msg/s per chat"
        f"   round trip: {rtt_ms:g} ms ± {rtt_ms / 10:g}"
    )
    header = (
        f"{'run':<26}{'sent':>7}{'achieved/s':>12}{'ratio':>7}{'429s':>6}"
        f"{'dup':>5}{'miss':>6}{'peak/s':>8}{'wall s':>8}{'RSS MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<26}{r.sent:>7}{r.achieved:>12.1f}{r.achieved / rate:>7.2f}"
            f"{r.refusals:>6}{r.duplicates:>5}{r.missing:>6}{r.peak_per_second:>8}{r.wall:>8.1f}"
            f"{r.rss_mb:>8.0f}"
        )
    bot = results[-1]
    ok = (
        bot.achieved / rate >= 0.95
        and bot.refusals <= 0.01 * members
        and bot.duplicates == bot.missing == 0
    )
    print("goals (ratio >= 0.95, 429s <= 1 %, no duplicate, none missing):",
          "met" if ok else "NOT met")
    print("(RSS MB: the bench process's peak so far, so the later run includes the earlier)")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--rtt-ms", type=float, default=100.0)
    parser.add_argument(
        "--rtts", default=None, help="comma-separated round trips to run in turn, e.g. 50,100,200"
    )
    parser.add_argument(
        "--strict-window",
        action="store_true",
        help="count the overall limit as a zero-tolerance 1-second sliding window"
        " instead of a token bucket with a burst of rate/10",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    options = parser.parse_args(argv)
    burst = None if options.strict_window else max(1, round(options.rate / 10))
    rtts = [float(x) for x in options.rtts.split(",")] if options.rtts else [options.rtt_ms]
    for rtt_ms in rtts:
        emulator = Emulator(options.members, rtt_ms, burst)
        results = []
        try:
            with tempfile.TemporaryDirectory(prefix="branchbot-fanout-") as tmp:
                if not options.skip_baseline:
                    results.append(
                        await run_baseline(
                            emulator, options.members, options.rate, rtt_ms / 1000
                        )
                    )
                    await asyncio.sleep(1.1)  # let every chat's 1 s window pass
                results.append(
                    await run_branchbot(emulator, options.members, options.rate, Path(tmp))
                )
        finally:
            await emulator.close()
        print_table(options.members, options.rate, rtt_ms, burst, results)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
