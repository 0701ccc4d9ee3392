"""Run the real bot against an emulator until SIGTERM (or SIGKILL) — for test_crash_restart
and test_scale_out.

    python tests/e2e/crash_bot.py BASE_URL BASE_FILE_URL DATABASE START_ISO [RATE [ROLE]]

ROLE is `branchbot run --role` (all, the default, or delivery, planner, updates).

The scheduler job ticks every 0.2 s on a FakeClock frozen at START_ISO, so
everything due by then in DATABASE's outbox is delivered; no polling is needed.
Prints "ready" once the Application has started.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import datetime

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import parse_settings
from bot.scheduling import ROLE_KEY


async def main(argv: list[str]) -> None:
    base_url, file_url, database, start = argv[:4]
    rate = float(argv[4]) if len(argv) > 4 else 300.0
    role = argv[5] if len(argv) > 5 else "all"
    settings = parse_settings(
        {
            "telegram": {"api_base_url": base_url, "api_base_file_url": file_url},
            "storage": {"database": database},
            "delivery": {"tick_seconds": 0.2, "global_per_second": rate},
        }
    )
    app = build_application(settings, clock=FakeClock(datetime.fromisoformat(start)))
    app.bot_data[ROLE_KEY] = role
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with app:
        await app.start()
        print("ready", flush=True)
        await stop.wait()
        await app.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skipped overlapping ticks
    asyncio.run(main(sys.argv[1:]))
