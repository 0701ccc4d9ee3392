"""The outbox repository: one row per dedupe key, keyset paging, expiry, the send log."""

from __future__ import annotations

from pathlib import Path

from bot.domain.outgoing import OutgoingMessage, occurrence_key
from storage.db import open_database
from storage.migrate import migrate
from storage.repositories import outbox, people

NOW = 1_772_000_000


def message(n: int, *, due_at: int = NOW, chat_id: int | None = None, **kw) -> OutgoingMessage:
    return OutgoingMessage(
        dedupe_key=occurrence_key("study.reminder", n, "item1", 0),
        kind=kw.pop("kind", "study.reminder"),
        person_id=kw.pop("person_id", None),
        chat_id=chat_id if chat_id is not None else 5000 + n,
        text=f"提醒 {n}",
        due_at=due_at,
        **kw,
    )


async def test_enqueue_ignores_known_keys(db):
    assert await outbox.enqueue(db, [message(1), message(2)], now=NOW) == 2
    assert await outbox.enqueue(db, [message(1), message(3)], now=NOW + 60) == 1
    row = await outbox.get_row(db, message(1).dedupe_key)
    assert row is not None and row.status == "pending" and row.text == "提醒 1"
    assert await outbox.get_row(db, "nope") is None


async def test_reply_markup_and_photo_round_trip(db):
    markup = {"inline_keyboard": [[{"text": "已学习", "callback_data": "s:1"}]]}
    await outbox.enqueue(db, [message(1, reply_markup=markup, photo=b"\x89PNG")], now=NOW)
    row = await outbox.get_row(db, message(1).dedupe_key)
    assert row is not None
    assert row.reply_markup == markup
    assert row.photo == b"\x89PNG"


async def test_due_rows_oldest_first_and_paged_by_keyset(db):
    await outbox.enqueue(
        db,
        [message(n, due_at=NOW - 10 * (n % 3)) for n in range(1, 8)] + [message(9, due_at=NOW + 1)],
        now=NOW,
    )
    everything = await outbox.due_rows(db, NOW, 100)
    assert [r.due_at for r in everything] == sorted(r.due_at for r in everything)
    assert len(everything) == 7  # the future one is not due
    pages, after = [], None
    while True:
        page = await outbox.due_rows(db, NOW, 3, after=after)
        if not page:
            break
        pages.extend(page)
        after = (page[-1].priority, page[-1].due_at, page[-1].id)
    assert [r.id for r in pages] == [r.id for r in everything]


async def test_due_rows_mix_statuses_in_priority_order_and_stay_on_the_index(db):
    """Pending and uncertain rows come in one order; stale statistics do not make a poll a scan.

    3,000 rows analysed while pending, then all sent without a new ANALYZE
    (autovacuum off here, as it is between its runs): PostgreSQL expected
    every one still due and fetched and sorted them all on every poll.
    """
    await outbox.enqueue(
        db,
        [message(n, due_at=NOW - n) for n in range(1, 3001)]
        + [message(5000, due_at=NOW - 5000, kind="digest.weekly")],
        now=NOW,
    )
    if getattr(db, "engine", "sqlite") == "postgresql":
        await db.execute("ALTER TABLE outbox SET (autovacuum_enabled = false)")
    await db.execute("ANALYZE")
    digest, oldest = await outbox.due_rows(db, NOW, 2)
    # The digest (priority 0) first, then the oldest reminder; an uncertain row
    # due for its re-send keeps its place by the same order.
    assert (digest.kind, oldest.chat_id) == ("digest.weekly", 5000 + 3000)
    await outbox.mark_uncertain(db, digest.id, now=NOW, error="cut off", resend_at=NOW)
    assert [row.id for row in await outbox.due_rows(db, NOW, 2)] == [digest.id, oldest.id]
    await db.execute("UPDATE outbox SET status = 'sent' WHERE status = 'pending'")

    plans = await outbox.due_rows_query_plans(db, NOW)
    assert any("outbox_bot_due" in line for line in plans), plans
    assert not any(
        word in line for line in plans for word in ("Seq Scan", "Sort", "Bitmap", "TEMP B-TREE")
    ), plans
    assert [row.id for row in await outbox.due_rows(db, NOW, 500)] == [digest.id]


async def test_due_rows_skip_rows_backing_off(db):
    await outbox.enqueue(db, [message(1), message(2)], now=NOW)
    first = (await outbox.due_rows(db, NOW))[0]
    await outbox.mark_attempt_failed(db, first.id, error="network", retry_at=NOW + 60)
    assert first.id not in {r.id for r in await outbox.due_rows(db, NOW)}
    later = {r.id: r for r in await outbox.due_rows(db, NOW + 60)}
    assert later[first.id].attempts == 1 and later[first.id].last_error == "network"


async def test_mark_sent_is_the_send_log(db):
    await outbox.enqueue(db, [message(1)], now=NOW)
    row = (await outbox.due_rows(db, NOW))[0]
    await outbox.mark_sent(db, row.id, message_id=77, now=NOW + 1)
    stored = await outbox.get_row(db, row.dedupe_key)
    assert stored is not None
    assert (stored.status, stored.message_id, stored.sent_at) == ("sent", 77, NOW + 1)
    assert await outbox.due_rows(db, NOW + 10) == []
    # Planning the same occurrence again changes nothing.
    assert await outbox.enqueue(db, [message(1)], now=NOW + 5) == 0


async def test_expire_stale_by_grace_and_expiry(db):
    await outbox.enqueue(
        db,
        [
            message(1, due_at=NOW - 13 * 3600),  # beyond a 12 h grace
            message(2, due_at=NOW - 11 * 3600),  # within it
            message(3, due_at=NOW - 60, expires_at=NOW - 1),  # past its expiry
            message(4, due_at=NOW - 60, expires_at=NOW + 3600),
            message(5, due_at=NOW - 13 * 3600, kind="pledge.reminder"),
        ],
        now=NOW,
    )
    expired = await outbox.expire_stale(db, now=NOW, due_before=NOW - 12 * 3600)
    assert expired == {"study.reminder": 2, "pledge.reminder": 1}
    statuses = await outbox.count_by_status(db)
    assert statuses == {"expired": 3, "pending": 2}
    assert await outbox.expire_stale(db, now=NOW, due_before=NOW - 12 * 3600) == {}


async def test_mark_final_keeps_error_and_cancel_by_prefix(db):
    await outbox.enqueue(db, [message(1), message(2), message(12)], now=NOW)
    rows = await outbox.due_rows(db, NOW)
    await outbox.mark_final(db, rows[0].id, status="failed", error="Bad Request: can't parse")
    stored = await outbox.get_row(db, rows[0].dedupe_key)
    assert stored is not None and stored.last_error == "Bad Request: can't parse"
    # Prefix "…|m1|" matches member 1 only, not member 12.
    cancelled = await outbox.cancel_pending(db, key_prefix="study.reminder|m1|")
    assert cancelled == 0  # member 1's row is already failed
    assert await outbox.cancel_pending(db, key_prefix="study.reminder|m12|") == 1
    assert await outbox.count_by_status(db, "study.reminder") == {
        "failed": 1,
        "cancelled": 1,
        "pending": 1,
    }


async def test_person_foreign_key(db):
    person = await people.ensure_person(db, telegram_id=5001, now=NOW)
    await outbox.enqueue(db, [message(1, person_id=person.id)], now=NOW)
    row = await outbox.get_row(db, message(1).dedupe_key)
    assert row is not None and row.person_id == person.id


async def test_marks_survive_reopening_the_file(tmp_path: Path):
    path = tmp_path / "outbox.sqlite3"
    db = await open_database(path)
    await migrate(db)
    await outbox.enqueue(db, [message(1), message(2)], now=NOW)
    row = (await outbox.due_rows(db, NOW))[0]
    await outbox.mark_sent(db, row.id, message_id=5, now=NOW)
    await db.close()
    db = await open_database(path)
    try:
        assert await outbox.count_by_status(db) == {"sent": 1, "pending": 1}
    finally:
        await db.close()


async def test_an_uncertain_row_comes_back_once_for_its_resend_and_never_again(db):
    await outbox.enqueue(db, [message(1), message(2)], now=NOW)
    first, second = await outbox.due_rows(db, NOW)
    await outbox.mark_uncertain(db, first.id, error="TimedOut", now=NOW, resend_at=NOW + 1800)
    await outbox.mark_uncertain(db, second.id, error="TimedOut", now=NOW, resend_at=None)
    assert await outbox.due_rows(db, NOW + 1799) == []
    [again] = await outbox.due_rows(db, NOW + 1800)
    assert again.id == first.id and again.status == "uncertain" and again.uncertain_at == NOW
    # The re-send's outcome is unknown too: closed for good, whatever resend_at says.
    await outbox.mark_uncertain(db, first.id, error="TimedOut", now=NOW + 1800, resend_at=NOW)
    row = await outbox.get_row(db, first.dedupe_key)
    assert row is not None and row.status == "uncertain" and row.next_attempt_at is None
    assert row.attempts == 2 and row.uncertain_at == NOW
    assert await outbox.due_rows(db, NOW + 10**6) == []
    assert await outbox.count_by_status(db) == {"uncertain": 2}


async def test_cancelling_withdraws_a_resend_but_keeps_it_uncertain(db):
    await outbox.enqueue(db, [message(1)], now=NOW)
    [row] = await outbox.due_rows(db, NOW)
    await outbox.mark_uncertain(db, row.id, error="TimedOut", now=NOW, resend_at=NOW + 60)
    assert await outbox.cancel_pending(db, key_prefix="study.reminder|m1|") == 0
    after = await outbox.get_row(db, row.dedupe_key)
    assert after is not None and after.status == "uncertain" and after.next_attempt_at is None
    assert await outbox.due_rows(db, NOW + 3600) == []


async def test_uncertain_rows_survive_the_migration_of_older_rows(tmp_path: Path):
    """0007 rebuilds the outbox: rows written before it keep their keys and statuses."""
    from storage.migrate import available_migrations

    db = await open_database(tmp_path / "old.sqlite3")
    try:
        await db.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT 'x')"
        )
        for migration in available_migrations()[:6]:
            for statement in migration.sql.split(";\n"):
                if statement.strip():
                    await db.execute(statement)
            await db.execute(
                "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                (migration.version, migration.description),
            )
        # Written as the code of that time did (today's enqueue knows later columns).
        await db.execute(
            "INSERT INTO outbox (dedupe_key, kind, chat_id, text, due_at, created_at, status,"
            " message_id) VALUES (?, 'study.reminder', 5001, 'x', ?, ?, 'sent', 7)",
            (message(1).dedupe_key, NOW, NOW),
        )
        await migrate(db)
        row = await outbox.get_row(db, message(1).dedupe_key)
        assert row is not None and row.status == "sent" and row.message_id == 7
        await outbox.mark_uncertain(db, row.id, error="x", now=NOW, resend_at=None)
    finally:
        await db.close()


async def test_a_crash_while_sending_repeats_each_row_at_most_once(db):
    # Two rows were 'sending' when the bot was killed: one on its first try,
    # one already a re-send after a time-out.  The first is sent once more at
    # once; the second would be a third copy, so it is closed for good.
    await outbox.enqueue(db, [message(1), message(2)], now=NOW)
    first = await outbox.get_row(db, message(1).dedupe_key)
    second = await outbox.get_row(db, message(2).dedupe_key)
    assert first is not None and second is not None
    await outbox.mark_uncertain(db, second.id, error="TimedOut", now=NOW, resend_at=NOW + 60)
    assert await outbox.mark_sending(db, first.id)
    assert await outbox.mark_sending(db, second.id)

    recovered = await outbox.recover_sending(db, now=NOW + 120, lease_now=NOW)
    assert sorted(row.id for row in recovered) == [first.id, second.id]
    again = await outbox.get_row(db, message(1).dedupe_key)
    closed = await outbox.get_row(db, message(2).dedupe_key)
    assert again is not None and again.status == "uncertain"
    assert again.next_attempt_at == NOW + 120  # its one repeat, at once
    assert closed is not None and closed.status == "uncertain" and closed.next_attempt_at is None
    due = await outbox.due_rows(db, NOW + 120)
    assert [row.id for row in due] == [first.id]
