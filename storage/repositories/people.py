"""People: everyone the bot knows by Telegram id."""

from __future__ import annotations

import aiosqlite

from bot.domain.models import Person

__all__ = [
    "adopt",
    "assign_bot",
    "bot_of",
    "ensure_person",
    "get_person",
    "get_person_by_telegram",
    "mark_reachable",
    "mark_unreachable",
    "set_language",
    "set_timezone",
    "touch_contact",
]

_COLUMNS = "id, telegram_id, name, language, timezone, is_reachable, last_contact_at"


def _person(row: aiosqlite.Row | None) -> Person | None:
    if row is None:
        return None
    return Person(
        id=row["id"],
        telegram_id=row["telegram_id"],
        name=row["name"],
        language=row["language"],
        timezone=row["timezone"],
        is_reachable=bool(row["is_reachable"]),
        last_contact_at=row["last_contact_at"],
    )


async def get_person(db: aiosqlite.Connection, person_id: int) -> Person | None:
    """Return the person with this id, or None."""
    async with db.execute(f"SELECT {_COLUMNS} FROM people WHERE id = ?", (person_id,)) as cur:
        return _person(await cur.fetchone())


async def get_person_by_telegram(db: aiosqlite.Connection, telegram_id: int) -> Person | None:
    """Return the person behind a Telegram user id, or None."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM people WHERE telegram_id = ?", (telegram_id,)
    ) as cur:
        return _person(await cur.fetchone())


async def bot_of(db: aiosqlite.Connection, telegram_id: int) -> tuple[int, str] | None:
    """Return (person id, the bot they hear from: '' = none yet) of a Telegram user, or None."""
    async with db.execute(
        "SELECT id, bot FROM people WHERE telegram_id = ?", (telegram_id,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else (row[0], row[1])


async def ensure_person(
    db: aiosqlite.Connection,
    *,
    telegram_id: int,
    now: int,
    name: str | None = None,
    language: str | None = None,
    timezone: str | None = None,
    bot: str = "",
) -> Person:
    """Return the person for `telegram_id`, creating it; given fields overwrite stored ones.

    A non-empty `bot` (registering or claiming a role through that bot) makes
    it the person's bot, see `assign_bot`.
    """
    await db.execute(
        "INSERT INTO people (telegram_id, name, language, timezone, created_at, last_contact_at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(telegram_id) DO UPDATE SET"
        "  name = COALESCE(excluded.name, people.name),"
        "  language = COALESCE(excluded.language, people.language),"
        "  timezone = COALESCE(excluded.timezone, people.timezone)",
        (telegram_id, name, language, timezone, now, now),
    )
    person = await get_person_by_telegram(db, telegram_id)
    assert person is not None
    if bot:
        await assign_bot(db, person.id, bot)
    return person


async def assign_bot(db: aiosqlite.Connection, person_id: int, bot: str) -> None:
    """Make `bot` the one the person hears from, and hand it their messages not yet sent.

    A member belongs to one bot (`[[bots]]`): every outbox row is sent by the
    bot of its recipient, so rows planned while the person had none (or
    another) move with them.
    """
    await db.execute("UPDATE people SET bot = ? WHERE id = ? AND bot <> ?", (bot, person_id, bot))
    await db.execute(
        "UPDATE outbox SET bot = ? WHERE person_id = ? AND bot <> ?"
        " AND status IN ('pending', 'uncertain')",
        (bot, person_id, bot),
    )


async def adopt(db: aiosqlite.Connection, telegram_id: int, bot: str) -> None:
    """Give a person who has no bot yet the one they just wrote to (first contact)."""
    # Read first: every update of a multi-bot deployment comes here, and a
    # write that changes nothing would still queue for the write lock.
    async with db.execute(
        "SELECT id, bot FROM people WHERE telegram_id = ?", (telegram_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is not None and row[1] == "" and bot:
        await assign_bot(db, row[0], bot)


async def set_language(db: aiosqlite.Connection, person_id: int, language: str) -> None:
    """Store the person's interface language."""
    await db.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))


async def set_timezone(db: aiosqlite.Connection, person_id: int, timezone: str) -> None:
    """Store the person's IANA time zone."""
    await db.execute("UPDATE people SET timezone = ? WHERE id = ?", (timezone, person_id))


CONTACT_STAMP_SECONDS = 60  # a person's contact is re-stamped at most this often


async def touch_contact(db: aiosqlite.Connection, telegram_id: int, now: int) -> None:
    """Record that the person just wrote to or pressed something in the bot."""
    # Every update of every user comes here: read first and skip the write when
    # the stamp is fresh, so a burst of presses does not queue for the write
    # lock behind a fan-out (silence is measured in days, not seconds).
    async with db.execute(
        "SELECT last_contact_at, is_reachable FROM people WHERE telegram_id = ?", (telegram_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return
    last, reachable = row[0], row[1]
    if reachable and last is not None and 0 <= now - last < CONTACT_STAMP_SECONDS:
        return
    await db.execute(
        "UPDATE people SET last_contact_at = ?, is_reachable = 1, unreachable_reason = NULL"
        " WHERE telegram_id = ?",
        (now, telegram_id),
    )


async def mark_unreachable(
    db: aiosqlite.Connection, person_id: int, reason: str, now: int
) -> None:
    """Record that Telegram refuses messages to this person (blocked, chat not found)."""
    await db.execute(
        "UPDATE people SET is_reachable = 0, unreachable_reason = ?, unreachable_at = ?"
        " WHERE id = ?",
        (reason, now, person_id),
    )


async def mark_reachable(db: aiosqlite.Connection, person_id: int) -> None:
    """Clear an unreachable mark."""
    await db.execute(
        "UPDATE people SET is_reachable = 1, unreachable_reason = NULL, unreachable_at = NULL"
        " WHERE id = ?",
        (person_id,),
    )
