"""The demo's scene for a member without Telegram: registered and checked in by the secretary.

    await play_offline(script)      # after the study scene, before the digest

夕阳红党支部's secretary registers 王秀英, who has no phone (her daughter keeps
in touch), publishes a study item and records it for her with /checkin; the
roster marks her "无 Telegram（由 郑桂英 代为登记）" and the bot sends her nothing.
"""

from __future__ import annotations

from bot.demo_script import DemoScript, button_starting

__all__ = ["play_offline"]

SUNSET_SECRETARY = 910009


async def play_offline(script: DemoScript) -> None:
    """Register a phone-less elderly member, publish a study item, check her in."""
    secretary = script.person(SUNSET_SECRETARY, "郑桂英（夕阳红党支部书记）")

    script.heading("没有 Telegram 的老党员：书记代为登记（/addmember），没有邀请、没有聊天")
    await script.says(secretary, "/addmember")
    await script.says(secretary, "王秀英")
    await script.taps(secretary, "老龄党员")
    await script.says(secretary, "由女儿代为联系")
    await script.says(secretary, "/members")

    script.heading("书记发布学习，并用 /checkin 为王秀英代为登记")
    await script.says(secretary, "/study")
    await script.says(secretary, "学习《中国共产党章程》总纲")
    await script.says(secretary, "请通读总纲部分。")
    await script.taps(secretary, button_starting(secretary, "本周日", "7天后"))
    await script.taps(secretary, "✅ 发布")
    await script.says(secretary, "/checkin")
    await script.taps(secretary, button_starting(secretary, "学习《中国共产党章程》总纲"))
    await script.taps(secretary, "王秀英")
