"""Digest benchmark: one branch's digest and chart, the roll-ups and the weekly planner.

    python bench/digest.py [--sizes 1000 100000] [--runs 15] [--chart-runs 7]
                           [--no-planner] [--keep DIR]

Builds, with the real migrations, a county database per size (bench/scale.py
uses the same builder): branches of 40 members (10 to a general branch, 10
general branches to a committee), a year of history (a weekly study item per
branch with ~80% studied, ~10% excused; two approved pledges a year with
monthly reports; a monthly whereabouts answer from every mobile member).
Rows go in with executemany inside one transaction.  The first branch is
seeded identically in every size.

Then, through the handlers' own code (handlers.digest), it times:

- branch b0's digest text (reads, rules, features' lines, rendering) and its
  12-week chart as the 📈 button draws it (median of RUNS / CHART_RUNS);
- roll-ups: general branch g0 and committee c0 with every branch line
  computed (memo cleared), the committee's next page with the lines reused
  (bot.digest_memo: what the next leader above or a ◀ ▶ press costs), and
  every committee's roll-up one after another;
- the weekly digest planner with a secretary for every unit (what the
  Monday tick costs; it no longer draws or stores charts).

The BASELINE is the smallest county, measured in the same run; each figure is
printed beside it with the ratio.  Goal: one branch's digest (text and chart)
at the largest ÷ the smallest ≤ 1.3, since every query it makes is bounded by
its branch, not the county.  Roll-ups and the planner grow with the branches
they cover, by design.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.clock import FakeClock  # noqa: E402
from bot.config import parse_settings  # noqa: E402
from bot.digest_memo import line_memo  # noqa: E402
from bot.domain.digest import previous_week  # noqa: E402
from bot.domain.localtime import zone  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.repositories import digest as repo  # noqa: E402

BRANCH_SIZE = 40
PER_GENERAL = 10
PER_COMMITTEE = 10
# Monday 7 September 2026, 08:00 in Beijing: the digest of 2026-W36 falls due.
NOW = int(datetime(2026, 9, 7, 0, 0, tzinfo=UTC).timestamp())
TZ = "Asia/Shanghai"
DAY = 86400
WEEKS = 52
FIRST_TELEGRAM_ID = 10_000_000


def _branch_rows(rng: random.Random, branch_index: int, first_member: int) -> dict[str, list]:
    """Return one branch's people, members, study, pledges and whereabouts rows (ids preset)."""
    rows: dict[str, list] = {k: [] for k in ("people", "members", "answers", "pledges",
                                             "reports", "whereabouts")}
    for j in range(BRANCH_SIZE):
        member_id = first_member + j
        category = rng.choices(("regular", "mobile", "elderly"), (70, 15, 15))[0]
        approved = NOW - rng.randint(400, 900) * DAY
        contact = NOW - rng.choice((1, 3, 10, 40, 100, 200)) * DAY
        reachable = 0 if rng.random() < 0.03 else 1
        rows["people"].append((member_id, FIRST_TELEGRAM_ID + member_id, f"党员{branch_index}-{j}",
                               "zh", TZ, reachable, contact, approved))
        rows["members"].append((member_id, member_id, category, approved))
        if category == "mobile":
            for month in range(12):
                if rng.random() < 0.8:
                    rows["whereabouts"].append((member_id, NOW - (month * 30 + 5) * DAY,
                                                rng.choice(("深圳", "东莞", "广州", "厦门"))))
    return rows


def build_county(path: Path, members: int) -> dict[str, int]:
    """Create the county database at `path`; return row counts."""
    asyncio.run(_migrate(path))
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    branches = members // BRANCH_SIZE
    counts: dict[str, int] = {}
    db.execute("BEGIN")
    unit_id = 0
    units, branch_ids = [], []
    generals = -(-branches // PER_GENERAL)
    committees = -(-generals // PER_COMMITTEE)
    for c in range(committees):
        unit_id += 1
        committee = unit_id
        units.append((unit_id, f"c{c}", None, "committee", f"第{c}乡党委", "township", TZ))
        for g in range(PER_COMMITTEE):
            gi = c * PER_COMMITTEE + g
            if gi >= generals:
                break
            unit_id += 1
            general = unit_id
            units.append((unit_id, f"g{gi}", committee, "general_branch", f"第{gi}村党总支部",
                          "village", None))
            for b in range(PER_GENERAL):
                bi = gi * PER_GENERAL + b
                if bi >= branches:
                    break
                unit_id += 1
                units.append((unit_id, f"b{bi}", general, "branch", f"第{bi}党支部", "village",
                              None))
                branch_ids.append(unit_id)
    db.executemany(
        "INSERT INTO units (id, key, parent_id, level, name, kind, timezone, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)", units)
    counts["units"] = len(units)
    item_id = pledge_id = 0
    monday = date(2026, 9, 7)
    for index, branch_id in enumerate(branch_ids):
        # Seeded by branch index: branch 0 is the same in every county size.
        rng = random.Random(index)
        first = index * BRANCH_SIZE + 1
        rows = _branch_rows(rng, index, first)
        db.executemany(
            "INSERT INTO people (id, telegram_id, name, language, timezone, is_reachable,"
            " last_contact_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows["people"])
        db.executemany(
            "INSERT INTO members (id, person_id, branch_id, category, status, requested_at,"
            " decided_at) VALUES (?, ?, ?, ?, 'active', ?, ?)",
            [(mid, pid, branch_id, cat, at, at) for mid, pid, cat, at in rows["members"]])
        items, answers = [], []
        for week in range(WEEKS, 0, -1):
            item_id += 1
            due = (monday - timedelta(days=7 * week - 6)).isoformat()  # the Sunday of that week
            items.append((item_id, item_id, branch_id, f"第{WEEKS - week + 1}周学习", due,
                          NOW - (7 * week + 6) * DAY))
            for member_id, *_ in rows["members"]:
                roll = rng.random()
                if roll < 0.8:
                    answers.append((item_id, member_id, "done", None, NOW - 7 * week * DAY))
                elif roll < 0.9:
                    answers.append((item_id, member_id, "excused", "working",
                                    NOW - 7 * week * DAY))
        db.executemany(
            "INSERT INTO study_items (id, batch_id, branch_id, kind, title, body, due_date,"
            " remind_at, created_at, updated_at) VALUES (?, ?, ?, 'item', ?, '', ?, '19:30', ?, ?)",
            [(*item, item[-1]) for item in items])
        db.executemany(
            "INSERT INTO study_answers (item_id, member_id, status, reason, answered_at)"
            " VALUES (?, ?, ?, ?, ?)", answers)
        pledges, reports = [], []
        for member_id, *_ in rows["members"]:
            for year, months in ((2025, range(9, 13)), (2026, range(1, 9))):
                for _n in range(2):
                    pledge_id += 1
                    pledges.append((pledge_id, member_id, year, "带动群众增收",
                                    int(datetime(year, 1, 20, tzinfo=UTC).timestamp())))
                    for month in months:
                        if rng.random() < 0.9:
                            reports.append((pledge_id, year * 100 + month,
                                            rng.choice(("done", "ongoing", "not_started")),
                                            NOW - rng.randint(1, 300) * DAY))
        db.executemany(
            "INSERT INTO pledges (id, member_id, year, text, status, created_at, updated_at,"
            " decided_at) VALUES (?, ?, ?, ?, 'approved', ?, ?, ?)",
            [(p[0], p[1], p[2], p[3], p[4], p[4], p[4]) for p in pledges])
        db.executemany(
            "INSERT INTO pledge_reports (pledge_id, month, status, reported_at)"
            " VALUES (?, ?, ?, ?)", reports)
        db.executemany(
            "INSERT INTO whereabouts_log (member_id, at, kind, place)"
            " VALUES (?, ?, 'confirmed', ?)", rows["whereabouts"])
        for key, value in (("people", rows["people"]), ("answers", answers),
                           ("pledge_reports", reports), ("whereabouts", rows["whereabouts"])):
            counts[key] = counts.get(key, 0) + len(value)
        counts["study_items"] = item_id
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    counts["branches"] = len(branch_ids)
    return counts


async def _migrate(path: Path) -> None:
    db = await open_database(path)
    await migrate(db)
    await db.close()


def _timed(samples: list[float]) -> float:
    return statistics.median(samples)


async def _add_secretaries(db) -> int:
    """Give every unit a secretary with a chat (the planner needs recipients); return how many."""
    async with db.execute("SELECT id FROM units ORDER BY id") as cur:
        unit_ids = [row[0] for row in await cur.fetchall()]
    async with db.execute("SELECT coalesce(max(id), 0) FROM people") as cur:
        first = (await cur.fetchone())[0] + 1
    people = [(first + i, FIRST_TELEGRAM_ID * 10 + i, f"书记{i}", "zh", TZ, 0)
              for i in range(len(unit_ids))]
    await db.executemany(
        "INSERT INTO people (id, telegram_id, name, language, timezone, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", people)
    await db.executemany(
        "INSERT INTO roles (person_id, unit_id, role, appointed_at) VALUES (?, ?, 'secretary', 0)",
        [(first + i, unit_id) for i, unit_id in enumerate(unit_ids)])
    await db.commit()
    return len(unit_ids)


async def measure(path: Path, runs: int, chart_runs: int, planner: bool) -> dict[str, float]:
    """Time one branch's digest text and chart, the roll-ups and the weekly planner."""
    from handlers import digest as digest_handlers  # after sys.path is set

    settings = parse_settings({})
    db = await open_database(path)
    services = Services(settings=settings, clock=FakeClock(datetime.fromtimestamp(NOW, UTC)),
                        db=db)
    memo = line_memo(db)
    out: dict[str, float] = {}
    try:
        async with db.execute("SELECT id, key FROM units") as cur:
            ids = {key: unit_id for unit_id, key in await cur.fetchall()}
        branch = await repo.branch_context(db, ids["b0"], default_timezone=TZ)
        assert branch is not None
        period = previous_week(NOW, zone(branch.timezone))

        async def text() -> digest_handlers.Composed:
            return await digest_handlers.compose_branch(services, branch, period, "zh", now=NOW)

        composed = await text()  # warm-up (and a sanity check)
        assert "第0党支部" in composed.parts[0] and "应学 40 人次" in composed.parts[0]
        await composed.draw()  # the first chart loads matplotlib's fonts
        out["text"] = _timed([await _clock(text) for _ in range(runs)])
        out["chart"] = _timed([await _clock(composed.draw) for _ in range(chart_runs)])

        async def rollup(key: str, page: int = 0, *, cold: bool = True) -> None:
            if cold:
                memo.clear()  # every branch line computed again
            done = await digest_handlers.compose_unit(services, ids[key], period, "zh", NOW,
                                                      page=page)
            assert done is not None and "汇总周报" in done.parts[0]

        out["general"] = _timed([await _clock(lambda: rollup("g0")) for _ in range(3)])
        out["committee"] = _timed([await _clock(lambda: rollup("c0")) for _ in range(3)])
        # The next leader above (committee member, another page): lines reused.
        out["committee_warm"] = _timed(
            [await _clock(lambda: rollup("c0", 1, cold=False)) for _ in range(runs)])
        committees = [key for key in ids if key.startswith("c")]

        async def county() -> None:
            memo.clear()
            for key in committees:
                await rollup(key, cold=False)

        out["county"] = await _clock(county)
        if planner:
            await _add_secretaries(db)
            memo.clear()
            started = time.perf_counter()
            planned = await digest_handlers.plan_digests(services, services.clock.now())
            out["planner"] = time.perf_counter() - started
            out["planned"] = len(planned)
            out["photos"] = sum(1 for m in planned if m.photo is not None)
        return out
    finally:
        await db.close()


async def _clock(work) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Build each county, time the digests and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--chart-runs", type=int, default=7)
    parser.add_argument("--no-planner", action="store_true",
                        help="skip the weekly planner (every secretary's digest)")
    parser.add_argument("--keep", type=Path, help="build the databases here and keep them")
    parser.add_argument(
        "--existing", type=Path,
        help="time a county already built (bench/scale.py --keep DIR) alone, with peak RSS:"
        " e.g. the 1M county, whose build takes about 20 minutes",
    )
    args = parser.parse_args(argv)
    if args.existing is not None:
        result = asyncio.run(
            measure(args.existing, args.runs, args.chart_runs, not args.no_planner))
        print("  " + ", ".join(f"{k} {v:.3f}" for k, v in result.items()))
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
              " (this process: the timings above, planner included; nothing built)")
        return 0
    with tempfile.TemporaryDirectory(prefix="branchbot-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        for size in sorted(args.sizes):
            path = folder / f"county-{size}.sqlite3"
            path.unlink(missing_ok=True)
            started = time.perf_counter()
            counts = build_county(path, size)
            built = time.perf_counter() - started
            rows = sum(v for k, v in counts.items() if k not in ("branches",))
            print(f"built {size:>7} members: {counts['branches']} branches, {rows:,} rows,"
                  f" {path.stat().st_size / 1e6:.0f} MB in {built:.1f} s", flush=True)
            result = asyncio.run(measure(path, args.runs, args.chart_runs, not args.no_planner))
            result["branches"] = counts["branches"]
            results.append((size, result))
            print("  " + ", ".join(f"{k} {v:.3f}" for k, v in result.items()), flush=True)
    (small, a), (large, b) = results[0], results[-1]
    rows = [
        ("branch b0 digest text", "text", "ms"),
        ("branch b0 chart (on 📈)", "chart", "ms"),
        ("roll-up: general branch g0", "general", "ms"),
        ("roll-up: committee c0", "committee", "ms"),
        ("  same, next leader/page", "committee_warm", "ms"),
        ("roll-up: every committee", "county", "s"),
    ]
    if "planner" in a:
        rows.append(("weekly digest planner", "planner", "s"))
    print()
    print(f"{'':32} {small:>12,} {large:>12,} {'ratio':>7}")
    for label, key, unit in rows:
        scale = 1000 if unit == "ms" else 1
        print(f"{label:32} {a[key] * scale:>9.1f} {unit:<2} {b[key] * scale:>9.1f} {unit:<2}"
              f" {b[key] / a[key]:>7.2f}")
    one_a, one_b = a["text"] + a["chart"], b["text"] + b["chart"]
    print(f"\none branch's digest (text and chart) {large:,} / {small:,} members:"
          f" {one_b / one_a:.2f} (goal <= 1.3; BASELINE the {small:,} county, same run)")
    if "planner" in b:
        print(f"weekly planner at {large:,}: {int(b['planned']):,} outbox rows for"
              f" {b['branches']:,} branches, {int(b['photos'])} charts drawn or stored"
              " (charts come on 📈)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
