"""The demo's study section: publish, remind at each member's local hour, one-tap answers.

    await play_study(script, app, clock)     # after play_joining (any later section is fine)

Needs the members play_joining brings in: 张伟 in the citrus branch (Beijing
time), 王芳 in Shenzhen and 赵磊 in Madrid in the mobile branch.  Starts the
day after the clock's current Beijing date, so it can follow any section, and
moves the clock about a day and a half forward:

    10:00 Beijing   the general-branch secretary publishes to every branch beneath
    19:30 Beijing   张伟 and 王芳 are reminded; 王芳 taps ✅
    19:30 Madrid    赵磊 is reminded and taps ⏰ (21:30 is a quiet hour: back at 08:00)
    08:00 Madrid    the snoozed reminder; 赵磊 is excused: working
    19:30 Beijing   张伟, silent so far, gets the first follow-up and taps ✅
"""

from __future__ import annotations

from datetime import date, time, timedelta

from telegram.ext import Application

from bot.clock import FakeClock
from bot.demo_script import DemoScript, button_starting, run_at
from bot.domain.humane import day_label
from bot.domain.localtime import zone
from bot.domain.schedule import local_instant
from bot.services import SERVICES_KEY, Services
from storage.repositories import people

__all__ = ["play_study"]

GENERAL_SECRETARY = 910002
ZHANG = 920001
WANG = 920002
ZHAO = 920003
BEIJING = "Asia/Shanghai"


async def _zone_name(services: Services, telegram_id: int) -> str:
    person = await people.get_person_by_telegram(services.db, telegram_id)
    return (person.timezone if person else None) or BEIJING


async def play_study(script: DemoScript, app: Application, clock: FakeClock) -> None:
    """A study item goes out to three branches and is answered ✅, ⏰, 🙋 and after a follow-up."""
    services: Services = app.bot_data[SERVICES_KEY]
    leader = script.person(GENERAL_SECRETARY, "李建国（人和村党总支书记）")
    zhang = script.person(ZHANG, "张伟")
    wang = script.person(WANG, "王芳")
    zhao = script.person(ZHAO, "赵磊")
    beijing = zone(BEIJING)
    abroad = zone(await _zone_name(services, ZHAO))
    day: date = clock.now().astimezone(beijing).date() + timedelta(days=1)
    next_day = day + timedelta(days=1)

    # Headings read like the bot: a day as people say it, never 2026-04-03.
    script.heading(
        f"学习：{day_label('zh', day)} 北京时间上午10点，党总支书记向下属全部支部发布学习内容"
    )
    clock.set(local_instant(day, time(10, 0), beijing))
    await script.says(leader, "/study")
    await script.taps(leader, button_starting(leader, "人和村党总支部 下属全部支部"))
    await script.says(leader, "学习《中国共产党章程》总纲")
    await script.says(leader, "请通读总纲部分，结合本支部工作谈一点体会。")
    await script.taps(leader, button_starting(leader, "本周日"))
    await script.taps(leader, "✅ 发布")

    script.heading("北京时间晚上7点半：党员按各自所在地的 19:30 收到提醒；在深圳的王芳点 ✅")
    await run_at(script, app, clock, local_instant(day, time(19, 30), beijing))
    await script.taps(wang, "✅ 已学习")

    script.heading(
        "巴黎晚上7点半（当地时间）：赵磊收到提醒，点“稍后提醒”"
        "（两小时后已是夜间，顺延到早上8点）"
    )
    await run_at(script, app, clock, local_instant(day, time(19, 30), abroad))
    await script.taps(zhao, "⏰ 稍后提醒")

    script.heading("当地早上 8 点：稍后提醒到了，赵磊这周工作忙，请假")
    await run_at(script, app, clock, local_instant(next_day, time(8, 0), abroad))
    await script.taps(zhao, "🙋 请假")
    await script.taps(zhao, "💼 工作忙")

    script.heading("第二天北京时间 19:30：张伟还没回复，收到第一次跟进提醒，点 ✅")
    await run_at(script, app, clock, local_instant(next_day, time(19, 30), beijing))
    await script.taps(zhang, "✅ 已学习")

    script.heading("党总支书记查看完成情况（/studies）")
    await script.says(leader, "/studies")
    await script.taps(leader, button_starting(leader, "1. "))
