"""Callback data for inline buttons: `feature:action:arg…`, at most 64 bytes.

    data = pack("join", "cat", "mobile", 1767225600)   # 'join:cat:mobile:1767225600'
    feature, action, args = unpack(data)

A client can send any callback data, not only what the bot put on its
buttons, so a handler reads it through `decode`, which knows each action's
shape and raises MalformedButton for anything else:

    SHAPES = {"ok": (INT,), "why": (INT, frozenset({"ill", "away"})), "sd": [(INT,), (INT, INT)]}
    pressed = decode(query.data, "study", SHAPES)   # Pressed(action="why", args=["7", "ill"],
                                                    #         values=(7, "ill"))

    ValueError
     └── MalformedButton   data that fits no button of the feature (forged, cut, or old)

The feature prefix lets each module's CallbackQueryHandler match `^join:`;
handlers.basics answers whatever no feature takes.

A button a helper presses for a member names that member in a trailing
`f<member id>` part (SUBJECT), so whom the press acts for comes from the
press itself (handlers.acting_for); `optional_subject` lets a feature's
shapes take it, and `decode` returns it apart from the args:

    SHAPES = optional_subject({"done": (INT,)})
    decode("st:done:7:f12", "st", SHAPES)   # Pressed(action="done", args=["7"], ..., subject=12)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "INT",
    "MAX_BYTES",
    "MAX_INT",
    "SUBJECT",
    "TEXT",
    "ArgKind",
    "MalformedButton",
    "Pressed",
    "decode",
    "optional_subject",
    "pack",
    "parse_id",
    "pattern",
    "subject_in",
    "unpack",
    "with_subject",
]

MAX_BYTES = 64  # Telegram's limit on callback_data
MAX_INT = 2**63 - 1  # SQLite's largest INTEGER: a bigger id would raise OverflowError there

INT = "int"  # a part that is a non-negative decimal number (ids, stamps, counts)
TEXT = "text"  # any non-empty part (a code, a key)
SUBJECT = "subject"  # the member a helper acts for: `f<member id>`, only as the last part
# An argument's kind: INT, TEXT, or the set of literal values it may take.
ArgKind = str | frozenset[str]
# An action's shape: the kinds of its args in order; a list gives alternatives.
Shape = Sequence[ArgKind]

# ASCII digits only: str.isdigit() also takes '²' (which int() refuses) and
# other scripts' digits (which int() reads), neither of which the bot ever packs.
_DECIMAL = re.compile(r"[0-9]{1,19}")
_SUBJECT = re.compile(r"f([0-9]{1,19})")


class MalformedButton(ValueError):
    """Callback data that fits no button the feature makes: forged, cut short, or from old code."""


@dataclass(frozen=True, slots=True)
class Pressed:
    """A decoded button press: the action, its args as sent, and the args typed by shape."""

    feature: str
    action: str
    args: list[str]
    values: tuple[int | str, ...]
    subject: int | None = None  # the member a helper's press acts for (None: the presser)


def pack(feature: str, action: str, *args: object) -> str:
    """Join the parts into callback data, refusing anything Telegram would reject."""
    parts = [feature, action, *(str(arg) for arg in args)]
    if any(":" in part for part in parts):
        raise ValueError(f"':' is the separator and cannot appear in a part: {parts}")
    data = ":".join(parts)
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def unpack(data: str) -> tuple[str, str, list[str]]:
    """Split callback data into (feature, action, args), unchecked; handlers use `decode`."""
    feature, _, rest = data.partition(":")
    action, _, tail = rest.partition(":")
    return feature, action, tail.split(":") if tail else []


def parse_id(part: str) -> int | None:
    """Return `part` as a non-negative integer SQLite can hold, or None."""
    if not _DECIMAL.fullmatch(part):
        return None
    value = int(part)
    return value if value <= MAX_INT else None


def subject_in(data: str) -> int | None:
    """Return the member id a press names in its trailing SUBJECT part, or None."""
    last = data.rpartition(":")[2]
    found = _SUBJECT.fullmatch(last)
    return parse_id(found.group(1)) if found and data.count(":") >= 2 else None


def with_subject(data: str, member_id: int) -> str:
    """Return callback data naming member_id as the subject, within the 64 bytes."""
    feature, action, args = unpack(data)
    return pack(feature, action, *args, f"f{member_id}")


def optional_subject(shapes: Mapping[str, Shape | list[Shape]]) -> dict[str, list[Shape]]:
    """Return shapes that also take a trailing SUBJECT part (a helper's press)."""
    widened: dict[str, list[Shape]] = {}
    for action, shape in shapes.items():
        alternatives = shape if isinstance(shape, list) else [shape]
        widened[action] = [*alternatives, *((*kinds, SUBJECT) for kinds in alternatives)]
    return widened


def _typed(part: str, kind: ArgKind) -> int | str | None:
    """Return `part` read as `kind`, or None if it is not one."""
    if kind == SUBJECT:
        found = _SUBJECT.fullmatch(part)
        return parse_id(found.group(1)) if found else None
    if kind == INT:
        return parse_id(part)
    if kind == TEXT:
        return part or None
    return part if part in kind else None


def decode(data: str | None, feature: str, shapes: Mapping[str, Shape | list[Shape]]) -> Pressed:
    """Return the press read by its action's shape, or raise MalformedButton."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        raise MalformedButton(data)
    prefix, action, args = unpack(data)
    shape = shapes.get(action)
    if prefix != feature or shape is None:
        raise MalformedButton(data)
    alternatives = shape if isinstance(shape, list) else [shape]
    for kinds in alternatives:
        if len(kinds) != len(args):
            continue
        values = tuple(_typed(part, kind) for part, kind in zip(args, kinds, strict=True))
        if all(value is not None for value in values):
            if kinds and kinds[-1] == SUBJECT:
                # The subject is not an arg: handlers read args by position.
                return Pressed(feature, action, args[:-1], values[:-1], int(values[-1]))
            return Pressed(feature, action, args, values)
    raise MalformedButton(data)


def pattern(feature: str) -> str:
    """Return the regex a CallbackQueryHandler uses to take this feature's buttons."""
    return f"^{feature}:"
