"""The branch ledger (台账): an Excel workbook of the roster, study, pledges and mobile members.

    data = await digest_repo.load_ledger(db, branch_id, now=now, settings=settings)
    xlsx = await build_ledger(data)          # bytes, built in a worker thread

Sheets: 花名册 (roster), 学习记录 (one row per study item and member),
承诺践诺 (each pledge with its monthly progress and ratings) and 流动党员
(mobile members' places and last contact).  Column headers are Chinese, the
ledger being an official record; labels come from the zh catalogue.  Times
are shown in the branch's zone as real Excel dates, so they sort and filter.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.domain.localtime import zone
from bot.i18n import t

__all__ = [
    "LEDGER_LANGUAGE",
    "SHEETS",
    "LedgerData",
    "MobileRow",
    "PledgeRow",
    "RosterRow",
    "StudyRow",
    "build_ledger",
    "build_ledger_sync",
    "headers",
]

LEDGER_LANGUAGE = "zh"
SHEETS = ("roster", "study", "pledges", "mobile")
_DATETIME = "yyyy-mm-dd hh:mm"
_DATE = "yyyy-mm-dd"
_HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One membership on the roster."""

    name: str | None
    category: str
    status: str
    joined_at: int | None
    place: str | None
    timezone: str | None
    language: str | None
    last_contact_at: int | None
    reachable: bool
    away_until: str | None
    offline: bool = False  # registered without Telegram: the contact column says by whom
    registered_by: str | None = None


@dataclass(frozen=True, slots=True)
class StudyRow:
    """One member's record for one study item."""

    title: str
    due_date: str  # local 'YYYY-MM-DD'
    name: str | None
    outcome: str  # studied | excused | away | missed | open (not yet due)
    answered_at: int | None = None
    note: str | None = None
    entered_by: str | None = None


@dataclass(frozen=True, slots=True)
class PledgeRow:
    """One pledge with its monthly progress (month 1–12 → status) and ratings."""

    name: str | None
    year: int
    text: str
    target: str | None
    status: str
    months: dict[int, str] = field(default_factory=dict)
    self_rating: str | None = None
    secretary_rating: str | None = None
    secretary_comment: str | None = None


@dataclass(frozen=True, slots=True)
class MobileRow:
    """A mobile member's whereabouts and silence."""

    name: str | None
    place: str | None
    timezone: str | None
    last_contact_at: int | None
    days_silent: int
    state: str  # ok | silent | lost
    history: tuple[tuple[int, str | None], ...] = ()  # (at, place), newest first


@dataclass(frozen=True, slots=True)
class LedgerData:
    """Everything one branch's ledger shows."""

    branch_name: str
    branch_key: str
    timezone: str
    generated_at: int
    roster: Sequence[RosterRow] = ()
    study: Sequence[StudyRow] = ()
    pledges: Sequence[PledgeRow] = ()
    mobile: Sequence[MobileRow] = ()
    # Sheets features contribute (bot.report_parts.Sheet: title, head, rows), e.g. 变动记录.
    extra: Sequence[Any] = ()


def _z(key: str, **params: Any) -> str:
    return t(LEDGER_LANGUAGE, key, **params)


def headers(sheet: str) -> list[str]:
    """Return the column headers of one sheet (see SHEETS)."""
    names = _z(f"ledger.{sheet}_head").split("|")
    if sheet == "pledges":
        # The twelve monthly progress columns sit between the pledge and its ratings.
        months = [_z("ledger.month", month=month) for month in range(1, 13)]
        return [*names[:5], *months, *names[5:]]
    return names


class _Writer:
    """Turns the data's values into cells: local dates, labels, blanks for None."""

    def __init__(self, timezone: str) -> None:
        self.tz = zone(timezone)

    def when(self, timestamp: int | None) -> datetime | None:
        if timestamp is None:
            return None
        # Excel has no time zones: write the branch's wall time.
        return datetime.fromtimestamp(timestamp, UTC).astimezone(self.tz).replace(tzinfo=None)

    @staticmethod
    def name(name: str | None) -> str:
        return name if name else _z("digest.anonymous")

    @staticmethod
    def label(prefix: str, value: str | None) -> str:
        return "" if value is None else _z(f"{prefix}.{value}")


def _safe(value: Any) -> Any:
    """Return a cell value openpyxl accepts: control characters dropped from text."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _sheet(book: Workbook, title: str, head: list[str], rows: list[list[Any]]) -> Worksheet:
    sheet = book.create_sheet(title)
    sheet.append(head)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row in rows:
        sheet.append([_safe(value) for value in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                # Members type these texts: a leading "=" must stay text, never a formula.
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(head))}{len(rows) + 1}"
    for index, title_text in enumerate(head, start=1):
        letter = get_column_letter(index)
        values = [len(str(v)) for v in (r[index - 1] for r in rows[:200]) if v is not None]
        width = max([len(title_text) * 2, *(min(v, 40) for v in values)], default=8)
        sheet.column_dimensions[letter].width = max(8, min(width + 2, 48))
        for cell in sheet[letter][1:]:
            if isinstance(cell.value, datetime):
                cell.number_format = _DATETIME
            elif isinstance(cell.value, date):
                cell.number_format = _DATE
    return sheet


def _contact(row: RosterRow, yes: str, no: str) -> str:
    """Return the roster's contact cell: can the bot reach them, or who registered them."""
    if row.offline:
        return _z("offline.ledger_contact", who=row.registered_by or _z("digest.anonymous"))
    return yes if row.reachable else no


def build_ledger_sync(data: LedgerData) -> bytes:
    """Build the workbook and return the .xlsx bytes (blocking: see build_ledger)."""
    w = _Writer(data.timezone)
    book = Workbook()
    book.remove(book.active)
    yes, no = _z("ledger.yes"), _z("ledger.no")
    _sheet(book, _z("ledger.sheet_roster"), headers("roster"), [
        [w.name(r.name), w.label("category", r.category), w.label("status", r.status),
         w.when(r.joined_at), r.place or "", r.timezone or "", r.language or "",
         w.when(r.last_contact_at), _contact(r, yes, no), r.away_until or ""]
        for r in data.roster
    ])
    _sheet(book, _z("ledger.sheet_study"), headers("study"), [
        [r.title, date.fromisoformat(r.due_date), w.name(r.name), _z(f"ledger.outcome_{r.outcome}"),
         w.when(r.answered_at), r.note or "", r.entered_by or ""]
        for r in data.study
    ])
    _sheet(book, _z("ledger.sheet_pledges"), headers("pledges"), [
        [w.name(r.name), r.year, r.text, r.target or "", _z(f"ledger.pledge_{r.status}"),
         *(w.label("ledger.progress", r.months.get(month)) for month in range(1, 13)),
         w.label("ledger.rating", r.self_rating), w.label("ledger.rating", r.secretary_rating),
         r.secretary_comment or ""]
        for r in data.pledges
    ])
    _sheet(book, _z("ledger.sheet_mobile"), headers("mobile"), [
        [w.name(r.name), r.place or "", r.timezone or "", w.when(r.last_contact_at),
         r.days_silent, _z(f"ledger.silence_{r.state}"),
         "；".join(
             f"{when:%Y-%m-%d} {place or ''}".strip()
             for when, place in ((w.when(at), place) for at, place in r.history)
             if when is not None
         )]
        for r in data.mobile
    ])
    for extra in data.extra:
        _sheet(book, extra.title, extra.head, extra.rows)
    # Not through t(): its HTML escaping has no place in a spreadsheet.
    book.properties.title = f"{data.branch_name} {_z('ledger.title')}"
    book.properties.creator = "branchbot"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def build_ledger(data: LedgerData) -> bytes:
    """Build the workbook in a worker thread (openpyxl is slow on big branches)."""
    return await asyncio.to_thread(build_ledger_sync, data)
