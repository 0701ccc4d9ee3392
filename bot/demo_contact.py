"""The demo's scene for contact that counts offline (issue 11, item 3).

    await play_contact(script)    # after the lives scene, before the digest

刘海涛, secretary of the mobile branch, phones 赵磊 and records it from /mobile
with one tap per step (📞 电话联系上, then 📍 仍在原地): the call restarts the
silence clock exactly as a reply to the bot does, and the digest and the
ledger's 联系记录 sheet list it with who made it.
"""

from __future__ import annotations

from bot.demo_script import DemoScript

__all__ = ["play_contact"]

MOBILE_SECRETARY = 910005


async def play_contact(script: DemoScript) -> None:
    """The mobile branch's secretary records a phone call with 赵磊 and where he is."""
    secretary = script.person(MOBILE_SECRETARY, "刘海涛（流动党员支部书记）")
    script.heading("书记电话联系上流动党员赵磊，在 /mobile 里一点记录：计入联系，天数重新计算")
    await script.says(secretary, "/mobile")
    await script.taps(secretary, "📞 赵磊")
    await script.taps(secretary, "📞 电话联系上")
    await script.taps(secretary, "📍 仍在原地")
