"""The exception tree of branchbot.

    BranchbotError
     ├── ConfigError          a setting is missing or malformed (names the key)
     ├── OrgImportError       an organisation file is rejected whole (names the line)
     ├── PermissionDenied     the actor may not read or change that data
     ├── NotFound             the thing referred to does not exist (any more)
     └── InvalidInput         user input breaks a rule; carries a catalogue key

Domain code raises these; handlers turn them into catalogue text.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BranchbotError",
    "ConfigError",
    "InvalidInput",
    "NotFound",
    "OrgImportError",
    "PermissionDenied",
]


class BranchbotError(Exception):
    """Base of every error branchbot raises on purpose."""


class ConfigError(BranchbotError):
    """A setting is missing or malformed; the message names key, value and expected form."""

    def __init__(self, key: str, found: Any, expected: str) -> None:
        self.key = key
        self.found = found
        self.expected = expected
        shown = "missing" if found is _MISSING else repr(found)
        super().__init__(f"config error: {key} = {shown}; expected {expected}")


class OrgImportError(BranchbotError):
    """An organisation file was rejected; nothing of it was imported."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


class PermissionDenied(BranchbotError):
    """The actor's role does not allow this action."""


class NotFound(BranchbotError):
    """The referred record does not exist or is no longer active."""


class InvalidInput(BranchbotError):
    """User input breaks a rule; `key` is the catalogue key of the reply."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)


class _Missing:
    def __repr__(self) -> str:
        return "missing"


_MISSING: Any = _Missing()
