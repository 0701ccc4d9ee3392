"""Telegram text formatting as the real server applies it: HTML → plain text + entities.

The emulator renders what the bot sends the way Telegram would, so tests see what a
user sees and malformed HTML fails loudly (as it does in production) instead of
slipping through.

Example::

    plain, entities = render_html("<b>Hi</b> &amp; bye")
    assert plain == "Hi & bye"
    assert entities == [{"type": "bold", "offset": 0, "length": 2}]
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from bot.emulator.errors import ApiError

__all__ = [
    "command_entities",
    "render_html",
    "render_text",
    "utf16_len",
]

# Telegram formatting tag → entity type (see "HTML style" in the Bot API docs).
_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?(?=\s|$)")


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units (Telegram's offset unit)."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """Return the ``bot_command`` entity Telegram attaches to a leading ``/command``."""
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def render_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Render ``text`` per ``parse_mode``; explicit ``entities`` win, Markdown stays raw."""
    if entities:
        return text, list(entities)
    if parse_mode is not None and parse_mode.lower() == "html":
        return render_html(text)
    return text, []


def render_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into plain text and entities; raise 400 on bad markup."""
    parser = _TelegramHtmlParser(text)
    parser.feed(text)
    parser.close()
    return parser.result()


def _parse_error(detail: str) -> ApiError:
    """Build the 400 Telegram returns for unparsable formatting."""
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


class _TelegramHtmlParser(HTMLParser):
    """HTMLParser that accumulates plain text and Telegram entities with UTF-16 offsets."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self._chunks: list[str] = []
        self._length = 0  # UTF-16 length of the text emitted so far
        self._open: list[tuple[str, int, dict[str, Any] | None]] = []
        self._entities: list[dict[str, Any]] = []

    def _byte_offset(self) -> int:
        """Return the byte offset of the current parser position (Telegram reports bytes)."""
        line, column = self.getpos()
        index = self._line_starts[line - 1] + column
        return len(self._source[:index].encode("utf-8"))

    def handle_data(self, data: str) -> None:
        """Append text content."""
        self._chunks.append(data)
        self._length += utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a formatting tag, remembering where its entity starts."""
        attributes = dict(attrs)
        entity: dict[str, Any] | None
        if tag in _SIMPLE_TAGS:
            entity = {"type": _SIMPLE_TAGS[tag]}
            if tag == "code" and self._open and self._open[-1][0] == "pre":
                # <pre><code class="language-x"> is one pre entity carrying a language.
                language = (attributes.get("class") or "").removeprefix("language-")
                pre_entity = self._open[-1][2]
                if language and pre_entity is not None:
                    pre_entity["language"] = language
                entity = None
        elif tag == "a":
            entity = {"type": "text_link", "url": attributes.get("href") or ""}
        elif tag == "span":
            is_spoiler = attributes.get("class") == "tg-spoiler"
            entity = {"type": "spoiler"} if is_spoiler else None
        elif tag == "blockquote":
            expandable = "expandable" in attributes
            entity = {"type": "expandable_blockquote" if expandable else "blockquote"}
        elif tag == "tg-emoji":
            entity = {"type": "custom_emoji", "custom_emoji_id": attributes.get("emoji-id")}
        else:
            raise _parse_error(
                f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            )
        self._open.append((tag, self._length, entity))

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost tag, which must match, and emit its entity."""
        if not self._open:
            raise _parse_error(f'Unexpected end tag "{tag}" at byte offset {self._byte_offset()}')
        open_tag, start, entity = self._open.pop()
        if open_tag != tag:
            raise _parse_error(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        length = self._length - start
        if entity is not None and length > 0:
            self._entities.append({**entity, "offset": start, "length": length})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        """Return ``(plain_text, entities)`` once the whole input has been fed."""
        if self._open:
            raise _parse_error(
                f'Can\'t find end tag corresponding to start tag "{self._open[-1][0]}"'
            )
        self._entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self._chunks), self._entities
