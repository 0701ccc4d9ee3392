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

from telegram.ext import Application, ContextTypes

from bot.delivery import DeliveryReport, deliver_due, recover_interrupted
from bot.domain.outgoing import OutgoingMessage
from bot.services import SERVICES_KEY, Services
from storage.repositories import outbox

__all__ = [
    "Planner",
    "TickReport",
    "add_planner",
    "drain",
    "plan",
    "prune_outbox",
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
_RECOVERED = "branchbot.delivery_recovered"
JOB_NAME = "scheduler:tick"
_POLL = 0.5  # seconds between the idle worker's looks at app.running
PRUNE_CHUNK = 5000  # rows pruned per tick at most: one short statement


@dataclass(slots=True)
class TickReport:
    """What one tick planned and delivered."""

    planned: dict[str, int] = field(default_factory=dict)
    delivery: DeliveryReport | None = None
    pruned: int = 0


def add_planner(app: Application, name: str, planner: Planner) -> None:
    """Register a feature's planner; planners run in registration order."""
    app.bot_data.setdefault(_PLANNERS, {})[name] = planner


def _wake_event(app: Application) -> asyncio.Event:
    return app.bot_data.setdefault(_WAKE, asyncio.Event())


async def plan(app: Application) -> TickReport:
    """Run every planner for the clock's now, store what is new, wake delivery; one at a time."""
    lock: asyncio.Lock = app.bot_data.setdefault(_LOCK, asyncio.Lock())
    async with lock:
        services: Services = app.bot_data[SERVICES_KEY]
        now = services.clock.now()
        report = TickReport()
        for name, planner in app.bot_data.get(_PLANNERS, {}).items():
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
            _wake_event(app).set()
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
        if not app.bot_data.get(_RECOVERED):
            # Once per start, before any send of this process: whatever is
            # 'sending' now was cut off by the previous process.
            app.bot_data[_RECOVERED] = True
            await recover_interrupted(services)
        stop_event: asyncio.Event | None = app.bot_data.get(_WORKER_STOP)

        def should_stop() -> bool:
            # A long fan-out stops between messages once the bot is shutting down.
            return (app_was_running and not app.running) or bool(
                stop_event is not None and stop_event.is_set()
            )

        app_was_running = app.running
        return await deliver_due(app.bot, services, should_stop=should_stop, woken=woken)


async def tick(app: Application) -> TickReport:
    """Plan everything due now, then deliver the outbox (what tests and the demo call)."""
    report = await plan(app)
    report.delivery = await drain(app)
    return report


async def _tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    app = context.application
    _ensure_worker(app)
    await plan(app)


def _ensure_worker(app: Application) -> None:
    task: asyncio.Task[None] | None = app.bot_data.get(_WORKER)
    if (task is None or task.done()) and app.running:
        app.bot_data[_WORKER_STOP] = asyncio.Event()
        # PTB's create_task: Application.stop() waits for it, and it ends once
        # the application stops running.
        app.bot_data[_WORKER] = app.create_task(_worker(app), name="delivery-worker")


async def _worker(app: Application) -> None:
    """Deliver continuously until the application stops: woken by planners, or each tick."""
    wake = _wake_event(app)
    stop: asyncio.Event = app.bot_data[_WORKER_STOP]
    services: Services = app.bot_data[SERVICES_KEY]
    idle = services.settings.delivery.tick_seconds
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


def start_scheduler(app: Application, services: Services) -> None:
    """Plan now and then every `[delivery].tick_seconds`; the first run starts the worker."""
    assert app.job_queue is not None
    for job in app.job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    app.job_queue.run_repeating(
        _tick_job,
        interval=services.settings.delivery.tick_seconds,
        first=0,
        name=JOB_NAME,
        # A slow planning pass must not pile up copies of itself.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
