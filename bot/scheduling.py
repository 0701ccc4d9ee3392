"""The scheduler: planners turn the database into due messages; delivery sends them.

    add_planner(app, "study", plan_study_reminders)   # in a feature's register()
    report = await tick(app)                          # what the JobQueue job runs

Schedules live in the database, not in memory: every tick asks each planner
what is due at the clock's now and puts it in the outbox (once per dedupe
key), then delivers what the outbox holds.  After a restart the first tick
therefore finds everything that fell due while the bot was down.  Tests call
`tick(app)` after moving the FakeClock instead of waiting for the job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from telegram.ext import Application, ContextTypes

from bot.delivery import DeliveryReport, deliver_due
from bot.domain.outgoing import OutgoingMessage
from bot.services import SERVICES_KEY, Services
from storage.repositories import outbox

__all__ = ["Planner", "TickReport", "add_planner", "start_scheduler", "tick"]

log = logging.getLogger(__name__)

Planner = Callable[[Services, datetime], Awaitable[Sequence[OutgoingMessage]]]
_PLANNERS = "branchbot.planners"
_LOCK = "branchbot.tick_lock"
JOB_NAME = "scheduler:tick"


@dataclass(slots=True)
class TickReport:
    """What one tick planned and delivered."""

    planned: dict[str, int] = field(default_factory=dict)
    delivery: DeliveryReport | None = None


def add_planner(app: Application, name: str, planner: Planner) -> None:
    """Register a feature's planner; planners run in registration order."""
    app.bot_data.setdefault(_PLANNERS, {})[name] = planner


async def tick(app: Application) -> TickReport:
    """Plan everything due now, then deliver the outbox; one tick at a time."""
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
        # A long fan-out stops between messages once the bot is shutting down.
        should_stop = (lambda: not app.running) if app.running else None
        report.delivery = await deliver_due(app.bot, services, should_stop=should_stop)
        return report


async def _tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await tick(context.application)


def start_scheduler(app: Application, services: Services) -> None:
    """Run `tick` now and then every `[delivery].tick_seconds`, off the update path."""
    assert app.job_queue is not None
    for job in app.job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    app.job_queue.run_repeating(
        _tick_job,
        interval=services.settings.delivery.tick_seconds,
        first=0,
        name=JOB_NAME,
        # A slow tick (a big fan-out) must not pile up copies of itself.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
