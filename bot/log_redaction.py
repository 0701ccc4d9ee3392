"""Keep the bot token (and the webhook secret) out of every line branchbot writes.

    install_token_redaction(settings.telegram.token)   # every log handler
    with redacted_stdio():                              # print(), tracebacks, warnings
        ...

httpx logs each request URL, and the Bot API puts the token in the URL, so
the token would reach the logs at INFO level.  A filter on every root
handler rewrites records (message, arguments and traceback) before they are
written, whatever library produced them.

Not everything goes through logging: PTB's `Bot.initialize` puts the token
in the text of the exception it raises on a 401, and an uncaught exception's
traceback is written straight to stderr.  So the command line also wraps
`sys.stdout` and `sys.stderr`: every secret registered with `add_secret` (or
`install_token_redaction`) is masked in whatever is written to them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = [
    "TokenRedactingFilter",
    "add_secret",
    "install_token_redaction",
    "redact",
    "redacted_stdio",
]

MASK = "***"

# Every secret seen this process; the stdio wrappers read it on each write,
# so a secret learnt after they were installed (from the config) is masked too.
_SECRETS: set[str] = set()


def add_secret(secret: str | None) -> None:
    """Mask `secret` (and it without surrounding whitespace) in stdout and stderr from now on."""
    if not secret:
        return
    for value in (secret, secret.strip()):
        # Very short values would mask ordinary words; real secrets are long.
        if len(value) >= 8:
            _SECRETS.add(value)


def redact(text: str) -> str:
    """Return `text` with every registered secret replaced by ***."""
    # Longest first: a secret that contains another is masked whole.
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


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
    add_secret(token)
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(
            isinstance(f, TokenRedactingFilter) and f._secret == token for f in handler.filters
        ):
            handler.addFilter(TokenRedactingFilter(token))


class _RedactingStream:
    """A text stream that masks the registered secrets in everything written to it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        # Callers count what they handed over, not what was written.
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def redacted_stdio() -> Iterator[None]:
    """Mask the registered secrets in all that is written to stdout and stderr inside."""
    saved = sys.stdout, sys.stderr
    sys.stdout = _RedactingStream(saved[0])  # type: ignore[assignment]
    sys.stderr = _RedactingStream(saved[1])  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
