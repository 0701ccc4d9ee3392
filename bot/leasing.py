"""Who is alive: lease holders of the planner and the delivery workers (issue 15).

    holder = holder_of(app)          # "host:pidns:pid:random", one per Application
    now = lease_now(app)             # wall-clock seconds (time.time unless a test injects one)
    gone = dead_here(holders)        # holders of this host whose process no longer exists

Several processes (or several Applications in one process, one per bot token)
share one PostgreSQL database.  The planner runs in one of them at a time, by
the lease 'planner'; each delivery worker holds 'delivery:<holder>' while it
runs, so recovery can tell a dead worker's 'sending' rows from a live one's,
and live workers of one bot split its rate between them.

Lease time is process liveness, not domain time: it is read from the real wall
clock (injectable as `LEASE_CLOCK` in bot_data), never from bot.clock.  Tests
and the e2e subprocesses freeze the domain FakeClock; a lease stamped on a
frozen clock would never expire, and a dead worker's rows would never be
recovered.  Two processes on different machines must also agree on it, which
the wall clock (NTP) does and a per-process fake clock cannot.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Iterable

from telegram.ext import Application

__all__ = [
    "DELIVERY_RENEW",
    "DELIVERY_TTL",
    "LEASE_CLOCK",
    "PLANNER_LEASE",
    "PLANNER_RENEW",
    "PLANNER_TTL",
    "dead_here",
    "delivery_lease",
    "holder_of",
    "lease_now",
]

LEASE_CLOCK = "branchbot.lease_clock"  # bot_data key: a () -> float of wall-clock seconds
_HOLDER = "branchbot.lease_holder"
PLANNER_LEASE = "planner"
# A dead planner's lease runs out within PLANNER_TTL; a standby tries every
# PLANNER_RENEW seconds, so planning moves to it within TTL + RENEW (40 s).
PLANNER_TTL = 30.0
PLANNER_RENEW = 10.0
# Delivery workers renew often: a worker's count sets every worker's share of
# the bot's rate, and a joining worker waits one renewal before its first send
# so the others have slowed down first.
DELIVERY_TTL = 15.0
DELIVERY_RENEW = 2.0


def _pid_namespace() -> str:
    """Return this process's PID namespace (0 where there is none to read)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


_HOST = socket.gethostname().replace(":", "_")
_PIDNS = _pid_namespace()


def new_holder() -> str:
    """Return a fresh holder id: host, PID namespace, pid, and a random part.

    The random part tells apart several Applications of one process (one per
    bot token), and a restarted process that happens to reuse a pid.
    """
    return f"{_HOST}:{_PIDNS}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_of(app: Application) -> str:
    """Return the Application's lease holder id (made once per Application)."""
    holder = app.bot_data.get(_HOLDER)
    if holder is None:
        holder = app.bot_data[_HOLDER] = new_holder()
    return holder


def lease_now(app: Application) -> float:
    """Return wall-clock seconds for leases (injected in tests, see the module docstring)."""
    clock: Callable[[], float] = app.bot_data.get(LEASE_CLOCK, time.time)
    return clock()


def delivery_lease(holder: str) -> str:
    """Return the lease name of the delivery worker `holder`."""
    return f"delivery:{holder}"


def dead_here(holders: Iterable[str]) -> list[str]:
    """Return the holders that ran on this host, in this PID namespace, and are gone.

    A SIGKILLed worker's lease would otherwise block the recovery of its rows
    until it expires; on one machine the kernel can say at once that the
    process no longer exists.  Holders of other hosts (or other containers:
    another PID namespace) are left to their lease's expiry.
    """
    gone = []
    for holder in holders:
        parts = holder.split(":")
        if len(parts) != 4 or parts[0] != _HOST or parts[1] != _PIDNS or parts[1] == "0":
            continue
        if not parts[2].isdigit():
            continue
        pid = int(parts[2])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            gone.append(holder)
        except PermissionError:
            pass  # exists, owned by someone else
    return gone
