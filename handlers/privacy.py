"""The "who can see this" block shown at consent and in /me, from bot.domain.visibility.

    text = who_sees_text("zh")     # title, then one line per kind of data
"""

from __future__ import annotations

from bot.domain.visibility import DATA
from bot.i18n import t

__all__ = ["who_sees_text"]


def who_sees_text(language: str) -> str:
    """Return the block naming who sees each kind of a member's data (one line per kind)."""
    return "\n".join([t(language, "privacy.title"), *(t(language, f"privacy.{d}") for d in DATA)])
