"""Cut long bot texts into messages Telegram accepts.

    for part in split_message(roster_text):
        await chat.send_message(part)

Telegram refuses a message over 4096 characters, counted in UTF-16 code
units, so that is how length is measured here (an emoji outside the Basic
Multilingual Plane counts twice).  Counting the HTML source rather than the
rendered text errs on the safe side: tags and entities only get shorter.
"""

from __future__ import annotations

__all__ = ["TELEGRAM_LIMIT", "split_message", "telegram_length"]

TELEGRAM_LIMIT = 4096


def telegram_length(text: str) -> int:
    """Return the length of `text` as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Return `text` in parts of at most `limit`, breaking only between lines.

    Lines are packed greedily in order; the newline at a break is dropped.  A
    single line longer than `limit` is cut at the limit (never inside an HTML
    entity such as ``&amp;`` or a surrogate pair), so callers must keep tags
    out of lines that can grow that long: a cut could split ``<b>…</b>``.
    """
    if limit < 8:
        raise ValueError(f"limit must be at least 8, got {limit}")
    if telegram_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        pieces = _cut_line(line, limit)
        for piece in pieces:
            length = telegram_length(piece)
            # +1 for the newline that joins it to what is already collected.
            if current and size + 1 + length > limit:
                parts.append("\n".join(current))
                current, size = [], 0
            size += length + (1 if current else 0)
            current.append(piece)
    if current:
        parts.append("\n".join(current))
    # Blank lines at a break would arrive as empty messages, which Telegram refuses.
    return [part for part in parts if part.strip()] or [text[:limit]]


def _cut_line(line: str, limit: int) -> list[str]:
    """Return the line whole, or in pieces of at most `limit` when it is longer."""
    pieces: list[str] = []
    while telegram_length(line) > limit:
        cut = _cut_point(line, limit)
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def _cut_point(line: str, limit: int) -> int:
    """Return the index of the longest prefix within `limit` that keeps entities whole."""
    cut = 0
    units = 0
    for index, char in enumerate(line):
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > limit:
            break
        units += width
        cut = index + 1
    # Do not end inside "&name;" / "&#123;": back up to the ampersand.
    amp = line.rfind("&", max(0, cut - 10), cut)
    if amp > 0 and ";" not in line[amp:cut] and ";" in line[cut : amp + 12]:
        cut = amp
    return max(cut, 1)
