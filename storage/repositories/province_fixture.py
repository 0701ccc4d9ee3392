"""Bench-only writes: a simulated province for bench/scale_out.py, built set-based.

    counts = await build_province(db, shape, now=NOW)   # {table: rows}
    url = await fresh_postgres_database(server_url, "bench_scale_out")

One builder for both engines, so the SQLite baseline (one county) and the
PostgreSQL province hold the same rows per member.  Every table is filled by
INSERT … SELECT over a temporary table of integers (no row goes through
Python: 2,000,000 members would take minutes as parameter sets), and the
"random" choices are fixed hashes of the ids, portable between the engines.

The tree: a province committee, cities, counties (each its own bot:
people.bot = 'county<k>'), township committees, general branches of 10
branches, branches of 40 members.  History as bench/digest.py's builder
makes it, with the depth a parameter: a weekly study item per branch
(~80 % studied, ~10 % excused), approved pledges of this year with monthly
reports (~90 %), a monthly whereabouts answer from most mobile members.

On PostgreSQL no trigger fires during the load (a plpgsql call and two
foreign-key checks per row cost more than the rows) and what they would have left is written
directly: every member's schedule rows due at 0 and a study-gap mark per
branch.  On SQLite the triggers fire as usual (a county is small).

Kept in storage/ so the benchmark holds no SQL; nothing in the bot calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from storage.dialect import resync_identities, translate

__all__ = [
    "ProvinceShape",
    "add_county_study_item",
    "add_secretaries",
    "assign_outbox_bot",
    "branches_under",
    "build_province",
    "county_unit_by_key",
    "drop_postgres_database",
    "due_outbox_chats",
    "fresh_postgres_database",
    "hold_back_outbox",
    "max_outbox_id",
    "open_outbox_rows",
    "outbox_for_members",
]

TZ = "Asia/Shanghai"
DAY = 86400
BRANCH_SIZE = 40
PER_GENERAL = 10
PER_TOWNSHIP = 10
FIRST_TELEGRAM_ID = 10_000_000
_SCHEDULE_KINDS = ("pledges", "whereabouts", "contact_ladder")


@dataclass(frozen=True)
class ProvinceShape:
    """How many members, counties and cities, and how many weeks of study history."""

    members: int
    counties: int
    cities: int
    weeks: int = 13
    pledge_months: int = 8

    @property
    def branches_per_county(self) -> int:
        return max(1, self.members // self.counties // BRANCH_SIZE)

    @property
    def generals_per_county(self) -> int:
        return -(-self.branches_per_county // PER_GENERAL)

    @property
    def townships_per_county(self) -> int:
        return -(-self.generals_per_county // PER_TOWNSHIP)

    @property
    def branches(self) -> int:
        return self.branches_per_county * self.counties

    @property
    def member_count(self) -> int:
        return self.branches * BRANCH_SIZE


def _is_pg(db: Any) -> bool:
    return getattr(db, "engine", "sqlite") == "postgresql"


async def _run(db: Any, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run one set-based statement without fetching anything back.

    PgDatabase.execute would add `RETURNING id` to an INSERT into a table with
    an identity and fetch two million ids; the raw connection does not.
    """
    if _is_pg(db):
        for statement in translate(sql):
            await db._conn.execute(statement, *params)
    else:
        await db.execute(sql, params)


async def _scalar(db: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    async with db.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


def _hash(*columns: str) -> str:
    """A portable pseudo-random 0..99 from integer columns (multipliers coprime to 100)."""
    terms = " + ".join(f"{c} * {m}" for c, m in zip(columns, (7919, 104729, 1299709),
                                                   strict=False))
    return f"(({terms}) % 100)"


async def build_province(db: Any, shape: ProvinceShape, *, now: int) -> dict[str, int]:
    """Fill an empty, migrated database with the province; return rows per table."""
    pg = _is_pg(db)
    k, c = shape.counties, shape.cities
    bc, gc, tc = shape.branches_per_county, shape.generals_per_county, shape.townships_per_county
    base_county = 1 + c  # province 1, cities 2..1+c, counties after them
    base_town = base_county + k
    base_general = base_town + k * tc
    base_branch = base_general + k * gc
    tables = ("units", "people", "members", "study_items", "study_answers", "pledges",
              "pledge_reports", "whereabouts_log", "member_schedule", "study_target_gaps",
              "roles")
    if pg:
        await db._conn.execute("SET synchronous_commit = off")
        # No trigger fires meanwhile, foreign-key checks included (the ids are
        # arithmetic, consistent by construction): a check per row was most of
        # the load's time.  Needs a superuser, as the bench's own server has.
        await db._conn.execute("SET session_replication_role = replica")
    await _run(db, "DROP TABLE IF EXISTS bench_seq")
    await _run(db, "CREATE TEMP TABLE bench_seq (n INTEGER PRIMARY KEY)")
    top = max(shape.member_count, base_branch + shape.branches, 64)
    await _run(
        db,
        "INSERT INTO bench_seq (n) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL"
        " SELECT n + 1 FROM s WHERE n < ?) SELECT n FROM s",
        (top,),
    )
    # Units, level by level: each id is arithmetic on its index.
    unit = ("INSERT INTO units (id, key, parent_id, level, name, kind, timezone, created_at,"
            " updated_at) ")
    await _run(db, unit + "VALUES (1, 'p', NULL, 'committee', '省委', 'township', ?, 0, 0)",
               (TZ,))
    await _run(db, unit + "SELECT 1 + n, 'city' || CAST(n - 1 AS TEXT), 1, 'committee',"
               " '第' || CAST(n - 1 AS TEXT) || '市委', 'township', NULL, 0, 0"
               " FROM bench_seq WHERE n <= ?", (c,))
    await _run(db, unit + "SELECT ? + n, 'k' || CAST(n - 1 AS TEXT), 2 + (n - 1) * ? / ?,"
               " 'committee', '第' || CAST(n - 1 AS TEXT) || '县委', 'township', ?, 0, 0"
               " FROM bench_seq WHERE n <= ?", (base_county, c, k, TZ, k))
    await _run(db, unit + "SELECT ? + n, 'k' || CAST((n - 1) / ? AS TEXT) || 't'"
               " || CAST((n - 1) % ? AS TEXT), ? + 1 + (n - 1) / ?, 'committee',"
               " '第' || CAST(n - 1 AS TEXT) || '乡党委', 'township', NULL, 0, 0"
               " FROM bench_seq WHERE n <= ?",
               (base_town, tc, tc, base_county, tc, k * tc))
    # General g (0-based, global) of county g / gc hangs under township (g % gc) / 10.
    await _run(db, unit + "SELECT ? + n, 'g' || CAST(n - 1 AS TEXT),"
               " ? + 1 + ((n - 1) / ?) * ? + ((n - 1) % ?) / ?, 'general_branch',"
               " '第' || CAST(n - 1 AS TEXT) || '村党总支部', 'village', NULL, 0, 0"
               " FROM bench_seq WHERE n <= ?",
               (base_general, base_town, gc, tc, gc, PER_TOWNSHIP, k * gc))
    await _run(db, unit + "SELECT ? + n, 'b' || CAST(n - 1 AS TEXT),"
               " ? + 1 + ((n - 1) / ?) * ? + ((n - 1) % ?) / ?, 'branch',"
               " '第' || CAST(n - 1 AS TEXT) || '党支部', 'village', NULL, 0, 0"
               " FROM bench_seq WHERE n <= ?",
               (base_branch, base_general, bc, gc, bc, PER_GENERAL, shape.branches))
    # People and members: member n is in global branch (n - 1) / 40, county branch / bc.
    await _run(
        db,
        "INSERT INTO people (id, telegram_id, name, language, timezone, is_reachable,"
        " last_contact_at, created_at, bot)"
        " SELECT n, ? + n, '党员' || CAST(n AS TEXT), 'zh', ?,"
        f" CASE WHEN {_hash('n')} < 3 THEN 0 ELSE 1 END,"
        f" ? - (CASE {_hash('n', 'n')} % 6 WHEN 0 THEN 1 WHEN 1 THEN 3 WHEN 2 THEN 10"
        " WHEN 3 THEN 40 WHEN 4 THEN 100 ELSE 200 END) * ?,"
        " ? - (400 + n % 500) * ?, 'county' || CAST((n - 1) / ? / ? AS TEXT)"
        " FROM bench_seq WHERE n <= ?",
        (FIRST_TELEGRAM_ID, TZ, now, DAY, now, DAY, BRANCH_SIZE, bc, shape.member_count),
    )
    await _run(
        db,
        "INSERT INTO members (id, person_id, branch_id, category, status, requested_at,"
        " decided_at)"
        " SELECT n, n, ? + 1 + (n - 1) / ?,"
        f" CASE WHEN {_hash('n', '3')} < 70 THEN 'regular'"
        f" WHEN {_hash('n', '3')} < 85 THEN 'mobile' ELSE 'elderly' END,"
        " 'active', ? - (400 + n % 500) * ?, ? - (400 + n % 500) * ?"
        " FROM bench_seq WHERE n <= ?",
        (base_branch, BRANCH_SIZE, now, DAY, now, DAY, shape.member_count),
    )
    # A weekly study item per branch: item id = branch index * weeks + week.
    monday = datetime.fromtimestamp(now, UTC).date()
    monday -= timedelta(days=monday.weekday())
    await _run(db, "DROP TABLE IF EXISTS bench_weeks")
    await _run(db, "CREATE TEMP TABLE bench_weeks (w INTEGER PRIMARY KEY, due TEXT,"
               " created INTEGER)")
    for week in range(1, shape.weeks + 1):
        due: date = monday - timedelta(days=7 * week - 6)  # the Sunday of that week
        await _run(db, "INSERT INTO bench_weeks (w, due, created) VALUES (?, ?, ?)",
                   (week, due.isoformat(), now - (7 * week + 6) * DAY))
    await _run(
        db,
        "INSERT INTO study_items (id, batch_id, branch_id, kind, title, body, due_date,"
        " remind_at, created_at, updated_at)"
        " SELECT (u.id - ? - 1) * ? + w.w, (u.id - ? - 1) * ? + w.w, u.id, 'item',"
        " '第' || CAST(? - w.w + 1 AS TEXT) || '周学习', '', w.due, '19:30',"
        " w.created, w.created"
        " FROM units u CROSS JOIN bench_weeks w WHERE u.level = 'branch'",
        (base_branch, shape.weeks, base_branch, shape.weeks, shape.weeks),
    )
    await _run(
        db,
        "INSERT INTO study_answers (item_id, member_id, status, reason, answered_at)"
        f" SELECT i.id, m.id, CASE WHEN {_hash('i.id', 'm.id')} < 80 THEN 'done'"
        " ELSE 'excused' END,"
        f" CASE WHEN {_hash('i.id', 'm.id')} < 80 THEN NULL ELSE 'working' END,"
        " i.created_at + 6 * ?"
        " FROM study_items i JOIN members m ON m.branch_id = i.branch_id"
        f" WHERE {_hash('i.id', 'm.id')} < 90",
        (DAY,),
    )
    year = monday.year
    pledged = int(datetime(year, 1, 20, tzinfo=UTC).timestamp())
    await _run(
        db,
        "INSERT INTO pledges (id, member_id, year, text, status, created_at, updated_at,"
        " decided_at) SELECT id, id, ?, '带动群众增收', 'approved', ?, ?, ? FROM members",
        (year, pledged, pledged, pledged),
    )
    await _run(
        db,
        "INSERT INTO pledge_reports (pledge_id, month, status, reported_at)"
        " SELECT p.id, ? + s.n,"
        f" CASE {_hash('p.id', 's.n')} % 3 WHEN 0 THEN 'done' WHEN 1 THEN 'ongoing'"
        " ELSE 'not_started' END, ? - (1 + (p.id + s.n) % 200) * ?"
        " FROM pledges p JOIN bench_seq s ON s.n <= ?"
        f" WHERE {_hash('p.id', 's.n', '5')} < 90",
        (year * 100, now, DAY, min(shape.pledge_months, 12)),
    )
    await _run(
        db,
        "INSERT INTO whereabouts_log (member_id, at, kind, place)"
        " SELECT m.id, ? - ((s.n - 1) * 30 + 5) * ?, 'confirmed',"
        " CASE (m.id + s.n) % 4 WHEN 0 THEN '深圳' WHEN 1 THEN '东莞' WHEN 2 THEN '广州'"
        " ELSE '厦门' END"
        " FROM members m JOIN bench_seq s ON s.n <= 12"
        f" WHERE m.category = 'mobile' AND {_hash('m.id', 's.n', '7')} < 80",
        (now, DAY),
    )
    # What the row triggers leave on SQLite, written once (ignored where they did).
    for kind in _SCHEDULE_KINDS:
        await _run(db, "INSERT OR IGNORE INTO member_schedule (member_id, kind, next_due_at)"
                   " SELECT id, ?, 0 FROM members", (kind,))
    await _run(db, "INSERT INTO study_target_gaps (branch_id) SELECT id FROM units"
               " WHERE level = 'branch'")
    if pg:
        await db._conn.execute("SET session_replication_role = DEFAULT")
        await resync_identities(db)
    await _run(db, "DROP TABLE bench_seq")
    await _run(db, "DROP TABLE bench_weeks")
    await db.commit()
    await _run(db, "ANALYZE")
    counts = {}
    for table in tables:
        counts[table] = int(await _scalar(db, f"SELECT count(*) FROM {table}"))
    return counts


async def county_unit_by_key(db: Any, key: str) -> int:
    """Return the id of the unit with `key` (p, city0, k0, …)."""
    return int(await _scalar(db, "SELECT id FROM units WHERE key = ?", (key,)))


async def branches_under(db: Any, unit_id: int) -> int:
    """Return how many branches the subtree of `unit_id` holds."""
    return int(await _scalar(
        db,
        "WITH RECURSIVE tree(id) AS (SELECT ? UNION ALL"
        " SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id)"
        " SELECT count(*) FROM units WHERE level = 'branch' AND id IN (SELECT id FROM tree)",
        (unit_id,),
    ))


async def assign_outbox_bot(db: Any, *, after_id: int, bot: str) -> None:
    """Send the rows after `after_id` through bot `bot` ('' = the default token)."""
    await _run(db, "UPDATE outbox SET bot = ? WHERE id > ?", (bot, after_id))
    await db.commit()


async def add_county_study_item(db: Any, *, county: int, now: int, tag: str) -> int:
    """Publish a study item, due today with its reminder at now, to every branch of a county.

    Returns how many branches got it (one batch, as /study publish to a committee).
    """
    day = datetime.fromtimestamp(now, UTC).date().isoformat()
    hhmm = datetime.fromtimestamp(now, UTC).strftime("%H:%M")
    before = int(await _scalar(db, "SELECT count(*) FROM study_items"))
    await _run(
        db,
        "INSERT INTO study_items (branch_id, kind, title, body, due_date, remind_at,"
        " created_at, updated_at)"
        " SELECT b.id, 'item', ?, '', ?, ?, ?, ?"
        " FROM units b JOIN units g ON g.id = b.parent_id JOIN units t ON t.id = g.parent_id"
        " JOIN units k ON k.id = t.parent_id WHERE b.level = 'branch' AND k.key = ?",
        (f"bench {tag}", day, hhmm, now, now, f"k{county}"),
    )
    await db.commit()
    return int(await _scalar(db, "SELECT count(*) FROM study_items")) - before


async def max_outbox_id(db: Any) -> int:
    """Return the highest outbox id so far (rows after it are the next part's)."""
    return int(await _scalar(db, "SELECT coalesce(max(id), 0) FROM outbox"))


async def hold_back_outbox(db: Any, *, after_id: int, keep: int, until: int) -> int:
    """Leave the first `keep` pending rows after `after_id` due; move every other to `until`.

    Returns how many stay due.  The bench delivers a slice of one fan-out,
    not the backlog earlier parts queued.
    """
    await _run(
        db,
        "UPDATE outbox SET due_at = ? WHERE status = 'pending' AND id NOT IN"
        " (SELECT id FROM outbox WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?)",
        (until, after_id, keep),
    )
    await db.commit()
    return await open_outbox_rows(db, after_id=after_id, before=until)


async def due_outbox_chats(db: Any, *, before: int) -> list[int]:
    """Return the chat ids of pending rows due before `before` (the emulator's users)."""
    async with db.execute(
        "SELECT DISTINCT chat_id FROM outbox WHERE status = 'pending' AND due_at < ?", (before,)
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def open_outbox_rows(db: Any, *, after_id: int = 0, before: int | None = None) -> int:
    """Return how many rows after `after_id` are pending or being sent (due before, if given)."""
    sql = "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND id > ?"
    params: tuple[Any, ...] = (after_id,)
    if before is not None:
        sql += " AND due_at < ?"
        params = (after_id, before)
    return int(await _scalar(db, sql, params))


async def outbox_for_members(db: Any, *, county: int, count: int) -> list[tuple[int, int]]:
    """Return (person id, telegram id) of the first `count` members of a county."""
    async with db.execute(
        "SELECT p.id, p.telegram_id FROM people p WHERE p.bot = ? AND p.telegram_id IS NOT NULL"
        " ORDER BY p.id LIMIT ?", (f"county{county}", count)
    ) as cursor:
        return [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]


async def add_secretaries(db: Any, *, under: int) -> int:
    """Give every unit in the subtree of `under` a secretary with a chat; return how many.

    On PostgreSQL the roles triggers are off meanwhile: each would mark every
    member's schedule due (harmless here, but a full-table update per role).
    """
    pg = _is_pg(db)
    async with db.execute(
        "WITH RECURSIVE tree(id) AS (SELECT ? UNION ALL"
        " SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id) SELECT id FROM tree",
        (under,),
    ) as cursor:
        unit_ids = [int(row[0]) for row in await cursor.fetchall()]
    first = int(await _scalar(db, "SELECT coalesce(max(id), 0) FROM people")) + 1
    await _run(db, "DROP TABLE IF EXISTS bench_units")
    await _run(db, "CREATE TEMP TABLE bench_units (n INTEGER PRIMARY KEY, unit_id INTEGER)")
    if pg:
        await db._conn.copy_records_to_table(
            "bench_units", records=list(enumerate(unit_ids)), columns=["n", "unit_id"])
        await db._conn.execute('ALTER TABLE "roles" DISABLE TRIGGER USER')
    else:
        await db.executemany("INSERT INTO bench_units (n, unit_id) VALUES (?, ?)",
                             list(enumerate(unit_ids)))
    await _run(db, "INSERT INTO people (id, telegram_id, name, language, timezone, created_at)"
               " SELECT ? + n, ? + n, '书记' || CAST(n AS TEXT), 'zh', ?, 0 FROM bench_units",
               (first, FIRST_TELEGRAM_ID * 10, TZ))
    await _run(db, "INSERT INTO roles (person_id, unit_id, role, appointed_at)"
               " SELECT ? + n, unit_id, 'secretary', 0 FROM bench_units", (first,))
    if pg:
        await db._conn.execute('ALTER TABLE "roles" ENABLE TRIGGER USER')
        await resync_identities(db)
    await _run(db, "DROP TABLE bench_units")
    await db.commit()
    return len(unit_ids)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def fresh_postgres_database(server_url: str, name: str) -> str:
    """(Re)create an empty database `name` on the server; return its URL."""
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(server_url, name)


def database_url(server_url: str, name: str) -> str:
    """Return the URL of database `name` on the server (for a province built before)."""
    return _with_database(server_url, name)


async def row_counts(url: str) -> dict[str, int]:
    """Return the rows of the province's main tables (what a build reports)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return {
            table: int(await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"'))
            for table in ("units", "people", "members", "study_items", "pledges",
                          "member_schedule")
        }
    finally:
        await conn.close()


async def drop_postgres_database(server_url: str, name: str) -> None:
    """Drop the bench's database again."""
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
