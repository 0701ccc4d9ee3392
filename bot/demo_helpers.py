"""The demo's scene for helpers: a member of another branch acts for a phone-less elderly member.

    await play_helpers(script)      # after the offline scene

脐橙支部's secretary registers 周桂兰, who has no phone, and pairs her with 王芳,
a member of 人和村流动党员党支部 (another branch under 咸水乡党委).  王芳 opens
/helpfor, picks 周桂兰 and enters two pledges for her from the common ones,
stored with 王芳 as who entered them (代为登记; the digest and ledger say so).
"""

from __future__ import annotations

from bot.demo_script import DemoScript, button_starting, button_with_data

__all__ = ["play_helpers"]

CITRUS_SECRETARY = 910003
WANG_FANG = 920002  # joined 人和村流动党员党支部 in the joining scene
DEMO_YEAR = 2026


async def play_helpers(script: DemoScript) -> None:
    """Pair a phone-less elderly member with a helper of another branch, who enters her pledges."""
    secretary = script.person(CITRUS_SECRETARY, "陈秀兰（脐橙支部书记）")
    helper = script.person(WANG_FANG, "王芳（流动党员支部，帮学人）")

    script.heading("帮学人：书记为没有 Telegram 的周桂兰安排同一党委下另一支部的王芳（/pair）")
    await script.says(secretary, "/addmember")
    await script.says(secretary, "周桂兰")
    await script.taps(secretary, "老龄党员")
    await script.taps(secretary, "⏭ 跳过")
    await script.says(secretary, "/pair")
    await script.taps(secretary, "周桂兰")
    await script.taps(secretary, button_starting(secretary, "➕ 人和村流动党员党支部"))
    await script.taps(secretary, "王芳")

    script.heading("王芳用 /helpfor 为周桂兰代为登记：从常用承诺中选两条，提交审核")
    await script.says(helper, "/helpfor")
    await script.taps(helper, "周桂兰")
    await script.taps(helper, "📝 承诺")
    await script.taps(helper, "📋 常用承诺")
    # The common pledges are buttons whose data is pl:tpa:<year>:<i> (handlers.pledges).
    await script.taps(helper, button_with_data(helper, "pl:tpa:"))
    await script.taps(helper, button_with_data(helper, "pl:tpl:"))
    await script.taps(helper, button_with_data(helper, f"pl:tpa:{DEMO_YEAR}:1"))
    await script.taps(helper, "📤 提交支部审核")
