"""The demo's scene for several bots (`[[bots]]`): one city, two counties, a bot each.

    await play_bots(script, clock)      # last: it builds its own deployment and moves the clock

A second deployment beside the county's, on its own throw-away database: a
city organisation department over 甲县 and 乙县, each county on its own bot
(the emulator holds both).  A member of each county registers through their
county's bot; 乙县's branch secretary was imported from the org file and has
written to no bot, so her county secretary approves in her stead (/pending).
A study reminder goes out and each member hears only from their own bot; the
city secretary's roll-up covers both counties and counts 孙丽 on her branch's
line, and the branch digest says whom to phone and which bot she should write to.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path

from telegram.ext import Application

from bot.app import PLANS_KEY, SIBLINGS_KEY, build_application
from bot.clock import FakeClock
from bot.config import Settings, parse_settings
from bot.demo_script import DemoScript
from bot.domain.localtime import zone
from bot.emulator import EmulatedUser
from bot.org_file import parse_org_text
from bot.scheduling import JOB_NAME, drain, plan, stop_delivery_worker
from bot.services import SERVICES_KEY, Services
from storage.health import open_checked_database
from storage.repositories import study, units

__all__ = ["play_bots", "seed_org", "start_bots"]

BOT_A, BOT_B = 7000000021, 7000000022
BOTS = {
    BOT_A: ("jia", "jiaxian_zhushou_bot", "甲县支部助手", "jia-county"),
    BOT_B: ("yi", "yixian_zhushou_bot", "乙县支部助手", "yi-county"),
}
CITY, JIA_SECRETARY, YI_COUNTY, YI_SECRETARY = 930001, 930011, 930020, 930021
JIA_MEMBER, YI_MEMBER = 930012, 930022
ORG = f"""
[[unit]]
key = "city"
level = "committee"
name = "市委组织部"
kind = "agency"
secretary = "钱卫东"
secretary_telegram_id = {CITY}

[[unit]]
key = "jia-county"
parent = "city"
level = "general_branch"
name = "甲县党总支"
kind = "agency"

[[unit]]
key = "jia-orange"
parent = "jia-county"
level = "branch"
name = "甲县脐橙合作社党支部"
kind = "industry"
secretary = "周建国"
secretary_telegram_id = {JIA_SECRETARY}

[[unit]]
key = "yi-county"
parent = "city"
level = "general_branch"
name = "乙县党总支"
kind = "agency"
secretary = "吴刚"
secretary_telegram_id = {YI_COUNTY}

[[unit]]
key = "yi-tea"
parent = "yi-county"
level = "branch"
name = "乙县茶叶合作社党支部"
kind = "industry"
secretary = "孙丽"
secretary_telegram_id = {YI_SECRETARY}
"""


async def seed_org(database: str, org: str, *, now: int, actor: str) -> None:
    """Import an org file's text before the bots start (each bot checks its unit at start).

    Shared with the several-bots e2e tests (tests/e2e/multibot.py), which seed their own org.
    """
    db = await open_checked_database(database, migrated=True)
    try:
        specs = parse_org_text(org, fmt="toml", source="demo_bots", known=await units.unit_keys(db))
        await units.upsert_units(db, specs, now=now, actor=actor)
    finally:
        await db.close()


async def start_bots(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    clock: FakeClock,
    *,
    one_process: bool = True,
    poll: bool = True,
) -> list[Application]:
    """Build and start one Application per `[[bots]]` entry, as `branchbot run` does.

    Only the first plans; with `one_process` each lists all as its siblings (one
    process serves every bot), else only itself (`branchbot run --bots`, one a
    process).  The tick job and delivery worker are removed: the caller ticks by
    hand (plan, then drain), as the demo and tests/e2e/harness.py do.  `stack`
    stops them.
    """
    apps = [build_application(settings, clock=clock, bot=bot) for bot in settings.bots]
    for app in apps[1:]:
        app.bot_data[PLANS_KEY] = False
    for app in apps:
        app.bot_data[SIBLINGS_KEY] = apps if one_process else [app]
        await stack.enter_async_context(app)
        await app.start()
        if poll:
            await app.updater.start_polling(poll_interval=0, timeout=1)
        stack.push_async_callback(_stop, app)
        for job in app.job_queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        await stop_delivery_worker(app)
    return apps


async def _join(script: DemoScript, leader: EmulatedUser, member: EmulatedUser, name: str,
                invite: str) -> None:
    await script.says(leader, invite)
    match = re.search(r"start=([A-Za-z0-9_-]+)", leader.last_message.plain)
    if match is None:
        raise RuntimeError(f"no invite link in: {leader.last_message.plain!r}")
    code = match.group(1)
    await script.says(member, f"/start {code}")
    await script.says(member, name)
    await script.taps(member, "普通党员")
    await script.taps(member, "✅ 同意")


def _heard_from(user: EmulatedUser) -> str:
    bots = sorted({BOTS[m.bot_id][2] for m in user.messages if m.bot_id in BOTS})
    return "、".join(bots) or "（无）"


async def play_bots(script: DemoScript, clock: FakeClock) -> None:
    """Two county bots on one database: register, remind, and the city's roll-up."""
    emulator = script.emulator
    for bot_id, (_, username, first_name, _) in BOTS.items():
        emulator.add_bot(bot_id, username=username, first_name=first_name)
        script.bot_names[bot_id] = f"［{first_name}］"
    script.heading("一个市、两个县，各县一个机器人，共用一个数据库")
    print("   配置：甲县 @jiaxian_zhushou_bot、乙县 @yixian_zhushou_bot；"
          "孙丽（乙县茶叶合作社党支部书记）随组织架构导入，还没给任何机器人发过消息。",
          file=script.out)
    async with contextlib.AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="branchbot-bots-")))
        database = str(folder / "city.sqlite3")
        await seed_org(database, ORG, now=int(clock.now().timestamp()), actor="demo")
        settings = parse_settings({
            "telegram": {"api_base_url": emulator.base_url,
                         "api_base_file_url": emulator.base_file_url},
            "storage": {"database": database},
            "delivery": {"tick_seconds": 3600},
            "bots": [{"name": name, "token": f"{bot_id}:AAFakeDemoToken_{name}", "unit": unit}
                     for bot_id, (name, _, _, unit) in BOTS.items()],
        })
        apps = await start_bots(stack, settings, clock)
        await _play(script, clock, apps)


async def _stop(app: Application) -> None:
    if app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()


async def _play(script: DemoScript, clock: FakeClock, apps: list[Application]) -> None:
    city = script.person(CITY, "钱卫东（市委组织部）", bot_id=BOT_A)
    jia_secretary = script.person(JIA_SECRETARY, "周建国（甲县支部书记）", bot_id=BOT_A)
    yi_county = script.person(YI_COUNTY, "吴刚（乙县党总支书记）", bot_id=BOT_B)
    jia = script.person(JIA_MEMBER, "刘洋（甲县）", bot_id=BOT_A)
    yi = script.person(YI_MEMBER, "陈静（乙县）", bot_id=BOT_B)

    script.heading("甲县党员通过甲县的机器人登记")
    await _join(script, jia_secretary, jia, "刘洋", "/invite")
    await script.taps(jia_secretary, "✅ 同意")

    script.heading("乙县党员通过乙县的机器人登记；支部书记孙丽还收不到消息，由县里的书记审批")
    await _join(script, yi_county, yi, "陈静", "/invite yi-tea")
    await script.says(yi_county, "/pending")
    await script.taps(yi_county, "✅ 同意")

    script.heading("两个支部各有一项学习，到点提醒：各自只从本县的机器人收到")
    services: Services = apps[0].bot_data[SERVICES_KEY]
    tz = zone("Asia/Shanghai")
    tomorrow = clock.now().astimezone(tz).date() + timedelta(days=1)
    branches = [await units.get_unit_by_key(services.db, key) for key in ("jia-orange", "yi-tea")]
    await study.create_items(
        services.db, branch_ids=[b.id for b in branches if b],
        title="学习《农村基层党组织工作条例》", body="请阅读第三章。",
        due_date=(tomorrow + timedelta(days=3)).isoformat(),
        remind_at={b.id: "09:00" for b in branches if b}, created_by=None,
        now=int(clock.now().timestamp()),
    )
    clock.set(datetime.combine(tomorrow, time(9, 1), tz))
    await plan(apps[0])
    for app in apps:
        await drain(app)
    await script.settle(quiet=0.3)
    print(f"   核对：刘洋只收到 {_heard_from(jia)} 的消息；陈静只收到 {_heard_from(yi)} 的消息。",
          file=script.out)

    script.heading("市委组织部看汇总周报：两个县的支部都在，并点出谁还收不到消息")
    await script.says(city, "/digest")
    await script.taps(city, "乙县茶叶合作社党支部")
