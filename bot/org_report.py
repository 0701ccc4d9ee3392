"""Gather what the structure check needs from the database and run it.

    findings = await load_structure_findings(db, settings.structure)

Shared by `/org check` and `branchbot org check`.
"""

from __future__ import annotations

import aiosqlite

from bot.config import StructureSettings
from bot.domain.structure import StructureFinding, check_structure
from storage.repositories import units

__all__ = ["load_structure_findings"]


async def load_structure_findings(
    db: aiosqlite.Connection, settings: StructureSettings
) -> list[StructureFinding]:
    """Return the structure findings for the whole tree as stored now."""
    return check_structure(
        await units.list_units(db),
        await units.active_member_counts(db),
        await units.committee_counts(db),
        await units.units_with_secretary(db),
        settings,
    )
