"""Registration drafts: a join conversation in progress, kept across restarts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import aiosqlite

__all__ = ["Draft", "delete_draft", "get_draft", "save_draft"]


@dataclass(frozen=True, slots=True)
class Draft:
    """What a member has answered so far, and the step the bot awaits."""

    telegram_id: int
    invite_code: str
    started_at: int
    step: str
    name: str | None = None
    category: str | None = None
    place: str | None = None
    timezone: str | None = None
    language: str | None = None

    def moved_to(self, step: str, **answers: str | None) -> Draft:
        """Return the draft with new answers and the next awaited step."""
        return replace(self, step=step, **answers)


async def get_draft(db: aiosqlite.Connection, telegram_id: int) -> Draft | None:
    """Return the draft of this Telegram user, or None."""
    async with db.execute(
        "SELECT telegram_id, invite_code, started_at, step, name, category, place, timezone,"
        " language FROM registration_drafts WHERE telegram_id = ?",
        (telegram_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else Draft(**{key: row[key] for key in row.keys()})


async def save_draft(db: aiosqlite.Connection, draft: Draft, now: int) -> None:
    """Store the draft, replacing any earlier one of the same user."""
    await db.execute(
        # An upsert both engines speak (PostgreSQL has no INSERT OR REPLACE).
        "INSERT INTO registration_drafts (telegram_id, invite_code, started_at, step,"
        " name, category, place, timezone, language, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (telegram_id) DO UPDATE SET"
        " invite_code = excluded.invite_code, started_at = excluded.started_at,"
        " step = excluded.step, name = excluded.name, category = excluded.category,"
        " place = excluded.place, timezone = excluded.timezone,"
        " language = excluded.language, updated_at = excluded.updated_at",
        (
            draft.telegram_id, draft.invite_code, draft.started_at, draft.step, draft.name,
            draft.category, draft.place, draft.timezone, draft.language, now,
        ),
    )


async def delete_draft(db: aiosqlite.Connection, telegram_id: int) -> None:
    """Drop the user's draft (finished or abandoned)."""
    await db.execute("DELETE FROM registration_drafts WHERE telegram_id = ?", (telegram_id,))
