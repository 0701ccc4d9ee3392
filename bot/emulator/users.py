"""Emulated Telegram users: act on the bot (send, press, share location) and read replies.

Each user owns one private chat whose id equals the user id. Actions enqueue updates
for the bot's ``getUpdates``; the bot's messages to the chat land in ``messages``.

Example::

    alice = emulator.add_user(1001, first_name="Alice")
    await alice.send_command("start")
    reply = await alice.wait_for_message(lambda m: "欢迎" in m.plain)
    query_id = await alice.press("签到")
    await alice.wait_for_callback_answer(query_id)
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.emulator.formatting import command_entities
from bot.emulator.messages import SentMessage
from bot.emulator.updates import UpdateQueue

__all__ = ["CallbackAnswer", "EmulatedUser", "MessagePredicate"]

MessagePredicate = Callable[[SentMessage], bool]
_T = TypeVar("_T")

# Callback query ids embed the user id so answerCallbackQuery finds its user in O(1).
CALLBACK_ID_SEPARATOR = "-"


@dataclass(frozen=True)
class CallbackAnswer:
    """One ``answerCallbackQuery`` call as the user experienced it."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None


class EmulatedUser:
    """A Telegram user chatting privately with the bot."""

    def __init__(
        self,
        user_id: int,
        *,
        first_name: str = "",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        updates: UpdateQueue,
        clock: Callable[[], float],
        bot_user: dict[str, Any],
    ) -> None:
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.blocked = False
        self._updates = updates
        self._clock = clock
        self._bot_user = bot_user
        self._messages: list[SentMessage] = []
        self._by_id: dict[int, SentMessage] = {}
        # Every delivered send (False) or edit (True), in order; waits scan from a cursor.
        self._events: list[tuple[SentMessage, bool]] = []
        self._cursor = 0
        self._answers: list[CallbackAnswer] = []
        self._pending_queries: dict[str, int] = {}
        self._query_seq = itertools.count(1)
        self._last_query_id: str | None = None
        self._next_message_id = 1
        self._changed: asyncio.Condition | None = None  # created on first wait
        self.user_dict = self._build_user_dict()
        self.chat_dict = self._build_chat_dict()

    def __repr__(self) -> str:
        return f"EmulatedUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def user_id(self) -> int:
        """The Telegram user id (alias of ``id``)."""
        return self.id

    @property
    def chat_id(self) -> int:
        """The private chat id, equal to the user id."""
        return self.id

    @property
    def bot_id(self) -> int:
        """The id of the bot this user writes to (one emulator may hold several bots)."""
        return int(self._bot_user["id"])

    # ----------------------------------------------------------------- reading
    @property
    def messages(self) -> list[SentMessage]:
        """Bot messages in this chat, in send order, current state (deleted ones flagged)."""
        return list(self._messages)

    @property
    def visible_messages(self) -> list[SentMessage]:
        """Bot messages that have not been deleted."""
        return [m for m in self._messages if not m.deleted]

    @property
    def last_message(self) -> SentMessage | None:
        """The latest bot message the user can still see, or ``None``."""
        for message in reversed(self._messages):
            if not message.deleted:
                return message
        return None

    @property
    def texts(self) -> list[str]:
        """Plain texts (captions for media) of the visible bot messages, in order."""
        return [m.plain for m in self._messages if not m.deleted]

    @property
    def callback_answers(self) -> list[str]:
        """Texts of the bot's ``answerCallbackQuery`` calls ("" when it sent none)."""
        return [answer.text or "" for answer in self._answers]

    @property
    def callback_answer_records(self) -> list[CallbackAnswer]:
        """Full ``answerCallbackQuery`` records, in order."""
        return list(self._answers)

    @property
    def unanswered_queries(self) -> list[str]:
        """Ids of pressed buttons the bot has not answered yet (a spinning button)."""
        return list(self._pending_queries)

    @property
    def event_count(self) -> int:
        """Number of sends plus edits so far (a value for ``wait_for_message(after=...)``)."""
        return len(self._events)

    def message(self, message_id: int) -> SentMessage | None:
        """Return the bot message with ``message_id`` in this chat, if any."""
        return self._by_id.get(message_id)

    # ----------------------------------------------------------------- acting
    async def send_text(self, text: str, *, reply_to: SentMessage | int | None = None) -> int:
        """Send ``text`` to the bot (``/cmd`` gets a bot_command entity); return message id."""
        fields: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        if reply_to is not None:
            fields["reply_to_message"] = self._reply_target(reply_to)
        return self._push_message(fields)

    async def send_command(self, command: str, args: str = "") -> int:
        """Send ``/command args``; the leading slash is optional."""
        text = "/" + command.removeprefix("/")
        if args:
            text = f"{text} {args}"
        return await self.send_text(text)

    async def share_location(self, latitude: float, longitude: float) -> int:
        """Send a location message; return its message id."""
        return self._push_message({"location": {"latitude": latitude, "longitude": longitude}})

    async def press(self, button: str, message: SentMessage | int | None = None) -> str:
        """Press an inline button by text or callback_data; return the callback query id."""
        target, found = self._find_button(button, message)
        data = found.get("callback_data")
        if data is None:
            raise LookupError(
                f"button {button!r} in message {target.message_id} of chat {self.id} has no "
                f"callback_data (it is {found!r}); only callback buttons can be pressed"
            )
        return self._push_press(target, data)

    async def press_data(self, data: str, message: SentMessage | int | None = None) -> str:
        """Press a button carrying arbitrary ``data`` under ``message`` (default: the latest).

        A client can send any callback data, not only what the bot put on its buttons:
        tests use this to press forged or malformed buttons.
        """
        target = self._by_id.get(message) if isinstance(message, int) else message
        target = target or self.last_message
        if target is None:
            raise LookupError(f"chat {self.id} has no bot message to press a button under")
        return self._push_press(target, data)

    def _push_press(self, target: SentMessage, data: str) -> str:
        """Queue the callback query for pressing ``data`` under ``target``; return its id."""
        self._mark_action()
        query_id = f"{self.id}{CALLBACK_ID_SEPARATOR}{next(self._query_seq)}"
        self._pending_queries[query_id] = target.message_id
        self._last_query_id = query_id
        self._updates.push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user_dict,
                    "message": target.to_api(self._bot_user, self.chat_dict),
                    "chat_instance": str(self.id * 7919),
                    "data": data,
                }
            }
        )
        return query_id

    def block(self, *, notify_bot: bool = False) -> None:
        """Block the bot: every send to this chat now fails with 403."""
        if not self.blocked and notify_bot:
            self._push_member_change("member", "kicked")
        self.blocked = True

    def unblock(self, *, notify_bot: bool = False) -> None:
        """Unblock the bot so sends succeed again."""
        if self.blocked and notify_bot:
            self._push_member_change("kicked", "member")
        self.blocked = False

    # ----------------------------------------------------------------- waiting
    async def wait_for_message(
        self,
        predicate: MessagePredicate | None = None,
        *,
        timeout: float = 5.0,
        after: int | None = None,
    ) -> SentMessage:
        """Wait for a send or edit matching ``predicate`` and return the message.

        Only events after ``after`` (an :attr:`event_count`) are considered; by default
        those after the user's last action or the last event a wait returned, so
        ``await u.send_text("/start"); await u.wait_for_message()`` never misses a fast
        reply and never returns an older one.
        """
        start = self._cursor if after is None else after

        def scan() -> SentMessage | None:
            for index in range(start, len(self._events)):
                event, _ = self._events[index]
                if predicate is None or predicate(event):
                    self._cursor = index + 1
                    return event
            return None

        found = await self._wait(scan, timeout)
        if found is None:
            raise TimeoutError(
                f"no matching message for user {self.id} within {timeout}s; "
                f"latest texts: {self.texts[-3:]!r}"
            )
        return found

    async def wait_for_messages(
        self,
        n: int,
        *,
        timeout: float = 5.0,
        predicate: MessagePredicate | None = None,
    ) -> list[SentMessage]:
        """Wait for ``n`` new (not edited) messages after the cursor and return them."""
        start = self._cursor

        def scan() -> list[SentMessage] | None:
            fresh: list[SentMessage] = []
            for index in range(start, len(self._events)):
                event, is_edit = self._events[index]
                if is_edit or not (predicate is None or predicate(event)):
                    continue
                fresh.append(event)
                if len(fresh) == n:
                    self._cursor = index + 1
                    return fresh
            return None

        found = await self._wait(scan, timeout)
        if found is None:
            raise TimeoutError(f"fewer than {n} new messages for user {self.id} in {timeout}s")
        return found

    async def wait_for_callback_answer(
        self,
        query_id: str | None = None,
        *,
        timeout: float = 5.0,
    ) -> CallbackAnswer:
        """Wait until the bot answers ``query_id`` (default: the latest pressed button)."""
        query_id = query_id or self._last_query_id
        if query_id is None:
            raise LookupError(f"user {self.id} has not pressed any button")

        def scan() -> CallbackAnswer | None:
            return next((a for a in self._answers if a.query_id == query_id), None)

        found = await self._wait(scan, timeout)
        if found is None:
            raise TimeoutError(f"callback query {query_id} was not answered within {timeout}s")
        return found

    # ----------------------------------------------------------------- emulator side
    def allocate_message_id(self) -> int:
        """Return the next message id in this chat (shared by user and bot messages)."""
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    async def record_sent(self, message: SentMessage) -> None:
        """Store a message the bot just sent here and wake waiters."""
        self._messages.append(message)
        self._by_id[message.message_id] = message
        self._events.append((message, False))
        await self._notify()

    async def record_edit(self, message: SentMessage) -> None:
        """Note that the bot edited ``message`` and wake waiters."""
        self._events.append((message, True))
        await self._notify()

    async def record_answer(
        self, query_id: str, text: str | None, show_alert: bool, url: str | None
    ) -> bool:
        """Store the answer to a pending callback query; ``False`` if unknown or answered."""
        if self._pending_queries.pop(query_id, None) is None:
            return False
        self._answers.append(CallbackAnswer(query_id, text, show_alert, url))
        await self._notify()
        return True

    # ----------------------------------------------------------------- internals
    def _build_user_dict(self) -> dict[str, Any]:
        """Return the Bot API ``User`` object for this user."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def _build_chat_dict(self) -> dict[str, Any]:
        """Return the Bot API ``Chat`` object for the private chat."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def _mark_action(self) -> None:
        """Make later waits ignore bot output that predates this action."""
        self._cursor = len(self._events)

    def _push_message(self, fields: dict[str, Any]) -> int:
        """Enqueue a message update from this user; return its message id."""
        self._mark_action()
        message_id = self.allocate_message_id()
        message = {
            "message_id": message_id,
            "from": self.user_dict,
            "chat": self.chat_dict,
            "date": int(self._clock()),
            **fields,
        }
        self._updates.push({"message": message})
        return message_id

    def _push_member_change(self, old_status: str, new_status: str) -> None:
        """Enqueue the ``my_chat_member`` update Telegram sends on (un)block."""
        date = int(self._clock())
        self._updates.push(
            {
                "my_chat_member": {
                    "chat": self.chat_dict,
                    "from": self.user_dict,
                    "date": date,
                    "old_chat_member": self._member_state(old_status),
                    "new_chat_member": self._member_state(new_status),
                }
            }
        )

    def _member_state(self, status: str) -> dict[str, Any]:
        """Return a ChatMember object; `kicked` carries until_date (0: forever), as on Telegram."""
        state: dict[str, Any] = {"status": status, "user": self._bot_user}
        if status == "kicked":
            state["until_date"] = 0
        return state

    def _reply_target(self, reply_to: SentMessage | int) -> dict[str, Any]:
        """Return the API message a user reply points at."""
        message = self._by_id.get(reply_to) if isinstance(reply_to, int) else reply_to
        if message is None:
            raise LookupError(f"no bot message {reply_to!r} in chat {self.id}")
        return message.to_api(self._bot_user, self.chat_dict)

    def _find_button(
        self, button: str, message: SentMessage | int | None
    ) -> tuple[SentMessage, dict[str, Any]]:
        """Locate ``button`` in ``message`` or the newest visible message that has it."""
        if message is not None:
            target = self._by_id.get(message) if isinstance(message, int) else message
            if target is None or target.deleted:
                raise LookupError(f"message {message!r} is not visible in chat {self.id}")
            found = target.find_button(button)
            if found is None:
                raise LookupError(
                    f"no button {button!r} in message {target.message_id}; "
                    f"buttons: {target.button_texts!r}"
                )
            return target, found
        for candidate in reversed(self._messages):
            if candidate.deleted:
                continue
            found = candidate.find_button(button)
            if found is not None:
                return candidate, found
        latest = self.last_message
        visible = latest.button_texts if latest is not None else []
        raise LookupError(
            f"no inline button {button!r} in chat {self.id}; latest message buttons: {visible!r}"
        )

    async def _wait(self, scan: Callable[[], _T | None], seconds: float) -> _T | None:
        """Return ``scan()``'s first non-None result, re-checking whenever the chat changes."""
        found = scan()
        if found is not None:
            return found
        if self._changed is None:
            self._changed = asyncio.Condition()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        async with self._changed:
            while (found := scan()) is None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return scan()
        return found

    async def _notify(self) -> None:
        """Wake coroutines blocked in a ``wait_for_*`` call (cheap when none are)."""
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()
