"""Invites: a secretary's join codes."""

from __future__ import annotations

import aiosqlite

from bot.domain.models import Invite

__all__ = ["count_use", "create_invite", "get_invite", "list_invites", "revoke_invite"]

_COLUMNS = "id, code, branch_id, created_by, created_at, expires_at, max_uses, uses, revoked_at"


def _invite(row: aiosqlite.Row | None) -> Invite | None:
    return None if row is None else Invite(**{key: row[key] for key in row.keys()})


async def create_invite(
    db: aiosqlite.Connection,
    *,
    code: str,
    branch_id: int,
    created_by: int | None,
    now: int,
    expires_at: int,
    max_uses: int,
) -> Invite:
    """Store a new invite and return it."""
    cursor = await db.execute(
        "INSERT INTO invites (code, branch_id, created_by, created_at, expires_at, max_uses)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (code, branch_id, created_by, now, expires_at, max_uses),
    )
    invite = await get_invite(db, code)
    assert invite is not None and invite.id == cursor.lastrowid
    return invite


async def get_invite(db: aiosqlite.Connection, code: str) -> Invite | None:
    """Return the invite with this code, or None."""
    async with db.execute(f"SELECT {_COLUMNS} FROM invites WHERE code = ?", (code,)) as cur:
        return _invite(await cur.fetchone())


async def list_invites(db: aiosqlite.Connection, branch_ids: list[int]) -> list[Invite]:
    """Return the invites of the given branches, newest first."""
    if not branch_ids:
        return []
    marks = ",".join("?" * len(branch_ids))
    async with db.execute(
        f"SELECT {_COLUMNS} FROM invites WHERE branch_id IN ({marks}) ORDER BY id DESC",
        branch_ids,
    ) as cur:
        return [_invite(row) for row in await cur.fetchall()]  # type: ignore[misc]


async def revoke_invite(db: aiosqlite.Connection, invite_id: int, now: int) -> None:
    """Stop an invite from admitting anyone else."""
    await db.execute(
        "UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, invite_id)
    )


async def count_use(db: aiosqlite.Connection, invite_id: int) -> bool:
    """Spend one use of the invite; False if none was left (checked in the same statement)."""
    cursor = await db.execute(
        "UPDATE invites SET uses = uses + 1 WHERE id = ? AND uses < max_uses", (invite_id,)
    )
    return cursor.rowcount == 1
