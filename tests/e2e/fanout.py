"""A due fan-out and the bot processes that send it, for test_crash_restart and test_scale_out.

Both kill a bot process (tests/e2e/crash_bot.py) in the middle of a study
reminder to every member and count what the emulator received.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

from bot.domain.outgoing import OutgoingMessage, occurrence_key
from bot.emulator import BotApiEmulator
from storage.db import open_database
from storage.migrate import migrate
from storage.repositories import outbox, people

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "e2e" / "crash_bot.py"


async def seed_fanout(database: str | Path, start: datetime, first_id: int, members: int) -> None:
    """Create `members` people and one due reminder each, as a planner would."""
    db = await open_database(database)
    try:
        await migrate(db)
        now = int(start.timestamp())
        messages = []
        for telegram_id in range(first_id, first_id + members):
            person = await people.ensure_person(db, telegram_id=telegram_id, now=now)
            messages.append(
                OutgoingMessage(
                    dedupe_key=occurrence_key("study.reminder", person.id, "lesson-1", 0),
                    kind="study.reminder",
                    person_id=person.id,
                    chat_id=telegram_id,
                    text=f"<b>学习提醒</b> 第一课 {telegram_id}",
                    due_at=now - 60,
                )
            )
        assert await outbox.enqueue(db, messages, now=now) == members
    finally:
        await db.close()


async def start_bot_process(
    emulator: BotApiEmulator, database: str | Path, start: datetime, log: Path,
    *args: str, timeout: float, name: str = "bot",
) -> asyncio.subprocess.Process:
    """Start tests/e2e/crash_bot.py (`args`: RATE [ROLE]) and wait until it prints "ready"."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        emulator.base_url,
        emulator.base_file_url,
        str(database),
        start.isoformat(),
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=log.open("ab"),
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=timeout)
    assert line.strip() == b"ready", f"{name} did not start; see {log}"
    return process
