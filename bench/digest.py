"""Digest benchmark: one 40-member branch's digest in a small and in a large county.

    python bench/digest.py [--sizes 1000 100000] [--runs 30] [--keep DIR]

Builds, with the real migrations, a county database per size: branches of 40
members (10 to a general branch, 10 general branches to a committee), a year
of history (a weekly study item per branch with ~80% studied, ~10% excused;
two approved pledges a year with monthly reports; a monthly whereabouts
answer from every mobile member).  Rows go in with executemany inside one
transaction.  The first branch is seeded identically in every size.

Then it times the digest of that same branch (the repository's reads, the
rules and the rendered summary: what the planner does per secretary), as the
median of RUNS after a warm-up.  The BASELINE is the smallest county, measured
in the same run; the ratio of each size's time to it should stay <= 1.3,
because every digest query is bounded by its branch, not the county.  Also
printed: the whole county's digests one after another and the peak RSS.
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

from bot.config import parse_settings  # noqa: E402
from bot.digest_render import render_summary  # noqa: E402
from bot.domain.digest import build_digest, previous_week  # noqa: E402
from bot.domain.localtime import zone  # noqa: E402
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


async def time_digests(path: Path, runs: int) -> tuple[float, float, int]:
    """Return (median seconds of branch b0's digest, seconds for every branch's, branches)."""
    settings = parse_settings({})
    db = await open_database(path)
    try:
        async with db.execute("SELECT id FROM units WHERE level = 'branch' ORDER BY id") as cur:
            branch_ids = [row[0] for row in await cur.fetchall()]

        async def one(branch_id: int) -> str:
            branch = await repo.branch_context(db, branch_id, default_timezone=TZ)
            assert branch is not None
            period = previous_week(NOW, zone(branch.timezone))
            week = await repo.load_branch_week(db, branch, period, now=NOW, settings=settings)
            return render_summary("zh", build_digest(week, settings.whereabouts))

        target = branch_ids[0]
        text = await one(target)  # warm-up (and a sanity check)
        assert "第0党支部" in text and "应学 40 人次" in text, text
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            await one(target)
            samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        for branch_id in branch_ids:
            await one(branch_id)
        county = time.perf_counter() - started
        return statistics.median(samples), county, len(branch_ids)
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    """Build each county, time the digests and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="build the databases here and keep them")
    args = parser.parse_args(argv)
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
            median, county, branches = asyncio.run(time_digests(path, args.runs))
            results.append((size, median, county, branches))
    base = results[0][1]
    print()
    print(f"{'members':>8} {'branch b0 digest':>17} {'ratio':>6} {'whole county':>13}"
          f" {'per branch':>11}")
    for size, median, county, branches in results:
        label = "BASELINE" if size == results[0][0] else ""
        print(f"{size:>8} {median * 1000:>14.2f} ms {median / base:>6.2f} {county:>11.2f} s"
              f" {county / branches * 1000:>8.2f} ms  {label}")
    ratio = results[-1][1] / base
    print(f"\nratio {results[-1][0]:,} / {results[0][0]:,} members: {ratio:.2f} (goal <= 1.3)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
