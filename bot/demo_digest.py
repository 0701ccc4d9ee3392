"""The demo's digest section: a secretary's week on demand, then Monday's digests and roll-up.

    await play_digest(script, app, clock)     # after the sections that fill the week

Plays against whatever the earlier sections stored (members who joined,
studied, pledged); it needs only the seeded county.  Monday 08:00 is the
default [digest] hour, in Beijing like the whole demo county.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot.clock import FakeClock
from bot.demo_script import DemoScript
from bot.scheduling import tick

__all__ = ["play_digest"]

MOBILE_SECRETARY = 910005
GENERAL_SECRETARY = 910002
MOBILE_BRANCH = "人和村流动党员党支部"
BEIJING = ZoneInfo("Asia/Shanghai")


def _next_monday_eight(now: datetime) -> datetime:
    """Return the first Monday 08:05 in Beijing after `now` (just past the digest hour)."""
    local = now.astimezone(BEIJING)
    days = (8 - local.isoweekday()) % 7 or 7
    if local.isoweekday() == 1 and local.time() < time(8, 5):
        days = 0
    return datetime.combine(local.date() + timedelta(days=days), time(8, 5), tzinfo=BEIJING)


async def play_digest(script: DemoScript, app: Application, clock: FakeClock) -> None:
    """Print a branch digest on demand, the ledger export, and Monday's digests and roll-up."""
    secretary = script.person(MOBILE_SECRETARY, "刘海涛（流动党员支部书记）")
    general = script.person(GENERAL_SECRETARY, "李建国（人和村党总支书记）")

    script.heading("书记随时查看本周到目前为止的周报（/digest）")
    await script.says(secretary, "/digest")
    await script.settle(quiet=0.5)

    script.heading("书记导出支部台账（/export，Excel）")
    await script.says(secretary, "/export")

    script.heading("周一 08:00（北京时间）：上周周报自动送到每位书记")
    clock.set(_next_monday_eight(clock.now()))
    await tick(app)
    await script.settle(quiet=0.5)

    script.heading("党总支书记从汇总里点开一个支部的周报")
    await script.taps(general, MOBILE_BRANCH)
    await script.settle(quiet=0.5)

    script.heading("点 📈 参与率图表：近 12 周的图此时才画（不占周报发送的时间）")
    await script.taps(general, "📈 参与率图表")
    await script.settle(quiet=0.5)  # drawn in a worker thread, then sent
