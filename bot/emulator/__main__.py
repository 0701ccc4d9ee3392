"""Run a standalone Bot API emulator until Ctrl-C.

Point a bot in another process at the printed base URL and drive users through the
``/_emulator/...`` control API (see :mod:`bot.emulator.control`).

Example::

    python -m bot.emulator --port 8081 --user 1001:Alice --user 1002:Bob
    python -m bot.emulator --port 0 --rtt-ms 100     # a round trip from Asia, ±10 ms
    # two county bots (tokens "7000000001:…" and "7000000002:…"); users of the second:
    python -m bot.emulator --bot 7000000002:county_b_bot --user 1003:Cao@7000000002
    # base_url=http://127.0.0.1:8081/bot
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from bot.emulator.server import BotApiEmulator

__all__ = ["main", "parse_args", "populate", "serve"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--bot-username", default="branchbot_demo_bot")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="ID[:FIRST_NAME][@BOT_ID]",
        help="pre-create an emulated user, talking to BOT_ID (default: the first bot)"
        " (repeatable)",
    )
    parser.add_argument(
        "--bot",
        action="append",
        default=[],
        metavar="BOT_ID:USERNAME[:FIRST_NAME]",
        help="add another bot: a token 'BOT_ID:…' polls its own updates and sends as it"
        " (repeatable; the first bot is 7000000001, --bot-username)",
    )
    parser.add_argument(
        "--rtt-ms", type=float, default=0.0, help="network round trip per API call (ms)"
    )
    parser.add_argument(
        "--jitter-ms", type=float, default=None, help="± spread of the round trip (default rtt/10)"
    )
    parser.add_argument(
        "--global-per-second",
        type=float,
        default=None,
        help="refuse sends above this overall rate with 429, as Telegram does",
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=None,
        help="count the overall rate as a token bucket of this size"
        " (default: a strict 1-second sliding window)",
    )
    return parser.parse_args(argv)


def populate(emulator: BotApiEmulator, options: argparse.Namespace) -> None:
    """Add the --bot bots, then the --user users (each to its @BOT_ID, else the first bot)."""
    for spec in options.bot:
        bot_id, _, rest = spec.partition(":")
        username, _, first_name = rest.partition(":")
        emulator.add_bot(int(bot_id), username=username, first_name=first_name)
    for spec in options.user:
        spec, _, bot_id = spec.partition("@")
        user_id, _, first_name = spec.partition(":")
        emulator.add_user(
            int(user_id), first_name=first_name, bot_id=int(bot_id) if bot_id else None
        )


async def serve(options: argparse.Namespace) -> None:
    """Start the emulator, print its URLs and run until SIGINT/SIGTERM."""
    jitter = options.rtt_ms / 10 if options.jitter_ms is None else options.jitter_ms
    async with BotApiEmulator(
        host=options.host,
        port=options.port,
        bot_username=options.bot_username,
        rtt=options.rtt_ms / 1000,
        jitter=jitter / 1000,
    ) as emulator:
        if options.global_per_second:
            emulator.set_rate_limit(
                global_per_second=options.global_per_second, burst=options.burst
            )
        populate(emulator, options)
        print(f"base_url={emulator.base_url}", flush=True)
        print(f"base_file_url={emulator.base_file_url}", flush=True)
        print(f"control_api={emulator.url}/_emulator", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Also catches SIGINT when a parent shell ran us in the background (SIG_IGN).
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: serve until Ctrl-C."""
    options = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
