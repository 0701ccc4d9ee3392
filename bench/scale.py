"""Scale benchmark: what one scheduler tick costs as the county grows.

    python bench/scale.py [--sizes 1000 100000] [--million] [--keep DIR]

Builds each county with bench/digest.py's builder (branches of 40 members, a
year of study, pledges and whereabouts history), then runs every registered
planner the way `bot.scheduling.tick` does (plan, then enqueue into the
outbox; delivery is left out: it is another worker's cost):

- the first ticks at the county's "now" plan whatever the history left due
  and see it queued, until no schedule is due (timed apart: a backlog, once);
- an IDLE tick: the same moment again, so nothing new is due;
- a ONE-BRANCH tick: one branch's study item falls due, everything else idle.

Each is the median of RUNS.  Printed per size: per-planner idle times, the
two tick times and peak RSS; then the ratio of the largest county's idle tick
to the smallest's (goal <= 2: planning should cost what is due, not what the
county holds).  The BASELINE is the smallest size, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.digest import NOW, build_county  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import parse_settings  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.repositories import outbox, scale_fixture, schedule, study  # noqa: E402

_PLANNERS = "branchbot.planners"
# Planners driven by member_schedule: the backlog drains once none of them is due.
_SCHEDULED = ("pledges", "whereabouts", "contact_ladder")
MAX_SETTLE = 500  # backlog ticks at most (a 1M county drains in about 50)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _tick(services: Services, planners: dict, timings: dict[str, list[float]]) -> float:
    """Run every planner and enqueue what it plans, as bot.scheduling.tick does."""
    now = services.clock.now()
    started = time.perf_counter()
    for name, planner in planners.items():
        t0 = time.perf_counter()
        messages = await planner(services, now)
        if messages:
            await outbox.enqueue(services.db, messages, now=int(now.timestamp()))
        timings.setdefault(name, []).append(time.perf_counter() - t0)
    return time.perf_counter() - started


async def measure(path: Path, runs: int) -> dict:
    """Return idle and one-branch tick medians, per-planner idle medians and planned counts."""
    settings = parse_settings({"telegram": {"api_base_url": "http://127.0.0.1:1/bot"}})
    app = build_application(settings, database=str(path))
    planners = dict(app.bot_data.get(_PLANNERS, {}))
    db = await open_database(path)
    clock = FakeClock(datetime.fromtimestamp(NOW, UTC))
    services = Services(settings=settings, clock=clock, db=db)
    try:
        first = time.perf_counter()
        await _tick(services, planners, {})  # the county's backlog, planned once
        # Members who were owed something are looked at once more, to see it
        # queued, before their schedule moves on: part of the backlog, not idle.
        # A large backlog is read 20,000 members a tick (schedule.due_members'
        # limit), so it drains over several ticks.
        settle = 1
        # The study planner reads its due rows 5,000 a tick (study.due_targets'
        # limit): those count as backlog too, not as an idle tick's cost.  The
        # backlog is drained until nothing is due (a 1M county needs about 50
        # ticks; stopping earlier would time backlog work as "idle"), with a
        # ceiling only against a planner that never settles, reported below.
        while settle < MAX_SETTLE and (
            any([await schedule.due_members(db, kind, NOW, 1) for kind in _SCHEDULED])
            or await study.due_targets(db, NOW, 1)
        ):
            await _tick(services, planners, {})
            settle += 1
        backlog = time.perf_counter() - first
        drained = not (
            any([await schedule.due_members(db, kind, NOW, 1) for kind in _SCHEDULED])
            or await study.due_targets(db, NOW, 1)
        )
        await db.commit()
        idle_per: dict[str, list[float]] = {}
        idle = [await _tick(services, planners, idle_per) for _ in range(runs)]
        # One branch: a study item of the first branch falls due now.
        one = []
        for run in range(runs):
            await scale_fixture.add_due_study_item(db, branch_key="b0", now=NOW, tag=run)
            one.append(await _tick(services, planners, {}))
        queued = await scale_fixture.outbox_rows(db)
        return {
            "backlog": backlog,
            "settle": settle,
            "drained": drained,
            "idle": statistics.median(idle),
            "one": statistics.median(one),
            "per": {k: statistics.median(v) for k, v in idle_per.items()},
            "queued": queued,
        }
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    """Build each county, time the ticks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--million", action="store_true", help="also a 1,000,000-member county")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the databases here and keep them")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes) | ({1_000_000} if args.million else set()))
    results = []
    with tempfile.TemporaryDirectory(prefix="branchbot-scale-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            path = folder / f"scale-{size}.sqlite3"
            path.unlink(missing_ok=True)
            started = time.perf_counter()
            counts = build_county(path, size)
            print(f"built {size:>9,} members: {counts['branches']} branches in"
                  f" {time.perf_counter() - started:.1f} s", flush=True)
            result = asyncio.run(measure(path, args.runs))
            result["rss"] = _rss_mb()
            results.append((size, result))
            slow = sorted(result["per"].items(), key=lambda kv: -kv[1])
            print(f"  backlog {result['backlog']:.2f} s in {result['settle']} ticks"
                  f"{'' if result['drained'] else ' (NOT drained: idle figures include backlog)'}"
                  f" ({result['queued']:,} queued);"
                  f" idle planners: "
                  + ", ".join(f"{name} {sec * 1000:.0f} ms" for name, sec in slow), flush=True)
    print()
    print(f"{'members':>10} {'idle tick':>11} {'one-branch tick':>16} {'peak RSS':>9}")
    for size, r in results:
        label = "BASELINE" if size == results[0][0] else ""
        print(f"{size:>10,} {r['idle'] * 1000:>8.0f} ms {r['one'] * 1000:>13.0f} ms"
              f" {r['rss']:>6.0f} MB  {label}")
    (small, a), (large, b) = results[0], results[-1]
    print(f"\nidle tick {large:,} / {small:,}: {b['idle'] / a['idle']:.2f} (goal <= 2);"
          f" one-branch tick: {b['one'] / a['one']:.2f}")
    print("(peak RSS is the process's high-water mark, so it includes building the county)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
