"""Keep the bot token out of every log line.

    install_token_redaction(settings.telegram.token)

httpx logs each request URL, and the Bot API puts the token in the URL, so
the token would reach the logs at INFO level.  A filter on every root
handler rewrites records (message, arguments and traceback) before they are
written, whatever library produced them.
"""

from __future__ import annotations

import logging

__all__ = ["TokenRedactingFilter", "install_token_redaction"]

MASK = "***"


class TokenRedactingFilter(logging.Filter):
    """Replace the secret in a record's message and traceback with ***."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drop it."""
        message = record.getMessage()
        if self._secret in message:
            record.msg = message.replace(self._secret, MASK)
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self._secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self._secret, MASK)
        return True


def install_token_redaction(token: str | None, logger: logging.Logger | None = None) -> None:
    """Add the redacting filter to every handler of `logger` (default: the root logger)."""
    if not token:
        return
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(
            isinstance(f, TokenRedactingFilter) and f._secret == token for f in handler.filters
        ):
            handler.addFilter(TokenRedactingFilter(token))
