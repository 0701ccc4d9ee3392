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
import contextvars
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulator.messages import SentMessage
from bot.emulator.updates import UpdateQueue
from bot.emulator.users import EmulatedUser

__all__ = ["CommandKey", "EmulatorState", "StoredFile"]

# The bot whose token the request being served carries (None: the default bot).
_CURRENT_BOT: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "emulator_bot", default=None
)

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
        # Several bots (issue 15: several tokens, one deployment): each has its
        # own identity and update queue; a request's token picks one (see
        # `serving`), and a token whose number is no added bot's id is the
        # default bot, so single-bot tests and benches use any token as before.
        self.default_bot_id = bot_id
        self.bots: dict[int, dict[str, Any]] = {
            bot_id: {
                "id": bot_id,
                "is_bot": True,
                "first_name": bot_first_name,
                "username": bot_username,
            }
        }
        self.bot_updates: dict[int, UpdateQueue] = {bot_id: UpdateQueue()}
        self.users: dict[int, EmulatedUser] = {}
        self.all_sent: list[SentMessage] = []
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.commands: dict[CommandKey, list[tuple[str, str]]] = {}
        self.profile: dict[str, str] = {}
        self._file_seq = itertools.count(1)
        self._changed: asyncio.Condition | None = None

    # ----------------------------------------------------------------- bots
    @property
    def bot_user(self) -> dict[str, Any]:
        """The User object of the bot the current request's token names (default bot outside)."""
        return self.bots[self.current_bot_id]

    @property
    def updates(self) -> UpdateQueue:
        """The update queue of the bot the current request's token names."""
        return self.bot_updates[self.current_bot_id]

    @property
    def current_bot_id(self) -> int:
        """The id of the bot serving the current request (the default bot outside one)."""
        return _CURRENT_BOT.get() or self.default_bot_id

    def add_bot(self, bot_id: int, *, username: str, first_name: str = "") -> dict[str, Any]:
        """Add a bot; a token "<bot_id>:…" then talks as it; return its User object."""
        if bot_id in self.bots:
            raise ValueError(f"bot {bot_id} already exists")
        self.bots[bot_id] = {
            "id": bot_id, "is_bot": True, "first_name": first_name or username,
            "username": username,
        }
        self.bot_updates[bot_id] = UpdateQueue()
        return self.bots[bot_id]

    def bot_id_for_token(self, token: str) -> int:
        """Return the bot a token talks as: the added bot with its number, else the default."""
        number = token.split(":", 1)[0]
        return int(number) if number.isdigit() and int(number) in self.bots else self.default_bot_id

    def serving(self, token: str) -> contextvars.Token[int | None]:
        """Make the current request (task context) one of the token's bot."""
        return _CURRENT_BOT.set(self.bot_id_for_token(token))

    def close_updates(self) -> None:
        """Release every bot's waiting long polls (server shutdown)."""
        for queue in self.bot_updates.values():
            queue.close()

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        bot_id: int | None = None,
    ) -> EmulatedUser:
        """Create a user (and its private chat) who talks to `bot_id` (default: the default bot).

        Raise ``ValueError`` if the id is taken.
        """
        if user_id in self.users:
            raise ValueError(f"user {user_id} already exists")
        bot_id = self.default_bot_id if bot_id is None else bot_id
        if bot_id not in self.bots:
            raise ValueError(f"no bot {bot_id}: add it first")
        user = EmulatedUser(
            user_id,
            first_name=first_name or f"User{user_id}",
            last_name=last_name,
            username=username,
            language_code=language_code,
            updates=self.bot_updates[bot_id],
            clock=self.clock,
            bot_user=self.bots[bot_id],
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
