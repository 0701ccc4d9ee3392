"""Meetings benchmark: a committee-wide notice beside the study fan-out, and the digest's cost.

    python bench/meetings.py [--members 10000] [--rate 300] [--sizes 1000 100000] [--runs 20]
                             [--rtt-ms 100] [--strict-window] [--skip-notice]

Part 1, the notice.  Against one emulator subprocess with Telegram-style limits
(bench/fanout.py's), in the same run:

* BASELINE: bench/fanout.py's branchbot run, one study reminder per member
  already in the outbox, delivered by the real Application;
* MEETINGS: a committee of MEMBERS members in branches of 40, one 主题党日
  called for every branch (storage.repositories.meetings.create_meetings, as
  /meeting does), the real Application ticking: the meetings planner writes
  one notice per member into the outbox and delivery sends it.

Part 2, the digest.  bench/digest.py's county (a year of study, pledges and
whereabouts) at each size, plus a year of branch life for every branch: 12
theme days, 12 committee meetings and 4 members' meetings, all confirmed, 40
invitees each with attendance.  Times branch b0's core digest with and without
the meetings block (handlers.meetings.reports.digest_lines), median of RUNS;
the smallest county is the baseline and the block's ratio should stay <= 1.3.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import digest as county_bench  # noqa: E402
import fanout  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import parse_settings  # noqa: E402
from bot.digest_render import render_summary  # noqa: E402
from bot.domain.digest import build_digest, previous_week  # noqa: E402
from bot.domain.localtime import zone  # noqa: E402
from bot.scheduling import _PLANNERS as PLANNERS  # noqa: E402
from bot.scheduling import JOB_NAME, tick  # noqa: E402
from handlers.meetings.reports import digest_lines  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.repositories import digest as digest_repo  # noqa: E402
from storage.repositories import meetings, outbox  # noqa: E402

BRANCH = 40
DAY = 86400


# ---------------------------------------------------------------- part 1: the notice


async def prepare_committee(path: Path, members: int) -> None:
    """A committee, branches of 40 and MEMBERS members, then one 主题党日 per branch."""
    db = await open_database(path)
    await migrate(db)
    await db.close()
    raw = sqlite3.connect(path)
    now = int(fanout.START.timestamp())
    branches = -(-members // BRANCH)
    raw.execute("BEGIN")
    raw.execute("INSERT INTO units (id, key, parent_id, level, name, kind, timezone, created_at,"
                " updated_at) VALUES (1, 'c', NULL, 'committee', '乡党委', 'township',"
                " 'Asia/Shanghai', 0, 0)")
    raw.executemany(
        "INSERT INTO units (id, key, parent_id, level, name, kind, created_at, updated_at)"
        " VALUES (?, ?, 1, 'branch', ?, 'village', 0, 0)",
        [(2 + b, f"b{b}", f"第{b}党支部") for b in range(branches)])
    raw.executemany(
        "INSERT INTO people (id, telegram_id, name, language, created_at)"
        " VALUES (?, ?, ?, 'zh', ?)",
        [(i + 1, fanout.FIRST_ID + i, f"党员{i}", now) for i in range(members)])
    raw.executemany(
        "INSERT INTO members (id, person_id, branch_id, category, status, requested_at)"
        " VALUES (?, ?, ?, 'regular', 'active', ?)",
        [(i + 1, i + 1, 2 + i // BRANCH, now) for i in range(members)])
    raw.execute("COMMIT")
    raw.close()
    db = await open_database(path)
    try:
        calls = [(2 + b, list(range(b * BRANCH + 1, min(members, (b + 1) * BRANCH) + 1)))
                 for b in range(branches)]
        await meetings.create_meetings(
            db, calls=calls, kind="theme_day", subject=None, topic="学习两会精神",
            starts_at=now + 3 * DAY, timezone="Asia/Shanghai", place="村党群服务中心",
            online_link=None, hours=0, called_by=None, now=now)
    finally:
        await db.close()


async def run_notice(emulator: fanout.Emulator, members: int, rate: float,
                     workdir: Path) -> fanout.Result:
    """The real Application: the meetings planner fans out, delivery drains the outbox."""
    database = workdir / "meetings.sqlite3"
    await prepare_committee(database, members)
    settings = parse_settings({
        "telegram": {"api_base_url": emulator.base_url,
                     "api_base_file_url": emulator.base_file_url},
        "storage": {"database": str(database)},
        "delivery": {"global_per_second": rate, "tick_seconds": 3600},
    })
    app = build_application(settings, clock=FakeClock(fanout.START))
    await emulator.limit(rate)
    async with app:
        # Only the notice: the other planners (a pledge ask falls due on this date) are
        # not what is measured, and the baseline sends one message per member too.
        planners = app.bot_data[PLANNERS]
        for name in [name for name in planners if name != "meetings"]:
            del planners[name]
        assert app.job_queue is not None
        for job in app.job_queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        started = time.perf_counter()
        ticks = 0
        while True:
            await tick(app)
            ticks += 1
            db = app.bot_data["branchbot.services"].db
            pending = (await outbox.count_by_status(db)).get("pending", 0)
            if pending == 0 or ticks > 20:
                break
        wall = time.perf_counter() - started
        await app.updater.stop()
        await app.stop()
    return fanout.summarize(f"meeting notice ({ticks} tick{'s' * (ticks > 1)})",
                            await emulator.stats(), members, wall)


# ---------------------------------------------------------------- part 2: the digest


def add_meetings(path: Path) -> int:
    """Give every branch a year of confirmed meetings with attendance; return invitee rows."""
    db = sqlite3.connect(path)
    db.execute("BEGIN")
    branches = [row[0] for row in db.execute(
        "SELECT id FROM units WHERE level = 'branch' ORDER BY id")]
    meeting_id, invitees = 0, 0
    for index, branch_id in enumerate(branches):
        rng = random.Random(index)
        member_ids = [row[0] for row in db.execute(
            "SELECT id FROM members WHERE branch_id = ? ORDER BY id", (branch_id,))]
        plan = ([("theme_day", m) for m in range(12)] + [("committee", m) for m in range(12)]
                + [("assembly", m * 3) for m in range(4)])
        rows, marks = [], []
        for kind, month in plan:
            meeting_id += 1
            at = county_bench.NOW - (360 - month * 30) * DAY
            rows.append((meeting_id, meeting_id, branch_id, kind, at, at, at))
            for member_id in member_ids:
                mark = rng.choices(("present", "excused", "absent"), (80, 12, 8))[0]
                marks.append((meeting_id, member_id, "attend", mark))
        db.executemany(
            "INSERT INTO meetings (id, batch_id, branch_id, kind, topic, starts_at, timezone,"
            " called_at, confirmed_at, announced_version, confirm_asked)"
            " VALUES (?, ?, ?, ?, '学习', ?, 'Asia/Shanghai', ?, ?, 1, 1)", rows)
        db.executemany(
            "INSERT INTO meeting_invitees (meeting_id, member_id, reply, attendance)"
            " VALUES (?, ?, ?, ?)", marks)
        invitees += len(marks)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    return invitees


async def time_digest(path: Path, runs: int) -> tuple[float, float]:
    """Return median seconds of branch b0's core digest, and of its meetings block."""
    settings = parse_settings({})
    db = await open_database(path)
    services = SimpleNamespace(db=db, settings=settings, now_ts=lambda: county_bench.NOW)
    try:
        async with db.execute("SELECT id FROM units WHERE key = 'b0'") as cur:
            (branch_id,) = await cur.fetchone()
        branch = await digest_repo.branch_context(db, branch_id, default_timezone="Asia/Shanghai")
        period = previous_week(county_bench.NOW, zone(branch.timezone))

        async def core() -> str:
            week = await digest_repo.load_branch_week(db, branch, period, now=county_bench.NOW,
                                                      settings=settings)
            return render_summary("zh", build_digest(week, settings.whereabouts))

        async def block() -> list[str]:
            return await digest_lines(services, branch_id, period.start, period.end, "zh")

        assert "组织生活" in "\n".join(await block())  # warm-up and a sanity check
        await core()
        timings = []
        for run in (core, block):
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                await run()
                samples.append(time.perf_counter() - started)
            timings.append(statistics.median(samples))
        return timings[0], timings[1]
    finally:
        await db.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-notice", action="store_true")
    # The same network as bench/fanout.py's: a round trip per call and its overall limit.
    parser.add_argument("--rtt-ms", type=float, default=100.0)
    parser.add_argument("--strict-window", action="store_true")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="branchbot-meetings-") as tmp:
        folder = Path(tmp)
        if not options.skip_notice:
            burst = None if options.strict_window else max(1, round(options.rate / 10))
            emulator = fanout.Emulator(options.members, options.rtt_ms, burst)
            try:
                study = await fanout.run_branchbot(emulator, options.members, options.rate, folder)
                study.name = "study reminder (base)"
                await asyncio.sleep(1.1)  # let every chat's 1 s window pass
                notice = await run_notice(emulator, options.members, options.rate, folder)
            finally:
                await emulator.close()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            fanout.print_table(options.members, options.rate, options.rtt_ms, burst,
                               [study, notice])
            print(f"peak memory: {rss:.0f} MB")
        print()
        print(f"{'county':>8}{'invitees':>11}{'core digest ms':>16}{'meetings block ms':>19}"
              f"{'ratio':>7}")
        baseline = None
        for size in sorted(options.sizes):
            path = folder / f"county-{size}.sqlite3"
            # build_county runs its own event loop (asyncio.run): give it a thread.
            await asyncio.to_thread(county_bench.build_county, path, size)
            invitees = add_meetings(path)
            core, block = await time_digest(path, options.runs)
            baseline = baseline or block
            print(f"{size:>8}{invitees:>11,}{core * 1000:>16.2f}{block * 1000:>19.2f}"
                  f"{block / baseline:>7.2f}", flush=True)
            path.unlink()
        print("goal: the meetings block's ratio to the smallest county <= 1.3")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
