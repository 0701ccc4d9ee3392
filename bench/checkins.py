"""Benchmark: members pressing ✅ on their study reminders, through the whole bot.

    python -m bench.checkins                       # 300 members, 5 rounds
    python -m bench.checkins --members 1000 --rounds 3

Both bots use one Bot API emulator running in its own process
(`python -m bot.emulator`, driven through its control API), so its work of
serving updates and recording edits is not charged to the bots' event loop:

* baseline: a bare python-telegram-bot Application with one CallbackQueryHandler
  that answers the press and edits the message;
* branchbot: the real Application (database, every handler group, the study
  feature's checks, the answer record, the outbox cancellations), after its
  planner and delivery engine sent each member a real reminder.

In a round every member presses once, all at once; the clock runs from the
first press to the last member seeing the bot's answer (the next edit or
message in their chat; each reminder is checked afterwards, untimed, to have
been edited).  Rounds alternate between the two bots (they share the
emulator's update queue, so one polls at a time), which exposes both to the
same background load; each bot's best round counts, as with timeit, since
other work on the machine only ever slows a round down.  Both take up to 8
updates concurrently, and branchbot's overall rate limit is lifted (to 1000/s,
the config's maximum), as the bare bot has none: the figure compares software,
not Telegram's 30 messages/s.
Prints both rates (presses/s) and their ratio (goal: branchbot at least 0.6 of
the bare bot).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import parse_settings
from bot.domain.models import Category
from bot.org_file import parse_org_file
from bot.scheduling import tick
from bot.services import SERVICES_KEY, Services
from storage.repositories import members, people, study, units

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
REMINDER_TIME = datetime(2026, 3, 2, 11, 30, tzinfo=UTC)  # 19:30 in Beijing
TOKEN = "123456:BENCH-TOKEN-000000000000000000"
ROOT = Path(__file__).resolve().parents[1]
COUNTY = ROOT / "bot" / "data" / "county.toml"
BASELINE_IDS = 700_000
BRANCHBOT_IDS = 800_000
CONCURRENCY = 8
DONE = "✅ 已学习"
TIMEOUT = 120.0

Targets = list[tuple[int, int]]  # (user id, id of the message whose ✅ they press)


class Emulator:
    """A `python -m bot.emulator` subprocess with the users, and its control API."""

    def __init__(self, user_ids: Sequence[int]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.emulator", "--port", "0",
             *(f"--user={uid}:m{uid}" for uid in user_ids)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        urls = dict(self.process.stdout.readline().strip().split("=", 1) for _ in range(3))
        self.base_url = urls["base_url"]
        self.base_file_url = urls["base_file_url"]
        self.control = httpx.AsyncClient(
            base_url=urls["control_api"],
            timeout=TIMEOUT + 10,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )

    async def messages(self, user_id: int) -> list[dict[str, Any]]:
        response = await self.control.get(f"/users/{user_id}/messages")
        response.raise_for_status()
        return response.json()

    async def close(self) -> None:
        await self.control.aclose()
        self.process.terminate()
        self.process.wait(timeout=10)


async def _press_all(emulator: Emulator, targets: Targets, button: str) -> float:
    """Have every user press `button` on their message; return seconds until all got an answer."""
    control = emulator.control

    async def press_and_wait(user_id: int, message_id: int) -> None:
        pressed = await control.post(
            f"/users/{user_id}/press", json={"button": button, "message_id": message_id}
        )
        pressed.raise_for_status()
        # The next edit or message after the press (the user's own cursor).
        seen = await control.post(f"/users/{user_id}/wait", json={"timeout": TIMEOUT})
        seen.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(press_and_wait(uid, mid) for uid, mid in targets))
    elapsed = time.perf_counter() - started
    for user_id, message_id in targets:  # untimed: the pressed message itself was edited
        edited = [
            m for m in await emulator.messages(user_id)
            if m["message_id"] == message_id and m["edits"] > 0
        ]
        if not edited:
            raise RuntimeError(f"user {user_id}'s message {message_id} was not edited")
    return elapsed


@asynccontextmanager
async def _polling(app: Application) -> AsyncIterator[None]:
    """Let `app` (and only it) take updates for the duration of the block."""
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield
    finally:
        await app.updater.stop()


# ---------------------------------------------------------------- the bare baseline


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and edit the message: the least a check-in bot can do."""
    query = update.callback_query
    await query.answer("ok")
    await query.edit_message_text(f"{query.message.text}\n✅", reply_markup=None)


def bare_bot(emulator: Emulator) -> Application:
    """Return the baseline: PTB with one CallbackQueryHandler, no database, no limiter."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .concurrent_updates(CONCURRENCY)
        .build()
    )
    app.add_handler(CallbackQueryHandler(_echo))
    return app


async def bare_round(emulator: Emulator, app: Application, users: Sequence[int]) -> float:
    """Send each user a message with a ✅ button, then time their presses; return presses/s."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅", callback_data="done:1")]])
    targets = []
    for user in users:
        message = await app.bot.send_message(user, "学习提醒", reply_markup=keyboard)
        targets.append((user, message.message_id))
    async with _polling(app):
        return len(users) / await _press_all(emulator, targets, "done:1")


# ---------------------------------------------------------------- branchbot


def branchbot(emulator: Emulator, clock: FakeClock, database: Path) -> Application:
    """Return the real bot on the emulator, with Telegram's send limits lifted."""
    settings = parse_settings(
        {
            "telegram": {
                "api_base_url": emulator.base_url,
                "api_base_file_url": emulator.base_file_url,
            },
            "storage": {"database": str(database)},
            "delivery": {
                "tick_seconds": 3600, "global_per_second": 1000, "per_chat_per_second": 1000,
            },
        }
    )
    return build_application(settings, clock=clock)


async def seed(services: Services, clock: FakeClock, users: Sequence[int]) -> int:
    """Import the county and make the users members of one branch; return the branch id."""
    db = services.db
    now = int(clock.now().timestamp())
    specs = parse_org_file(COUNTY, known=await units.unit_keys(db))
    await units.upsert_units(db, specs, now=now, actor="bench")
    branch = await units.get_unit_by_key(db, "renhe-citrus")
    for user in users:
        person = await people.ensure_person(
            db, telegram_id=user, now=now, name=f"党员{user}", language="zh",
            timezone="Asia/Shanghai",
        )
        member = await members.add_member(
            db, person_id=person.id, branch_id=branch.id, category=Category.REGULAR,
            place=None, invite_id=None, now=now,
        )
        await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)
    return branch.id


async def branchbot_round(
    emulator: Emulator, app: Application, users: Sequence[int], branch_id: int,
    number: int,
) -> float:
    """Publish an item, let the scheduler remind everyone, then time the ✅ presses."""
    services: Services = app.bot_data[SERVICES_KEY]
    title = f"学习党章（第 {number} 轮）"
    # Published at 19:30 (the branch's hour), an item is reminded at once.
    await study.create_items(
        services.db, branch_ids=[branch_id], title=title, body="第一章 总纲",
        due_date="2026-03-08", remind_at={branch_id: "19:30"}, created_by=None,
        now=services.now_ts(),
    )
    targets = await _remind(emulator, app, users, title)
    async with _polling(app):
        return len(users) / await _press_all(emulator, targets, DONE)


async def _remind(
    emulator: Emulator, app: Application, users: Sequence[int], title: str
) -> Targets:
    """Tick until every member holds the item's reminder; return (member, reminder id)."""
    while True:
        reminders = [(user, _reminder(await emulator.messages(user), title)) for user in users]
        if all(message_id is not None for _, message_id in reminders):
            return reminders  # type: ignore[return-value]
        report = await tick(app)
        if report.delivery is None or not report.delivery.sent:
            raise RuntimeError(f"reminders stalled: {report}")


def _reminder(messages: list[dict[str, Any]], title: str) -> int | None:
    # Other features (pledges) may greet the member too; the reminder has the ✅ button.
    return next(
        (
            m["message_id"] for m in messages
            if title in (m["plain"] or "")
            and any(text == DONE for row in m["buttons"] for text, _ in row)
        ),
        None,
    )


# ---------------------------------------------------------------- the run


async def run(count: int, rounds: int) -> tuple[list[float], list[float]]:
    """Return presses/s per round of the bare bot and of branchbot, rounds alternating."""
    clock = FakeClock(START)
    bare_rates: list[float] = []
    bot_rates: list[float] = []
    bare_users = [BASELINE_IDS + n for n in range(count)]
    bot_users = [BRANCHBOT_IDS + n for n in range(count)]
    emulator = Emulator(bare_users + bot_users)
    try:
        with tempfile.TemporaryDirectory(prefix="branchbot-bench-") as tmp:
            bare, real = bare_bot(emulator), branchbot(emulator, clock, Path(tmp) / "bench.db")
            async with bare, real:
                await bare.start()
                await real.start()
                try:
                    branch_id = await seed(real.bot_data[SERVICES_KEY], clock, bot_users)
                    clock.set(REMINDER_TIME)
                    for number in range(1, rounds + 1):
                        bare_rates.append(await bare_round(emulator, bare, bare_users))
                        bot_rates.append(
                            await branchbot_round(emulator, real, bot_users, branch_id, number)
                        )
                finally:
                    await bare.stop()
                    await real.stop()
    finally:
        await emulator.close()
    return bare_rates, bot_rates


async def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    bare_rates, bot_rates = await run(options.members, options.rounds)
    ratio = max(bot_rates) / max(bare_rates)
    print(
        f"check-ins: {options.members} members each pressing ✅ once, all at once;"
        f" best of {options.rounds} alternating rounds"
    )
    print(f"{'bot':<28}{'best/s':>10}   each round (presses/s)")
    table = (("bare PTB (answer + edit)", bare_rates), ("branchbot (study ✅)", bot_rates))
    for name, rates in table:
        print(f"{name:<28}{max(rates):>10.1f}   " + "  ".join(f"{r:.1f}" for r in rates))
    verdict = "✅ met" if ratio >= 0.6 else "below goal"
    print(f"ratio branchbot / bare: {ratio:.2f} (goal ≥ 0.60: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
