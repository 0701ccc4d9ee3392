"""`branchbot demo`: the whole bot, offline, on a seeded county, in about half a minute.

    branchbot demo

Starts the local Bot API emulator on 127.0.0.1, runs the real bot against it
with a fake clock and a throw-away database, seeds the county of the seed
document (bot/data/county.toml), then plays a scripted week of secretaries
and members and prints what each of them sees, in Chinese.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TextIO

from telegram.ext import Application

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import parse_settings
from bot.demo_bots import play_bots
from bot.demo_combinations import play_combinations
from bot.demo_contact import play_contact
from bot.demo_digest import play_digest
from bot.demo_helpers import play_helpers
from bot.demo_households import play_households
from bot.demo_lives import play_lives
from bot.demo_meetings import play_meetings
from bot.demo_offline import play_offline
from bot.demo_pledges import play_pledges
from bot.demo_script import DemoScript
from bot.demo_study import play_study
from bot.domain.tree import render_tree
from bot.emulator import BotApiEmulator, EmulatedUser, SentMessage
from bot.org_file import parse_org_file
from bot.services import SERVICES_KEY, Services
from storage.repositories import units

__all__ = ["run_demo"]

DEMO_ADMIN = 900001
# Tuesday 3 March 2026, 07:00 in Beijing: a day past the previous week's
# digests, so the transcript starts with members joining, not empty digests.
DEMO_START = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


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

    script.heading("普通党员在脐橙种植党支部的支部助手登记")
    await _join(script, citrus_secretary, zhang, "张伟", "普通党员")

    script.heading("流动党员在流动党员党支部的支部助手登记（输入城市：深圳）")
    await _join(
        script,
        mobile_secretary,
        wang,
        "王芳",
        "流动党员（外出务工经商）",
        place=lambda: script.says(wang, "深圳"),
    )

    script.heading("流动党员在马德里，发送位置登记")
    await _join(
        script,
        mobile_secretary,
        zhao,
        "赵磊",
        "流动党员（外出务工经商）",
        place=lambda: script.shares_location(zhao, 40.4168, -3.7038, "马德里"),
    )

    script.heading("老龄党员在夕阳红党支部的支部助手登记（只需输入姓名，其余点按钮）")
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
                    # The script moves the clock and ticks the scheduler itself.
                    "delivery": {"tick_seconds": 3600},
                }
            )
            app = build_application(settings, clock=clock)
            async with app:
                await _seed(app.bot_data[SERVICES_KEY], clock)
                await app.start()
                await app.updater.start_polling(poll_interval=0, timeout=1)
                try:
                    await _play(app, emulator, clock, out)
                finally:
                    await app.updater.stop()
                    await app.stop()
    print("\n演示结束。", file=out)
    return 0


async def _seed(services: Services, clock: FakeClock) -> None:
    """Import the demo county before the scheduler's first tick can see an empty tree."""
    county = resources.files("bot").joinpath("data", "county.toml")
    with resources.as_file(county) as path:
        specs = parse_org_file(path, known=await units.unit_keys(services.db))
    await units.upsert_units(services.db, specs, now=int(clock.now().timestamp()), actor="demo")


async def _play(app: Application, emulator: BotApiEmulator, clock: FakeClock, out: TextIO) -> None:
    services: Services = app.bot_data[SERVICES_KEY]
    print("支部助手 · 离线演示（本地 Bot API 模拟器，无需令牌，不连网络）", file=out)
    print("\n━━ 县里的组织架构（来自试点工作方案）━━", file=out)
    for line in render_tree(await units.list_units(services.db)):
        print("  " + line, file=out)
    script = DemoScript(emulator, out)
    await play_joining(script)
    await play_pledges(script, app, clock)
    await play_study(script, app, clock)
    await play_offline(script)  # a member without Telegram, recorded by the secretary
    await play_helpers(script)  # a helper of another branch enters pledges for her
    await play_lives(script)  # big buttons; a member who leaves and changes branch
    await play_contact(script)  # a phone call recorded: contact that counts offline
    await play_households(script)  # 结对帮扶: a household registered, paired, visited in two taps
    await play_digest(script, app, clock)
    await play_combinations(script, app, clock)  # 设岗定责, 创先争优 (issue 13); last: to the 25th
    await play_meetings(script, app, clock)  # a 主题党日 from notice to attendance (issue 12)
    await play_bots(script, clock)  # [[bots]]: two county bots, one city (issue 15); last
