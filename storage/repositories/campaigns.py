"""Service-star campaigns (创先争优): campaigns, nominations, the secret ballot, the result.

    campaign_id = await open_campaign(db, unit_id=3, title="服务明星评比", stars=3,
                                      opens_at=now, closes_at=later, by=1)
    await nominate(db, campaign_id, member_id=9, by=2, reason="…", now=now)
    voted = await cast_vote(db, campaign_id, voter=2, nominee=9)     # False: already voted
    tally = await tally_of(db, campaign_id)                        # [(member_id, votes)]
    await confirm_result(db, campaign_id, [(9, 5)], by=1, now=now)

The ballot is secret: `cast_vote` writes "this person has voted" and "this
nominee got a vote" to two tables with no column in common but the campaign
(see migration 0012), so nothing stored can pair a voter with a choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import transaction

__all__ = [
    "Campaign",
    "Nomination",
    "Star",
    "cast_vote",
    "confirm_result",
    "forget_reasons",
    "get_campaign",
    "has_voted",
    "nominate",
    "nominations",
    "open_campaigns",
    "stars_in",
    "tally_of",
    "unit_campaigns",
    "voter_count",
]


@dataclass(frozen=True, slots=True)
class Campaign:
    """One campaign of a unit: its title, period, number of stars and state."""

    id: int
    unit_id: int
    title: str
    stars: int
    opens_at: int
    closes_at: int
    status: str  # open | closed
    confirmed_at: int | None


@dataclass(frozen=True, slots=True)
class Nomination:
    """A nominee of a campaign, with the reasons given (one line each)."""

    member_id: int
    name: str | None
    branch_id: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Star:
    """A confirmed service star: the member, their name and branch, and the votes."""

    campaign_id: int
    title: str
    member_id: int
    name: str | None
    branch_id: int
    votes: int


_CAMPAIGN = (
    "SELECT id, unit_id, title, stars, opens_at, closes_at, status, confirmed_at FROM campaigns"
)


async def open_campaign(
    db: aiosqlite.Connection,
    *,
    unit_id: int,
    title: str,
    stars: int,
    opens_at: int,
    closes_at: int,
    by: int | None,
) -> int:
    """Store a new open campaign and return its id."""
    cursor = await db.execute(
        "INSERT INTO campaigns (unit_id, title, stars, opens_at, closes_at, status, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
        (unit_id, title, stars, opens_at, closes_at, by, opens_at),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


__all__ += ["open_campaign"]


async def get_campaign(db: aiosqlite.Connection, campaign_id: int) -> Campaign | None:
    """Return one campaign, or None."""
    async with db.execute(f"{_CAMPAIGN} WHERE id = ?", (campaign_id,)) as cur:
        row = await cur.fetchone()
    return Campaign(*row) if row else None


async def open_campaigns(db: aiosqlite.Connection) -> list[Campaign]:
    """Return every open campaign (planners fan them out and close them)."""
    async with db.execute(f"{_CAMPAIGN} WHERE status = 'open' ORDER BY id") as cur:
        return [Campaign(*row) for row in await cur.fetchall()]


async def unit_campaigns(db: aiosqlite.Connection, unit_ids: Sequence[int]) -> list[Campaign]:
    """Return the campaigns of the given units, newest first."""
    if not unit_ids:
        return []
    marks = ",".join("?" * len(unit_ids))
    async with db.execute(
        f"{_CAMPAIGN} WHERE unit_id IN ({marks}) ORDER BY id DESC", tuple(unit_ids)
    ) as cur:
        return [Campaign(*row) for row in await cur.fetchall()]


async def nominate(
    db: aiosqlite.Connection,
    campaign_id: int,
    *,
    member_id: int,
    by: int,
    reason: str | None,
    now: int,
) -> None:
    """Record a nomination (a second one by the same person for the same nominee replaces it)."""
    async with transaction(db):
        await db.execute(
            "INSERT INTO campaign_nominations (campaign_id, member_id, nominated_by, reason,"
            " created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (campaign_id, member_id,"
            " nominated_by) DO UPDATE SET reason = excluded.reason",
            (campaign_id, member_id, by, reason, now),
        )
        # Every nominee starts at zero, so the tally lists them all.
        await db.execute(
            "INSERT OR IGNORE INTO campaign_tally (campaign_id, member_id, votes) VALUES (?, ?, 0)",
            (campaign_id, member_id),
        )


async def nominations(db: aiosqlite.Connection, campaign_id: int) -> list[Nomination]:
    """Return the campaign's nominees with their reasons, by name."""
    async with db.execute(
        "SELECT n.member_id, p.name, m.branch_id, n.reason FROM campaign_nominations n"
        " JOIN members m ON m.id = n.member_id JOIN people p ON p.id = m.person_id"
        " WHERE n.campaign_id = ? ORDER BY p.name COLLATE NOCASE, n.member_id, n.id",
        (campaign_id,),
    ) as cur:
        rows = await cur.fetchall()
    found: dict[int, Nomination] = {}
    for member_id, name, branch_id, reason in rows:
        old = found.get(member_id)
        reasons = (*(old.reasons if old else ()), *((reason,) if reason else ()))
        found[member_id] = Nomination(member_id, name, branch_id, reasons)
    return list(found.values())


async def cast_vote(
    db: aiosqlite.Connection, campaign_id: int, *, voter: int, nominee: int
) -> bool:
    """Count one vote, once per voter and campaign; False if this person had already voted."""
    async with transaction(db):
        cursor = await db.execute(
            "INSERT OR IGNORE INTO campaign_voters (campaign_id, person_id) VALUES (?, ?)",
            (campaign_id, voter),
        )
        if cursor.rowcount != 1:
            return False
        # Deliberately no voter here: the tally only ever learns "one more".
        await db.execute(
            "UPDATE campaign_tally SET votes = votes + 1 WHERE campaign_id = ? AND member_id = ?",
            (campaign_id, nominee),
        )
    return True


async def has_voted(db: aiosqlite.Connection, campaign_id: int, person_id: int) -> bool:
    """Tell whether a person has voted in the campaign (not for whom: that is not kept)."""
    async with db.execute(
        "SELECT 1 FROM campaign_voters WHERE campaign_id = ? AND person_id = ?",
        (campaign_id, person_id),
    ) as cur:
        return await cur.fetchone() is not None


async def voter_count(db: aiosqlite.Connection, campaign_id: int) -> int:
    """Return how many have voted."""
    async with db.execute(
        "SELECT COUNT(*) FROM campaign_voters WHERE campaign_id = ?", (campaign_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def voted_among(
    db: aiosqlite.Connection, campaign_id: int, person_ids: Sequence[int]
) -> int:
    """Return how many of `person_ids` have voted (a count only, as the ballot is secret)."""
    if not person_ids:
        return 0
    marks = ",".join("?" * len(person_ids))
    async with db.execute(
        f"SELECT COUNT(*) FROM campaign_voters WHERE campaign_id = ? AND person_id IN ({marks})",
        (campaign_id, *person_ids),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def tally_of(db: aiosqlite.Connection, campaign_id: int) -> list[tuple[int, str | None, int]]:
    """Return (member id, name, votes) per nominee, most votes first."""
    async with db.execute(
        "SELECT t.member_id, p.name, t.votes FROM campaign_tally t"
        " JOIN members m ON m.id = t.member_id JOIN people p ON p.id = m.person_id"
        " WHERE t.campaign_id = ? ORDER BY t.votes DESC, p.name COLLATE NOCASE, t.member_id",
        (campaign_id,),
    ) as cur:
        return [(row[0], row[1], int(row[2])) for row in await cur.fetchall()]


async def confirm_result(
    db: aiosqlite.Connection,
    campaign_id: int,
    stars: Sequence[tuple[int, int]],
    *,
    by: int | None,
    now: int,
) -> bool:
    """Close the campaign with the confirmed stars [(member, votes)]; False if already closed."""
    async with transaction(db):
        cursor = await db.execute(
            "UPDATE campaigns SET status = 'closed', confirmed_by = ?, confirmed_at = ?"
            " WHERE id = ? AND status = 'open'",
            (by, now, campaign_id),
        )
        if cursor.rowcount != 1:
            return False
        await db.executemany(
            "INSERT INTO campaign_stars (campaign_id, member_id, votes) VALUES (?, ?, ?)",
            [(campaign_id, member_id, votes) for member_id, votes in stars],
        )
    return True


async def stars_in(db: aiosqlite.Connection, branch_id: int, year: int) -> list[Star]:
    """Return the confirmed stars who are members of a branch, of campaigns confirmed in `year`."""
    async with db.execute(
        "SELECT s.campaign_id, c.title, s.member_id, p.name, m.branch_id, s.votes"
        " FROM campaign_stars s JOIN campaigns c ON c.id = s.campaign_id"
        " JOIN members m ON m.id = s.member_id JOIN people p ON p.id = m.person_id"
        " WHERE m.branch_id = ?"
        " AND CAST(strftime('%Y', c.confirmed_at, 'unixepoch') AS INTEGER) = ?"
        " ORDER BY c.id, s.votes DESC, p.name COLLATE NOCASE",
        (branch_id, year),
    ) as cur:
        return [Star(*row) for row in await cur.fetchall()]


async def forget_reasons(
    db: aiosqlite.Connection, person_id: int, member_ids: Sequence[int]
) -> None:
    """Erase the reasons a person wrote and the reasons written about them (/forget)."""
    marks = ",".join("?" * len(member_ids))
    about = f" OR member_id IN ({marks})" if member_ids else ""
    await db.execute(
        f"UPDATE campaign_nominations SET reason = NULL WHERE nominated_by = ?{about}",
        (person_id, *member_ids),
    )


async def confirmed_since(db: aiosqlite.Connection, since: int) -> list[Campaign]:
    """Return the campaigns whose result was confirmed at or after `since`."""
    async with db.execute(
        f"{_CAMPAIGN} WHERE status = 'closed' AND confirmed_at >= ? ORDER BY id", (since,)
    ) as cur:
        return [Campaign(*row) for row in await cur.fetchall()]


async def stars_of(db: aiosqlite.Connection, campaign_id: int) -> list[tuple[int, str | None, int]]:
    """Return (member id, name, votes) of a campaign's confirmed stars, most votes first."""
    async with db.execute(
        "SELECT s.member_id, p.name, s.votes FROM campaign_stars s"
        " JOIN members m ON m.id = s.member_id JOIN people p ON p.id = m.person_id"
        " WHERE s.campaign_id = ? ORDER BY s.votes DESC, p.name COLLATE NOCASE",
        (campaign_id,),
    ) as cur:
        return [(row[0], row[1], int(row[2])) for row in await cur.fetchall()]


__all__ += ["confirmed_since", "stars_of"]
