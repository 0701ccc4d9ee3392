"""Digest sections and ledger sheets that features contribute, so the core lists them.

    add_digest_section("life", life_lines)   # async (services, branch_id, start, end, language)
    add_ledger_sheet("life", life_sheet)     # async (services, branch_id) -> Sheet | None
    lines = await digest_sections(services, branch_id, start, end, "zh")
    sheets = await ledger_sheets(services, branch_id)

STYLE.md §4.2: a feature hands its digest lines and ledger sheet to the core
through one registry instead of editing bot/domain/digest.py and the ledger
builder.  The registry is module-level because compose_branch and the ledger
only hold Services, not the Application; registering by name keeps it
idempotent when several Applications are built in one process (tests).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.services import Services

__all__ = [
    "Sheet",
    "add_digest_section",
    "add_ledger_sheet",
    "digest_sections",
    "ledger_sheets",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sheet:
    """One extra ledger sheet: its title, column headers and rows of cell values."""

    title: str
    head: list[str]
    rows: list[list[Any]]


DigestSection = Callable[[Services, int, int, int, str], Awaitable[list[str]]]
LedgerSheet = Callable[[Services, int], Awaitable[Sheet | None]]
_SECTIONS: dict[str, DigestSection] = {}
_SHEETS: dict[str, LedgerSheet] = {}


def add_digest_section(name: str, section: DigestSection) -> None:
    """Register a feature's digest lines (branch id, week start and end, language → lines)."""
    _SECTIONS[name] = section


def add_ledger_sheet(name: str, sheet: LedgerSheet) -> None:
    """Register a feature's ledger sheet (branch id → a Sheet, or None for nothing)."""
    _SHEETS[name] = sheet


async def digest_sections(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> list[str]:
    """Return every feature's lines for one branch's week, in registration order."""
    lines: list[str] = []
    for name, section in _SECTIONS.items():
        try:
            lines += await section(services, branch_id, start, end, language)
        except Exception:
            # One feature's broken section must not take the whole digest down.
            log.exception("digest section %s failed", name)
    return lines


async def ledger_sheets(services: Services, branch_id: int) -> list[Sheet]:
    """Return every feature's extra ledger sheets for one branch."""
    sheets: list[Sheet] = []
    for name, build in _SHEETS.items():
        try:
            sheet = await build(services, branch_id)
        except Exception:
            log.exception("ledger sheet %s failed", name)
            continue
        if sheet is not None:
            sheets.append(sheet)
    return sheets
