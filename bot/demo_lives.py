"""The demo's scene for lives that change and for the elderly's big buttons (issue 11, 4–5).

    await play_lives(script)      # after the members-without-Telegram scene, before the digest

李德福 (elderly, 夕阳红党支部) studies and calls his secretary with the big
buttons under the chat, typing nothing; 张伟 leaves the citrus branch to work
in 东莞 (/moving) and then uses 支部助手 with the 流动党员党支部 instead, both
secretaries confirming (/transfer) — his records stay with him.
"""

from __future__ import annotations

from bot.demo_script import DemoScript

__all__ = ["play_lives"]


async def play_lives(script: DemoScript) -> None:
    """Big buttons for an elderly member, then a member who leaves and changes branch."""
    li = script.person(920004, "李德福")
    sunset_secretary = script.person(910009, "郑桂英（夕阳红支部书记）")
    zhang = script.person(920001, "张伟")
    citrus_secretary = script.person(910003, "陈秀兰（脐橙支部书记）")
    mobile_secretary = script.person(910005, "刘海涛（流动党员支部书记）")

    script.heading("老龄党员只按屏幕下方的大按钮：今日学习、找书记（不输入任何命令）")
    await script.says(li, "📖 今日学习")
    await script.taps(li, "✅ 已学习")
    await script.says(li, "📞 找书记")
    await script.taps(sunset_secretary, "✅ 我来联系")

    script.heading("张伟外出到东莞务工（/moving），按流动党员联系，书记收到通知")
    await script.says(zhang, "/moving")
    await script.says(zhang, "东莞")

    script.heading("张伟改到流动党员党支部使用支部助手：两个支部的书记都确认，记录随人保留")
    await script.says(zhang, "/transfer")
    await script.taps(zhang, "人和村流动党员党支部")
    await script.taps(citrus_secretary, "✅ 确认")
    await script.taps(mobile_secretary, "✅ 确认")
