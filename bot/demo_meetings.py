"""The demo's branch-life scene: a 主题党日 from the notice to attendance and the record.

    await play_meetings(script, app, clock)   # after the other scenes: it moves the clock on

流动党员党支部's secretary calls a 主题党日 for tomorrow morning with an online
link; the mobile members answer from where they work (online, or 请假 because
of work), get their reminder, and afterwards the secretary confirms attendance
from the pre-filled roster, writes the 纪要 and reads the digest's 组织生活 lines.
"""

from __future__ import annotations

from datetime import timedelta

from telegram.ext import Application

from bot.clock import FakeClock
from bot.demo_script import DemoScript
from bot.emulator import EmulatedUser
from bot.scheduling import tick

__all__ = ["play_meetings"]

MOBILE_SECRETARY = 910005
MEMBERS = {920002: "王芳", 920003: "赵磊"}


def _newest(user: EmulatedUser, words: str) -> list[str]:
    """Return the buttons of the newest message containing `words`."""
    for message in reversed(user.messages):
        if words in message.plain and message.button_texts:
            return message.button_texts
    raise LookupError(f"no message with {words!r} for user {user.id}")


def _noticed(user: EmulatedUser) -> bool:
    return any("会议通知" in m.plain and m.button_texts for m in user.messages)


async def _ticks(script: DemoScript, app: Application, clock: FakeClock, hours: int) -> None:
    """Let `hours` pass an hour at a time, the scheduler ticking as it would."""
    for _ in range(hours):
        clock.advance(timedelta(hours=1))
        await tick(app)
    await script.settle(quiet=0.3)


async def play_meetings(script: DemoScript, app: Application, clock: FakeClock) -> None:
    """Call a 主题党日, answer it, remind, confirm attendance, keep the record, show the digest."""
    secretary = script.person(MOBILE_SECRETARY, "刘海涛（流动党员支部书记）")
    members = {uid: script.person(uid, name) for uid, name in MEMBERS.items()}

    script.heading("书记召开主题党日（/meeting）：类型、日期、时间点按钮，地点和议题输入")
    await script.says(secretary, "/meeting")
    await script.taps(secretary, "主题党日")
    await script.taps(secretary, _newest(secretary, "哪一天")[0])
    await script.taps(secretary, "上午9:00")
    await script.says(secretary, "村党群服务中心")
    await script.says(secretary, "https://meet.example.org/renhe-mobile")
    await script.says(secretary, "学习党的二十届三中全会精神")
    await script.taps(secretary, "📣 发出通知")

    script.heading("通知送到每位党员（流动党员可以点“在外地，线上参加”）")
    await tick(app)
    await script.settle(quiet=0.3)
    noticed = [user for user in members.values() if _noticed(user)]
    for index, user in enumerate(noticed):
        if index == 0:
            buttons = _newest(user, "会议通知")
            online = "📍 在外地，线上参加"
            await script.taps(user, online if online in buttons else "✅ 参加")
        else:
            await script.taps(user, "🙋 请假")
            await script.taps(user, "外出务工")

    script.heading("会前提醒：前一天和开会前两小时，都在允许打扰的时段")
    await _ticks(script, app, clock, 30)

    script.heading("会后：书记确认到会情况（名单按回复预先填好），写下纪要")
    await _ticks(script, app, clock, 6)
    await script.taps(secretary, "📋 到会名单")
    await script.taps(secretary, "✔ 确认")
    await script.says(secretary, "学习三中全会精神，商定本月每人联系两位在外老乡。")

    script.heading("周报里的组织生活：本周开了什么会、到会多少、还欠什么会")
    await script.says(secretary, "/digest")
    await script.settle(quiet=0.5)
