"""The transcript player of `branchbot demo`: users act, the bot's answers are printed.

    script = DemoScript(emulator, sys.stdout)
    member = script.person(920001, "张伟")
    await script.says(member, "/me")
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TextIO

from telegram.ext import Application

from bot.clock import FakeClock
from bot.emulator import BotApiEmulator, EmulatedUser, SentMessage
from bot.scheduling import tick

__all__ = ["DemoScript", "button_starting", "button_with_data", "run_at"]


# Scenes tap buttons whose labels carry dates, names or counts known only at run time:
# these find the label to tap, newest message first.


def button_starting(user: EmulatedUser, *starts: str) -> str:
    """Return the newest button label that starts with one of `starts` (in that preference)."""
    for start in starts:
        for message in reversed(user.messages):
            for label in message.button_texts:
                if label.startswith(start):
                    return label
    raise LookupError(f"no button starting with {starts!r} for user {user.id}")


def button_with_data(user: EmulatedUser, prefix: str) -> str:
    """Return the label of the newest button whose callback data starts with `prefix`."""
    for message in reversed(user.messages):
        for row in message.buttons:
            for label, target in row:
                if target and target.startswith(prefix):
                    return label
    raise LookupError(f"no button with data {prefix!r} for user {user.id}")


async def run_at(script: DemoScript, app: Application, clock: FakeClock, moment: datetime) -> None:
    """Move the clock and run the scheduler once, printing what it sends."""
    clock.set(moment)
    await tick(app)
    await script.settle()


class DemoScript:
    """Plays users against the bot and prints every bot message as it arrives."""

    def __init__(self, emulator: BotApiEmulator, out: TextIO) -> None:
        self.emulator = emulator
        self.out = out
        self._printed_sends = 0
        self._printed_texts: dict[int, tuple[str, tuple[str, ...]]] = {}
        self.names: dict[int, str] = {}
        # Bots other than the emulator's own, by id: their messages name the bot (several bots).
        self.bot_names: dict[int, str] = {}

    def person(
        self, user_id: int, name: str, language: str = "zh-hans", *, bot_id: int | None = None
    ) -> EmulatedUser:
        """Return an emulated user the transcript calls `name` (talking to `bot_id`'s bot)."""
        self.names[user_id] = name
        if user_id in self.emulator.users:
            return self.emulator.user(user_id)
        return self.emulator.add_user(user_id, first_name=name, language_code=language,
                                      bot_id=bot_id)

    def heading(self, text: str) -> None:
        """Print a section heading."""
        print(f"\n━━ {text} ━━", file=self.out)

    async def says(self, user: EmulatedUser, text: str) -> None:
        """The user sends `text`; print it and the bot's answers."""
        print(f"👤 {self.names[user.id]}：{text}", file=self.out)
        await user.send_text(text)
        await user.wait_for_message(timeout=30)  # every typed line gets an answer
        await self.settle()

    async def taps(self, user: EmulatedUser, button: str) -> None:
        """The user presses `button`; print it and the bot's answers."""
        print(f"👤 {self.names[user.id]} 点击 [{button}]", file=self.out)
        answer = await user.wait_for_callback_answer(await user.press(button), timeout=30)
        if answer.text and answer.show_alert:
            # A refusal (e.g. a second vote) comes only as this pop-up: without it the
            # transcript would show a press the bot seemed to ignore.  Brief toasts
            # ("已记录") repeat what the edited message says, so they stay out.
            print(f"   🤖 → {self.names[user.id]}（弹出提示）：{answer.text}", file=self.out)
        await self.settle()

    async def shares_location(self, user: EmulatedUser, lat: float, lon: float, where: str) -> None:
        """The user shares a location; print it and the bot's answers."""
        print(f"👤 {self.names[user.id]} 发送位置（{where}）", file=self.out)
        await user.share_location(lat, lon)
        await user.wait_for_message(timeout=30)
        await self.settle()

    async def settle(self, quiet: float = 0.15, timeout: float = 15.0) -> None:
        """Wait until the bot has taken every update and sent nothing for `quiet` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = self._version()
        calm_since = loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(0.03)
            now_version = self._version()
            if now_version != last or self.emulator.pending_updates:
                last, calm_since = now_version, loop.time()
            elif loop.time() - calm_since >= quiet:
                break
        self._print_new()

    def _version(self) -> tuple[int, int]:
        sent = self.emulator.all_sent
        return len(sent), sum(message.edits for message in sent)

    def _print_new(self) -> None:
        sent = self.emulator.all_sent
        # Handlers edit the pressed message before they send the next question,
        # so edits read best first.
        for message in sent[: self._printed_sends]:
            # An edit that only took the buttons away is not worth a line.
            shown = self._printed_texts.get(id(message))
            if shown != (message.plain, tuple(message.button_texts)) and (
                message.button_texts or shown is None or shown[0] != message.plain
            ):
                self._print_message(message, edited=True)
        for message in sent[self._printed_sends :]:
            self._print_message(message, edited=False)
        self._printed_sends = len(sent)

    def _print_message(self, message: SentMessage, *, edited: bool) -> None:
        self._printed_texts[id(message)] = (message.plain, tuple(message.button_texts))
        who = self.names.get(message.chat_id, str(message.chat_id))
        tag = "（更新）" if edited else ""
        body = message.plain if message.kind == "text" else f"[{message.kind}] {message.plain}"
        lines = body.splitlines() or [""]
        bot = self.bot_names.get(message.bot_id or 0, "")
        print(f"   🤖{bot} → {who}{tag}：{lines[0]}", file=self.out)
        for line in lines[1:]:
            print(f"        {line}", file=self.out)
        if message.button_texts:
            print("        " + "  ".join(f"[{b}]" for b in message.button_texts), file=self.out)
