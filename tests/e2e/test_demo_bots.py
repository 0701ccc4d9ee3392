"""`branchbot demo`'s several-bots scene (bot/demo_bots.py), played alone on an emulator.

The whole demo runs in CI (`.ci/run`); this plays only the last scene, which
builds its own deployment (two county bots, one SQLite file: the demo is
offline and server-less on either test engine), and reads its transcript as
a reader of the demo would.
"""

from __future__ import annotations

import io

from bot.clock import FakeClock
from bot.demo import DEMO_START
from bot.demo_bots import play_bots
from bot.demo_script import DemoScript
from bot.emulator import BotApiEmulator


async def test_the_bots_scene_shows_each_county_on_its_own_bot_and_whom_to_phone():
    clock = FakeClock(DEMO_START)
    out = io.StringIO()
    async with BotApiEmulator(clock=clock.timestamp) as emulator:
        await play_bots(DemoScript(emulator, out), clock)
    text = out.getvalue()
    # Each member hears only from their county's bot, the reminder included.
    assert "核对：刘洋只收到 甲县支部助手 的消息；陈静只收到 乙县支部助手 的消息。" in text
    assert "🤖［甲县支部助手］ → 刘洋（甲县）：📖 学习提醒" in text
    assert "🤖［乙县支部助手］ → 陈静（乙县）：📖 学习提醒" in text
    # The city's roll-up covers both counties and counts the imported secretary by name.
    rollup = text[text.index("汇总周报"):]
    assert "1. 甲县脐橙合作社党支部：" in rollup or "2. 甲县脐橙合作社党支部：" in rollup
    assert "乙县茶叶合作社党支部：党员 1" in rollup
    assert "未给机器人发过消息 1 人：孙丽（书记）" in rollup
    # The branch digest, opened from the roll-up, says whom to phone and which bot.
    assert ("📵 还收不到支部助手消息的有 1 人：孙丽（书记）。机器人不能先开口，请电话联系，"
            "请其向本县机器人 @yixian_zhushou_bot 发一条消息，之后提醒和周报就能送到。") in text
