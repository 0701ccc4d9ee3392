"""Digest sections and ledger sheets that features contribute, so the core lists them.

    add_digest_section("life", life_lines)   # async (services, branch_id, start, end, language)
    add_ledger_sheet("life", life_sheet)     # async (services, branch_id) -> Sheet | None
    add_rollup_figure("posts", posts_figure) # async (services, branch_id, start, end, language)
                                             #   -> RollupFigure | None
    lines = await digest_sections(services, branch_id, start, end, "zh")
    sheets = await ledger_sheets(services, branch_id)
    figures = await rollup_figures(services, branch_id, start, end, "zh")

STYLE.md §4.2: a feature hands its digest lines and ledger sheet to the core
through one registry instead of editing bot/domain/digest.py and the ledger
builder.  The registry is module-level because compose_branch and the ledger
only hold Services, not the Application; registering by name keeps it
idempotent when several Applications are built in one process (tests).

The higher secretaries' roll-up (one line per branch, weakest first) takes a
figure per feature and branch: `RollupFigure(text, count, weighs)`.  Its text
is shown on the branch's line; when it `weighs`, its count lowers the branch's
score as that many members needing attention would (the rule and its reasons
are in bot.domain.digest's docstring).  What each feature counts:

    posts       履岗 reports missing this month (holders)          weighs
    campaigns   votes outstanding in an open campaign (members)  weighs only
                in its last CAMPAIGN_LAST_DAYS: a vote just opened is no fault
    households  households not visited for the reminder days     weighs
    contact     members a recorded attempt did not reach this    weighs
                week (each such member is an open call task)
    meetings    meetings the rhythm asks for that are urgent      weighs
                (period ends within 14 days, or over) and not called
    life        changes this week                                information
    helpers     entries made on members' behalf (代为登记)          information
    bots        people no bot may write to yet (`[[bots]]` only:  weighs
                each is someone to phone; none with one bot)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.digest import RollupFigure
from bot.services import Services

__all__ = [
    "CAMPAIGN_LAST_DAYS",
    "RollupFigure",
    "Sheet",
    "add_digest_section",
    "add_ledger_sheet",
    "add_rollup_figure",
    "digest_sections",
    "ledger_sheets",
    "rollup_figures",
]

# A campaign's outstanding votes weigh in the roll-up only in its last days.
CAMPAIGN_LAST_DAYS = 3

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
RollupSection = Callable[[Services, int, int, int, str], Awaitable[RollupFigure | None]]
_FIGURES: dict[str, RollupSection] = {}


def add_digest_section(name: str, section: DigestSection) -> None:
    """Register a feature's digest lines (branch id, week start and end, language → lines)."""
    _SECTIONS[name] = section


def add_ledger_sheet(name: str, sheet: LedgerSheet) -> None:
    """Register a feature's ledger sheet (branch id → a Sheet, or None for nothing)."""
    _SHEETS[name] = sheet


def add_rollup_figure(name: str, figure: RollupSection) -> None:
    """Register a feature's roll-up figure (branch id, week start and end, language → figure)."""
    _FIGURES[name] = figure


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


async def rollup_figures(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> list[RollupFigure]:
    """Return every feature's roll-up figure for one branch's week (only those counting > 0)."""
    figures: list[RollupFigure] = []
    for name, build in _FIGURES.items():
        try:
            figure = await build(services, branch_id, start, end, language)
        except Exception:
            # As for sections: one broken figure must not take the roll-up down.
            log.exception("roll-up figure %s failed", name)
            continue
        if figure is not None and figure.count > 0:
            figures.append(figure)
    return figures
