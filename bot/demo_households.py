"""The demo's scene for pairing members with households (结对帮扶, issue 13).

    await play_households(script)    # after the contact scene, before the digest

郑桂英, secretary of the 夕阳红 branch, registers 王某户（三组） (needs 照料) with
/household and pairs 李德福 with it; 李德福, an elderly member, logs a visit in
two taps from /households (the household, then 🏠 走访) and skips the optional
line.  The digest's 结对帮扶 line and the ledger's sheet follow from it.
"""

from __future__ import annotations

from bot.demo_script import DemoScript

__all__ = ["play_households"]

SUNSET_SECRETARY = 910009
LI = 920004


async def play_households(script: DemoScript) -> None:
    """The sunset branch's secretary registers a household and pairs 李德福; he logs a visit."""
    secretary = script.person(SUNSET_SECRETARY, "郑桂英（夕阳红支部书记）")
    li = script.person(LI, "李德福")
    script.heading("结对帮扶：书记登记帮扶户王某户（三组），指派李德福结对")
    await script.says(secretary, "/household")
    await script.says(secretary, "王某户（三组）")
    await script.taps(secretary, "照料")
    await script.taps(secretary, "✅ 完成")
    await script.taps(secretary, "👥 指派结对党员")
    await script.taps(secretary, "李德福")
    await script.taps(secretary, "✅ 完成")

    script.heading("李德福走访后两下点按记录：选户，再选 🏠 走访（补一句可跳过）")
    await script.says(li, "/households")
    await script.taps(li, "🏠 王某户（三组）")
    await script.taps(li, "🏠 走访")
    await script.taps(li, "跳过")
