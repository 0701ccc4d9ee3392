"""Scale-out benchmark: a province on PostgreSQL beside one county on SQLite (issue 15).

    python bench/scale_out.py [--database postgresql://…] [--members 2000000]
        [--counties 100] [--cities 10] [--deliver 3000] [--rtt-ms 100]
        [--workers 1 2 4] [--province-planner] [--keep DIR]

Without --database a throwaway server is started with .ci/postgres and
stopped at the end; with one, the bench works in its own database
(bench_scale_out, dropped and made afresh) on that server.  Measured in the
same run, each figure beside the same measurement on SQLite for a single
county of members ÷ counties (the BASELINE):

1. build: the province (cities → counties, each county its own bot:
   people.bot = 'county<k>' → townships → general branches → branches of
   40) with --weeks of study history, this year's pledges with monthly
   reports, whereabouts (storage/repositories/province_fixture.py, set-based
   SQL; no row passes through Python);
2. idle tick: every registered planner, as bench/scale.py runs them, after
   the history's backlog is drained (until nothing is due); per-planner
   times, the one-branch tick and peak RSS (each part runs in a child
   process of its own, so RSS is that part's);
3. one county's fan-out: a study item published to every branch of county
   k0 (~members ÷ counties reminders), the ticks that plan and enqueue them
   timed; then --deliver of them sent through the real Application to the
   Bot API emulator (its own process) with --rtt-ms round trips: achieved
   rate ÷ --rate, 429s, duplicates, missing;
4. roll-ups: city0's roll-up (every branch of its counties) cold and the
   next page warm, beside the county's on SQLite; the weekly digest planner
   for every leader of city0 (or, with --province-planner, of the province);
5. delivery with 1, 2 and 4 `branchbot run --role=delivery` processes on the
   one PostgreSQL database, one token, through the emulator: achieved ÷
   allowed, 429s, duplicates, missing.  SQLite allows one process: its
   figure is part 3's.  Skipped when `branchbot run` has no --role.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.digest import NOW  # noqa: E402
from bench.scale import _tick, measure  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import parse_settings  # noqa: E402
from bot.domain.outgoing import OutgoingMessage, occurrence_key  # noqa: E402
from bot.scheduling import JOB_NAME, drain  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.repositories import outbox, study  # noqa: E402
from storage.repositories import province_fixture as fixture  # noqa: E402

DB_NAME = "bench_scale_out"
FAR = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())  # held-back rows are due then
# One token per county bot, as [[bots]] lists them (the emulator takes any).
def county_bot(county: int) -> dict[str, str]:
    """Return the [[bots]] entry of county number `county` (people.bot = its name)."""
    return {"name": f"county{county}", "token": f"{100_000 + county}:BENCH-COUNTY-{county:03d}",
            "unit": f"k{county}"}


TEXT = "<b>学习提醒</b>：本周学习《党章》，请于周日前完成。成员 {member}"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- child-process parts (each returns a dict; "rss" is the child's peak) -------------


def _child(name: str, *args: Any) -> dict[str, Any]:
    result = asyncio.run(globals()[name](*args))
    result["rss"] = _rss_mb()
    return result


def in_child(name: str, *args: Any) -> dict[str, Any]:
    """Run one part in a fresh spawned process, so its peak RSS is its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_child, name, *args).result()


async def part_build(location: str, members: int, counties: int, cities: int,
                     weeks: int) -> dict[str, Any]:
    db = await open_database(location)
    try:
        await migrate(db)
        shape = fixture.ProvinceShape(members, counties, cities, weeks=weeks)
        started = time.perf_counter()
        counts = await fixture.build_province(db, shape, now=NOW)
        return {"seconds": time.perf_counter() - started, "counts": counts}
    finally:
        await db.close()


async def _migrated(location: str) -> None:
    """Bring the database to this code's schema (the bot migrates when it starts)."""
    db = await open_database(location)
    try:
        await migrate(db)
    finally:
        await db.close()


async def part_idle(location: str, runs: int) -> dict[str, Any]:
    await _migrated(location)
    return await measure(location, runs)  # type: ignore[arg-type]


class Emulator:
    """`python -m bot.emulator` in its own process, with the chats it must know."""

    def __init__(self, chats: list[int], rtt_ms: float, rate: float) -> None:
        self.chats = chats
        self.rate = rate
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.emulator", "--port", "0", f"--rtt-ms={rtt_ms}",
             *(f"--user={chat}" for chat in chats)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        urls = dict(self.process.stdout.readline().strip().split("=", 1) for _ in range(3))
        self.base_url, self.base_file_url = urls["base_url"], urls["base_file_url"]
        self.http = httpx.AsyncClient(base_url=urls["control_api"], timeout=60)

    async def arm(self) -> None:
        """Telegram's limits (rate overall as a bucket of rate/10, 1/s a chat); counters at 0."""
        await self.http.post("/rate_limit", json={})
        await self.http.post("/rate_limit", json={
            "global_per_second": self.rate, "per_chat_per_second": 1,
            "burst": max(1, round(self.rate / 10))})
        await self.http.post("/stats/reset")

    async def result(self) -> dict[str, Any]:
        stats = (await self.http.get("/stats")).json()
        by_chat = {int(chat): n for chat, n in stats["sends_by_chat"].items()}
        counts = [by_chat.get(chat, 0) for chat in self.chats]
        return {
            "sent": stats["sends_ok"], "achieved": stats["achieved_rate"],
            "ratio": stats["achieved_rate"] / self.rate, "refusals": stats["flood_refusals"],
            "duplicates": sum(1 for n in counts if n > 1),
            "missing": sum(1 for n in counts if n == 0),
        }

    async def close(self) -> None:
        await self.http.aclose()
        self.process.terminate()
        self.process.wait(timeout=10)


async def part_fanout(location: str, county: int, deliver: int, rtt_ms: float,
                      rate: float) -> dict[str, Any]:
    """Plan one county's study reminder, then deliver `deliver` of them via the emulator."""
    settings = parse_settings({"telegram": {"api_base_url": "http://127.0.0.1:1/bot"}})
    planners = dict(build_application(settings, database=location).bot_data.get(
        "branchbot.planners", {}))
    await _migrated(location)
    db = await open_database(location)
    services = Services(settings=settings, clock=FakeClock(datetime.fromtimestamp(NOW, UTC)),
                        db=db)
    out: dict[str, Any] = {}
    try:
        mark = await fixture.max_outbox_id(db)
        out["branches"] = await fixture.add_county_study_item(
            db, county=county, now=NOW, tag="fan-out")
        started = time.perf_counter()
        ticks = 0
        per: dict[str, list[float]] = {}
        while True:  # the study planner reads its due rows 5,000 a tick
            await _tick(services, planners, per)
            ticks += 1
            if not await study.due_targets(db, NOW, 1) or ticks >= 50:
                break
        await db.commit()
        out["plan"] = time.perf_counter() - started
        out["ticks"] = ticks
        out["per"] = {name: sum(times) for name, times in per.items()}
        out["planned"] = await fixture.open_outbox_rows(db, after_id=mark)
        out["due"] = await fixture.hold_back_outbox(db, after_id=mark, keep=deliver, until=FAR)
        chats = await fixture.due_outbox_chats(db, before=FAR)
    finally:
        await db.close()
    emulator = Emulator(chats, rtt_ms, rate)
    try:
        # The county's own bot: a member's rows go out through their bot only.
        sending = parse_settings({
            "telegram": {"api_base_url": emulator.base_url,
                         "api_base_file_url": emulator.base_file_url},
            "delivery": {"global_per_second": rate, "tick_seconds": 3600},
            "bots": [county_bot(county)],
        })
        app = build_application(sending, clock=FakeClock(datetime.fromtimestamp(NOW, UTC)),
                                database=location, bot=sending.served_bots[0])
        await emulator.arm()
        async with app:
            assert app.job_queue is not None
            for job in app.job_queue.get_jobs_by_name(JOB_NAME):
                job.schedule_removal()  # the bench drains by hand
            await app.start()
            started = time.perf_counter()
            app_db = app.bot_data["branchbot.services"].db
            for _ in range(20):
                await drain(app)
                if not await fixture.open_outbox_rows(app_db, after_id=mark, before=FAR):
                    break
            out["wall"] = time.perf_counter() - started
            await app.stop()
        out.update(await emulator.result())
    finally:
        await emulator.close()
    return out


async def part_digest(location: str, unit_key: str, planner_key: str | None,
                      runs: int) -> dict[str, Any]:
    """Time one unit's roll-up cold and its next page warm; then the weekly planner."""
    from bot.digest_memo import line_memo
    from bot.domain.digest import previous_week
    from bot.domain.localtime import zone
    from handlers import digest as digest_handlers

    settings = parse_settings({})
    db = await open_database(location)
    services = Services(settings=settings, clock=FakeClock(datetime.fromtimestamp(NOW, UTC)),
                        db=db)
    memo = line_memo(db)
    out: dict[str, Any] = {}
    try:
        unit = await fixture.county_unit_by_key(db, unit_key)
        out["branches"] = await fixture.branches_under(db, unit)
        period = previous_week(NOW, zone(fixture.TZ))

        async def rollup(page: int) -> float:
            started = time.perf_counter()
            done = await digest_handlers.compose_unit(services, unit, period, "zh", NOW,
                                                      page=page)
            assert done is not None and "汇总周报" in done.parts[0]
            return time.perf_counter() - started

        memo.clear()
        out["cold"] = await rollup(0)
        out["warm"] = statistics.median([await rollup(1) for _ in range(runs)])
        if planner_key is not None:
            top = await fixture.county_unit_by_key(db, planner_key)
            out["leaders"] = await fixture.add_secretaries(db, under=top)
            memo.clear()
            started = time.perf_counter()
            planned = await digest_handlers.plan_digests(services, services.clock.now())
            out["planner"] = time.perf_counter() - started
            out["planned"] = len(planned)
        return out
    finally:
        await db.close()


# --- part 5: worker processes (run from the parent) ------------------------------------


def delivery_role_available() -> bool:
    """Tell whether `branchbot run` offers --role (issue 15 point 4)."""
    done = subprocess.run([sys.executable, "-m", "bot", "run", "--help"], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ,
                                                               "PYTHONPATH": str(ROOT)})
    return "--role" in done.stdout


async def _queue_for_workers(location: str, county: int, count: int, tag: str) -> tuple[int,
                                                                                          list]:
    """Hold back every pending row, then queue `count` reminders due now (real time)."""
    db = await open_database(location)
    try:
        mark = await fixture.max_outbox_id(db)
        await fixture.hold_back_outbox(db, after_id=mark, keep=0, until=FAR)
        recipients = await fixture.outbox_for_members(db, county=county, count=count)
        now = int(time.time())
        messages = [
            OutgoingMessage(
                dedupe_key=occurrence_key("study.reminder", person, tag, 0),
                kind="study.reminder", person_id=person, chat_id=chat,
                text=TEXT.format(member=chat), due_at=now - 60)
            for person, chat in recipients
        ]
        await outbox.enqueue(db, messages, now=now)
        # The rows go out through the recipients' county bot: one token.
        await fixture.assign_outbox_bot(db, after_id=mark, bot=county_bot(county)["name"])
        return mark, [chat for _, chat in recipients]
    finally:
        await db.close()


async def _open_rows(location: str, mark: int) -> int:
    db = await open_database(location)
    try:
        return await fixture.open_outbox_rows(db, after_id=mark)
    finally:
        await db.close()


async def part_workers(location: str, workers: int, count: int, county: int, rtt_ms: float,
                       rate: float, folder: Path) -> dict[str, Any]:
    mark, chats = await _queue_for_workers(location, county, count, f"workers-{workers}")
    emulator = Emulator(chats, rtt_ms, rate)
    config = folder / f"workers-{workers}.toml"
    bot = county_bot(county)
    config.write_text(
        "[telegram]\n"
        f'api_base_url = "{emulator.base_url}"\n'
        f'api_base_file_url = "{emulator.base_file_url}"\n'
        "[storage]\n"
        f'url = "{location}"\n'
        "[delivery]\n"
        f"global_per_second = {rate}\n"
        "[[bots]]\n"
        + "".join(f'{key} = "{value}"\n' for key, value in bot.items()),
        encoding="utf-8",
    )
    processes: list[subprocess.Popen] = []
    out: dict[str, Any] = {"workers": workers}
    try:
        await emulator.arm()
        started = time.perf_counter()
        for index in range(workers):
            log = (folder / f"worker-{workers}-{index}.log").open("w")
            # Started, not waited for: the loop below polls the outbox meanwhile.
            processes.append(subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "bot", "run", "--role=delivery", "--config", str(config)],
                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=log, stderr=subprocess.STDOUT))
        deadline = started + count / rate * 3 + 120
        while time.perf_counter() < deadline:
            await asyncio.sleep(1)
            if not await _open_rows(location, mark):
                break
            if all(p.poll() is not None for p in processes):
                out["note"] = "every worker exited early: see " + str(folder)
                break
        out["wall"] = time.perf_counter() - started
        out["left"] = await _open_rows(location, mark)
        out.update(await emulator.result())
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        await emulator.close()
    return out


# --- the PostgreSQL server --------------------------------------------------------------


@contextlib.contextmanager
def postgres_server(url: str | None):
    """Yield a server URL: the given one, or a throwaway .ci/postgres server stopped after."""
    if url:
        yield url
        return
    done = subprocess.run([str(ROOT / ".ci" / "postgres")], capture_output=True, text=True,
                          check=True)
    folder = done.stderr.split("(stop with: .ci/postgres stop ", 1)[1].split(")", 1)[0]
    try:
        yield done.stdout.strip()
    finally:
        subprocess.run([str(ROOT / ".ci" / "postgres"), "stop", folder], check=False)


# --- printing ---------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def _row(label: str, pg: str, lite: str, note: str = "") -> str:
    return f"{label:<40} {pg:>22} {lite:>22}  {note}"


def _delivery(r: dict[str, Any]) -> str:
    return f"{r['ratio']:.2f} ({r['achieved']:.1f}/s)"


def _faults(r: dict[str, Any]) -> str:
    return f"{r['refusals']} / {r['duplicates']} / {r['missing']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="postgresql://… server (default: a throwaway one)")
    parser.add_argument("--members", type=int, default=2_000_000)
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--cities", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=13, help="weeks of study history")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deliver", type=int, default=3000, help="messages sent in 3 and 5")
    parser.add_argument("--rtt-ms", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=30.0, help="allowed messages/s a token")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--province-planner", action="store_true",
                        help="weekly digest planner for every leader of the province"
                        " (default: of city0 only)")
    parser.add_argument("--keep", type=Path, help="keep the SQLite file and worker logs here")
    parser.add_argument(
        "--reuse", action="store_true",
        help="with --database: measure the province already in its bench database (a run"
        " cut off after its 2M build) instead of building it again; it is kept afterwards",
    )
    args = parser.parse_args(argv)
    if args.reuse and not args.database:
        parser.error("--reuse needs --database (the server holding the built province)")
    per_county = args.members // args.counties
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="branchbot-scale-out-") as tmp, \
            postgres_server(args.database) as server:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        lite = str(folder / "county.sqlite3")
        Path(lite).unlink(missing_ok=True)
        if args.reuse:
            pg = fixture.database_url(server, DB_NAME)
        else:
            pg = asyncio.run(fixture.fresh_postgres_database(server, DB_NAME))
        try:
            t0 = time.perf_counter()
            b_lite = in_child("part_build", lite, per_county, 1, 1, args.weeks)
            if args.reuse:
                b_pg = {"seconds": float("nan"),
                        "counts": asyncio.run(fixture.row_counts(pg))}
            else:
                b_pg = in_child("part_build", pg, args.members, args.counties, args.cities,
                                args.weeks)
            timings["1 build"] = time.perf_counter() - t0
            print(f"built: PostgreSQL {b_pg['counts']}\n       SQLite {b_lite['counts']}",
                  flush=True)
            t0 = time.perf_counter()
            i_lite = in_child("part_idle", lite, args.runs)
            i_pg = in_child("part_idle", pg, args.runs)
            timings["2 idle"] = time.perf_counter() - t0
            print(f"idle: PostgreSQL {i_pg}\n      SQLite {i_lite}", flush=True)
            t0 = time.perf_counter()
            f_lite = in_child("part_fanout", lite, 0, args.deliver, args.rtt_ms, args.rate)
            f_pg = in_child("part_fanout", pg, 0, args.deliver, args.rtt_ms, args.rate)
            timings["3 fan-out"] = time.perf_counter() - t0
            print(f"fan-out: PostgreSQL {f_pg}\n         SQLite {f_lite}", flush=True)
            t0 = time.perf_counter()
            workers: list[dict[str, Any]] = []
            skipped = not delivery_role_available()
            if not skipped:
                for n in args.workers:
                    workers.append(asyncio.run(part_workers(
                        pg, n, args.deliver, 1 % args.counties, args.rtt_ms, args.rate,
                        folder)))
                    print(f"workers: {workers[-1]}", flush=True)
            timings["5 workers"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            d_lite = in_child("part_digest", lite, "k0", "k0", args.runs)
            d_pg = in_child("part_digest", pg, "city0",
                            "p" if args.province_planner else "city0", args.runs)
            timings["4 roll-ups"] = time.perf_counter() - t0
            print(f"roll-ups: PostgreSQL {d_pg}\n          SQLite {d_lite}", flush=True)
        finally:
            if not args.reuse:
                asyncio.run(fixture.drop_postgres_database(server, DB_NAME))

    pg_label = f"PostgreSQL {args.members:,}/{args.counties} counties"
    lite_label = f"SQLite {per_county:,} (1 county)"
    lines = [_row("", pg_label, lite_label, "ratio / note"), "-" * 110]
    rows_pg, rows_lite = sum(b_pg["counts"].values()), sum(b_lite["counts"].values())
    lines.append(_row("1 build (set-based SQL)", f"{b_pg['seconds']:.1f} s",
                      f"{b_lite['seconds']:.1f} s",
                      f"{rows_pg:,} / {rows_lite:,} rows; {rows_pg / b_pg['seconds']:,.0f}"
                      f" vs {rows_lite / b_lite['seconds']:,.0f} rows/s"))
    lines.append(_row("2 backlog drained", f"{i_pg['backlog']:.1f} s, {i_pg['settle']} ticks",
                      f"{i_lite['backlog']:.1f} s, {i_lite['settle']} ticks",
                      "" if i_pg["drained"] and i_lite["drained"] else "NOT drained"))
    lines.append(_row("  idle tick (all planners)", f"{i_pg['idle'] * 1000:.0f} ms",
                      f"{i_lite['idle'] * 1000:.0f} ms", _ratio(i_pg["idle"], i_lite["idle"])))
    for name in sorted(i_pg["per"], key=lambda k: -i_pg["per"][k]):
        a, b = i_pg["per"][name], i_lite["per"].get(name, 0.0)
        lines.append(_row(f"    {name}", f"{a * 1000:.1f} ms", f"{b * 1000:.1f} ms",
                          _ratio(a, b)))
    lines.append(_row("  one-branch tick", f"{i_pg['one'] * 1000:.0f} ms",
                      f"{i_lite['one'] * 1000:.0f} ms", _ratio(i_pg["one"], i_lite["one"])))
    lines.append(_row("  peak RSS (idle part's process)", f"{i_pg['rss']:.0f} MB",
                      f"{i_lite['rss']:.0f} MB", _ratio(i_pg["rss"], i_lite["rss"])))
    lines.append(_row("3 plan + enqueue one county's reminder",
                      f"{f_pg['plan']:.2f} s ({f_pg['planned']:,})",
                      f"{f_lite['plan']:.2f} s ({f_lite['planned']:,})",
                      f"{_ratio(f_pg['plan'], f_lite['plan'])}; {f_pg['ticks']}/"
                      f"{f_lite['ticks']} ticks, {f_pg['branches']} branches"))
    for name in sorted(f_pg["per"], key=lambda k: -f_pg["per"][k])[:4]:
        a, b = f_pg["per"][name], f_lite["per"].get(name, 0.0)
        lines.append(_row(f"    {name}", f"{a:.2f} s", f"{b:.2f} s", _ratio(a, b)))
    lines.append(_row(f"  deliver {args.deliver:,} at {args.rtt_ms:g} ms: ÷ {args.rate:g}/s",
                      _delivery(f_pg), _delivery(f_lite), _ratio(f_pg["ratio"], f_lite["ratio"])))
    lines.append(_row("  429s / duplicates / missing", _faults(f_pg), _faults(f_lite)))
    lines.append(_row("4 roll-up cold: city0 | county k0",
                      f"{d_pg['cold']:.2f} s ({d_pg['branches']:,} br.)",
                      f"{d_lite['cold']:.2f} s ({d_lite['branches']:,} br.)",
                      "per branch " + _ratio(d_pg["cold"] / d_pg["branches"],
                                             d_lite["cold"] / d_lite["branches"])))
    lines.append(_row("  next page, lines reused", f"{d_pg['warm'] * 1000:.0f} ms",
                      f"{d_lite['warm'] * 1000:.0f} ms", _ratio(d_pg["warm"], d_lite["warm"])))
    scope = "province" if args.province_planner else "city0"
    lines.append(_row(f"  weekly planner: {scope} | county",
                      f"{d_pg['planner']:.1f} s ({d_pg['planned']:,})",
                      f"{d_lite['planner']:.1f} s ({d_lite['planned']:,})",
                      "per digest " + _ratio(d_pg["planner"] / max(d_pg["planned"], 1),
                                             d_lite["planner"] / max(d_lite["planned"], 1))))
    if not args.province_planner:
        estimate = d_pg["planner"] * args.cities
        lines.append(_row("    province (estimate: city × cities)", f"~{estimate:.0f} s", "",
                          "not run; --province-planner runs it"))
    if skipped:
        lines.append(_row("5 delivery workers", "skipped: needs branchbot run --role=delivery",
                          "", ""))
    for r in workers:
        note = f"wall {r['wall']:.0f} s" + (f", {r['left']} left" if r["left"] else "")
        note += f"; {r['note']}" if "note" in r else ""
        lines.append(_row(f"5 {r['workers']} delivery process(es): ÷ {args.rate:g}/s",
                          _delivery(r), _delivery(f_lite) + " (1 proc)", note))
        lines.append(_row("  429s / duplicates / missing", _faults(r), _faults(f_lite)))
    print()
    print("\n".join(lines))
    print("\npart times: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    print("\nSummary (paste into the README):")
    print(f"- province of {args.members:,} members / {args.counties} county bots on PostgreSQL,"
          f" built in {b_pg['seconds']:.0f} s; BASELINE one {per_county:,}-member county on"
          " SQLite, same run")
    print(f"- idle tick {i_pg['idle'] * 1000:.0f} ms vs {i_lite['idle'] * 1000:.0f} ms"
          f" (ratio {_ratio(i_pg['idle'], i_lite['idle'])}), peak RSS {i_pg['rss']:.0f} MB")
    print(f"- one county's reminder planned and queued in {f_pg['plan']:.1f} s"
          f" ({f_pg['planned']:,} messages) vs {f_lite['plan']:.1f} s; {args.deliver:,}"
          f" delivered at {args.rtt_ms:g} ms: {f_pg['ratio']:.2f} vs {f_lite['ratio']:.2f}"
          f" of {args.rate:g}/s, dup/missing {f_pg['duplicates']}/{f_pg['missing']}")
    print(f"- city roll-up ({d_pg['branches']:,} branches) {d_pg['cold']:.1f} s cold,"
          f" next page {d_pg['warm'] * 1000:.0f} ms; weekly planner for {scope}"
          f" {d_pg['planner']:.0f} s ({d_pg['planned']:,} digests)")
    if skipped:
        print("- delivery workers: not measured (branchbot run --role=delivery not available)")
    else:
        print("- delivery workers " + ", ".join(
            f"{r['workers']}: {r['ratio']:.2f} ({_faults(r)} 429/dup/miss)" for r in workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
