"""Study items, study days, reminder progress and answers.

    items = await create_items(db, branch_ids=[7, 8], title="…", body="…",
                               due_date="2026-03-08", remind_at={7: "19:30", 8: "20:00"},
                               created_by=5, now=now)
    await add_missing_targets(db, min_due="2026-03-01")
    rows = await due_targets(db, now)                   # what the planner looks at
    inserted = await record_answer(db, item_id, member_id, status="done", entered_by=5, now=now)

The planner reads only rows whose next message is due (index on state and
next_at) plus members it has not scheduled yet, so a tick costs a few indexed
queries however large the county.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.domain.study import NextKind, Progress

__all__ = [
    "AnswerRecord",
    "CheckinCandidate",
    "ItemCounts",
    "StudyDayRow",
    "StudyItem",
    "TargetRow",
    "add_missing_targets",
    "answers_for",
    "batch_items",
    "clear_study_day",
    "create_items",
    "due_keys_query_plans",
    "due_targets",
    "elderly_members",
    "ensure_weekly_items",
    "get_answer",
    "get_item",
    "get_study_day",
    "item_counts",
    "list_items",
    "list_study_days",
    "open_items",
    "outbox_due_at",
    "paired_members",
    "record_answer",
    "reopen_for_member",
    "save_progress",
    "set_note",
    "set_study_day",
    "snooze_target",
    "study_days_fingerprint",
    "target_members",
    "unanswered_members",
    "update_items",
    "withdraw_items",
    "withdraw_weekly_after",
]

_ITEM_COLUMNS = (
    "id, batch_id, branch_id, kind, title, body, due_date, occurrence_date, remind_at,"
    " created_by, created_at, withdrawn_at"
)


@dataclass(frozen=True, slots=True)
class StudyItem:
    """One branch's study item (published, or a study day's weekly occurrence)."""

    id: int
    batch_id: int | None
    branch_id: int
    kind: str
    title: str | None
    body: str | None
    due_date: str
    occurrence_date: str | None
    remind_at: str
    created_by: int | None
    created_at: int
    withdrawn_at: int | None

    @property
    def is_withdrawn(self) -> bool:
        """Tell whether the secretary withdrew the item."""
        return self.withdrawn_at is not None

    @property
    def batch(self) -> int:
        """Return the id shared by the items published together."""
        return self.batch_id or self.id


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """An item with how many answered, were excused and have not answered."""

    item: StudyItem
    done: int
    excused: int
    missing: int


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """A member's answer to an item, and who entered it."""

    item_id: int
    member_id: int
    status: str
    reason: str | None
    note: str | None
    entered_by: int | None
    on_behalf: bool
    late: bool
    answered_at: int
    name: str | None = None
    entered_by_name: str | None = None


@dataclass(frozen=True, slots=True)
class StudyDayRow:
    """A branch's recurring study day."""

    branch_id: int
    weekday: int
    remind_at: str
    starts_on: str
    set_at: int


@dataclass(frozen=True, slots=True)
class TargetRow:
    """What the planner needs about one member and one item."""

    item: StudyItem
    member_id: int
    person_id: int
    category: str
    member_status: str
    away_until: str | None
    telegram_id: int | None
    language: str | None
    timezone: str | None
    answered: bool
    progress: Progress


@dataclass(frozen=True, slots=True)
class CheckinCandidate:
    """A member someone may check in for: membership, name and pairing."""

    member_id: int
    person_id: int
    branch_id: int
    name: str | None
    category: str
    paired_with: int | None


def _item(row: Any, prefix: str = "") -> StudyItem:
    return StudyItem(
        id=row[f"{prefix}id"],
        batch_id=row[f"{prefix}batch_id"],
        branch_id=row[f"{prefix}branch_id"],
        kind=row[f"{prefix}kind"],
        title=row[f"{prefix}title"],
        body=row[f"{prefix}body"],
        due_date=row[f"{prefix}due_date"],
        occurrence_date=row[f"{prefix}occurrence_date"],
        remind_at=row[f"{prefix}remind_at"],
        created_by=row[f"{prefix}created_by"],
        created_at=row[f"{prefix}created_at"],
        withdrawn_at=row[f"{prefix}withdrawn_at"],
    )


def _ts(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _unix(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


# ---------------------------------------------------------------- items


async def create_items(
    db: aiosqlite.Connection,
    *,
    branch_ids: Sequence[int],
    title: str,
    body: str,
    due_date: str,
    remind_at: dict[int, str],
    created_by: int | None,
    now: int,
) -> list[StudyItem]:
    """Publish one item per branch, all sharing the first item's id as batch id."""
    created: list[int] = []
    for branch_id in branch_ids:
        cursor = await db.execute(
            "INSERT INTO study_items (batch_id, branch_id, kind, title, body, due_date,"
            " remind_at, created_by, created_at, updated_at)"
            " VALUES (?, ?, 'item', ?, ?, ?, ?, ?, ?, ?)",
            (
                created[0] if created else None, branch_id, title, body, due_date,
                remind_at[branch_id], created_by, now, now,
            ),
        )
        assert cursor.lastrowid is not None
        created.append(cursor.lastrowid)
    if created:
        await db.execute("UPDATE study_items SET batch_id = ? WHERE id = ?", (created[0],) * 2)
    return [item for item_id in created if (item := await get_item(db, item_id))]


async def get_item(db: aiosqlite.Connection, item_id: int) -> StudyItem | None:
    """Return the item with this id, or None."""
    async with db.execute(f"SELECT {_ITEM_COLUMNS} FROM study_items WHERE id = ?", (item_id,)) as c:
        row = await c.fetchone()
    return None if row is None else _item(row)


async def batch_items(db: aiosqlite.Connection, batch_id: int) -> list[StudyItem]:
    """Return the items published together with `batch_id`, in id order."""
    async with db.execute(
        f"SELECT {_ITEM_COLUMNS} FROM study_items WHERE batch_id = ? OR id = ? ORDER BY id",
        (batch_id, batch_id),
    ) as cur:
        return [_item(row) for row in await cur.fetchall()]


async def update_items(
    db: aiosqlite.Connection,
    item_ids: Sequence[int],
    *,
    now: int,
    title: str | None = None,
    body: str | None = None,
    due_date: str | None = None,
) -> None:
    """Change the title, text or due date of items (None leaves a field as it is)."""
    await db.execute(
        "UPDATE study_items SET title = COALESCE(?, title), body = COALESCE(?, body),"
        f" due_date = COALESCE(?, due_date), updated_at = ? WHERE id IN ({_marks(item_ids)})",
        (title, body, due_date, now, *item_ids),
    )


async def withdraw_items(
    db: aiosqlite.Connection, item_ids: Sequence[int], *, by: int | None, now: int
) -> list[int]:
    """Withdraw items and close their schedules; return the member ids that had one."""
    marks = _marks(item_ids)
    await db.execute(
        f"UPDATE study_items SET withdrawn_at = ?, withdrawn_by = ?, updated_at = ?"
        f" WHERE id IN ({marks}) AND withdrawn_at IS NULL",
        (now, by, now, *item_ids),
    )
    async with db.execute(
        f"SELECT item_id, member_id FROM study_targets WHERE item_id IN ({marks})"
        " AND state != 'closed'",
        tuple(item_ids),
    ) as cur:
        open_targets = [(row[0], row[1]) for row in await cur.fetchall()]
    await db.execute(
        f"UPDATE study_targets SET state = 'closed', next_at = NULL WHERE item_id IN ({marks})",
        tuple(item_ids),
    )
    return [member_id for _, member_id in open_targets]


async def open_items(
    db: aiosqlite.Connection, branch_ids: Sequence[int], *, min_due: str
) -> list[StudyItem]:
    """Return the branches' items not withdrawn and due on or after `min_due`, newest first."""
    if not branch_ids:
        return []
    async with db.execute(
        f"SELECT {_ITEM_COLUMNS} FROM study_items WHERE branch_id IN ({_marks(branch_ids)})"
        " AND withdrawn_at IS NULL AND due_date >= ? ORDER BY due_date DESC, id DESC",
        (*branch_ids, min_due),
    ) as cur:
        return [_item(row) for row in await cur.fetchall()]


async def item_counts(db: aiosqlite.Connection, item_ids: Sequence[int]) -> dict[int, ItemCounts]:
    """Return answered / excused / not-answered counts of items (active members only)."""
    if not item_ids:
        return {}
    sql = (
        f"SELECT {', '.join('i.' + c.strip() for c in _ITEM_COLUMNS.split(','))},"
        " (SELECT COUNT(*) FROM study_answers a WHERE a.item_id = i.id AND a.status = 'done')"
        "   AS done,"
        " (SELECT COUNT(*) FROM study_answers a WHERE a.item_id = i.id AND a.status = 'excused')"
        "   AS excused,"
        " (SELECT COUNT(*) FROM members m WHERE m.branch_id = i.branch_id"
        "   AND m.status = 'active' AND NOT EXISTS (SELECT 1 FROM study_answers a"
        "   WHERE a.item_id = i.id AND a.member_id = m.id)) AS missing"
        f" FROM study_items i WHERE i.id IN ({_marks(item_ids)})"
    )
    async with db.execute(sql, tuple(item_ids)) as cur:
        rows = await cur.fetchall()
    return {
        row["id"]: ItemCounts(_item(row), row["done"], row["excused"], row["missing"])
        for row in rows
    }


async def list_items(
    db: aiosqlite.Connection, branch_ids: Sequence[int], *, min_due: str, limit: int = 10
) -> list[list[ItemCounts]]:
    """Return the latest batches of the branches (withdrawn ones too), each with its counts."""
    if not branch_ids:
        return []
    async with db.execute(
        "SELECT COALESCE(batch_id, id) AS batch, MAX(id) AS newest FROM study_items"
        f" WHERE branch_id IN ({_marks(branch_ids)}) AND due_date >= ?"
        " GROUP BY batch ORDER BY newest DESC LIMIT ?",
        (*branch_ids, min_due, limit),
    ) as cur:
        batches = [row[0] for row in await cur.fetchall()]
    result: list[list[ItemCounts]] = []
    for batch in batches:
        items = [i for i in await batch_items(db, batch) if i.branch_id in set(branch_ids)]
        counts = await item_counts(db, [item.id for item in items])
        result.append([counts[item.id] for item in items])
    return result


# ---------------------------------------------------------------- study days


async def get_study_day(db: aiosqlite.Connection, branch_id: int) -> StudyDayRow | None:
    """Return the branch's study day, or None."""
    async with db.execute(
        "SELECT branch_id, weekday, remind_at, starts_on, set_at FROM study_days"
        " WHERE branch_id = ?",
        (branch_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else StudyDayRow(*row)


async def list_study_days(db: aiosqlite.Connection) -> list[StudyDayRow]:
    """Return every branch's study day."""
    async with db.execute(
        "SELECT branch_id, weekday, remind_at, starts_on, set_at FROM study_days"
        " ORDER BY branch_id"
    ) as cur:
        return [StudyDayRow(*row) for row in await cur.fetchall()]


async def study_days_fingerprint(db: aiosqlite.Connection) -> tuple[int, int, int]:
    """Return what changes whenever a study day is set, replaced or stopped.

    (count, sum of set_at, sum of weekdays): the bot stamps a replacement
    strictly later than the one it replaces (rules.setting_stamp); an addition
    or a stop changes the count.
    """
    async with db.execute(
        "SELECT COUNT(*), COALESCE(SUM(set_at), 0), COALESCE(SUM(weekday), 0) FROM study_days"
    ) as cur:
        count, stamps, weekdays = await cur.fetchone()
    return int(count), int(stamps), int(weekdays)


async def set_study_day(
    db: aiosqlite.Connection,
    *,
    branch_id: int,
    weekday: int,
    remind_at: str,
    starts_on: str,
    set_by: int | None,
    now: int,
) -> None:
    """Set (or replace) the branch's study day."""
    await db.execute(
        # An upsert both engines speak (PostgreSQL has no INSERT OR REPLACE).
        "INSERT INTO study_days (branch_id, weekday, remind_at, starts_on, set_by,"
        " set_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (branch_id) DO UPDATE SET"
        " weekday = excluded.weekday, remind_at = excluded.remind_at,"
        " starts_on = excluded.starts_on, set_by = excluded.set_by, set_at = excluded.set_at",
        (branch_id, weekday, remind_at, starts_on, set_by, now),
    )


async def clear_study_day(db: aiosqlite.Connection, branch_id: int) -> bool:
    """Stop the branch's study day; False if it had none."""
    cursor = await db.execute("DELETE FROM study_days WHERE branch_id = ?", (branch_id,))
    return cursor.rowcount == 1


async def withdraw_weekly_after(
    db: aiosqlite.Connection, branch_id: int, after: str, *, by: int | None, now: int
) -> list[tuple[int, list[int]]]:
    """Withdraw the branch's weekly occurrences dated after `after`; return (item, members)."""
    async with db.execute(
        "SELECT id FROM study_items WHERE branch_id = ? AND kind = 'weekly'"
        " AND occurrence_date > ? AND withdrawn_at IS NULL",
        (branch_id, after),
    ) as cur:
        item_ids = [row[0] for row in await cur.fetchall()]
    return [(item_id, await withdraw_items(db, [item_id], by=by, now=now)) for item_id in item_ids]


async def ensure_weekly_items(
    db: aiosqlite.Connection, occurrences: Iterable[tuple[int, str, str, str, int]], *, now: int
) -> int:
    """Create missing weekly occurrences (branch, date, due date, HH:MM, day set_at)."""
    # The cursor's count, not total_changes: that also counts migration 0019's
    # trigger marking the branch for the study planner.
    cursor = await db.executemany(
        "INSERT OR IGNORE INTO study_items (branch_id, kind, due_date, occurrence_date,"
        " remind_at, day_set_at, created_at, updated_at) VALUES (?, 'weekly', ?, ?, ?, ?, ?, ?)",
        [(branch, due, day, at, set_at, now, now) for branch, day, due, at, set_at in occurrences],
    )
    return cursor.rowcount


# ---------------------------------------------------------------- planner


_MISSING_TARGETS_SQL = (
    "INSERT OR IGNORE INTO study_targets (item_id, member_id)"
    " SELECT i.id, m.id FROM study_items i"
    " JOIN members m ON m.branch_id = i.branch_id AND m.status = 'active'"
    " WHERE i.withdrawn_at IS NULL AND i.due_date >= ?"
    " AND i.branch_id IN (SELECT branch_id FROM study_target_gaps WHERE id <= ?)"
)


async def add_missing_targets(db: aiosqlite.Connection, *, min_due: str) -> int:
    """Give every active member of an open item's branch a schedule row; return how many new.

    Only branches marked since the last call are read (migration 0019's
    triggers mark a branch when an item or a member arrives there), so an
    idle tick reads one empty table instead of every open item × member.
    """
    async with db.execute("SELECT MAX(id) FROM study_target_gaps") as cur:
        last = (await cur.fetchone())[0]
    if last is None:
        return 0
    cursor = await db.execute(_MISSING_TARGETS_SQL, (min_due, last))
    added = cursor.rowcount
    # Marks made meanwhile (after `last`) stay for the next call.
    await db.execute("DELETE FROM study_target_gaps WHERE id <= ?", (last,))
    return added


async def missing_targets_query_plan(db: aiosqlite.Connection) -> list[str]:
    """Return SQLite's plan for add_missing_targets' insert (tests assert it stays indexed)."""
    async with db.execute(
        "EXPLAIN QUERY PLAN " + _MISSING_TARGETS_SQL, ("2026-01-01", 1)
    ) as cur:
        return [row[3] for row in await cur.fetchall()]


_TARGET_SQL = (
    "SELECT t.item_id, t.member_id, t.state, t.next_kind, t.next_seq, t.next_at, t.followups,"
    " i.id AS i_id, i.batch_id AS i_batch_id, i.branch_id AS i_branch_id, i.kind AS i_kind,"
    " i.title AS i_title, i.body AS i_body, i.due_date AS i_due_date,"
    " i.occurrence_date AS i_occurrence_date, i.remind_at AS i_remind_at,"
    " i.created_by AS i_created_by, i.created_at AS i_created_at,"
    " i.withdrawn_at AS i_withdrawn_at,"
    " m.person_id, m.category, m.status, m.away_until, p.telegram_id, p.language, p.timezone,"
    " EXISTS (SELECT 1 FROM study_answers a WHERE a.item_id = t.item_id"
    "   AND a.member_id = t.member_id) AS answered"
    " FROM study_targets t"
    " JOIN study_items i ON i.id = t.item_id"
    " JOIN members m ON m.id = t.member_id"
    " JOIN people p ON p.id = m.person_id"
)


# Keys per detail read: two placeholders each, well inside both engines' limits.
_KEYS_PER_READ = 500
# Rows not yet scheduled, then rows whose next message is due by a moment.
_DUE_KEY_SQL = (
    "SELECT item_id, member_id FROM study_targets WHERE state = 'new'"
    " ORDER BY state, next_at LIMIT ?",
    "SELECT item_id, member_id FROM study_targets WHERE state = 'waiting' AND next_at <= ?"
    " ORDER BY state, next_at LIMIT ?",
)


async def due_keys_query_plans(db: aiosqlite.Connection) -> list[str]:
    """Return the engine's plans for due_targets' key reads (tests assert they use the index)."""
    postgres = getattr(db, "engine", "sqlite") == "postgresql"
    lines: list[str] = []
    for sql, params in zip(_DUE_KEY_SQL, ((5000,), (0, 5000)), strict=True):
        async with db.execute(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql,
                              params) as cur:
            lines.extend(str(row[0] if postgres else row[3]) for row in await cur.fetchall())
    return lines


async def due_targets(db: aiosqlite.Connection, now: int, limit: int = 5000) -> list[TargetRow]:
    """Return schedule rows not yet scheduled, or whose next message is due by `now`.

    The due keys come from the schedule's index alone, then their details by
    key.  One query joining members and people was planned from the table's
    statistics: after a fan-out moved thousands of rows on, PostgreSQL's stale
    figures still expected them due and hashed the whole members and people
    tables on every tick (94 ms at 200,000 members, nothing due).  Each key
    read follows the index's order, so even such figures keep it on the index.
    """
    keys: list[tuple[int, int]] = []
    for sql, params in zip(_DUE_KEY_SQL, ((), (now,)), strict=True):
        if len(keys) >= limit:
            break
        async with db.execute(sql, (*params, limit - len(keys))) as cur:
            keys.extend((row[0], row[1]) for row in await cur.fetchall())
    found: dict[tuple[int, int], Any] = {}
    for start in range(0, len(keys), _KEYS_PER_READ):
        chunk = keys[start:start + _KEYS_PER_READ]
        async with db.execute(
            _TARGET_SQL + " WHERE (t.item_id, t.member_id) IN (VALUES "
            + ", ".join(["(?, ?)"] * len(chunk)) + ")",
            [value for key in chunk for value in key],
        ) as cur:
            for row in await cur.fetchall():
                found[(row["item_id"], row["member_id"])] = row
    rows = [found[key] for key in keys if key in found]
    return [
        TargetRow(
            item=_item(row, "i_"),
            member_id=row["member_id"],
            person_id=row["person_id"],
            category=row["category"],
            member_status=row["status"],
            away_until=row["away_until"],
            telegram_id=row["telegram_id"],
            language=row["language"],
            timezone=row["timezone"],
            answered=bool(row["answered"]),
            progress=Progress(
                state=row["state"],
                next_kind=NextKind(row["next_kind"]),
                next_seq=row["next_seq"],
                next_at=_ts(row["next_at"]),
                followups=row["followups"],
            ),
        )
        for row in rows
    ]


async def outbox_due_at(db: aiosqlite.Connection, keys: Sequence[str]) -> dict[str, int]:
    """Return which of these outbox keys exist, with their due_at (the planner's send log)."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        async with db.execute(
            f"SELECT dedupe_key, due_at FROM outbox WHERE dedupe_key IN ({_marks(chunk)})",
            tuple(chunk),
        ) as cur:
            found.update({row[0]: row[1] for row in await cur.fetchall()})
    return found


async def save_progress(
    db: aiosqlite.Connection, changes: Iterable[tuple[int, int, Progress]]
) -> None:
    """Store new progress of (item, member) rows, never reopening one closed meanwhile."""
    await db.executemany(
        "UPDATE study_targets SET state = ?, next_kind = ?, next_seq = ?, next_at = ?,"
        " followups = ? WHERE item_id = ? AND member_id = ? AND state != 'closed'",
        [
            (
                p.state, p.next_kind.value, p.next_seq, _unix(p.next_at), p.followups,
                item_id, member_id,
            )
            for item_id, member_id, p in changes
        ],
    )


async def reopen_for_member(db: aiosqlite.Connection, member_id: int, *, min_due: str) -> int:
    """Schedule again the member's unanswered open items (closed while they had no chat)."""
    # A phone-less member's rows were closed by the planner (nothing could be sent);
    # once the record is claimed, the items still open are theirs to be reminded of.
    cursor = await db.execute(
        "UPDATE study_targets SET state = 'new', next_kind = 'reminder', next_seq = 0,"
        " next_at = NULL, followups = 0"
        " WHERE member_id = ? AND state = 'closed'"
        " AND NOT EXISTS (SELECT 1 FROM study_answers a"
        "   WHERE a.item_id = study_targets.item_id AND a.member_id = study_targets.member_id)"
        " AND item_id IN (SELECT id FROM study_items WHERE withdrawn_at IS NULL AND due_date >= ?)",
        (member_id, min_due),
    )
    return cursor.rowcount


async def snooze_target(
    db: aiosqlite.Connection, item_id: int, member_id: int, until: int
) -> int:
    """Make a snooze the member's next message at `until`; return its sequence number."""
    await db.execute(
        "INSERT OR IGNORE INTO study_targets (item_id, member_id) VALUES (?, ?)",
        (item_id, member_id),
    )
    await db.execute(
        "UPDATE study_targets SET state = 'waiting', next_kind = 'snooze',"
        " snoozes = snoozes + 1, next_seq = snoozes + 1, next_at = ?"
        " WHERE item_id = ? AND member_id = ?",
        (until, item_id, member_id),
    )
    async with db.execute(
        "SELECT snoozes FROM study_targets WHERE item_id = ? AND member_id = ?",
        (item_id, member_id),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0])


# ---------------------------------------------------------------- answers


_ANSWER_SQL = (
    "SELECT a.item_id, a.member_id, a.status, a.reason, a.note, a.entered_by, a.on_behalf,"
    " a.late, a.answered_at, p.name, e.name AS entered_by_name FROM study_answers a"
    " JOIN members m ON m.id = a.member_id JOIN people p ON p.id = m.person_id"
    " LEFT JOIN people e ON e.id = a.entered_by"
)


def _answer(row: Any) -> AnswerRecord:
    return AnswerRecord(
        item_id=row["item_id"],
        member_id=row["member_id"],
        status=row["status"],
        reason=row["reason"],
        note=row["note"],
        entered_by=row["entered_by"],
        on_behalf=bool(row["on_behalf"]),
        late=bool(row["late"]),
        answered_at=row["answered_at"],
        name=row["name"],
        entered_by_name=row["entered_by_name"],
    )


async def get_answer(db: aiosqlite.Connection, item_id: int, member_id: int) -> AnswerRecord | None:
    """Return the member's answer to the item, or None."""
    async with db.execute(
        _ANSWER_SQL + " WHERE a.item_id = ? AND a.member_id = ?", (item_id, member_id)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _answer(row)


async def answers_for(db: aiosqlite.Connection, item_id: int) -> list[AnswerRecord]:
    """Return every answer to the item, by name."""
    async with db.execute(
        _ANSWER_SQL + " WHERE a.item_id = ? ORDER BY a.status, p.name COLLATE NOCASE", (item_id,)
    ) as cur:
        return [_answer(row) for row in await cur.fetchall()]


async def record_answer(
    db: aiosqlite.Connection,
    item_id: int,
    member_id: int,
    *,
    status: str,
    entered_by: int | None,
    now: int,
    reason: str | None = None,
    on_behalf: bool = False,
    late: bool = False,
) -> bool:
    """Store the first answer of a member and close their schedule; False if one existed."""
    cursor = await db.execute(
        "INSERT OR IGNORE INTO study_answers (item_id, member_id, status, reason, entered_by,"
        " on_behalf, late, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (item_id, member_id, status, reason, entered_by, int(on_behalf), int(late), now),
    )
    if cursor.rowcount != 1:
        return False
    await db.execute(
        "UPDATE study_targets SET state = 'closed', next_at = NULL"
        " WHERE item_id = ? AND member_id = ?",
        (item_id, member_id),
    )
    return True


async def set_note(db: aiosqlite.Connection, item_id: int, member_id: int, note: str) -> bool:
    """Attach a note to an 'other' excuse; False if there is no such excuse."""
    cursor = await db.execute(
        "UPDATE study_answers SET note = ? WHERE item_id = ? AND member_id = ?"
        " AND status = 'excused' AND reason = 'other'",
        (note, item_id, member_id),
    )
    return cursor.rowcount == 1


async def unanswered_members(db: aiosqlite.Connection, item_id: int) -> list[CheckinCandidate]:
    """Return the active members of the item's branch who have not answered, by name."""
    async with db.execute(
        "SELECT m.id, m.person_id, m.branch_id, p.name, m.category, m.paired_with"
        " FROM study_items i JOIN members m ON m.branch_id = i.branch_id AND m.status = 'active'"
        " JOIN people p ON p.id = m.person_id WHERE i.id = ? AND NOT EXISTS"
        " (SELECT 1 FROM study_answers a WHERE a.item_id = i.id AND a.member_id = m.id)"
        " ORDER BY p.name COLLATE NOCASE, m.id",
        (item_id,),
    ) as cur:
        return [CheckinCandidate(*row) for row in await cur.fetchall()]


async def target_members(db: aiosqlite.Connection, member_ids: Sequence[int]) -> dict[int, int]:
    """Return member id → person id for the given memberships."""
    if not member_ids:
        return {}
    async with db.execute(
        f"SELECT id, person_id FROM members WHERE id IN ({_marks(member_ids)})", tuple(member_ids)
    ) as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


# ---------------------------------------------------------------- pairing


async def paired_members(db: aiosqlite.Connection, helper_id: int) -> list[CheckinCandidate]:
    """Return the active members whose paired helper is this person."""
    # Helpers live in member_helpers since migration 0009 (one member, many helpers);
    # paired_with here is the asking helper, the only one the check-in rule looks at.
    async with db.execute(
        "SELECT m.id, m.person_id, m.branch_id, p.name, m.category, h.helper_person_id"
        " FROM member_helpers h JOIN members m ON m.id = h.member_id"
        " JOIN people p ON p.id = m.person_id"
        " WHERE h.helper_person_id = ? AND h.removed_at IS NULL AND m.status = 'active'"
        " ORDER BY p.name COLLATE NOCASE",
        (helper_id,),
    ) as cur:
        return [CheckinCandidate(*row) for row in await cur.fetchall()]


async def elderly_members(
    db: aiosqlite.Connection, branch_ids: Sequence[int]
) -> list[CheckinCandidate]:
    """Return the active elderly members of the branches, by name."""
    if not branch_ids:
        return []
    async with db.execute(
        "SELECT m.id, m.person_id, m.branch_id, p.name, m.category, m.paired_with"
        " FROM members m JOIN people p ON p.id = m.person_id"
        f" WHERE m.branch_id IN ({_marks(branch_ids)}) AND m.status = 'active'"
        " AND m.category = 'elderly' ORDER BY p.name COLLATE NOCASE, m.id",
        tuple(branch_ids),
    ) as cur:
        return [CheckinCandidate(*row) for row in await cur.fetchall()]
