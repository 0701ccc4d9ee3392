"""Read an organisation file (TOML or CSV) into validated unit specs.

    specs = parse_org_file(Path("county.toml"), known=await unit_keys(db))

The whole file is checked before anything is written: the first problem
raises OrgImportError(source, line, reason) naming the line of the offending
unit (TOML: its ``[[unit]]`` header; CSV: its physical line).  `known` maps
the keys already in the database to their levels, so a file may hang new
units under existing ones.  See docs/org.example.toml and docs/org.example.csv.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.free_text import clean_text
from bot.domain.models import BRANCH_KINDS, COMMITTEE_KINDS, GENERAL_BRANCH_KINDS, Level
from bot.errors import OrgImportError

__all__ = [
    "CSV_COLUMNS",
    "MAX_NAME",
    "UnitSpec",
    "parse_org_file",
    "parse_org_text",
]

MAX_NAME = 100
_Fail = Callable[[str], OrgImportError]
# Telegram user ids fit in 52 bits; anything larger is a typo.
_MAX_TELEGRAM_ID = 2**52
_KEY = re.compile(r"^[a-z0-9_-]{1,64}$")
_TOML_HEADER = re.compile(r"^\s*\[\[\s*unit\s*\]\]\s*(#.*)?$")
_TOML_ERROR_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)$")

CSV_COLUMNS = ("key", "parent", "level", "name", "kind", "timezone", "secretary",
               "secretary_telegram_id")
_REQUIRED = ("key", "level", "name", "kind")
_KINDS: dict[Level, tuple[str, ...]] = {
    Level.COMMITTEE: COMMITTEE_KINDS,
    Level.GENERAL_BRANCH: GENERAL_BRANCH_KINDS,
    Level.BRANCH: BRANCH_KINDS,
}
_PARENT_LEVELS: dict[Level, tuple[Level, ...]] = {
    Level.COMMITTEE: (),
    Level.GENERAL_BRANCH: (Level.COMMITTEE,),
    Level.BRANCH: (Level.GENERAL_BRANCH, Level.COMMITTEE),
}


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """One unit as the file describes it; `line` is where (not part of equality)."""

    key: str
    parent_key: str | None
    level: Level
    name: str
    kind: str
    timezone: str | None = None
    secretary_name: str | None = None
    secretary_telegram_id: int | None = None
    line: int | None = field(default=None, compare=False)


def parse_org_file(path: Path, *, known: Mapping[str, Level] | None = None) -> list[UnitSpec]:
    """Read `path` (.toml or .csv, UTF-8) and return its units in file order."""
    source = str(path)
    fmt = path.suffix.lower().removeprefix(".")
    if fmt not in ("toml", "csv"):
        raise OrgImportError(source, None, "expected a .toml or .csv file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OrgImportError(source, None, f"cannot read the file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise OrgImportError(source, line, "the file is not UTF-8 text") from None
    return parse_org_text(text, fmt=fmt, source=source, known=known)


def parse_org_text(
    text: str, *, fmt: str, source: str, known: Mapping[str, Level] | None = None
) -> list[UnitSpec]:
    """Parse `text` as `fmt` ('toml' or 'csv') and return its validated units."""
    if fmt == "toml":
        raws = _read_toml(text, source)
    elif fmt == "csv":
        raws = _read_csv(text, source)
    else:
        raise OrgImportError(source, None, "expected a .toml or .csv file")
    if not raws:
        raise OrgImportError(source, None, "the file has no units")
    specs = [_unit(raw, line, source, known or {}) for line, raw in raws]
    _check_tree(specs, source, known or {})
    return specs


# -- reading: both formats become (line, {field: value}) -------------------------------------


def _read_toml(text: str, source: str) -> list[tuple[int | None, dict[str, Any]]]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_ERROR_LINE.search(message)
        line = int(match[1]) if match else None
        reason = _TOML_ERROR_LINE.sub("", message)
        raise OrgImportError(source, line, f"not valid TOML: {reason}") from None
    for name in document:
        if name != "unit":
            raise OrgImportError(source, None, f'unknown top-level entry "{name}"; '
                                 "write each unit as a [[unit]] table")
    units = document.get("unit", [])
    if not isinstance(units, list) or not all(isinstance(u, dict) for u in units):
        raise OrgImportError(source, None, "write each unit as a [[unit]] table")
    headers = [n for n, text_line in enumerate(text.splitlines(), 1)
               if _TOML_HEADER.match(text_line)]
    # An inline array (unit = [{...}]) has no headers to point at; lines stay unknown.
    lines: Sequence[int | None] = headers if len(headers) == len(units) else [None] * len(units)
    return list(zip(lines, units, strict=True))


def _read_csv(text: str, source: str) -> list[tuple[int | None, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        return []
    except csv.Error as exc:
        raise OrgImportError(source, 1, f"not valid CSV: {exc}") from None
    for position, column in enumerate(header):
        if column not in CSV_COLUMNS:
            raise OrgImportError(source, 1, f'unknown column "{column}"; the columns are '
                                 + ",".join(CSV_COLUMNS))
        if column in header[:position]:
            raise OrgImportError(source, 1, f'column "{column}" appears twice')
    for column in (*_REQUIRED, "parent"):
        if column not in header:
            raise OrgImportError(source, 1, f'missing column "{column}"; the header is '
                                 + ",".join(CSV_COLUMNS))
    rows: list[tuple[int | None, dict[str, Any]]] = []
    while True:
        # line_num counts physical lines read so far, so the next record starts after it.
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise OrgImportError(source, line, f"not valid CSV: {exc}") from None
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise OrgImportError(source, line, f"the row has {len(cells)} fields, "
                                 f"the header {len(header)}")
        rows.append((line, {c: v.strip() for c, v in zip(header, cells, strict=True)}))
    return rows


# -- one unit at a time ----------------------------------------------------------------------


def _unit(
    raw: Mapping[str, Any], line: int | None, source: str, known: Mapping[str, Level]
) -> UnitSpec:
    def fail(reason: str) -> OrgImportError:
        return OrgImportError(source, line, reason)

    key = raw.get("key")
    if key is None or key == "":
        raise fail("a unit has no key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise fail(f'key "{key}" may use only a-z, 0-9, "_" and "-" (1 to 64 characters)')
    this = f'unit "{key}"'
    for name in raw:
        if name not in CSV_COLUMNS:
            raise fail(f'{this} has unknown field "{name}"; the fields are '
                       + ", ".join(CSV_COLUMNS))
    texts = {name: _text(raw.get(name), name, this, fail)
             for name in ("parent", "level", "name", "kind", "timezone", "secretary")}
    for name in _REQUIRED[1:]:
        # Absent (TOML) and empty (a CSV cell, or "") read the same way.
        if not texts[name]:
            raise fail(f'{this} has no {name}')
    try:
        level = Level(texts["level"])
    except ValueError:
        raise fail(f'{this} has level "{texts["level"]}"; expected one of '
                   + ", ".join(Level)) from None
    if key in known and known[key] != level:
        raise fail(f"{this} is a {known[key]} in the database; "
                   f"its level cannot change to {level}")
    kind = texts["kind"]
    if kind not in _KINDS[level]:
        raise fail(f'{this} has kind "{kind}"; a {level} is one of ' + ", ".join(_KINDS[level]))
    name = texts["name"]
    if len(name) > MAX_NAME:
        raise fail(f"{this} has a name of {len(name)} characters; at most {MAX_NAME}")
    timezone = texts["timezone"] or None
    if timezone is not None and not _is_timezone(timezone):
        raise fail(f'{this} has timezone "{timezone}"; expected an IANA time zone '
                   'such as "Asia/Shanghai"')
    secretary = texts["secretary"] or None
    if secretary is not None and len(secretary) > MAX_NAME:
        raise fail(f"{this} has a secretary name of {len(secretary)} characters; "
                   f"at most {MAX_NAME}")
    return UnitSpec(
        key=key,
        parent_key=texts["parent"] or None,
        level=level,
        name=name,
        kind=kind,
        timezone=timezone,
        secretary_name=secretary,
        secretary_telegram_id=_telegram_id(raw.get("secretary_telegram_id"), this, fail),
        line=line,
    )


def _text(value: Any, name: str, this: str, fail: _Fail) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise fail(f'{this} has {name} {value!r}; expected text')
    # The same rule as typed text: a unit or secretary name shows in members'
    # messages, so it may not hide a bidi override or be blank fillers.
    return clean_text(value)


def _telegram_id(value: Any, this: str, fail: _Fail) -> int | None:
    if value is None or value == "":
        return None
    number = value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or not (
        0 < number < _MAX_TELEGRAM_ID
    ):
        raise fail(f'{this} has secretary_telegram_id "{value}"; '
                   "expected a Telegram user id (a positive integer)")
    return number


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    # A directory such as "Asia" raises IsADirectoryError, a path ValueError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# -- the file as a whole ---------------------------------------------------------------------


def _check_tree(specs: list[UnitSpec], source: str, known: Mapping[str, Level]) -> None:
    by_key: dict[str, UnitSpec] = {}
    for spec in specs:
        first = by_key.setdefault(spec.key, spec)
        if first is not spec:
            where = f" (first on line {first.line})" if first.line is not None else ""
            raise OrgImportError(source, spec.line, f'unit "{spec.key}" is defined twice{where}')
    for spec in specs:
        reason = _parent_problem(spec, by_key, known)
        if reason:
            raise OrgImportError(source, spec.line, reason)


def _parent_problem(
    spec: UnitSpec, by_key: Mapping[str, UnitSpec], known: Mapping[str, Level]
) -> str | None:
    """Return why `spec`'s parent is wrong, or None when it is right."""
    this = f'unit "{spec.key}"'
    wanted = _PARENT_LEVELS[spec.level]
    if spec.parent_key is None:
        if wanted:
            return f"{this} is a {spec.level} and needs a parent ({' or '.join(wanted)})"
        return None
    if not wanted:
        return f'{this} is a committee and cannot have a parent (found "{spec.parent_key}")'
    if spec.parent_key in by_key:
        parent_level = by_key[spec.parent_key].level
    elif spec.parent_key in known:
        parent_level = known[spec.parent_key]
    else:
        return (f'{this} names parent "{spec.parent_key}", which is not in the file '
                "or the database")
    cycle = _cycle_from(spec, by_key)
    if cycle:
        return f"{this} is its own ancestor: " + " → ".join(cycle)
    if parent_level not in wanted:
        return (f'{this} is a {spec.level}, but its parent "{spec.parent_key}" is a '
                f"{parent_level}; a {spec.level}'s parent must be " + " or ".join(wanted))
    return None


def _cycle_from(spec: UnitSpec, by_key: Mapping[str, UnitSpec]) -> list[str]:
    """Return the keys round a parent loop through `spec`, or [] when there is none."""
    # The level rule alone rules loops out, but a loop is the clearer diagnosis
    # when the levels are wrong too, so it is looked for first.
    path = [spec.key]
    current = spec
    while current.parent_key in by_key:
        current = by_key[current.parent_key]
        path.append(current.key)
        if current.key == spec.key:
            return path
        if len(path) > len(by_key):
            return []
    return []
