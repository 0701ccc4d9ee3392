"""Bot API error responses, shaped exactly like Telegram's.

Method implementations raise :class:`ApiError`; the HTTP layer turns it into
``{"ok": false, "error_code": N, "description": "..."}`` with the same HTTP status.

Example::

    raise ApiError.chat_not_found()
    raise ApiError.too_many_requests(retry_after=3)
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOT_MODIFIED_DESCRIPTION", "ApiError"]

NOT_MODIFIED_DESCRIPTION = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "of the new message are exactly the same as a current content and reply markup of the "
    "message"
)


class ApiError(Exception):
    """A Bot API error: HTTP status == ``error_code``, plus optional ``parameters``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram would send for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        """400 with Telegram's ``Bad Request:`` prefix."""
        return cls(400, f"Bad Request: {detail}")

    @classmethod
    def chat_not_found(cls) -> ApiError:
        """400 for a chat the bot has never talked to."""
        return cls.bad_request("chat not found")

    @classmethod
    def blocked(cls) -> ApiError:
        """403 for a user who blocked the bot."""
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def too_many_requests(cls, retry_after: int) -> ApiError:
        """429 flood-control refusal carrying ``parameters.retry_after``."""
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    @classmethod
    def method_not_found(cls) -> ApiError:
        """404 for a method the emulator (or Telegram) does not know."""
        return cls(404, "Not Found: method not found")

    @classmethod
    def not_modified(cls) -> ApiError:
        """400 for an edit that would leave text and markup unchanged."""
        return cls(400, NOT_MODIFIED_DESCRIPTION)
