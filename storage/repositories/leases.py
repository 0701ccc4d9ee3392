"""Leases: which process runs a singleton job, and which delivery workers are alive.

    held = await acquire(db, "planner", holder, ttl=30, now=now)       # take or renew
    await release(db, "planner", holder)
    workers = await live(db, prefix="delivery:", bot="", now=now)      # [Lease, ...]

A lease row (migration 0020) names a job ('planner') or one delivery worker
('delivery:<holder>'), who holds it, the bot it works for and until when (unix
seconds).  `acquire` is one upsert that takes the row only if it is free,
expired or already ours, so two processes racing for it cannot both win, on
SQLite (one writer) or PostgreSQL (the conflicting row is locked and the WHERE
re-checked).  A holder that dies simply stops renewing: once `expires_at`
passes, anyone may take the lease.

`now` is the caller's wall-clock time, not the domain clock (bot.leasing says
why); every function here takes it as a parameter and reads no clock itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

__all__ = ["Lease", "acquire", "count_live", "live", "release"]


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease row."""

    name: str
    holder: str
    bot: str
    expires_at: int


async def acquire(
    db: aiosqlite.Connection, name: str, holder: str, *, ttl: float, now: float, bot: str = ""
) -> bool:
    """Take or renew the lease `name` for `ttl` seconds; False if another live holder has it."""
    expires = int(now + ttl)
    async with db.execute(
        "INSERT INTO leases (name, holder, bot, expires_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, bot = excluded.bot,"
        " expires_at = excluded.expires_at"
        " WHERE leases.expires_at <= ? OR leases.holder = excluded.holder"
        " RETURNING holder",
        (name, holder, bot, expires, int(now)),
    ) as cur:
        row = await cur.fetchone()
    return row is not None and row[0] == holder


async def release(db: aiosqlite.Connection, name: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), if `holder` still has it."""
    await db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))


async def live(
    db: aiosqlite.Connection, *, now: float, prefix: str = "", bot: str | None = None
) -> list[Lease]:
    """Return the unexpired leases whose name starts with `prefix` (of one bot if given)."""
    # substr, not LIKE ('_' in a holder is a wildcard) nor a key range
    # (PostgreSQL's collation may not order punctuation bytewise); the table
    # holds a row per worker, so no index is needed.
    sql = (
        "SELECT name, holder, bot, expires_at FROM leases"
        " WHERE substr(name, 1, ?) = ? AND expires_at > ?"
    )
    params: tuple[object, ...] = (len(prefix), prefix, int(now))
    if bot is not None:
        sql += " AND bot = ?"
        params += (bot,)
    async with db.execute(sql + " ORDER BY name", params) as cur:
        return [Lease(row[0], row[1], row[2], row[3]) for row in await cur.fetchall()]


async def count_live(
    db: aiosqlite.Connection, *, now: float, prefix: str, bot: str | None = None
) -> int:
    """Return how many unexpired leases start with `prefix` (of one bot if given)."""
    return len(await live(db, now=now, prefix=prefix, bot=bot))
