"""The audit trail: who changed what, when.

    await record(db, at=now, actor="tg:910001", action="member.approve",
                 subject="member:42", detail={"branch": "renhe-shengzhu"})

`record` joins whatever transaction the caller has open, so the audit row
lands or vanishes together with the change it describes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

__all__ = ["AuditEntry", "recent", "record"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row; `detail` is the JSON text (or plain text) recorded."""

    id: int
    at: int
    actor: str
    action: str
    subject: str | None
    detail: str | None


async def record(
    db: aiosqlite.Connection,
    *,
    at: int,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: Mapping[str, Any] | str | None = None,
) -> int:
    """Append one audit row and return its id; a mapping detail is stored as JSON."""
    if detail is not None and not isinstance(detail, str):
        # Keep Chinese names readable in the stored text; sorted keys keep it stable.
        detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)
    cursor = await db.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (at, actor, action, subject, detail),
    )
    await cursor.close()
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def recent(db: aiosqlite.Connection, limit: int = 50) -> list[AuditEntry]:
    """Return the latest `limit` audit rows, newest first."""
    async with db.execute(
        "SELECT id, at, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?",
        (limit,),
    ) as cursor:
        rows = await cursor.fetchall()
    return [AuditEntry(*row) for row in rows]


__all__ += ["rename_actor"]


async def rename_actor(db: aiosqlite.Connection, old: str, new: str) -> None:
    """Relabel an actor's rows (a forgotten person's 'tg:<id>' becomes 'person:<id>')."""
    await db.execute("UPDATE audit SET actor = ? WHERE actor = ?", (new, old))
