"""Which bot each person of a branch hears from (`people.bot`, `[[bots]]`).

    people = await unit_people(db, branch_id)   # members, leaders, helpers; bot '' = none yet
    keys = await unit_chain(db, branch_id)      # the branch's key, then its parents' up the tree

Under `[[bots]]` no bot may write first, so a person whose bot is still ''
(a secretary imported from the org file, a helper who never wrote) gets no
scheduled message until they write to one: the digest names them.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

__all__ = ["UnitPerson", "unit_chain", "unit_people"]

# Who a person is to the branch; the first of these a person holds is shown.
_ROLE_ORDER = ("secretary", "committee", "member", "helper", "contact")

# Only people with a Telegram account: a member registered without one (0008)
# is reached through whoever records for them, and a forgotten person has none.
_PEOPLE_SQL = (
    "SELECT p.id, p.name, p.bot, r.role AS what FROM roles r"
    " JOIN people p ON p.id = r.person_id"
    " WHERE r.unit_id = ? AND p.telegram_id IS NOT NULL"
    " UNION ALL"
    " SELECT p.id, p.name, p.bot, 'member' AS what FROM members m"
    " JOIN people p ON p.id = m.person_id"
    " WHERE m.branch_id = ? AND m.status = 'active' AND p.telegram_id IS NOT NULL"
    " UNION ALL"
    " SELECT p.id, p.name, p.bot, h.kind AS what FROM members m"
    " JOIN member_helpers h ON h.member_id = m.id AND h.removed_at IS NULL"
    " JOIN people p ON p.id = h.helper_person_id"
    " WHERE m.branch_id = ? AND m.status = 'active' AND p.telegram_id IS NOT NULL"
)


@dataclass(frozen=True, slots=True)
class UnitPerson:
    """One person of a branch and the bot they hear from ('' = none yet)."""

    person_id: int
    name: str | None
    role: str  # secretary | committee | member | helper (帮学人) | contact (联系人)
    bot: str

    @property
    def has_bot(self) -> bool:
        """Tell whether some bot may send to them (they have written to one)."""
        return bool(self.bot)


async def unit_people(db: aiosqlite.Connection, branch_id: int) -> list[UnitPerson]:
    """Return the branch's leaders, active members and their helpers, once each, by name."""
    found: dict[int, UnitPerson] = {}
    async with db.execute(_PEOPLE_SQL, (branch_id, branch_id, branch_id)) as cur:
        for row in await cur.fetchall():
            person = UnitPerson(row[0], row[1], row[3], row[2] or "")
            known = found.get(person.person_id)
            if known is None or _ROLE_ORDER.index(person.role) < _ROLE_ORDER.index(known.role):
                found[person.person_id] = person
    return sorted(found.values(), key=lambda p: (_ROLE_ORDER.index(p.role), p.name or "",
                                                 p.person_id))


async def unit_chain(db: aiosqlite.Connection, unit_id: int) -> list[str]:
    """Return the unit's key and its ancestors' keys, nearest first."""
    keys: list[str] = []
    seen: set[int] = set()
    current: int | None = unit_id
    # A few levels at most (committee, general branch, branch); `seen` guards a cycle.
    while current is not None and current not in seen:
        seen.add(current)
        async with db.execute("SELECT key, parent_id FROM units WHERE id = ?", (current,)) as cur:
            row = await cur.fetchone()
        if row is None:
            break
        keys.append(row[0])
        current = row[1]
    return keys
