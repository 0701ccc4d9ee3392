"""The one rule for text people type: what the bot keeps, shows and echoes back.

    name = clean_text("\u202e张三\u200b")                 # "张三"
    body = clean_text(typed, multiline=True)              # lines kept, each tidied
    title = require_text(typed, "study.title_empty")      # or InvalidInput(key)
    shown = echo(context.args)                            # cleaned, at most 40 characters

Every free-text field (names, places typed, pledges, notes, reasons,
comments, study items, command arguments echoed back) goes through
`clean_text`, so text that would display blank or misleadingly never reaches
another person's screen nor the database:

- normalised to NFC, so the same words are stored the same way;
- format characters (Unicode category Cf: bidi overrides and isolates such as
  U+202E, zero-width spaces and joiners, soft hyphens, U+180E), lone
  surrogates and control characters are dropped.  A zero-width joiner between
  two pictographs stays, since it builds one emoji (👨‍👩‍👧) rather than hiding text;
- fillers that are letters or symbols by category but draw nothing (Hangul
  fillers U+115F, U+1160, U+3164, U+FFA0; the blank braille pattern U+2800)
  are dropped too;
- white space runs become one space; in multi-line text each line is tidied,
  line breaks stay, and at most one blank line separates paragraphs;
- text with nothing visible left (only marks, spaces or fillers) is "".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from bot.errors import InvalidInput

__all__ = ["ECHO_MAX", "clean_text", "echo", "has_visible", "require_text"]

# How much of a user's own input the bot quotes back ("没有找到“…”").
ECHO_MAX = 40

# Letters or symbols by category that nonetheless draw nothing.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_ZWJ = "\u200d"
# Categories that give a character a visible shape of its own.  Marks (M*)
# only decorate a neighbour: a text of marks alone shows nothing readable.
_VISIBLE_MAJOR = frozenset("LNPS")


def _is_dropped(char: str) -> bool:
    """Tell whether a character is invisible and carries no meaning worth keeping."""
    if char in _FILLERS:
        return True
    category = unicodedata.category(char)
    # Cc white space (tab, newline, …) is handled by the white-space step.
    return category in ("Cf", "Cs") or (category == "Cc" and not char.isspace())


def _is_pictograph(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk") or char == "\ufe0f"


def _strip_invisible(text: str) -> str:
    kept: list[str] = []
    for index, char in enumerate(text):
        if char == _ZWJ:
            after = text[index + 1 : index + 2]
            if kept and after and _is_pictograph(kept[-1]) and _is_pictograph(after):
                kept.append(char)
            continue
        if not _is_dropped(char):
            kept.append(char)
    return "".join(kept)


def has_visible(text: str) -> bool:
    """Tell whether `text` has at least one character that draws something readable."""
    return any(
        char not in _FILLERS and unicodedata.category(char)[0] in _VISIBLE_MAJOR for char in text
    )


def clean_text(text: str | None, *, multiline: bool = False) -> str:
    """Return typed text without invisible characters, white space tidied; "" if nothing shows."""
    visible = _strip_invisible(unicodedata.normalize("NFC", text or ""))
    if multiline:
        lines = [" ".join(line.split()) for line in visible.splitlines()]
        paragraphs: list[str] = []
        for line in lines:
            if line or (paragraphs and paragraphs[-1]):
                paragraphs.append(line)
        cleaned = "\n".join(paragraphs).strip("\n")
    else:
        cleaned = " ".join(visible.split())
    return cleaned if has_visible(cleaned) else ""


def require_text(
    text: str | None,
    empty_key: str,
    *,
    multiline: bool = False,
    limit: int | None = None,
    long_key: str | None = None,
) -> str:
    """Return `clean_text(text)`, or raise InvalidInput when it is blank or over `limit`."""
    cleaned = clean_text(text, multiline=multiline)
    if not cleaned:
        raise InvalidInput(empty_key)
    if limit is not None and len(cleaned) > limit:
        raise InvalidInput(long_key or empty_key, limit=limit, length=len(cleaned))
    return cleaned


def echo(text: str | Iterable[str] | None, limit: int = ECHO_MAX) -> str:
    """Return user input cleaned and cut to `limit` characters (with "…"), to quote it back."""
    if text is not None and not isinstance(text, str):
        text = " ".join(text)
    cleaned = clean_text(text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
