"""The emulator's in-memory world: bot identity, users, sent messages, files, commands.

Shared by the Bot API methods, the control API and tests; all lookups are dict-based
so per-request cost does not grow with the number of users or messages.

Example::

    state = EmulatorState(bot_id=1, bot_username="demo_bot", bot_first_name="Demo")
    alice = state.add_user(1001, first_name="Alice")
    state.user(1001) is alice
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulator.messages import SentMessage
from bot.emulator.updates import UpdateQueue
from bot.emulator.users import EmulatedUser

__all__ = ["CommandKey", "EmulatorState", "StoredFile"]

# (scope type — "chat:<id>"-style for chat scopes — , language_code or "")
CommandKey = tuple[str, str]


@dataclass(frozen=True)
class StoredFile:
    """A file the bot uploaded, retrievable via getFile and the file URL."""

    file_id: str
    file_unique_id: str
    data: bytes
    filename: str | None
    mime_type: str | None
    file_path: str


class EmulatorState:
    """Everything the emulator knows, independent of HTTP."""

    def __init__(
        self,
        *,
        bot_id: int,
        bot_username: str,
        bot_first_name: str,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.clock: Callable[[], float] = clock or time.time
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.updates = UpdateQueue()
        self.users: dict[int, EmulatedUser] = {}
        self.all_sent: list[SentMessage] = []
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.commands: dict[CommandKey, list[tuple[str, str]]] = {}
        self.profile: dict[str, str] = {}
        self._file_seq = itertools.count(1)
        self._changed: asyncio.Condition | None = None

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> EmulatedUser:
        """Create a user (and its private chat); raise ``ValueError`` if the id is taken."""
        if user_id in self.users:
            raise ValueError(f"user {user_id} already exists")
        user = EmulatedUser(
            user_id,
            first_name=first_name or f"User{user_id}",
            last_name=last_name,
            username=username,
            language_code=language_code,
            updates=self.updates,
            clock=self.clock,
            bot_user=self.bot_user,
        )
        self.users[user_id] = user
        return user

    def user(self, user_id: int) -> EmulatedUser:
        """Return the user with ``user_id``; raise ``KeyError`` if unknown."""
        return self.users[user_id]

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """Return the bot's messages to ``chat_id`` in order (empty for unknown chats)."""
        user = self.users.get(chat_id)
        return user.messages if user is not None else []

    def store_file(
        self, data: bytes, *, filename: str | None, mime_type: str | None, folder: str
    ) -> StoredFile:
        """Keep uploaded bytes under a fresh file_id and return the record."""
        seq = next(self._file_seq)
        file_id = f"emu-{folder}-{seq}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"emuu{seq}",
            data=data,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{folder}/file_{seq}{_suffix(filename)}",
        )
        self.files[file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    async def notify_changed(self) -> None:
        """Wake ``wait_until`` callers after a delivered send or edit."""
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Wait until ``predicate()`` holds, re-checking after each delivery; False on timeout."""
        if predicate():
            return True
        if self._changed is None:
            self._changed = asyncio.Condition()
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(predicate), seconds)
        except TimeoutError:
            return predicate()
        return True


def _suffix(filename: str | None) -> str:
    """Return the extension of ``filename`` including the dot, or ``""``."""
    if not filename or "." not in filename:
        return ""
    return "." + filename.rsplit(".", 1)[1]
