"""Callback data for inline buttons: `feature:action:arg…`, at most 64 bytes.

    data = pack("join", "cat", "mobile", 1767225600)   # 'join:cat:mobile:1767225600'
    feature, action, args = unpack(data)

The feature prefix lets each module's CallbackQueryHandler match `^join:`.
"""

from __future__ import annotations

__all__ = ["MAX_BYTES", "pack", "pattern", "unpack"]

MAX_BYTES = 64  # Telegram's limit on callback_data


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
    """Split callback data into (feature, action, args)."""
    feature, _, rest = data.partition(":")
    action, _, tail = rest.partition(":")
    return feature, action, tail.split(":") if tail else []


def pattern(feature: str) -> str:
    """Return the regex a CallbackQueryHandler uses to take this feature's buttons."""
    return f"^{feature}:"
