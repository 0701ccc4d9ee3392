"""Meetings and trainings: who was invited, their replies, attendance, record and hours.

    made = await create_meetings(db, calls=[(branch_id, [member ids])], kind="theme_day", ...)
    await set_reply(db, meeting_id, member_id, reply="leave", reason="ill", by=person, now=now)
    rows = await roster(db, meeting_id)            # the attendance roster, by name
    await confirm(db, meeting_id, by=person, now=now)   # 学时 credited to who came
    due = await due_reminders(db, now)             # the planner's indexed read

Every row is kept as the branch's record; /forget clears only the typed
leave note (erase_notes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

__all__ = [
    "Meeting",
    "Recipient",
    "RosterEntry",
    "add_guest",
    "branch_meetings",
    "cancel",
    "change",
    "committee_member_ids",
    "confirm",
    "create_meetings",
    "due_reminders",
    "erase_notes",
    "fill_attendance",
    "get_meeting",
    "guest_attendance",
    "hours_by_member",
    "invitee",
    "mark_announced",
    "mark_cancel_announced",
    "mark_confirm_asked",
    "meetings_to_announce",
    "meetings_to_cancel",
    "meetings_to_confirm",
    "member_branch_ids",
    "member_hours",
    "recent_marks",
    "recipients",
    "roster",
    "set_attendance",
    "set_record",
    "set_reminders",
    "set_reply",
    "upcoming_for_member",
]


@dataclass(frozen=True, slots=True)
class Meeting:
    """A stored meeting of one branch."""

    id: int
    batch_id: int | None
    branch_id: int
    kind: str
    subject: str | None
    topic: str
    starts_at: int
    timezone: str
    place: str | None
    online_link: str | None
    hours: float
    version: int
    announced_version: int
    called_by: int | None
    called_at: int
    cancelled_at: int | None
    confirmed_at: int | None
    record: str | None


_COLUMNS = (
    "id, batch_id, branch_id, kind, subject, topic, starts_at, timezone, place, online_link,"
    " hours, version, announced_version, called_by, called_at, cancelled_at, confirmed_at, record"
)


def _meeting(row: aiosqlite.Row) -> Meeting:
    return Meeting(*tuple(row))


@dataclass(frozen=True, slots=True)
class Recipient:
    """An invitee as the planner needs them: where to send, in which language and zone."""

    meeting_id: int
    member_id: int
    person_id: int
    name: str | None
    telegram_id: int | None
    language: str | None
    timezone: str | None
    category: str
    branch_id: int
    reply: str | None
    reminder_seq: int


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One line of the attendance roster."""

    member_id: int
    person_id: int
    name: str | None
    telegram_id: int | None
    guest: bool
    home_branch: str
    reply: str | None
    reason: str | None
    attendance: str | None
    marked_by: str | None  # who marked it when not the secretary confirming (a helper)
    replied_by_other: bool
    hours: float
    category: str


async def committee_member_ids(db: aiosqlite.Connection, branch_id: int) -> list[int]:
    """Return the active members of the branch who are its secretary or committee members."""
    async with db.execute(
        "SELECT m.id FROM members m WHERE m.branch_id = ? AND m.status = 'active'"
        " AND m.person_id IN (SELECT person_id FROM roles WHERE unit_id = ?"
        " AND role IN ('secretary', 'committee') AND person_id IS NOT NULL) ORDER BY m.id",
        (branch_id, branch_id),
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def member_branch_ids(db: aiosqlite.Connection, branch_id: int) -> list[int]:
    """Return the ids of the branch's active members."""
    async with db.execute(
        "SELECT id FROM members WHERE branch_id = ? AND status = 'active' ORDER BY id",
        (branch_id,),
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def create_meetings(
    db: aiosqlite.Connection,
    *,
    calls: Sequence[tuple[int, Sequence[int]]],
    kind: str,
    subject: str | None,
    topic: str,
    starts_at: int,
    timezone: str,
    place: str | None,
    online_link: str | None,
    hours: float,
    called_by: int | None,
    now: int,
) -> list[Meeting]:
    """Make one meeting per branch with its invitees; all share the first id as batch id."""
    made: list[int] = []
    for branch_id, member_ids in calls:
        cursor = await db.execute(
            "INSERT INTO meetings (batch_id, branch_id, kind, subject, topic, starts_at, timezone,"
            " place, online_link, hours, called_by, called_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (made[0] if made else None, branch_id, kind, subject, topic, starts_at, timezone,
             place, online_link, hours, called_by, now),
        )
        assert cursor.lastrowid is not None
        made.append(cursor.lastrowid)
        await db.executemany(
            "INSERT OR IGNORE INTO meeting_invitees (meeting_id, member_id) VALUES (?, ?)",
            [(cursor.lastrowid, member_id) for member_id in member_ids],
        )
    if made:
        await db.execute("UPDATE meetings SET batch_id = ? WHERE id = ?", (made[0], made[0]))
    return [meeting for meeting_id in made if (meeting := await get_meeting(db, meeting_id))]


async def get_meeting(db: aiosqlite.Connection, meeting_id: int) -> Meeting | None:
    """Return the meeting, or None."""
    async with db.execute(f"SELECT {_COLUMNS} FROM meetings WHERE id = ?", (meeting_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _meeting(row)


async def branch_meetings(
    db: aiosqlite.Connection, branch_id: int, start: int, end: int
) -> list[Meeting]:
    """Return the branch's meetings (cancelled ones too) starting in [start, end), by time."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM meetings WHERE branch_id = ? AND starts_at >= ?"
        " AND starts_at < ? ORDER BY starts_at, id",
        (branch_id, start, end),
    ) as cur:
        return [_meeting(row) for row in await cur.fetchall()]


async def upcoming_for_member(
    db: aiosqlite.Connection, member_id: int, now: int
) -> list[tuple[Meeting, str | None]]:
    """Return the member's coming meetings (not cancelled) with their reply, soonest first."""
    columns = ", ".join(f"m.{c.strip()}" for c in _COLUMNS.split(","))
    async with db.execute(
        f"SELECT {columns}, i.reply FROM meeting_invitees i JOIN meetings m ON m.id = i.meeting_id"
        " WHERE i.member_id = ? AND m.starts_at > ? AND m.cancelled_at IS NULL"
        " ORDER BY m.starts_at LIMIT 10",
        (member_id, now),
    ) as cur:
        return [(_meeting(row[:-1]), row[-1]) for row in await cur.fetchall()]


async def invitee(
    db: aiosqlite.Connection, meeting_id: int, member_id: int
) -> tuple[str | None, str | None] | None:
    """Return the invitee's (reply, attendance), or None when not invited."""
    async with db.execute(
        "SELECT reply, attendance FROM meeting_invitees WHERE meeting_id = ? AND member_id = ?",
        (meeting_id, member_id),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else (row[0], row[1])


async def add_guest(db: aiosqlite.Connection, meeting_id: int, member_id: int, now: int) -> bool:
    """Add a mobile member of another branch who came (replied 参加); False if already there."""
    cursor = await db.execute(
        "INSERT OR IGNORE INTO meeting_invitees (meeting_id, member_id, guest, reply, replied_at)"
        " VALUES (?, ?, 1, 'attend', ?)",
        (meeting_id, member_id, now),
    )
    return cursor.rowcount == 1


async def set_reply(
    db: aiosqlite.Connection, meeting_id: int, member_id: int, *, reply: str,
    reason: str | None = None, note: str | None = None, by: int | None, now: int,
) -> None:
    """Store the member's reply (a later one replaces it); 请假 stops the reminders."""
    await db.execute(
        "UPDATE meeting_invitees SET reply = ?, reason = ?, note = ?, replied_at = ?,"
        " replied_by = ?, next_reminder_at = CASE WHEN ? = 'leave' THEN NULL"
        " ELSE next_reminder_at END WHERE meeting_id = ? AND member_id = ?",
        (reply, reason, note, now, by, reply, meeting_id, member_id),
    )


async def roster(db: aiosqlite.Connection, meeting_id: int) -> list[RosterEntry]:
    """Return the meeting's invitees (guests last), by name, with replies and marks."""
    async with db.execute(
        "SELECT i.member_id, p.id, p.name, p.telegram_id, i.guest, u.name, i.reply, i.reason,"
        " i.attendance, mk.name, (i.replied_by IS NOT NULL AND i.replied_by != p.id), i.hours,"
        " m.category"
        " FROM meeting_invitees i JOIN members m ON m.id = i.member_id"
        " JOIN people p ON p.id = m.person_id JOIN units u ON u.id = m.branch_id"
        " LEFT JOIN people mk ON mk.id = i.marked_by"
        " WHERE i.meeting_id = ? ORDER BY i.guest, p.name COLLATE NOCASE, i.member_id",
        (meeting_id,),
    ) as cur:
        return [
            RosterEntry(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7],
                        row[8], row[9], bool(row[10]), row[11], row[12])
            for row in await cur.fetchall()
        ]


async def set_attendance(
    db: aiosqlite.Connection, meeting_id: int, member_id: int, attendance: str,
    *, by: int | None,
) -> None:
    """Mark one invitee 到会 / 请假 / 缺席 (before the secretary confirms)."""
    await db.execute(
        "UPDATE meeting_invitees SET attendance = ?, marked_by = ?"
        " WHERE meeting_id = ? AND member_id = ?",
        (attendance, by, meeting_id, member_id),
    )


async def fill_attendance(
    db: aiosqlite.Connection, meeting_id: int, marks: Iterable[tuple[int, str]]
) -> None:
    """Pre-fill the roster's unmarked lines from the replies (marks: member id, attendance)."""
    await db.executemany(
        "UPDATE meeting_invitees SET attendance = ? WHERE meeting_id = ? AND member_id = ?"
        " AND attendance IS NULL",
        [(mark, meeting_id, member_id) for member_id, mark in marks],
    )


async def confirm(
    db: aiosqlite.Connection, meeting_id: int, *, by: int | None, now: int
) -> bool:
    """Confirm attendance and credit the meeting's hours to who came; False if done before."""
    cursor = await db.execute(
        "UPDATE meetings SET confirmed_at = ?, confirmed_by = ?"
        " WHERE id = ? AND confirmed_at IS NULL AND cancelled_at IS NULL",
        (now, by, meeting_id),
    )
    if cursor.rowcount != 1:
        return False
    await db.execute(
        "UPDATE meeting_invitees SET attendance = COALESCE(attendance, 'absent'),"
        " hours = CASE WHEN attendance = 'present'"
        " THEN (SELECT hours FROM meetings WHERE id = ?) ELSE 0 END,"
        " next_reminder_at = NULL WHERE meeting_id = ?",
        (meeting_id, meeting_id),
    )
    return True


async def set_record(db: aiosqlite.Connection, meeting_id: int, text: str, by: int | None) -> None:
    """Keep the meeting's one-line record (纪要)."""
    await db.execute(
        "UPDATE meetings SET record = ?, record_by = ? WHERE id = ?", (text, by, meeting_id)
    )


async def change(
    db: aiosqlite.Connection, meeting_id: int, *, starts_at: int, place: str | None,
    online_link: str | None, now: int,
) -> None:
    """Move the meeting or its place: a new version, announced once to everyone invited."""
    await db.execute(
        "UPDATE meetings SET starts_at = ?, place = ?, online_link = ?, version = version + 1,"
        " changed_at = ?, confirm_asked = 0 WHERE id = ?",
        (starts_at, place, online_link, now, meeting_id),
    )
    await db.execute(
        "UPDATE meeting_invitees SET next_reminder_at = NULL, reminder_seq = 0"
        " WHERE meeting_id = ?",
        (meeting_id,),
    )


async def cancel(db: aiosqlite.Connection, meeting_id: int, *, by: int | None, now: int) -> bool:
    """Cancel the meeting (announced once); False if it was cancelled or confirmed already."""
    cursor = await db.execute(
        "UPDATE meetings SET cancelled_at = ?, cancelled_by = ?"
        " WHERE id = ? AND cancelled_at IS NULL AND confirmed_at IS NULL",
        (now, by, meeting_id),
    )
    await db.execute(
        "UPDATE meeting_invitees SET next_reminder_at = NULL WHERE meeting_id = ?", (meeting_id,)
    )
    return cursor.rowcount == 1


# ---------------------------------------------------------------- the planner's reads


_RECIPIENT = (
    "SELECT i.meeting_id, i.member_id, p.id, p.name, p.telegram_id, p.language, p.timezone,"
    " m.category, m.branch_id, i.reply, i.reminder_seq"
    " FROM meeting_invitees i JOIN members m ON m.id = i.member_id"
    " JOIN people p ON p.id = m.person_id"
)


async def meetings_to_announce(db: aiosqlite.Connection, now: int) -> list[Meeting]:
    """Return coming meetings whose latest version is not yet fanned out."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM meetings WHERE cancelled_at IS NULL"
        " AND announced_version < version AND starts_at > ? ORDER BY id",
        (now,),
    ) as cur:
        return [_meeting(row) for row in await cur.fetchall()]


async def meetings_to_cancel(db: aiosqlite.Connection, since: int) -> list[Meeting]:
    """Return cancelled meetings, once announced, whose cancellation is not yet fanned out."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM meetings WHERE cancelled_at IS NOT NULL"
        " AND cancel_announced = 0 AND starts_at > ? ORDER BY id",
        (since,),
    ) as cur:
        return [_meeting(row) for row in await cur.fetchall()]


async def meetings_to_confirm(db: aiosqlite.Connection, started_before: int) -> list[Meeting]:
    """Return held meetings (started, not cancelled) whose secretary is not yet asked."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM meetings WHERE confirm_asked = 0 AND cancelled_at IS NULL"
        " AND confirmed_at IS NULL AND starts_at <= ? ORDER BY id",
        (started_before,),
    ) as cur:
        return [_meeting(row) for row in await cur.fetchall()]


async def recipients(db: aiosqlite.Connection, meeting_id: int) -> list[Recipient]:
    """Return every invitee of the meeting, with what the planner needs to write to them."""
    async with db.execute(
        f"{_RECIPIENT} WHERE i.meeting_id = ? AND m.status = 'active' ORDER BY i.member_id",
        (meeting_id,),
    ) as cur:
        return [Recipient(*row) for row in await cur.fetchall()]


async def due_reminders(db: aiosqlite.Connection, now: int) -> list[Recipient]:
    """Return invitees whose next reminder is due (index on next_reminder_at)."""
    async with db.execute(
        f"{_RECIPIENT} WHERE i.next_reminder_at IS NOT NULL AND i.next_reminder_at <= ?"
        " AND m.status = 'active' ORDER BY i.next_reminder_at",
        (now,),
    ) as cur:
        return [Recipient(*row) for row in await cur.fetchall()]


async def set_reminders(
    db: aiosqlite.Connection, rows: Sequence[tuple[int, int, int | None, int]]
) -> None:
    """Store each invitee's next reminder: (meeting, member, instant or None, seq done)."""
    await db.executemany(
        "UPDATE meeting_invitees SET next_reminder_at = ?, reminder_seq = ?"
        " WHERE meeting_id = ? AND member_id = ?",
        [(at, seq, meeting, member) for meeting, member, at, seq in rows],
    )


async def mark_announced(db: aiosqlite.Connection, meeting_id: int, version: int) -> None:
    """Note that this version of the meeting was fanned out."""
    await db.execute(
        "UPDATE meetings SET announced_version = ? WHERE id = ?", (version, meeting_id)
    )


async def mark_cancel_announced(db: aiosqlite.Connection, meeting_id: int) -> None:
    """Note that the cancellation was fanned out."""
    await db.execute("UPDATE meetings SET cancel_announced = 1 WHERE id = ?", (meeting_id,))


async def mark_confirm_asked(db: aiosqlite.Connection, meeting_id: int) -> None:
    """Note that the secretary was asked to confirm attendance."""
    await db.execute("UPDATE meetings SET confirm_asked = 1 WHERE id = ?", (meeting_id,))


# ---------------------------------------------------------------- digest and ledger


async def member_hours(db: aiosqlite.Connection, member_id: int, start: int, end: int) -> float:
    """Return the hours credited to the member for meetings starting in [start, end)."""
    async with db.execute(
        "SELECT COALESCE(SUM(i.hours), 0) FROM meeting_invitees i"
        " JOIN meetings m ON m.id = i.meeting_id"
        " WHERE i.member_id = ? AND m.starts_at >= ? AND m.starts_at < ?",
        (member_id, start, end),
    ) as cur:
        row = await cur.fetchone()
    return float(row[0]) if row else 0.0


async def hours_by_member(
    db: aiosqlite.Connection, branch_id: int, start: int, end: int
) -> list[tuple[int, str | None, float, float]]:
    """Return (member, name, hours credited here, hours credited elsewhere) for the branch.

    Hours earned at another branch's meeting (a mobile member where they work)
    count for the member at home, and are shown apart.
    """
    async with db.execute(
        "SELECT mb.id, p.name,"
        " COALESCE(SUM(CASE WHEN mt.branch_id = mb.branch_id THEN i.hours END), 0),"
        " COALESCE(SUM(CASE WHEN mt.branch_id != mb.branch_id THEN i.hours END), 0)"
        " FROM members mb JOIN people p ON p.id = mb.person_id"
        " LEFT JOIN meeting_invitees i ON i.member_id = mb.id"
        " LEFT JOIN meetings mt ON mt.id = i.meeting_id AND mt.starts_at >= ? AND mt.starts_at < ?"
        " WHERE mb.branch_id = ? AND mb.status = 'active'"
        " GROUP BY mb.id, p.name ORDER BY p.name COLLATE NOCASE, mb.id",
        (start, end, branch_id),
    ) as cur:
        return [(row[0], row[1], float(row[2]), float(row[3])) for row in await cur.fetchall()]


async def recent_marks(
    db: aiosqlite.Connection, branch_id: int, before: int, count: int = 3
) -> dict[int, list[str]]:
    """Return each active member's latest `count` confirmed marks (newest first) at home."""
    async with db.execute(
        "SELECT member_id, attendance FROM ("
        " SELECT i.member_id, i.attendance, ROW_NUMBER() OVER ("
        "  PARTITION BY i.member_id ORDER BY mt.starts_at DESC, mt.id DESC) AS n"
        " FROM meetings mt CROSS JOIN meeting_invitees i ON i.meeting_id = mt.id"
        " JOIN members mb ON mb.id = i.member_id"
        " WHERE mt.branch_id = ? AND mt.confirmed_at IS NOT NULL AND mt.starts_at < ?"
        " AND mb.status = 'active' AND i.guest = 0) AS ranked"  # PostgreSQL needs the alias
        " WHERE n <= ? ORDER BY member_id, n",
        (branch_id, before, count),
    ) as cur:
        marks: dict[int, list[str]] = {}
        for member_id, attendance in await cur.fetchall():
            marks.setdefault(member_id, []).append(attendance)
        return marks


async def guest_attendance(
    db: aiosqlite.Connection, branch_id: int, start: int, end: int
) -> list[tuple[str | None, str, str, int]]:
    """Return (member name, host branch, meeting kind, start) where home members came elsewhere."""
    async with db.execute(
        # CROSS JOIN fixes the order: from the branch's members, never the county's invitees.
        "SELECT p.name, u.name, mt.kind, mt.starts_at FROM members mb"
        " CROSS JOIN meeting_invitees i ON i.member_id = mb.id"
        " JOIN meetings mt ON mt.id = i.meeting_id"
        " JOIN people p ON p.id = mb.person_id JOIN units u ON u.id = mt.branch_id"
        " WHERE mb.branch_id = ? AND mt.branch_id != mb.branch_id AND i.attendance = 'present'"
        " AND mt.confirmed_at IS NOT NULL AND mt.starts_at >= ? AND mt.starts_at < ?"
        " ORDER BY mt.starts_at",
        (branch_id, start, end),
    ) as cur:
        return [tuple(row) for row in await cur.fetchall()]  # type: ignore[misc]


async def erase_notes(db: aiosqlite.Connection, person_id: int) -> None:
    """Clear the typed leave reasons of a person who asked to be forgotten."""
    await db.execute(
        "UPDATE meeting_invitees SET note = NULL"
        " WHERE member_id IN (SELECT id FROM members WHERE person_id = ?)",
        (person_id,),
    )
