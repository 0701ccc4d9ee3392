"""The demo's pledges and whereabouts section: 承诺, 践诺, and mobile members checking in.

    await play_pledges(script, app, clock)     # right after play_joining

Needs the members play_joining brings in (张伟 in the citrus branch, 王芳 in
Shenzhen and 赵磊 in Madrid in the mobile branch).  Moves the clock from the
joining day (early March) to 2 April 08:00 UTC: 25 March is the monthly
report day and 2 April is thirty days after the mobile members joined.
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.ext import Application

from bot.clock import FakeClock
from bot.demo_script import DemoScript, run_at

__all__ = ["play_pledges"]

CITRUS_SECRETARY = 910003
ZHANG = 920001
WANG = 920002
ZHAO = 920003


async def play_pledges(script: DemoScript, app: Application, clock: FakeClock) -> None:
    """A member pledges and reports progress; mobile members confirm where they are."""
    secretary = script.person(CITRUS_SECRETARY, "陈秀兰（脐橙支部书记）")
    zhang = script.person(ZHANG, "张伟")
    wang = script.person(WANG, "王芳")
    zhao = script.person(ZHAO, "赵磊")

    script.heading("承诺：党员登记当天上午10点，收到提出年度承诺的邀请")
    await run_at(script, app, clock, datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    await script.taps(zhang, "✍️ 写一条承诺")
    await script.says(zhang, "带动5户群众改造果园")
    await script.says(zhang, "每月参加一次支部组织生活 | 12 次")
    await script.taps(zhang, "📤 提交支部审核")

    script.heading("支部审核：一条通过，一条退回并写明意见")
    await script.taps(secretary, "✅ 通过第1条")
    await script.taps(secretary, "↩️ 退回第2条")
    await script.says(secretary, "请写明是参加主题党日还是支部大会")
    await script.taps(zhang, "✏️ 改第2条")
    await script.says(zhang, "每月参加支部主题党日 | 10 次")
    await script.taps(zhang, "📤 提交支部审核")
    await script.taps(secretary, "✅ 通过第2条")

    script.heading("践诺：3月25日上午10点（北京时间），逐条汇报本月进展")
    await run_at(script, app, clock, datetime(2026, 3, 25, 2, 0, tzinfo=UTC))
    await script.taps(zhang, "✅ 已完成")
    await script.says(zhang, "1")
    await script.says(zhang, "参加了3月的主题党日")
    await script.taps(zhang, "🔄 进行中")
    await script.says(zhang, "2")
    await script.taps(zhang, "⏭ 跳过")
    await script.says(secretary, "/pledges")

    script.heading("流动党员：登记30天后，在当地上午10点问一句“还在吗？”")
    await run_at(script, app, clock, datetime(2026, 4, 2, 2, 0, tzinfo=UTC))
    await script.taps(wang, "✅ 是，还在")

    script.heading("马德里上午10点（北京下午4点）：赵磊换了城市")
    await run_at(script, app, clock, datetime(2026, 4, 2, 8, 0, tzinfo=UTC))
    await script.taps(zhao, "📍 换地方了")
    await script.says(zhao, "巴黎")

    script.heading("流动党员支部书记查看流动党员去向（/mobile）")
    mobile_secretary = script.person(910005, "刘海涛（流动党员支部书记）")
    await script.says(mobile_secretary, "/mobile")
