"""Erase a person who asked to be forgotten, from every table; the records stay, anonymous.

    async with transaction(db):
        await erase_person(db, Erasure(person_id=7, telegram_id=3050, name="王芳",
                                       placeholder="（已删除）", now=now))
    await scrub_files(db)          # after the commit: no old copy left in the WAL

What goes (the /forget confirmation, `forget.confirm`, promises exactly this):
- `people`: name, chat id, time zone, contact note, why unreachable;
- memberships: the place; the whereabouts register: every place and zone;
  life changes: the city a "leaving" change named;
  contact attempts (calls, visits): where they were found, and any note;
  meetings: the typed reason of a 请假 (attendance and hours stay, anonymous);
  household visits (结对帮扶): the line they added; their pairings end;
- free text the person typed: excuse notes, pledge report notes, pledges
  never approved (drafts, submitted, returned: not yet a record), the
  secretary's comments on their pledges;
- open conversations: the registration draft and any awaited typed answer,
  theirs or a helper's for them;
- their name inside records others wrote (纪要, visit lines, contact notes,
  履岗 notes, nomination reasons) becomes `placeholder`;
- roles they held (a secretary who forgets stops being one in the bot);
- helper ties: as a helper or 联系人 (member_helpers, the link
  they used) and, for a member, their helpers and helper links;
- the outbox, already sent or not: every row addressed to them or about
  them (its key names their member id) loses chat id, text, buttons and
  picture and, if still to be sent, is cancelled; every other row naming
  them (a secretary's digest) loses the text if already sent (it served its
  purpose) or has the name replaced by `placeholder` if still to be sent;
- the audit trail: 'tg:<chat id>' becomes 'person:<id>', the name in a
  detail becomes `placeholder`.

What stays, under the bare person id: study answers (done / excused and the
reason category), approved pledges with their targets, reports and ratings,
the dates of whereabouts answers, the dates and kinds of household visits
(the households themselves are the branch's record), membership dates and
status, the send log's keys (so nothing is ever planned twice).  Approved pledge texts are the
branch's public record; the name inside one is replaced all the same.

`secure_delete` makes SQLite overwrite what it frees, and `scrub_files`
checkpoints the WAL, so the old values do not linger in the database files.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import aiosqlite

from storage.repositories import campaigns, contacts, households, life_changes, meetings, posts

__all__ = ["FINAL_OUTBOX_STATUSES", "Erasure", "erase_person", "scrub_files"]

# Outbox rows in these states are never sent again; any other state (pending,
# uncertain, or one added later) may still be, so its text must stay usable.
FINAL_OUTBOX_STATUSES = ("sent", "failed", "expired", "cancelled", "unreachable")
_FINAL = ", ".join(f"'{status}'" for status in FINAL_OUTBOX_STATUSES)


@dataclass(frozen=True, slots=True)
class Erasure:
    """Who is forgotten, and what stands in for their name in texts that stay."""

    person_id: int
    telegram_id: int | None
    name: str | None
    placeholder: str
    now: int


def _name_forms(name: str | None) -> list[str]:
    """Return the name as it appears in stored texts: raw, HTML-escaped, JSON-escaped."""
    if not name or not name.strip():
        return []
    forms = [name, html.escape(name, quote=False), html.escape(name), json.dumps(name)[1:-1]]
    return list(dict.fromkeys(forms))


async def erase_person(db: aiosqlite.Connection, who: Erasure) -> None:
    """Erase the person's data everywhere (run inside the caller's transaction)."""
    await db.execute("PRAGMA secure_delete = ON")
    members = [
        row[0]
        for row in await db.execute_fetchall(
            "SELECT id FROM members WHERE person_id = ?", (who.person_id,)
        )
    ]
    await _erase_outbox(db, who, members)
    await _erase_member_text(db, who, members)
    await contacts.forget_attempts(db, members)
    await households.forget_members(db, members, who.now)  # visit notes; households stay
    await life_changes.forget_places(db, who.person_id)  # the city a 'leaving' change named
    await posts.forget_notes(db, members)  # what a post holder said they did, or why not
    await campaigns.forget_reasons(db, who.person_id, members)  # nomination reasons
    await meetings.erase_notes(db, who.person_id)  # a typed 请假 reason (其他)
    await _erase_person_row(db, who)
    await _erase_helper_links(db, who, members)
    await _erase_name_in_records(db, who)
    await _erase_audit(db, who)


async def _erase_outbox(db: aiosqlite.Connection, who: Erasure, members: list[int]) -> None:
    # Rows to them (by person or by chat) and rows about them (a silence
    # warning to their secretary: the key names the member).
    about = " OR ".join("dedupe_key LIKE ?" for _ in members)
    where = "person_id = ?" + (" OR chat_id = ?" if who.telegram_id is not None else "")
    where += f" OR {about}" if about else ""
    params: list[object] = [who.person_id]
    if who.telegram_id is not None:
        params.append(who.telegram_id)
    params += [f"%|m{member_id}|%" for member_id in members]
    await db.execute(
        f"UPDATE outbox SET status = CASE WHEN status IN ({_FINAL}) THEN status"
        " ELSE 'cancelled' END, chat_id = 0, text = '', reply_markup = NULL, photo = NULL,"
        f" last_error = NULL WHERE {where}",
        params,
    )
    for form in _name_forms(who.name):
        # Already sent: the text has served its purpose; keep only the send log.
        await db.execute(
            "UPDATE outbox SET text = '', reply_markup = NULL, photo = NULL"
            f" WHERE status IN ({_FINAL}) AND (instr(text, ?) > 0 OR instr(reply_markup, ?) > 0)",
            (form, form),
        )
        # Still to be sent to someone else (a digest): it goes, without the name.
        await db.execute(
            "UPDATE outbox SET text = replace(text, ?1, ?2),"
            " reply_markup = replace(reply_markup, ?1, ?2)"
            f" WHERE status NOT IN ({_FINAL})"
            " AND (instr(text, ?1) > 0 OR instr(reply_markup, ?1) > 0)",
            (form, who.placeholder),
        )


async def _erase_member_text(db: aiosqlite.Connection, who: Erasure, members: list[int]) -> None:
    if not members:
        return
    marks = ", ".join("?" for _ in members)
    await db.execute(f"UPDATE members SET place = NULL WHERE id IN ({marks})", members)
    await db.execute(
        f"UPDATE whereabouts_log SET place = NULL, timezone = NULL WHERE member_id IN ({marks})",
        members,
    )
    await db.execute(f"UPDATE study_answers SET note = NULL WHERE member_id IN ({marks})", members)
    # Pledges never approved are not yet a record: drafts, submitted, returned.
    await db.execute(
        f"DELETE FROM pledges WHERE member_id IN ({marks}) AND status != 'approved'", members
    )
    await db.execute(
        "UPDATE pledge_reports SET note = NULL"
        f" WHERE pledge_id IN (SELECT id FROM pledges WHERE member_id IN ({marks}))",
        members,
    )
    await db.execute(
        "UPDATE pledges SET return_comment = NULL, secretary_comment = NULL"
        f" WHERE member_id IN ({marks})",
        members,
    )
    for form in _name_forms(who.name):
        await db.execute(
            f"UPDATE pledges SET text = replace(text, ?, ?) WHERE member_id IN ({marks})",
            (form, who.placeholder, *members),
        )


async def _erase_helper_links(db: aiosqlite.Connection, who: Erasure, members: list[int]) -> None:
    # A helper or 联系人 who is forgotten stops helping; a member who is
    # forgotten loses their helpers.  The rows go: who helped whom is personal.
    marks = ", ".join("?" for _ in members)
    in_members = f" OR member_id IN ({marks})" if members else ""
    await db.execute(
        f"DELETE FROM member_helpers WHERE helper_person_id = ?{in_members}",
        (who.person_id, *members),
    )
    await db.execute(
        f"DELETE FROM helper_links WHERE used_by = ?{in_members}", (who.person_id, *members)
    )
    if members:
        # A helper halfway through typing an answer for them: it would record
        # for someone who is gone, and its context is about them.
        await db.execute(
            f"DELETE FROM pending_inputs WHERE subject_member_id IN ({marks})", members
        )


# Free text others wrote that stays as the branch's record but may name them
# (a 纪要 "王芳同志请假", a visit line, a nomination reason): the name goes,
# the record stays, as in approved pledge texts.
_RECORD_TEXTS = (
    ("meetings", "record"),
    ("meetings", "topic"),
    ("meetings", "subject"),
    ("household_visits", "note"),
    ("contact_attempts", "note"),
    ("post_reports", "note"),
    ("campaign_nominations", "reason"),
)


async def _erase_name_in_records(db: aiosqlite.Connection, who: Erasure) -> None:
    for form in _name_forms(who.name):
        for table, column in _RECORD_TEXTS:
            await db.execute(
                f"UPDATE {table} SET {column} = replace({column}, ?1, ?2)"
                f" WHERE instr({column}, ?1) > 0",
                (form, who.placeholder),
            )


async def _erase_person_row(db: aiosqlite.Connection, who: Erasure) -> None:
    await db.execute(
        "UPDATE people SET telegram_id = NULL, name = NULL, phone_note = NULL, timezone = NULL,"
        " unreachable_reason = NULL, forgotten_at = ? WHERE id = ?",
        (who.now, who.person_id),
    )
    await db.execute("DELETE FROM roles WHERE person_id = ?", (who.person_id,))
    if who.telegram_id is not None:
        await db.execute(
            "DELETE FROM registration_drafts WHERE telegram_id = ?", (who.telegram_id,)
        )
        await db.execute("DELETE FROM pending_inputs WHERE telegram_id = ?", (who.telegram_id,))


async def _erase_audit(db: aiosqlite.Connection, who: Erasure) -> None:
    if who.telegram_id is not None:
        old, new = f"tg:{who.telegram_id}", f"person:{who.person_id}"
        await db.execute("UPDATE audit SET actor = ? WHERE actor = ?", (new, old))
        await db.execute("UPDATE audit SET subject = ? WHERE subject = ?", (new, old))
    for form in _name_forms(who.name):
        await db.execute(
            "UPDATE audit SET detail = replace(detail, ?, ?) WHERE instr(detail, ?) > 0",
            (form, who.placeholder, form),
        )


async def scrub_files(db: aiosqlite.Connection) -> None:
    """Fold the WAL into the database and empty it, so erased values leave the disk too."""
    # Best effort: a reader still holding an old snapshot keeps its pages until
    # the next checkpoint, which SQLite runs on its own soon after.
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
