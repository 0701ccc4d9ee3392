"""The outbox and send log: planned messages and what became of each.

inserted = await enqueue(db, messages, now=now)   # duplicates by key are ignored
await cancel_pending(db, key_prefix="study.followup|m7|item42|")

Statuses: 'pending' (not yet sent; `next_attempt_at` holds a retry back-off),
'sending' (claimed by bot.delivery in its own commit just before the request
leaves: at most k rows at once per worker, each to a different chat, with
`claimed_by` naming the worker's lease holder; rows still 'sending' whose
worker's lease has run out were cut off by a crash, see `recover_sending`), 'sent' (Telegram
accepted it; the send log), 'expired' (due longer ago than the grace window,
or past `expires_at`), 'unreachable' (403 or chat not found),
'failed' (Telegram rejected this message for good, e.g. malformed HTML; see
`last_error`), 'cancelled', and 'uncertain': a send went out and no answer came,
so the member may or may not have it.  An uncertain row is never sent blindly
again: it is re-sent at most once, at its `next_attempt_at`, and only if
bot.delivery set one (NULL: never re-sent); `uncertain_at` says when its first
unknown outcome happened.  bot.delivery is the only writer of these transitions
besides the cancels, which also withdraw an uncertain row's re-send.

Retention: `prune_closed` drops text, keyboard, photo and chat id of closed
rows older than [delivery].retention_days; the key, kind, dates and outcome
stay (planners' "planned before?" checks and the ledger need only those).
Rows are read by priority (0: time-sensitive kinds, bot.domain.outgoing.priority_of),
then due time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.domain.outgoing import OutgoingMessage, priority_of
from storage.dialect import skip_locked

__all__ = [
    "OutboxRow",
    "cancel_for_person",
    "cancel_pending",
    "close_resend",
    "count_by_status",
    "due_rows",
    "due_rows_query_plans",
    "enqueue",
    "expire_stale",
    "get_row",
    "known_keys",
    "mark_attempt_failed",
    "mark_final",
    "mark_sending",
    "mark_sent",
    "mark_uncertain",
    "prune_closed",
    "push_to",
    "recover_sending",
    "release_claim",
]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored outbox row."""

    id: int
    dedupe_key: str
    kind: str
    person_id: int | None
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    photo: bytes | None
    due_at: int
    expires_at: int | None
    status: str
    attempts: int
    next_attempt_at: int | None
    sent_at: int | None
    message_id: int | None
    last_error: str | None
    uncertain_at: int | None = None
    priority: int = 1
    quiet_zone: str | None = None
    elderly: bool = False
    pruned_at: int | None = None


_COLUMNS = (
    "id, dedupe_key, kind, person_id, chat_id, text, reply_markup, photo, due_at, expires_at,"
    " status, attempts, next_attempt_at, sent_at, message_id, last_error, uncertain_at,"
    " priority, quiet_zone, elderly, pruned_at"
)
# Closed rows: nothing more will be sent for them (an uncertain row without a re-send too).
_CLOSED = (
    "(status IN ('sent', 'expired', 'unreachable', 'failed', 'cancelled')"
    " OR (status = 'uncertain' AND next_attempt_at IS NULL))"
)


def _row(row: aiosqlite.Row) -> OutboxRow:
    values = {key: row[key] for key in row.keys()}
    if values["reply_markup"] is not None:
        values["reply_markup"] = json.loads(values["reply_markup"])
    values["elderly"] = bool(values["elderly"])
    return OutboxRow(**values)


async def enqueue(
    db: aiosqlite.Connection, messages: Sequence[OutgoingMessage], *, now: int
) -> int:
    """Store planned messages, ignoring any whose key is already known; return how many were new.

    Each row is sent by its recipient's bot (`people.bot`, by person id, else
    by Telegram chat id; '' when neither is known): resolved here, once, so
    no planner has to know about bots.
    """
    before = db.total_changes
    await db.executemany(
        "INSERT OR IGNORE INTO outbox (dedupe_key, kind, person_id, chat_id, text, reply_markup,"
        " photo, due_at, expires_at, created_at, priority, quiet_zone, elderly, bot)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE("
        "(SELECT p.bot FROM people p WHERE p.id = ?),"
        " (SELECT p.bot FROM people p WHERE p.telegram_id = ?), ''))",
        [
            (
                m.dedupe_key,
                m.kind,
                m.person_id,
                m.chat_id,
                m.text,
                None if m.reply_markup is None else json.dumps(m.reply_markup, ensure_ascii=False),
                m.photo,
                m.due_at,
                m.expires_at,
                now,
                priority_of(m.kind),
                m.quiet_zone,
                int(m.elderly),
                m.person_id,
                m.chat_id,
            )
            for m in messages
        ],
    )
    return db.total_changes - before


async def get_row(db: aiosqlite.Connection, dedupe_key: str) -> OutboxRow | None:
    """Return the outbox row of a key, or None."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE dedupe_key = ?", (dedupe_key,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _row(row)


async def due_rows(
    db: aiosqlite.Connection,
    now: int,
    limit: int = 500,
    *,
    after: tuple[int, int, int] | None = None,
    bot: str = "",
) -> list[OutboxRow]:
    """Return `bot`'s rows due by `now` (past any retry back-off), urgent kinds first, then oldest.

    An uncertain row comes back only once its one re-send falls due
    (`next_attempt_at` set and reached).  `after=(priority, due_at, id)` of the
    last row of the previous batch pages on from there (keyset paging).  Each
    bot reads only its own rows ('' = the one default bot).
    """
    # One read per status, each in its index's order (outbox_bot_due), merged
    # here: one query with an OR of the two was planned from the statistics,
    # and PostgreSQL's, stale after a large fan-out had been sent, had every
    # poll of every bot read all of that bot's rows (150 ms at 1M rows, idle).
    rows: list[OutboxRow] = []
    for sql in _due_sql(paged=after is not None):
        async with db.execute(sql, (bot, now, now, *(after or ()), limit)) as cur:
            rows.extend(_row(row) for row in await cur.fetchall())
    rows.sort(key=lambda row: (row.priority, row.due_at, row.id))
    return rows[:limit]


def _due_sql(*, paged: bool) -> tuple[str, str]:
    """Return due_rows' two reads: pending rows, and uncertain rows whose re-send is due."""
    page = " AND (priority, due_at, id) > (?, ?, ?)" if paged else ""
    return tuple(  # type: ignore[return-value]
        f"SELECT {_COLUMNS} FROM outbox WHERE bot = ? AND status = '{status}'"
        f" AND due_at <= ? AND {ready}{page} ORDER BY priority, due_at, id LIMIT ?"
        for status, ready in (
            ("pending", "(next_attempt_at IS NULL OR next_attempt_at <= ?)"),
            ("uncertain", "next_attempt_at <= ?"),
        )
    )


async def due_rows_query_plans(
    db: aiosqlite.Connection, now: int, *, bot: str = ""
) -> list[str]:
    """Return the engine's plans for due_rows' reads (tests assert they follow the index)."""
    postgres = getattr(db, "engine", "sqlite") == "postgresql"
    lines: list[str] = []
    for sql in _due_sql(paged=False):
        async with db.execute(
            ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql, (bot, now, now, 500)
        ) as cur:
            lines.extend(str(row[0] if postgres else row[3]) for row in await cur.fetchall())
    return lines


async def expire_stale(
    db: aiosqlite.Connection, *, now: int, due_before: int, bot: str = ""
) -> dict[str, int]:
    """Expire `bot`'s pending rows due before `due_before` or past their `expires_at`.

    Returns how many rows of each kind were expired (one statement, committed).
    """
    async with db.execute(
        "UPDATE outbox SET status = 'expired' WHERE bot = ? AND status = 'pending'"
        " AND (due_at < ? OR expires_at < ?) RETURNING kind",
        (bot, due_before, now),
    ) as cur:
        kinds = [row[0] for row in await cur.fetchall()]
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


# A row a worker may claim: pending, or uncertain with its one re-send still set.
_CLAIMABLE = (
    "(status = 'pending' OR (status = 'uncertain' AND next_attempt_at IS NOT NULL))"
)


async def mark_sending(
    db: aiosqlite.Connection, row_id: int, *, holder: str | None = None
) -> bool:
    """Claim a due row for its send (commits on its own); False if it was cancelled or taken.

    Only a pending row or an uncertain row with its re-send still set can be
    claimed.  `claimed_by` records the claiming worker's lease holder, so
    recovery never takes a row a live worker is sending.  On PostgreSQL the
    row is locked with SKIP LOCKED: a row another worker is claiming at this
    very moment is skipped, never waited for (storage.dialect.skip_locked).
    """
    cursor = await db.execute(
        "UPDATE outbox SET status = 'sending', claimed_by = ? WHERE id ="
        f" (SELECT id FROM outbox WHERE id = ? AND {_CLAIMABLE}{skip_locked(db)})",
        (holder, row_id),
    )
    return cursor.rowcount == 1


async def recover_sending(
    db: aiosqlite.Connection, *, now: int, lease_now: float, dead: Sequence[str] = ()
) -> list[OutboxRow]:
    """Turn rows a dead worker left 'sending' into unknown outcomes; return them, recovered.

    Only rows whose `claimed_by` holds no live delivery lease at `lease_now`
    (wall-clock seconds, see storage.repositories.leases), or is NULL (claimed
    before leases existed), or is one of `dead` (holders known to be gone,
    e.g. a process on this host that no longer exists) are taken: a live
    worker's rows are its own.  The live leases are read in the same statement,
    so a worker that starts meanwhile cannot lose a row it just claimed (its
    lease is committed before its first claim).

    Each may or may not have reached its chat.  One that never had an unknown
    outcome before is sent once more, at once, whatever its kind (the crash may
    have come before its request left, and nothing else would ever send it);
    one that had (a re-send cut off in its turn) is closed: never a third copy.
    """
    dead_marks = ",".join("?" * len(dead))
    orphaned = (
        "status = 'sending' AND (claimed_by IS NULL OR claimed_by NOT IN"
        " (SELECT holder FROM leases WHERE substr(name, 1, 9) = 'delivery:' AND expires_at > ?)"
        + (f" OR claimed_by IN ({dead_marks})" if dead else "")
        + ")"
    )
    async with db.execute(
        "UPDATE outbox SET status = 'uncertain', attempts = attempts + 1,"
        " next_attempt_at = CASE WHEN uncertain_at IS NULL THEN CAST(? AS INTEGER) ELSE NULL END,"
        " uncertain_at = COALESCE(uncertain_at, ?),"
        f" last_error = 'the bot stopped while sending' WHERE {orphaned}"
        f" RETURNING {_COLUMNS}",
        (now, now, int(lease_now), *dead),
    ) as cur:
        return sorted((_row(row) for row in await cur.fetchall()), key=lambda row: row.id)


async def release_claim(db: aiosqlite.Connection, row_id: int) -> None:
    """Give back a claimed row whose request never left (the run stopped first)."""
    await db.execute(
        "UPDATE outbox SET status = CASE WHEN uncertain_at IS NULL THEN 'pending'"
        " ELSE 'uncertain' END WHERE id = ? AND status = 'sending'",
        (row_id,),
    )


async def push_to(db: aiosqlite.Connection, row_id: int, *, due_at: int) -> None:
    """Move a row's due time later (quiet hours at send time): it is due again then."""
    await db.execute(
        "UPDATE outbox SET due_at = ?, next_attempt_at = CASE WHEN status = 'uncertain'"
        " THEN ? ELSE next_attempt_at END WHERE id = ?",
        (due_at, due_at, row_id),
    )


async def prune_closed(
    db: aiosqlite.Connection, *, due_before: int, now: int, limit: int = 5000
) -> int:
    """Drop text, keyboard, photo, chat id of closed rows due before `due_before`; return how many.

    Keeps the key, kind, person, dates and outcome (the send log).  At most
    `limit` rows per call, oldest first, so one pass never holds the database long.
    """
    cursor = await db.execute(
        "UPDATE outbox SET text = '', reply_markup = NULL, photo = NULL, chat_id = 0,"
        " pruned_at = ? WHERE id IN (SELECT id FROM outbox WHERE pruned_at IS NULL"
        f" AND due_at < ? AND {_CLOSED} ORDER BY due_at LIMIT ?)",
        (now, due_before, limit),
    )
    return cursor.rowcount


async def mark_sent(db: aiosqlite.Connection, row_id: int, *, message_id: int, now: int) -> None:
    """Record a delivered message (this is the send log entry); commits on its own."""
    await db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, attempts = attempts + 1"
        " WHERE id = ?",
        (now, message_id, row_id),
    )


async def mark_attempt_failed(
    db: aiosqlite.Connection, row_id: int, *, error: str, retry_at: int
) -> None:
    """Record a failed attempt that will be retried at `retry_at`.

    A claimed ('sending') row goes back to what it was: pending, or uncertain
    (its one re-send, now at `retry_at`) if it had an unknown outcome before.
    """
    await db.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
        " status = CASE WHEN status <> 'sending' THEN status"
        " WHEN uncertain_at IS NULL THEN 'pending' ELSE 'uncertain' END"
        " WHERE id = ?",
        (error, retry_at, row_id),
    )


async def mark_uncertain(
    db: aiosqlite.Connection,
    row_id: int,
    *,
    error: str,
    now: int,
    resend_at: int | None,
) -> None:
    """Record a send whose outcome is unknown; `resend_at` is its one re-send (None: never).

    A row that had an unknown outcome before (`uncertain_at` set: a time-out
    or a crash) has used its re-send: it stays uncertain with no re-send
    whatever `resend_at` says, so no message goes out more than twice.
    """
    await db.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?,"
        # The CAST types the placeholder for PostgreSQL (a bare one in CASE reads as text).
        " next_attempt_at ="
        " CASE WHEN uncertain_at IS NOT NULL THEN NULL ELSE CAST(? AS INTEGER) END,"
        " uncertain_at = COALESCE(uncertain_at, ?), status = 'uncertain' WHERE id = ?",
        (error, resend_at, now, row_id),
    )


async def close_resend(db: aiosqlite.Connection, row_id: int, *, error: str | None = None) -> None:
    """Withdraw an uncertain row's re-send (too late now): it stays uncertain for good."""
    await db.execute(
        "UPDATE outbox SET next_attempt_at = NULL, last_error = COALESCE(?, last_error)"
        " WHERE id = ? AND status = 'uncertain'",
        (error, row_id),
    )


async def mark_final(
    db: aiosqlite.Connection, row_id: int, *, status: str, error: str | None = None
) -> None:
    """Close a row without sending it: failed, expired, cancelled or unreachable."""
    await db.execute(
        "UPDATE outbox SET status = ?, last_error = COALESCE(?, last_error) WHERE id = ?",
        (status, error, row_id),
    )


async def cancel_pending(db: aiosqlite.Connection, *, key_prefix: str) -> int:
    """Cancel the pending rows whose key starts with `key_prefix`; return how many."""
    cursor = await db.execute(
        "UPDATE outbox SET status = 'cancelled' WHERE status = 'pending'"
        " AND dedupe_key >= ? AND dedupe_key < ?",
        (key_prefix, key_prefix + "\uffff"),
    )
    cancelled = cursor.rowcount
    # An uncertain row may already have reached the member: it keeps its status
    # (so it is never counted as unsent) and only loses its re-send.
    await db.execute(
        "UPDATE outbox SET next_attempt_at = NULL WHERE status = 'uncertain'"
        " AND dedupe_key >= ? AND dedupe_key < ?",
        (key_prefix, key_prefix + "\uffff"),
    )
    return cancelled


async def count_by_status(db: aiosqlite.Connection, kind: str | None = None) -> dict[str, int]:
    """Return how many rows are in each status (optionally of one kind)."""
    sql = "SELECT status, COUNT(*) FROM outbox"
    params: tuple[Any, ...] = ()
    if kind is not None:
        sql += " WHERE kind = ?"
        params = (kind,)
    async with db.execute(sql + " GROUP BY status", params) as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


_KEY_CHUNK = 500  # stays under SQLite's limit on bound parameters


async def known_keys(db: aiosqlite.Connection, keys: Iterable[str]) -> set[str]:
    """Return which of these dedupe keys the outbox already holds (planned before)."""
    # Planners check first so they render only messages that are new; the
    # outbox's unique key stays the guarantee against sending twice.
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), _KEY_CHUNK):
        chunk = wanted[start : start + _KEY_CHUNK]
        marks = ",".join("?" * len(chunk))
        async with db.execute(
            f"SELECT dedupe_key FROM outbox WHERE dedupe_key IN ({marks})", chunk
        ) as cur:
            found.update(row[0] for row in await cur.fetchall())
    return found


async def cancel_for_person(
    db: aiosqlite.Connection, person_id: int, *, keep_kinds: tuple[str, ...] = ()
) -> int:
    """Cancel the person's pending messages, except kinds starting with one of `keep_kinds`."""
    keep = "".join(" AND kind NOT LIKE ?" for _ in keep_kinds)
    cursor = await db.execute(
        f"UPDATE outbox SET status = 'cancelled' WHERE person_id = ? AND status = 'pending'{keep}",
        (person_id, *(f"{prefix}%" for prefix in keep_kinds)),
    )
    cancelled = cursor.rowcount
    await db.execute(
        f"UPDATE outbox SET next_attempt_at = NULL WHERE person_id = ? AND status = 'uncertain'"
        f"{keep}",
        (person_id, *(f"{prefix}%" for prefix in keep_kinds)),
    )
    return cancelled
