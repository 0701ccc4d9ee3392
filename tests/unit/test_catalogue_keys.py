"""Every catalogue key the code names exists in both catalogues (issue 10, item 5).

A static scan of bot/ and handlers/: a string literal shaped like a key
("join.welcome") whose first part is a catalogue table must be a key (or the
prefix of a family of keys); an f-string key ("join.code_{problem}") must name
at least one key, and the families built from enums must have a key per value.
A key missing from en silently falls back to zh; one missing from zh makes the
bot apologise instead of answering, as /language once did for plain members.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.joining import InviteProblem
from bot.domain.models import Category, MemberStatus, RoleName
from bot.i18n import LANGUAGES, catalogue

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("bot", "handlers")
_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+_?$")
# Strings shaped like keys that name something else are skipped by where
# they stand: audit actions (action=...), outbox or input kinds (kind=...) and
# module constants naming an input kind (KIND = "offline.add").  Anything else
# not user-visible goes here.
NOT_KEYS: set[str] = set()
_NOT_KEY_ARGUMENTS = {"action", "kind", "subject"}
# The 台账 is an official record kept in Chinese whatever the reader's language
# (bot/ledger.py reads its labels from the zh catalogue only).
ZH_ONLY_TABLES = {"ledger"}


def _tables() -> set[str]:
    return {key.split(".")[0] for key in catalogue("zh")}


def _sources() -> Iterator[Path]:
    for folder in SCANNED:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _not_keys(tree: ast.Module) -> set[int]:
    """Return the ids of literals that stand where no catalogue key goes."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in _NOT_KEY_ARGUMENTS:
            skipped.add(id(node.value))
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id.isupper()
            and isinstance(statement.value, ast.Constant)
        ):
            skipped.add(id(statement.value))
    return skipped


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Yield every node, but not the literal parts inside an f-string (they are prefixes)."""
    yield node
    if isinstance(node, ast.JoinedStr):
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk(child)


def _used_keys() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return (where, literal key) and (where, f-string pattern) found in the code."""
    tables = _tables()
    literals: list[tuple[str, str]] = []
    patterns: list[tuple[str, str]] = []
    for path in _sources():
        tree = ast.parse(path.read_text("utf-8"))
        where = str(path.relative_to(ROOT))
        skipped = _not_keys(tree)
        for node in _walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in skipped:
                    continue
                value = node.value
                if _KEY.match(value) and value.split(".")[0] in tables and value not in NOT_KEYS:
                    literals.append((f"{where}:{node.lineno}", value))
            elif isinstance(node, ast.JoinedStr):
                head = node.values[0] if node.values else None
                if not (isinstance(head, ast.Constant) and isinstance(head.value, str)):
                    continue
                if "." not in head.value or head.value.split(".")[0] not in tables:
                    continue
                if not re.match(r"^[a-z0-9_.]+$", head.value):
                    continue
                pattern = "".join(
                    re.escape(part.value) if isinstance(part, ast.Constant) else "[a-z0-9_.]+"
                    for part in node.values
                )
                patterns.append((f"{where}:{node.lineno}", pattern))
    return literals, patterns


def _languages_for(key: str) -> tuple[str, ...]:
    return ("zh",) if key.split(".")[0] in ZH_ONLY_TABLES else LANGUAGES


def _names(key: str, language: str) -> bool:
    """Tell whether `key` is a key, or the prefix of a family of keys, in the catalogue."""
    keys = catalogue(language)
    if key in keys:
        return True
    prefix = key if key.endswith("_") else key + "."
    return any(k.startswith(prefix) for k in keys)


def test_the_scan_finds_the_keys_it_should() -> None:
    literals, patterns = _used_keys()
    found = {key for _, key in literals}
    assert {"start.stranger", "errors.not_member", "study.checkin_none"} <= found
    assert any(p.startswith(re.escape("join.code_")) for _, p in patterns)


def test_every_literal_key_exists_in_both_catalogues() -> None:
    literals, _ = _used_keys()
    missing = [
        f"{where}: {key} (missing in {language})"
        for where, key in literals
        for language in _languages_for(key)
        if not _names(key, language)
    ]
    assert not missing, "\n".join(missing)


def test_every_fstring_key_names_keys_in_both_catalogues() -> None:
    _, patterns = _used_keys()
    missing = []
    for where, pattern in patterns:
        regex = re.compile(f"^{pattern}$")
        table = pattern.split("\\.")[0]
        zh = {k for k in catalogue("zh") if regex.match(k)}
        if not zh:
            missing.append(f"{where}: {pattern} names no key in zh")
            continue
        if table in ZH_ONLY_TABLES:
            continue
        en = {k for k in catalogue("en") if regex.match(k)}
        missing += [f"{where}: {key} (missing in en)" for key in sorted(zh - en)]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize(
    ("template", "values"),
    [
        ("category.{}", [c.value for c in Category]),
        ("status.{}", [s.value for s in MemberStatus]),
        ("role.{}", [r.value for r in RoleName]),
        ("join.code_{}", [p.value for p in InviteProblem]),
    ],
)
@pytest.mark.parametrize("language", LANGUAGES)
def test_keys_built_from_known_values_exist(
    template: str, values: list[str], language: str
) -> None:
    keys = catalogue(language)
    missing = [template.format(v) for v in values if template.format(v) not in keys]
    assert not missing
