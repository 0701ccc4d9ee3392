"""The demo's scene for the seed's other combinations: a post holder's 履岗 report and a vote.

    await play_combinations(script, app, clock)     # last: it moves the clock to a 25th

流动党员支部's secretary sets 返乡创业联络岗 and 王芳 consents; on the month's
report day she answers ✅ 按要求履岗 and counts 联系返乡创业 +3 人次.  流动党员支部's
secretary opens 服务明星评比; 王芳 nominates 赵磊, both vote (a second vote is
refused, the ballot is secret), the result is confirmed and announced.
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.ext import Application

from bot.clock import FakeClock
from bot.demo_script import DemoScript
from bot.scheduling import tick

__all__ = ["play_combinations"]


def _next_report_day(now: datetime) -> datetime:
    """Return the next 25th at 10:00 Beijing time (the pledges' default report day)."""
    moment = now.replace(day=25, hour=2, minute=0, second=0, microsecond=0)
    if moment <= now:
        year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        moment = moment.replace(year=year, month=month)
    return moment.astimezone(UTC)


async def play_combinations(script: DemoScript, app: Application, clock: FakeClock) -> None:
    """Set a post, report on it; run a campaign to its announced result."""
    mobile = script.person(910005, "刘海涛（流动党员支部书记）")
    wang = script.person(920002, "王芳")
    zhao = script.person(920003, "赵磊")

    script.heading("设岗定责：书记设返乡创业联络岗，王芳确认担任")
    await script.says(
        mobile, "/post 返乡创业联络岗\n联系在外务工人员返乡创业\n联系返乡创业 ≥ 12 人次/年"
    )
    await script.taps(mobile, "王芳")
    await script.taps(wang, "✅ 愿意担任")

    script.heading("每月 25 日：王芳一键汇报履岗，并计数 联系返乡创业 +3 人次")
    clock.set(_next_report_day(clock.now()))
    await tick(app)
    await script.settle()
    await script.taps(wang, "✅ 按要求履岗")
    await script.taps(wang, "+3")

    script.heading("创先争优：服务明星评比，提名、无记名投票、确认并公布")
    await script.says(mobile, "/campaign 服务明星评比 14 1")
    await tick(app)
    await script.settle()
    await script.taps(wang, "🏅 提名")
    await script.taps(wang, "赵磊")
    # 赵磊 works abroad (Madrid, then Paris): the reason must fit what the demo showed.
    await script.says(wang, "在外务工时帮家乡脐橙联系销路")
    await script.taps(wang, "🗳 投票")
    await script.taps(wang, "赵磊")
    await script.taps(zhao, "🗳 投票")
    await script.taps(zhao, "赵磊")
    await script.taps(wang, "🗳 投票")  # a second vote is refused
    await script.says(mobile, "/campaign")
    await script.taps(mobile, "🏁 结束评比：服务明星评比")
    await script.taps(mobile, "✅ 确认并公布")
    await tick(app)
    await script.settle()
