"""What the bot sent: one :class:`SentMessage` per delivered message, kept current.

A ``SentMessage`` is the emulator's record of a bot message in a private chat. Edits
mutate it in place (``edits``/``history`` keep the trail) and ``deleted`` marks
deletions, so a test always inspects the state the user would see now.

Example::

    msg = user.last_message
    assert msg.plain.startswith("欢迎")          # tags stripped, entities unescaped
    assert "签到" in msg.button_texts
    assert msg.buttons[0][0] == ("签到", "checkin:42")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["MessageKind", "SentMessage", "normalize_markup"]

MessageKind = Literal["text", "photo", "document"]


def normalize_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return ``None`` for absent or empty inline keyboards (Telegram treats both alike)."""
    if not markup:
        return None
    if "inline_keyboard" in markup and not any(markup["inline_keyboard"]):
        return None
    return markup


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent to a chat, reflecting later edits and deletion."""

    message_id: int
    chat_id: int
    date: int
    text: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    kind: MessageKind = "text"
    file_bytes: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    file_id: str | None = None
    caption: str | None = None
    edits: int = 0
    deleted: bool = False
    edit_date: int | None = None
    history: list[str | None] = field(default_factory=list)
    # Telegram's rendering of text/caption: what the user reads, and its entities.
    rendered: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    # Extra fields echoed verbatim in API responses (photo sizes, document info).
    media: dict[str, Any] = field(default_factory=dict)
    # Which bot sent it (its user id; several bots may share one emulator).
    bot_id: int | None = None

    @property
    def plain(self) -> str:
        """The text (or caption) as the user sees it: tags stripped, entities unescaped."""
        return self.rendered

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        """The inline keyboard rows, or ``[]`` when the message has none."""
        if not self.reply_markup:
            return []
        return self.reply_markup.get("inline_keyboard") or []

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Keyboard rows as ``(text, callback_data or url)``; reply keyboards give ``None``."""
        if not self.reply_markup:
            return []
        if "inline_keyboard" in self.reply_markup:
            return [
                [(button["text"], _button_target(button)) for button in row]
                for row in self.reply_markup["inline_keyboard"]
            ]
        rows = self.reply_markup.get("keyboard") or []
        return [
            [(button if isinstance(button, str) else button["text"], None) for button in row]
            for row in rows
        ]

    @property
    def button_texts(self) -> list[str]:
        """All button labels, flattened row by row."""
        return [text for row in self.buttons for text, _ in row]

    def find_button(self, button: str) -> dict[str, Any] | None:
        """Return the inline button whose text or callback_data equals ``button``."""
        for row in self.inline_keyboard:
            for candidate in row:
                if candidate.get("callback_data") == button or candidate.get("text") == button:
                    return candidate
        return None

    def to_api(self, bot_user: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
        """Return the Bot API ``Message`` object for this message."""
        payload: dict[str, Any] = {
            "message_id": self.message_id,
            "from": bot_user,
            "chat": chat,
            "date": self.date,
        }
        if self.kind == "text":
            payload["text"] = self.rendered
            if self.entities:
                payload["entities"] = self.entities
        else:
            payload.update(self.media)
            if self.caption is not None:
                payload["caption"] = self.rendered
                if self.entities:
                    payload["caption_entities"] = self.entities
        if self.edit_date is not None:
            payload["edit_date"] = self.edit_date
        # Telegram only echoes inline keyboards; reply keyboards never appear on Message.
        markup = normalize_markup(self.reply_markup)
        if markup is not None and "inline_keyboard" in markup:
            payload["reply_markup"] = markup
        return payload

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-friendly summary (for the control API and debugging)."""
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "bot_id": self.bot_id,
            "date": self.date,
            "kind": self.kind,
            "text": self.text,
            "plain": self.plain,
            "parse_mode": self.parse_mode,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
            "buttons": self.buttons,
            "filename": self.filename,
            "file_size": len(self.file_bytes) if self.file_bytes is not None else None,
            "edits": self.edits,
            "deleted": self.deleted,
            "history": self.history,
        }


def _button_target(button: dict[str, Any]) -> str | None:
    """Return what an inline button does: its callback_data, else its URL."""
    if "callback_data" in button:
        return button["callback_data"]
    if "url" in button:
        return button["url"]
    web_app = button.get("web_app")
    if isinstance(web_app, dict):
        return web_app.get("url")
    return None
