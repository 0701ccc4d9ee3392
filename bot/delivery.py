"""The delivery engine: the only path for scheduled and bulk sends.

    report = await deliver_due(app.bot, services)          # what each scheduler tick runs
    report = await deliver_due(bot, services, should_stop=lambda: not app.running)

Reads the pending outbox rows due by the clock's now, time-sensitive kinds
first and then oldest first, in batches, and sends them with up to k in flight:

* Exactly once per dedupe key, across restarts, but for a crash.  Up to k
  sends are in flight (k ≈ rate × measured round trip + 1, at most
  `max_in_flight`), never two to one chat.  Each row is marked 'sending' in
  its own commit before its request, and 'sent' (with its message_id) right
  after Telegram accepts it.  A kill leaves at most k rows 'sending', each to a
  different chat; they are sent once more (`recover_interrupted`: the crash may
  have come before the request left), unless they had an unknown outcome
  before, so a crash repeats at most k messages, each to a different person,
  and no message ever goes out more than twice.
* Several workers (processes, issue 15) share the outbox: each claim names its
  worker's lease holder (`claimed_by`), and a row is claimed by one worker
  only (a conditional update; FOR UPDATE SKIP LOCKED on PostgreSQL).  Every
  worker recovers, at start and at each lease renewal (bot.scheduling), only
  the 'sending' rows of workers whose lease has run out or whose process is
  known gone, never a live worker's.  So each killed worker costs at most its
  own k repeats, each to a different person, and still at most one extra copy
  of any message.  (A worker that stalls longer than its lease, alive, may
  see its k in flight recovered by another: the same bound, once.)  The marks go through
  a connection of their own, so they are never swallowed by (or rolled back
  with) a handler's open transaction on the shared connection.
* Time-sensitive kinds (bot.domain.outgoing.URGENT_KINDS) are read first; a
  row planned with a `quiet_zone` that would land in quiet hours (or outside
  an elderly member's daytime window) is moved to the morning instead.
* Paced by bot.pacing on send start, just under `global_per_second` overall
  (`paid_per_second` with `paid_broadcast`), starts spread evenly with
  headroom for the measured round-trip jitter (the server counts arrivals,
  which the network bunches), and `per_chat_per_second` per chat.  k counts
  the whole time a send holds its place (claim, request, 'sent' mark) with a
  quarter's headroom, so the pace, not k, is what limits a fan-out.  A row
  whose chat is still cooling down is held aside (in order, per chat) while
  other chats' rows go first; nobody gets two messages within a second.
* Too late is not sent: rows due before now - `grace_hours`, or past their
  `expires_at`, become 'expired' (reported, one log line).
* At most one extra copy of a message, whatever the network does.  A send
  whose outcome is unknown is never repeated blindly: that is any network
  error once the request may have reached the Bot API -- no answer within
  `send_timeout_seconds` (TimedOut), the connection dropped before the answer,
  a gateway's 5xx.  The row becomes 'uncertain' at once (no in-process retry,
  the run moves on to the next chat, so one slow chat costs the others one
  timeout, not tens of seconds) and is sent at most once more, after
  `uncertain_retry_minutes`, and only for RESEND_UNCERTAIN_KINDS: a
  secretary's digest and silence warnings, one-off messages where a missed one
  is worse than a repeat.  Members' reminders and asks (study, pledges,
  whereabouts) are not re-sent: their follow-ups or the next occurrence come
  anyway, and a doubled ping confuses the elderly members most.  A re-send
  whose outcome is unknown again closes the row for good.  Three unknown
  outcomes in a row with no success between stop the run (the Bot API is not
  answering): what is left stays pending, never sent, for a later tick.
* Errors where the request certainly never left (connection refused or timed
  out while connecting, DNS, no free connection in the pool) are safe to
  repeat: they are retried in-process after 0.2 s, 0.4 s, 0.8 s, ... up to
  `max_attempts` tries; if they keep failing the network is taken to be down:
  the row keeps its status with `next_attempt_at` backed off (1, 2, 4 ... 60
  minutes by its attempt count) and the run stops; later ticks retry it until
  the grace window expires it (an uncertain row's re-send is then withdrawn).
* 429 waits `retry_after` (for every chat: flood control is per bot) and sends
  the same message again: Telegram answered that it did not send it.  The
  pace then resumes at once, evenly, about 3 % slower (once per pause, however
  many of the k were refused), the slowdown wearing off as sends succeed.  403 and
  "chat not found" mark the person unreachable and close the row as
  'unreachable', never retried.  'failed' means only that Telegram rejected
  this very message for good (another 400 such as malformed HTML or an
  overlong text, or a stored keyboard that cannot be read): retrying could not
  help, so it is logged with the error text and not retried.
* The run stops between messages once `should_stop()` says so (the bot is
  shutting down); what is left stays pending for the next start.

The run may take minutes in a 10,000-member fan-out: it runs in the delivery
worker (bot.scheduling), never in an update handler or the planners' tick, and
only sleeps asynchronously.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite
import httpx
from telegram import Bot, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.domain.outgoing import LEADER_KINDS
from bot.domain.schedule import Windows, first_allowed
from bot.pacing import Pacer, pacer_for
from bot.services import Services
from storage.db import open_database
from storage.repositories import outbox, people
from storage.repositories.outbox import OutboxRow

__all__ = ["DeliveryReport", "deliver_due", "recover_interrupted"]

log = logging.getLogger(__name__)

_Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def _markup(data: dict[str, Any], bot: Bot) -> _Markup:
    """Read a stored keyboard by its shape (a direct message may carry a reply keyboard)."""
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, bot)
    if "remove_keyboard" in data:
        return ReplyKeyboardRemove.de_json(data, bot)
    return InlineKeyboardMarkup.de_json(data, bot)


BATCH_SIZE = 500
MAX_HELD = 5000  # rows held aside for cooling chats before reading stops
FIRST_BACKOFF = 0.2  # seconds before the first in-process network retry; doubles each time
MAX_FLOOD_RETRIES = 20  # 429s in a row for one message before the run gives up
RETRY_LATER_BASE = 60  # seconds: a row the network failed waits 1, 2, 4 ... minutes
RETRY_LATER_MAX = 3600
_STOP_POLL = 0.5  # longest sleep between should_stop checks
_MAX_ERRORS = 50  # error texts kept in a report
IN_FLIGHT_HEADROOM = 1.25  # k covers round trips a quarter slower than the average
UNKNOWN_BEFORE_STOP = 3  # unknown outcomes in a row (no success between) that stop a run
# Kinds (by prefix) sent once more after an unknown outcome: the secretaries'
# one-off messages.  Everything else is sent at most once (see the docstring).
RESEND_UNCERTAIN_KINDS: tuple[str, ...] = LEADER_KINDS
# httpx errors raised before a single byte of the request was written: the
# Bot API cannot have seen it, so sending again cannot make a copy.
_NEVER_LEFT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


@dataclass(slots=True)
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    expired: int = 0
    unreachable: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0  # left pending after network errors, retried by a later tick
    uncertain: int = 0  # sent with no answer: maybe delivered, never repeated blindly
    quiet_deferred: int = 0  # would have landed in quiet hours: moved to the morning
    flood_waits: int = 0  # 429s answered (each waited out and sent again)
    peak_in_flight: int = 0  # most sends in flight at once in this run
    stopped: str | None = None  # why the run ended before the outbox was drained
    expired_by_kind: dict[str, int] = field(default_factory=dict)
    unreachable_people: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def deliver_due(
    bot: Bot,
    services: Services,
    *,
    should_stop: Callable[[], bool] | None = None,
    batch_size: int = BATCH_SIZE,
    woken: asyncio.Event | None = None,
    holder: str | None = None,
) -> DeliveryReport:
    """Send every due outbox row once, paced, and report what became of them.

    `holder` is this worker's lease holder (bot.leasing): its claims carry it,
    so another worker's recovery never takes them while the lease lives.

    `woken` set during the run (a planner enqueued) makes it read the outbox
    again from the top, so newly planned time-sensitive rows go next.
    """
    report = DeliveryReport()
    settings = services.settings.delivery
    db = await _open_marks_connection(services.db)
    try:
        now = services.now_ts()
        expired = await outbox.expire_stale(
            db, now=now, due_before=now - settings.grace_hours * 3600, bot=services.bot_name
        )
        _count_expired(report, expired)
        run = _Run(
            bot=bot,
            services=services,
            db=db,
            pacer=pacer_for(bot.token, settings, server=bot.base_url),
            report=report,
            should_stop=should_stop or _never,
            batch_size=batch_size,
            woken=woken,
            holder=holder,
        )
        await run.deliver()
    finally:
        if db is not services.db:
            await db.close()
    if report.expired:
        log.info(
            "outbox: %d message(s) expired unsent (due over %d h ago or past their expiry): %s",
            report.expired,
            settings.grace_hours,
            ", ".join(f"{kind} {n}" for kind, n in sorted(report.expired_by_kind.items())),
        )
    if (
        report.sent
        or report.unreachable
        or report.failed
        or report.deferred
        or report.uncertain
        or report.stopped
    ):
        log.info(
            "outbox: sent %d, unreachable %d, failed %d, retried %d, deferred %d, uncertain %d%s",
            report.sent,
            report.unreachable,
            report.failed,
            report.retried,
            report.deferred,
            report.uncertain,
            f" (stopped: {report.stopped})" if report.stopped else "",
        )
    return report


async def recover_interrupted(
    services: Services,
    *,
    lease_now: float,
    dead: Sequence[str] = (),
    db: aiosqlite.Connection | None = None,
) -> list[OutboxRow]:
    """Turn sends a dead worker cut off ('sending' rows) into unknown outcomes; return them.

    Only rows whose worker holds no live delivery lease at `lease_now` (or is
    one of the `dead` holders) are taken, never a live worker's.  At most k rows
    per dead worker, each to a different chat.  Each is sent once more, at once,
    unless it already had an unknown outcome (then it is closed, never a third copy).
    """
    rows = await outbox.recover_sending(
        db or services.db, now=services.now_ts(), lease_now=lease_now, dead=dead
    )
    if rows:
        log.warning(
            "outbox: %d send(s) were in flight when their worker stopped; each is sent at most"
            " once more (chats %s)",
            len(rows),
            ", ".join(str(row.chat_id) for row in rows),
        )
    return rows


class _Stop(Exception):
    """End the run between messages; every row not yet handled stays pending."""


def _never() -> bool:
    return False


def _count_expired(report: DeliveryReport, by_kind: dict[str, int]) -> None:
    for kind, count in by_kind.items():
        report.expired += count
        report.expired_by_kind[kind] = report.expired_by_kind.get(kind, 0) + count


async def _open_marks_connection(shared: aiosqlite.Connection) -> aiosqlite.Connection:
    """Open a second connection to the same database file (the shared one if in memory).

    Handlers hold BEGIN IMMEDIATE transactions across awaits on the shared
    connection; a 'sent' mark issued there meanwhile would commit only with
    their transaction, or vanish with its rollback.
    """
    if getattr(shared, "engine", "sqlite") == "postgresql":
        return await open_database(shared.location)  # type: ignore[attr-defined]
    async with shared.execute("SELECT file FROM pragma_database_list WHERE name = 'main'") as cur:
        row = await cur.fetchone()
    path = row[0] if row is not None else ""
    if not path:
        return shared
    return await open_database(path)


def never_left(exc: NetworkError) -> bool:
    """Tell whether a failed request certainly never reached the Bot API (safe to repeat).

    PTB raises TimedOut or NetworkError from the httpx error; only errors of
    the connection phase prove nothing was written.  A read timeout, a dropped
    connection or an HTTP 5xx (PTB raises NetworkError without an httpx cause)
    may follow a message the Bot API accepted.
    """
    return isinstance(exc.__cause__, _NEVER_LEFT)


def resends_uncertain(kind: str) -> bool:
    """Tell whether a message of `kind` is sent once more after an unknown outcome."""
    return kind.startswith(RESEND_UNCERTAIN_KINDS)


def _retry_seconds(exc: RetryAfter) -> float:
    """Return how long a 429 asks to wait, in seconds.

    PTB 22 stores a timedelta; the public `retry_after` is an int or, once
    PTB_TIMEDELTA is set (or in PTB 23), a timedelta, and warns on access.
    """
    value: int | float | timedelta | None = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class _Released(Exception):
    """A claimed row's request never left (the run is stopping): give it back."""


class _Run:
    """One pass over the due outbox, with up to k sends in flight."""

    def __init__(
        self,
        *,
        bot: Bot,
        services: Services,
        db: aiosqlite.Connection,
        pacer: Pacer,
        report: DeliveryReport,
        should_stop: Callable[[], bool],
        batch_size: int,
        woken: asyncio.Event | None = None,
        holder: str | None = None,
    ) -> None:
        self.bot = bot
        self.services = services
        self.db = db
        self.pacer = pacer
        self.report = report
        self.should_stop = should_stop
        self.batch_size = batch_size
        self.woken = woken
        self.holder = holder
        self.settings = services.settings.delivery
        self.windows = Windows.from_settings(services.settings.study)
        self.unreachable_chats: set[int] = set()
        # Rows of chats still cooling down or with a send in flight, per chat in
        # order, and when each cooling chat may be served next.
        self.held: dict[int, deque[OutboxRow]] = {}
        self.held_count = 0
        self.cooling: list[tuple[float, int, int]] = []  # (ready_at, seq, chat_id)
        self.seq = 0
        self.unknown_in_a_row = 0
        self.in_flight: set[int] = set()  # chats with a send in flight: never two at once
        self.tasks: set[asyncio.Task[None]] = set()
        self.stop_reason: str | None = None
        # How long a sent row held its place among the k (claim to 'sent'), averaged.
        self.cycle: float | None = None

    def in_flight_limit(self) -> int:
        """Return k: about rate × measured round trip + 1, at most [delivery].max_in_flight.

        The round trip counts with IN_FLIGHT_HEADROOM: k sends of exactly
        rate × RTT would reach the rate only if no answer ever came late, and
        the pacer, not k, is what keeps the bot under the limit.
        """
        cap = self.settings.max_in_flight
        rtt = self.pacer.round_trip
        if rtt is None:
            return min(cap, 2)  # nothing measured yet: the first answers size k
        # A place among the k is held from the claim to the 'sent' mark, not
        # only for the network's round trip: the two commits count too.
        held = max(rtt, self.cycle or 0.0)
        wanted = self.pacer.rate * held * IN_FLIGHT_HEADROOM
        return max(1, min(cap, math.ceil(wanted) + 1))

    # ------------------------------------------------------------------ the loop
    async def deliver(self) -> None:
        queue: deque[OutboxRow] = deque()
        cursor: tuple[int, int, int] | None = None
        exhausted = False
        try:
            while True:
                if self.stop_reason is None and self.should_stop():
                    self.stop_reason = "bot stopping"
                if self.stop_reason is not None:
                    return
                if self.woken is not None and self.woken.is_set():
                    # New rows were planned (a digest during a fan-out): read
                    # again from the top, so time-sensitive kinds go next.
                    self.woken.clear()
                    queue.clear()
                    self._forget_held()
                    cursor, exhausted = None, False
                if not queue and not exhausted and self.held_count < MAX_HELD:
                    # Only this bot's rows: each member hears from their own bot.
                    batch = await outbox.due_rows(
                        self.db, self.services.now_ts(), self.batch_size, after=cursor,
                        bot=self.services.bot_name,
                    )
                    exhausted = len(batch) < self.batch_size
                    if batch:
                        last = batch[-1]
                        cursor = (last.priority, last.due_at, last.id)
                        queue.extend(batch)
                if len(self.tasks) < self.in_flight_limit():
                    row = self._next_ready(queue)
                    if row is not None:
                        self._start(row)
                        continue
                    if not queue and not exhausted and self.held_count < MAX_HELD:
                        continue  # every queued row is held: read on for other chats
                elif queue or self.cooling:
                    pass  # k in flight: wait for one to end
                if not self.tasks and not self.cooling and not queue and (
                    exhausted or self.held_count >= MAX_HELD
                ):
                    return
                await self._wait()
        finally:
            # Sends in flight finish and record their outcome; none is abandoned.
            while self.tasks:
                await asyncio.wait(set(self.tasks))
            if self.stop_reason is not None:
                self.report.stopped = self.stop_reason

    def _start(self, row: OutboxRow) -> None:
        self.in_flight.add(row.chat_id)
        task = asyncio.get_running_loop().create_task(self._run_one(row))
        self.tasks.add(task)
        self.report.peak_in_flight = max(self.report.peak_in_flight, len(self.tasks))

    async def _run_one(self, row: OutboxRow) -> None:
        try:
            await self._handle(row)
        except (_Stop, _Released) as stop:
            if isinstance(stop, _Stop) and self.stop_reason is None:
                self.stop_reason = str(stop)
            await outbox.release_claim(self.db, row.id)
        except Exception:
            log.exception("outbox: handling row %d failed", row.id)
            if self.stop_reason is None:
                self.stop_reason = "unexpected error"
            await outbox.release_claim(self.db, row.id)
        finally:
            self.in_flight.discard(row.chat_id)
            if row.chat_id in self.held:
                self._cool(row.chat_id)
            task = asyncio.current_task()
            self.tasks.discard(task)  # type: ignore[arg-type]

    async def _wait(self) -> None:
        """Wait for a send to end, a cooling chat to be ready, or half a second."""
        timeout = _STOP_POLL
        if self.cooling:
            timeout = min(timeout, max(0.0, self.cooling[0][0] - self.pacer.now()))
        if self.tasks:
            await asyncio.wait(
                set(self.tasks), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        else:
            await asyncio.sleep(timeout)

    def _forget_held(self) -> None:
        self.held.clear()
        self.held_count = 0
        self.cooling.clear()

    def _next_ready(self, queue: deque[OutboxRow]) -> OutboxRow | None:
        """Return the next row whose chat may be served now, holding back the others."""
        now = self.pacer.now()
        # A held chat whose cool-down is over goes first: its rows are older.
        while self.cooling and self.cooling[0][0] <= now:
            _, _, chat_id = heapq.heappop(self.cooling)
            rows = self.held.get(chat_id)
            if rows is None or chat_id in self.in_flight:
                continue  # stale: read again since, or re-cooled when its send ends
            if self.pacer.chat_ready_at(chat_id) > now:
                self._cool(chat_id)
                continue
            row = rows.popleft()
            self.held_count -= 1
            if not rows:
                del self.held[chat_id]
            return row
        while queue:
            row = queue.popleft()
            held = self.held.get(row.chat_id)
            if held is not None:
                held.append(row)
                self.held_count += 1
            elif row.chat_id in self.in_flight:
                # Cooled (and served) once its send in flight ends.
                self.held[row.chat_id] = deque([row])
                self.held_count += 1
            elif self.pacer.chat_ready_at(row.chat_id) > now:
                self.held[row.chat_id] = deque([row])
                self.held_count += 1
                self._cool(row.chat_id)
            else:
                return row
        return None

    def _cool(self, chat_id: int) -> None:
        self.seq += 1
        heapq.heappush(self.cooling, (self.pacer.chat_ready_at(chat_id), self.seq, chat_id))

    async def _sleep_until(self, deadline: float) -> None:
        """Sleep until the pacer's monotonic `deadline`; stop early if the run is stopping."""
        while True:
            remaining = deadline - self.pacer.now()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, _STOP_POLL))
            if self.stop_reason is not None or self.should_stop():
                raise _Released

    # ------------------------------------------------------------------ one row
    async def _handle(self, row: OutboxRow) -> None:
        # Read up to a batch earlier: a withdraw or an answer may have
        # cancelled it since, during a fan-out that takes minutes.
        current = await outbox.get_row(self.db, row.dedupe_key)
        if current is None or not (
            current.status == "pending"
            or (current.status == "uncertain" and current.next_attempt_at is not None)
        ):
            return
        row = current
        now = self.services.now_ts()
        if row.due_at < now - self.settings.grace_hours * 3600 or (
            row.expires_at is not None and row.expires_at < now
        ):
            if row.status == "uncertain":  # it may have arrived: never 'expired' (unsent)
                await outbox.close_resend(self.db, row.id)
                return
            await outbox.mark_final(self.db, row.id, status="expired")
            _count_expired(self.report, {row.kind: 1})
            return
        later = self._after_quiet_hours(row)
        if later is not None:
            await outbox.push_to(self.db, row.id, due_at=later)
            self.report.quiet_deferred += 1
            return
        if row.chat_id in self.unreachable_chats:
            await self._close_unreachable(row, "unreachable earlier in this run", now)
            return
        try:
            markup = (
                None
                if row.reply_markup is None
                else _markup(row.reply_markup, self.bot)
            )
        except Exception as exc:  # a stored keyboard PTB cannot read: never sendable
            await self._fail(row, f"unreadable reply_markup: {exc!r}")
            return
        # Claimed in its own commit before the request leaves: a crash from
        # here on leaves it 'sending', and the next start sends it at most once more.
        claiming = self.pacer.now()
        if not await outbox.mark_sending(self.db, row.id, holder=self.holder):
            return
        claim = self.pacer.now() - claiming
        sending = await self._send_with_retries(row, markup)
        if sending is not None:
            # The time this row held a place among the k, less its wait for the
            # pace (which k must not grow to cover): the claim, the request, the mark.
            held = claim + sending
            self.cycle = held if self.cycle is None else 0.8 * self.cycle + 0.2 * held

    def _after_quiet_hours(self, row: OutboxRow) -> int | None:
        """Return when a row that would land in quiet hours (or outside an elderly
        member's daytime window) may go instead, or None to send it now."""
        if row.quiet_zone is None:
            return None
        try:
            zone = ZoneInfo(row.quiet_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return None  # an unknown zone never holds a message back forever
        now = self.services.clock.now()
        allowed = first_allowed(now, zone, self.windows, elderly=row.elderly)
        if allowed <= now:
            return None
        return int(allowed.timestamp())

    async def _take_send_slot(self) -> None:
        """Wait for room in the overall window, then count this send as started."""
        while True:
            ready = self.pacer.global_ready_at()
            if ready <= self.pacer.now():
                self.pacer.begin()  # no await since the check: k tasks cannot race it
                return
            await self._sleep_until(ready)

    async def _send_with_retries(
        self, row: OutboxRow, markup: _Markup | None
    ) -> float | None:
        """Send until an outcome; return the seconds from the last request to its 'sent'
        mark when it was sent (None otherwise)."""
        network_tries = 0
        floods = 0
        while True:
            await self._take_send_slot()
            started = self.pacer.now()
            try:
                message = await self._send(row, markup)
            except RetryAfter as exc:
                self.pacer.finish(row.chat_id)
                seconds = _retry_seconds(exc)
                self.pacer.pause(seconds)
                self.pacer.flooded()
                self.report.retried += 1
                self.report.flood_waits += 1
                floods += 1
                log.warning("outbox: flood control, waiting %.1f s before sending on", seconds)
                if floods >= MAX_FLOOD_RETRIES:
                    await self._retry_later(row, self._scrub(str(exc)), extra=seconds)
                    raise _Stop("flood control persists") from None
            except Forbidden as exc:
                self.pacer.finish(row.chat_id)
                await self._close_unreachable(row, self._scrub(exc.message))
                return
            except BadRequest as exc:
                self.pacer.finish(row.chat_id)
                if "chat not found" in exc.message.lower():
                    await self._close_unreachable(row, self._scrub(exc.message))
                else:
                    await self._fail(row, self._scrub(exc.message))
                return
            except (InvalidToken, EndPointNotFound) as exc:
                # The bot's configuration, not this message: keep everything pending.
                self._note(self._scrub(str(exc)))
                await outbox.release_claim(self.db, row.id)
                raise _Stop(f"Bot API refused the bot: {type(exc).__name__}") from None
            except NetworkError as exc:  # includes TimedOut (BadRequest is caught above)
                error = self._scrub(_describe(exc))
                if not never_left(exc):
                    self.pacer.finish(row.chat_id)  # it may have arrived: keep the chat's pace
                    await self._uncertain(row, error)
                    return
                network_tries += 1
                if network_tries >= self.settings.max_attempts:
                    log.warning(
                        "outbox: %d tries failed (%s); leaving the rest for a later tick",
                        network_tries,
                        error,
                    )
                    await self._retry_later(row, error)
                    raise _Stop("network errors") from None
                self.report.retried += 1
                await self._sleep_for(FIRST_BACKOFF * 2 ** (network_tries - 1))
            except TelegramError as exc:  # ChatMigrated and anything new: not retryable
                self.pacer.finish(row.chat_id)
                await self._fail(row, self._scrub(f"{type(exc).__name__}: {exc}"))
                return
            except Exception as exc:
                # Not an API answer (e.g. the HTTP client is shut down): try again later.
                log.exception("outbox: sending row %d failed unexpectedly", row.id)
                await self._retry_later(row, self._scrub(repr(exc)))
                raise _Stop(f"unexpected {type(exc).__name__}") from None
            else:
                self.pacer.finish(row.chat_id)
                self._measure(self.pacer.now() - started)
                self.unknown_in_a_row = 0
                await self._mark_sent(row, message.message_id)
                return self.pacer.now() - started
            if self.stop_reason is not None or self.should_stop():
                raise _Released

    def _measure(self, seconds: float) -> None:
        """Fold one answered send's round trip into the bot's estimates (k, jitter headroom)."""
        self.pacer.observe(seconds)

    async def _send(self, row: OutboxRow, markup: _Markup | None) -> Message:
        if row.photo is not None:
            return await self.bot.send_photo(
                chat_id=row.chat_id,
                photo=row.photo,
                caption=row.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                read_timeout=self.settings.send_timeout_seconds,
                allow_paid_broadcast=self._paid,
            )
        return await self.bot.send_message(
            chat_id=row.chat_id,
            text=row.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            read_timeout=self.settings.send_timeout_seconds,
            allow_paid_broadcast=self._paid,
        )

    @property
    def _paid(self) -> bool | None:
        # None leaves the parameter out of the request (free sends, the default).
        return True if self.settings.paid_broadcast else None

    async def _sleep_for(self, seconds: float) -> None:
        await self._sleep_until(self.pacer.now() + seconds)

    # ------------------------------------------------------------------ outcomes
    async def _mark_sent(self, row: OutboxRow, message_id: int) -> None:
        """Log the send; insist, because a lost mark means a repeated message."""
        for attempt in range(5):
            try:
                await outbox.mark_sent(
                    self.db, row.id, message_id=message_id, now=self.services.now_ts()
                )
                break
            except sqlite3.OperationalError:  # database locked past busy_timeout
                if attempt == 4:
                    log.exception("outbox: could not record row %d as sent", row.id)
                    raise _Stop("database locked") from None  # stays 'sending': one repeat
                await asyncio.sleep(0.5)
        self.report.sent += 1

    async def _uncertain(self, row: OutboxRow, error: str) -> None:
        """Record an unknown outcome: never again, or once more after a long wait."""
        now = self.services.now_ts()
        # One unknown outcome before (a time-out, or a crash while sending) used the re-send.
        resend = row.uncertain_at is None and resends_uncertain(row.kind)
        resend_at = now + self.settings.uncertain_retry_minutes * 60 if resend else None
        await outbox.mark_uncertain(self.db, row.id, error=error, now=now, resend_at=resend_at)
        self.report.uncertain += 1
        self._note(error)
        log.warning(
            "outbox: no answer for %s to chat %d (%s): maybe delivered; %s",
            row.kind,
            row.chat_id,
            error,
            f"sent once more in {self.settings.uncertain_retry_minutes} min"
            if resend
            else "not sent again",
        )
        self.unknown_in_a_row += 1
        if self.unknown_in_a_row >= UNKNOWN_BEFORE_STOP:
            raise _Stop("Bot API not answering")

    async def _close_unreachable(self, row: OutboxRow, reason: str, now: int | None = None) -> None:
        now = self.services.now_ts() if now is None else now
        if row.person_id is not None and row.chat_id not in self.unreachable_chats:
            await people.mark_unreachable(self.db, row.person_id, reason, now)
            self.report.unreachable_people.append(row.person_id)
        self.unreachable_chats.add(row.chat_id)
        await outbox.mark_final(self.db, row.id, status="unreachable", error=reason)
        self.report.unreachable += 1

    async def _fail(self, row: OutboxRow, error: str) -> None:
        log.warning("outbox: %s for chat %d not sendable: %s", row.kind, row.chat_id, error)
        await outbox.mark_final(self.db, row.id, status="failed", error=error)
        self.report.failed += 1
        self._note(error)

    async def _retry_later(self, row: OutboxRow, error: str, *, extra: float = 0) -> None:
        delay = min(RETRY_LATER_MAX, RETRY_LATER_BASE * 2 ** min(row.attempts, 6))
        retry_at = self.services.now_ts() + int(max(delay, extra))
        await outbox.mark_attempt_failed(self.db, row.id, error=error, retry_at=retry_at)
        self.report.deferred += 1
        self._note(error)

    def _note(self, error: str) -> None:
        if len(self.report.errors) < _MAX_ERRORS:
            self.report.errors.append(error)

    def _scrub(self, text: str) -> str:
        """Keep the bot token out of stored and logged error texts."""
        token = self.bot.token
        return text.replace(token, "<token>") if token else text


def _describe(exc: NetworkError) -> str:
    """Return the error text with the httpx cause named (PTB's TimedOut says only "Timed out")."""
    cause = exc.__cause__
    text = f"{type(exc).__name__}: {exc}"
    if cause is not None and type(cause).__name__ not in text:
        text += f" ({type(cause).__name__})"
    return text
