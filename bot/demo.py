"""`branchbot demo`: the whole bot, offline, on a seeded county, in about half a minute.

    branchbot demo

Starts the local Bot API emulator on 127.0.0.1, runs the real bot against it
with a fake clock and a throw-away database, seeds the county of the seed
document (bot/data/county.toml), then plays a scripted week of secretaries
and members and prints what each of them sees, in Chinese.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TextIO

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import parse_settings
from bot.domain.tree import render_tree
from bot.emulator import BotApiEmulator, EmulatedUser, SentMessage
from bot.org_file import parse_org_file
from bot.services import SERVICES_KEY, Services
from storage.repositories import units

__all__ = ["DemoScript", "run_demo"]

DEMO_ADMIN = 900001
# Monday 2 March 2026, 09:00 in Beijing.
DEMO_START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class DemoScript:
    """Plays users against the bot and prints every bot message as it arrives."""

    def __init__(self, emulator: BotApiEmulator, out: TextIO) -> None:
        self.emulator = emulator
        self.out = out
        self._printed_sends = 0
        self._printed_texts: dict[int, str] = {}
        self.names: dict[int, str] = {}

    def person(self, user_id: int, name: str, language: str = "zh-hans") -> EmulatedUser:
        """Return an emulated user the transcript calls `name`."""
        self.names[user_id] = name
        if user_id in self.emulator.users:
            return self.emulator.user(user_id)
        return self.emulator.add_user(user_id, first_name=name, language_code=language)

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
        await user.wait_for_callback_answer(await user.press(button), timeout=30)
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
            if message.plain != self._printed_texts.get(id(message)):
                self._print_message(message, edited=True)
        for message in sent[self._printed_sends :]:
            self._print_message(message, edited=False)
        self._printed_sends = len(sent)

    def _print_message(self, message: SentMessage, *, edited: bool) -> None:
        self._printed_texts[id(message)] = message.plain
        who = self.names.get(message.chat_id, str(message.chat_id))
        tag = "（更新）" if edited else ""
        body = message.plain if message.kind == "text" else f"[{message.kind}] {message.plain}"
        lines = body.splitlines() or [""]
        print(f"   🤖 → {who}{tag}：{lines[0]}", file=self.out)
        for line in lines[1:]:
            print(f"        {line}", file=self.out)
        if message.button_texts:
            print("        " + "  ".join(f"[{b}]" for b in message.button_texts), file=self.out)


def _invite_code(message: SentMessage) -> str:
    match = re.search(r"start=([A-Za-z0-9_-]+)", message.plain)
    if match is None:
        raise RuntimeError(f"no invite link in: {message.plain!r}")
    return match.group(1)


async def _join(
    script: DemoScript,
    secretary: EmulatedUser,
    member: EmulatedUser,
    name: str,
    category_button: str,
    place: Callable[[], Awaitable[None]] | None = None,
) -> None:
    await script.says(secretary, "/invite")
    code = _invite_code(secretary.last_message)
    await script.says(member, f"/start {code}")
    await script.says(member, name)
    await script.taps(member, category_button)
    if place is not None:
        await place()
    await script.taps(member, "✅ 同意")
    await script.taps(secretary, "✅ 同意")


async def play_joining(script: DemoScript) -> None:
    """Secretaries invite; a regular, a mobile and an elderly member join and are approved."""
    citrus_secretary = script.person(910003, "陈秀兰（脐橙支部书记）")
    mobile_secretary = script.person(910005, "刘海涛（流动党员支部书记）")
    sunset_secretary = script.person(910009, "郑桂英（夕阳红支部书记）")
    zhang = script.person(920001, "张伟")
    wang = script.person(920002, "王芳")
    zhao = script.person(920003, "赵磊")
    li = script.person(920004, "李大爷")

    script.heading("普通党员加入脐橙种植党支部")
    await _join(script, citrus_secretary, zhang, "张伟", "普通党员")

    script.heading("流动党员加入流动党员党支部（输入城市：深圳）")
    await _join(
        script,
        mobile_secretary,
        wang,
        "王芳",
        "流动党员（在外务工）",
        place=lambda: script.says(wang, "深圳"),
    )

    script.heading("流动党员在马德里，发送位置加入")
    await _join(
        script,
        mobile_secretary,
        zhao,
        "赵磊",
        "流动党员（在外务工）",
        place=lambda: script.shares_location(zhao, 40.4168, -3.7038, "马德里"),
    )

    script.heading("老龄党员加入夕阳红党支部（只需输入姓名，其余点按钮）")
    await _join(script, sunset_secretary, li, "李德福", "老龄党员")

    script.heading("书记查看支部名单")
    await script.says(mobile_secretary, "/members")


async def run_demo(out: TextIO | None = None) -> int:
    """Run the scripted demo, print the transcript and return 0."""
    out = out or sys.stdout
    # The transcript is the output; the bot's own INFO logs would drown it.
    logging.getLogger().setLevel(logging.WARNING)
    clock = FakeClock(DEMO_START)
    with tempfile.TemporaryDirectory(prefix="branchbot-demo-") as tmp:
        async with BotApiEmulator(clock=clock.timestamp) as emulator:
            settings = parse_settings(
                {
                    "telegram": {
                        "api_base_url": emulator.base_url,
                        "api_base_file_url": emulator.base_file_url,
                    },
                    "storage": {"database": str(Path(tmp) / "demo.sqlite3")},
                    "general": {"admins": [DEMO_ADMIN]},
                }
            )
            app = build_application(settings, clock=clock)
            async with app:
                await app.start()
                await app.updater.start_polling(poll_interval=0, timeout=1)
                try:
                    await _play(app.bot_data[SERVICES_KEY], emulator, clock, out)
                finally:
                    await app.updater.stop()
                    await app.stop()
    print("\n演示结束。", file=out)
    return 0


async def _play(
    services: Services, emulator: BotApiEmulator, clock: FakeClock, out: TextIO
) -> None:
    county = resources.files("bot").joinpath("data", "county.toml")
    with resources.as_file(county) as path:
        specs = parse_org_file(path, known=await units.unit_keys(services.db))
    await units.upsert_units(services.db, specs, now=int(clock.now().timestamp()), actor="demo")
    print("支部助手 · 离线演示（本地 Bot API 模拟器，无需令牌，不连网络）", file=out)
    print("\n━━ 县里的组织架构（来自试点工作方案）━━", file=out)
    for line in render_tree(await units.list_units(services.db)):
        print("  " + line, file=out)
    script = DemoScript(emulator, out)
    await play_joining(script)
