"""The scheduler: planners turn the database into due messages; a delivery worker sends them.

    add_planner(app, "study", plan_study_reminders)   # in a feature's register()
    report = await tick(app)                          # plan now, then deliver (tests, demo)

Schedules live in the database, not in memory: every `[delivery].tick_seconds`
the JobQueue job asks each planner what is due at the clock's now and puts it
in the outbox (once per dedupe key), then wakes the delivery worker.  The
worker is one asyncio task, started by the first job run and stopped with the
Application: it drains the outbox continuously (bot.delivery), outside the
planners' lock, so planners keep running on time during a fan-out that takes
minutes, and a wake makes a running fan-out read again from the top so what
was just planned as time-sensitive (a digest) goes next.  After a restart the
worker's first pass finds everything that fell due while the bot was down,
and first turns sends a crash cut off into at most one repeat each.

Scale out (issue 15): `branchbot run --role` splits the work between
processes on one PostgreSQL database ('updates' runs no job here, 'planner'
only plans, 'delivery' only runs the worker, 'all' both).  Planning happens
in one process at a time, the holder of the 'planner' lease (renewed each
tick and every PLANNER_RENEW seconds, taken over by a standby once it runs
out).  Each delivery worker holds 'delivery:<holder>' (bot.leasing), renewed
every DELIVERY_RENEW seconds by `delivery_housekeeping`, which also paces the
worker at 1/n of its bot's rate (n = the bot's live workers) and recovers the
claims of dead workers, so a survivor finishes a killed worker's fan-out.
Closed outbox rows older than `[delivery].retention_days` are pruned a chunk
per tick.

Tests call `tick(app)` after moving the FakeClock instead of waiting for the
job: it plans, then delivers synchronously (under the same delivery lock as
the worker, so the two never send at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite
from telegram.ext import Application, ContextTypes

from bot.delivery import DeliveryReport, _open_marks_connection, deliver_due, recover_interrupted
from bot.domain.outgoing import OutgoingMessage
from bot.leasing import (
    DELIVERY_RENEW,
    DELIVERY_TTL,
    PLANNER_LEASE,
    PLANNER_RENEW,
    PLANNER_TTL,
    dead_here,
    delivery_lease,
    holder_of,
    lease_now,
)
from bot.pacing import pacer_for
from bot.services import SERVICES_KEY, Services
from storage.repositories import leases, outbox

__all__ = [
    "ROLES",
    "ROLE_KEY",
    "Planner",
    "TickReport",
    "add_planner",
    "drain",
    "plan",
    "prune_outbox",
    "release_leases",
    "role_of",
    "start_scheduler",
    "stop_delivery_worker",
    "tick",
]

log = logging.getLogger(__name__)

Planner = Callable[[Services, datetime], Awaitable[Sequence[OutgoingMessage]]]
_PLANNERS = "branchbot.planners"
_LOCK = "branchbot.tick_lock"
_DELIVERY_LOCK = "branchbot.delivery_lock"
_WAKE = "branchbot.delivery_wake"
_WORKER = "branchbot.delivery_worker"
_WORKER_STOP = "branchbot.delivery_worker_stop"
_KEEPING = "branchbot.delivery_keeping"  # the worker's lease keeper runs: drain skips its own
_HOLDS_PLANNER = "branchbot.holds_planner"  # this Application held the planner lease last time
# Set False by bot.app on every Application of a process but the first: planners
# run once per tick for all bots; the others only deliver their own rows.
_PLANS = "branchbot.plans"
_SIBLINGS = "branchbot.siblings"  # the process's Applications, woken after planning
JOB_NAME = "scheduler:tick"
LEASE_JOB_NAME = "scheduler:planner-lease"
# bot_data key of what this process does (`branchbot run --role`, set by bot.app):
# 'updates' receives updates and runs handlers only, 'planner' only plans,
# 'delivery' only delivers, 'all' (the default) does everything.
ROLE_KEY = "branchbot.role"
ROLES = ("all", "updates", "planner", "delivery")
# A delivery-only process learns of new rows from the database, not from a
# planner's wake in the same process: it looks this often when idle.
SPLIT_IDLE_SECONDS = 5.0
_POLL = 0.5  # seconds between the idle worker's looks at app.running
PRUNE_CHUNK = 5000  # rows pruned per tick at most: one short statement


@dataclass(slots=True)
class TickReport:
    """What one tick planned and delivered."""

    planned: dict[str, int] = field(default_factory=dict)
    delivery: DeliveryReport | None = None
    pruned: int = 0
    standby: bool = False  # another process (or Application) holds the planner lease


def add_planner(app: Application, name: str, planner: Planner) -> None:
    """Register a feature's planner; planners run in registration order."""
    app.bot_data.setdefault(_PLANNERS, {})[name] = planner


def _wake_event(app: Application) -> asyncio.Event:
    return app.bot_data.setdefault(_WAKE, asyncio.Event())


def role_of(app: Application) -> str:
    """Return what this Application's process does: all, updates, planner or delivery."""
    return app.bot_data.get(ROLE_KEY, "all")


def _plans_here(app: Application) -> bool:
    return role_of(app) in ("all", "planner") and app.bot_data.get(_PLANS, True)


def _delivers_here(app: Application) -> bool:
    return role_of(app) in ("all", "delivery")


async def _hold_planner_lease(app: Application, db: aiosqlite.Connection) -> bool:
    """Take or renew the planner lease for this Application; False while another holds it.

    A holder on this machine whose process is gone gives it up at once (its
    lease would otherwise block planning until it expires).  Planning twice
    would cost work but send nothing twice (the outbox keys), so the lease is
    about one process doing the work, not about correctness.
    """
    holder = holder_of(app)
    now = lease_now(app)
    held = await leases.acquire(db, PLANNER_LEASE, holder, ttl=PLANNER_TTL, now=now)
    if not held:
        current = await leases.live(db, now=now, prefix=PLANNER_LEASE)
        gone = dead_here(lease.holder for lease in current if lease.name == PLANNER_LEASE)
        for dead in gone:
            await leases.release(db, PLANNER_LEASE, dead)
        if gone:
            held = await leases.acquire(db, PLANNER_LEASE, holder, ttl=PLANNER_TTL, now=now)
    if held != app.bot_data.get(_HOLDS_PLANNER, False):
        log.info("planner lease %s by %s", "taken" if held else "held elsewhere; standing by",
                 holder)
    app.bot_data[_HOLDS_PLANNER] = held
    return held


async def plan(app: Application) -> TickReport:
    """Run every planner for the clock's now, store what is new, wake delivery; one at a time."""
    lock: asyncio.Lock = app.bot_data.setdefault(_LOCK, asyncio.Lock())
    async with lock:
        services: Services = app.bot_data[SERVICES_KEY]
        now = services.clock.now()
        report = TickReport()
        # One process plans at a time (several may share a PostgreSQL database).
        if not await _hold_planner_lease(app, services.db):
            report.standby = True
            return report
        for name, planner in app.bot_data.get(_PLANNERS, {}).items():
            # Renewed between planners, so a long planning pass keeps its lease.
            if not await _hold_planner_lease(app, services.db):
                break
            try:
                messages = await planner(services, now)
                if messages:
                    report.planned[name] = await outbox.enqueue(
                        services.db, messages, now=int(now.timestamp())
                    )
            except Exception:
                # One broken planner must not stop the others or the delivery.
                log.exception("planner %s failed", name)
        if any(report.planned.values()):
            # Every bot of this process delivers its own rows of what was planned.
            for each in app.bot_data.get(_SIBLINGS) or (app,):
                _wake_event(each).set()
        try:
            report.pruned = await prune_outbox(services)
        except Exception:  # retention can wait for the next tick; planning must not
            log.exception("outbox pruning failed")
        return report


async def prune_outbox(services: Services, *, limit: int = PRUNE_CHUNK) -> int:
    """Reduce closed rows older than `[delivery].retention_days` to key and outcome."""
    now = services.now_ts()
    return await outbox.prune_closed(
        services.db,
        due_before=now - services.settings.delivery.retention_days * 86400,
        now=now,
        limit=limit,
    )


async def drain(app: Application, *, woken: asyncio.Event | None = None) -> DeliveryReport:
    """Deliver what the outbox holds now; the worker and tick() share a lock, never two runs."""
    lock: asyncio.Lock = app.bot_data.setdefault(_DELIVERY_LOCK, asyncio.Lock())
    async with lock:
        services: Services = app.bot_data[SERVICES_KEY]
        if not app.bot_data.get(_KEEPING):
            # No worker keeps the lease (tests' tick()): take it and recover
            # dead workers' claims here, before any send.
            await delivery_housekeeping(app, services.db)
        stop_event: asyncio.Event | None = app.bot_data.get(_WORKER_STOP)

        def should_stop() -> bool:
            # A long fan-out stops between messages once the bot is shutting down.
            return (app_was_running and not app.running) or bool(
                stop_event is not None and stop_event.is_set()
            )

        app_was_running = app.running
        return await deliver_due(
            app.bot, services, should_stop=should_stop, woken=woken, holder=holder_of(app)
        )


async def delivery_housekeeping(app: Application, db: aiosqlite.Connection) -> int:
    """Renew this worker's delivery lease, pace at its share, recover dead workers' claims.

    Runs before the worker's first send and then every DELIVERY_RENEW seconds
    (a worker's whole life, not only at start): a survivor thus finishes the
    rows a killed worker had in flight once its lease has run out (at once if
    it ran on this machine and its process is gone).  Returns how many live
    delivery workers this bot has, this one included.
    """
    services: Services = app.bot_data[SERVICES_KEY]
    bot = getattr(services, "bot_name", "")
    holder = holder_of(app)
    now = lease_now(app)
    await leases.acquire(db, delivery_lease(holder), holder, ttl=DELIVERY_TTL, now=now, bot=bot)
    workers = await leases.live(db, now=now, prefix=delivery_lease(""))
    gone = dead_here(worker.holder for worker in workers)
    for dead in gone:
        await leases.release(db, delivery_lease(dead), dead)
    mine = sum(1 for worker in workers if worker.bot == bot and worker.holder not in gone)
    share = max(1, mine)
    # The bot's limit is per token: n live workers each take 1/n of it.
    settings = services.settings.delivery
    pacer_for(app.bot.token, settings, server=app.bot.base_url).set_share(1 / share)
    recovered = await recover_interrupted(services, lease_now=now, dead=gone, db=db)
    if recovered:
        # They are due again at once (each at most one repeat): send them next.
        for each in app.bot_data.get(_SIBLINGS) or (app,):
            _wake_event(each).set()
    return share


async def release_leases(app: Application, services: Services | None = None) -> None:
    """Give up this Application's leases on a clean stop, so others take over at once."""
    services = services or app.bot_data.get(SERVICES_KEY)
    if services is None:
        return
    holder = holder_of(app)
    try:
        await leases.release(services.db, PLANNER_LEASE, holder)
        await leases.release(services.db, delivery_lease(holder), holder)
    except Exception:  # the leases run out on their own
        log.warning("could not release the leases of %s", holder, exc_info=True)


async def tick(app: Application) -> TickReport:
    """Plan everything due now, then deliver the outbox (what tests and the demo call)."""
    report = await plan(app)
    report.delivery = await drain(app)
    return report


async def _tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    app = context.application
    if _delivers_here(app):
        _ensure_worker(app)
    if _plans_here(app):
        await plan(app)


async def _planner_lease_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keep the planner lease between ticks, and plan at once when it is taken over."""
    app = context.application
    if not _plans_here(app):
        return
    services: Services = app.bot_data[SERVICES_KEY]
    before = app.bot_data.get(_HOLDS_PLANNER, False)
    try:
        held = await _hold_planner_lease(app, services.db)
    except Exception:
        log.exception("planner lease renewal failed")
        return
    if held and not before and app.job_queue and app.job_queue.get_jobs_by_name(JOB_NAME):
        # Took over from a dead holder: plan now, not at the next tick (unless
        # ticks are driven by hand, as in tests, which removed the tick job).
        app.job_queue.run_once(_tick_job, 0, name=f"{JOB_NAME}:takeover")


def _ensure_worker(app: Application) -> None:
    task: asyncio.Task[None] | None = app.bot_data.get(_WORKER)
    if (task is None or task.done()) and app.running:
        app.bot_data[_WORKER_STOP] = asyncio.Event()
        # PTB's create_task: Application.stop() waits for it, and it ends once
        # the application stops running.
        app.bot_data[_WORKER] = app.create_task(_worker(app), name="delivery-worker")


async def _worker(app: Application) -> None:
    """Deliver continuously until the application stops: woken by planners, or each tick."""
    services: Services = app.bot_data[SERVICES_KEY]
    # The lease is kept on a connection of its own: a handler's open
    # transaction on the shared one must not hold back (or roll back) a renewal.
    db = await _open_marks_connection(services.db)
    keeper: asyncio.Task[None] | None = None
    try:
        workers = await delivery_housekeeping(app, db)
        if workers > 1:
            # Joining running workers: they slow to their new share at their
            # next renewal; start sending only after it, or for a moment the
            # bot would exceed its limit.
            await asyncio.sleep(DELIVERY_RENEW * 1.5)
        app.bot_data[_KEEPING] = True
        keeper = asyncio.get_running_loop().create_task(
            _keep_delivery_lease(app, db), name="delivery-lease"
        )
        await _deliver_continuously(app)
    finally:
        app.bot_data[_KEEPING] = False
        if keeper is not None:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        holder = holder_of(app)
        try:
            # A clean stop: nothing of ours is 'sending' any more.
            await leases.release(db, delivery_lease(holder), holder)
        except Exception:
            log.warning("could not release the delivery lease", exc_info=True)
        if db is not services.db:
            await db.close()


async def _keep_delivery_lease(app: Application, db: aiosqlite.Connection) -> None:
    """Renew the worker's lease (and its share, and recovery) every DELIVERY_RENEW seconds."""
    while True:
        await asyncio.sleep(DELIVERY_RENEW)
        try:
            await delivery_housekeeping(app, db)
        except Exception:
            log.exception("delivery lease renewal failed; trying again shortly")


async def _deliver_continuously(app: Application) -> None:
    wake = _wake_event(app)
    stop: asyncio.Event = app.bot_data[_WORKER_STOP]
    services: Services = app.bot_data[SERVICES_KEY]
    idle = services.settings.delivery.tick_seconds
    if role_of(app) != "all" or services.settings.storage.is_postgres:
        # Rows may be planned (or enqueued by handlers) in another process.
        idle = min(idle, SPLIT_IDLE_SECONDS)
    while app.running and not stop.is_set():
        wake.clear()
        try:
            await drain(app, woken=wake)
        except Exception:
            log.exception("delivery run failed; trying again shortly")
        # Idle until a planner wakes us, or a tick's worth of time passes
        # (rows planned earlier may fall due, a back-off may end).
        waited = 0.0
        while app.running and not stop.is_set() and not wake.is_set() and waited < idle:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=min(_POLL, idle))
            waited += _POLL


async def stop_delivery_worker(app: Application) -> None:
    """Stop the delivery worker (tests drive delivery with tick() instead)."""
    task: asyncio.Task[None] | None = app.bot_data.pop(_WORKER, None)
    stop: asyncio.Event | None = app.bot_data.get(_WORKER_STOP)
    if stop is not None:
        stop.set()
    if task is not None:
        await asyncio.gather(task, return_exceptions=True)
    # The event stopped that worker; left set, it would also stop every later
    # tick()-driven run (drain reads it) before its first send.
    if app.bot_data.get(_WORKER_STOP) is stop:
        app.bot_data.pop(_WORKER_STOP, None)


def start_scheduler(app: Application, services: Services) -> None:
    """Plan now and then every `[delivery].tick_seconds`; the first run starts the worker.

    By role: 'updates' runs no job (its handlers enqueue, delivery processes
    send); 'planner' only plans; 'delivery' only starts the worker.
    """
    assert app.job_queue is not None
    for name in (JOB_NAME, LEASE_JOB_NAME):
        for job in app.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    if role_of(app) == "updates":
        return
    if role_of(app) in ("all", "planner"):
        app.job_queue.run_repeating(
            _planner_lease_job,
            interval=min(PLANNER_RENEW, services.settings.delivery.tick_seconds),
            first=PLANNER_RENEW,
            name=LEASE_JOB_NAME,
            job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )
    app.job_queue.run_repeating(
        _tick_job,
        interval=services.settings.delivery.tick_seconds,
        first=0,
        name=JOB_NAME,
        # A slow planning pass must not pile up copies of itself.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    # And once at start: this runs in initialize(), before the scheduler starts,
    # and APScheduler rounds an interval job's start that has passed by then up
    # to the NEXT interval, so without this run what fell due while the bot was
    # down (and the delivery worker itself) would wait a whole tick (30 s).  A
    # date job still runs when its time has passed (misfire_grace_time None);
    # plan() holds a lock, so it never overlaps the repeating job.
    app.job_queue.run_once(
        _tick_job, when=0, name=JOB_NAME, job_kwargs={"misfire_grace_time": None}
    )
