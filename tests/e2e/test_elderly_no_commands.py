"""The elderly use no commands (issue 11, item 5): a whole month by buttons alone.

An elderly member of 夕阳红党支部 is approved and gets four big buttons under
the chat.  Through March they study (✅ under the reminder, and again through
📖 今日学习), report on their pledges at the month's report day (one from the
bot's question, one through 📝 我的承诺) and ask for the secretary with
📞 找书记, who answers with one tap.  Every message the member sends after
joining is counted: none starts with "/".  (Joining itself is opening the
secretary's link, which Telegram sends as /start; the member types only a name.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.pledges import parse_pledge
from bot.emulator import EmulatedUser
from storage.repositories import pledges, study, units
from tests.e2e.harness import BotHarness, say, tap
from tests.e2e.membership import admitted, stored

BRANCH = "tingzijiang-sunset"
SECRETARY = 910009  # 夕阳红党支部
BIG = ["📖 今日学习", "📝 我的承诺", "📞 找书记", "❓ 帮助"]


class Typed:
    """Record what a user sends by typing (or by a reply-keyboard button, which types for them)."""

    def __init__(self, user: EmulatedUser) -> None:
        self.sent: list[str] = []
        self._user = user
        send_text, send_command = user.send_text, user.send_command

        async def typed_text(text: str, **kwargs: object) -> int:
            self.sent.append(text)
            return await send_text(text, **kwargs)

        async def typed_command(command: str, args: str = "") -> int:
            self.sent.append(f"/{command} {args}".strip())
            return await send_command(command, args)

        user.send_text = typed_text  # type: ignore[method-assign]
        user.send_command = typed_command  # type: ignore[method-assign]

    @property
    def commands(self) -> list[str]:
        return [text for text in self.sent if text.startswith("/")]

    def journey(self) -> list[str]:
        """Return what was typed since the last call: one journey's messages."""
        done, self._seen = self.sent[getattr(self, "_seen", 0):], len(self.sent)
        return done


async def test_an_elderly_members_month_without_a_single_command(tmp_path):
    async with BotHarness.started(tmp_path) as h:
        member = await admitted(h, BRANCH, 3201, "王秀英", "elderly")
        typed = Typed(member)
        keyboard = await member.wait_for_message(lambda m: "📖 今日学习" in m.button_texts)
        assert keyboard.button_texts == BIG
        assert keyboard.reply_markup.get("is_persistent") is True

        db = h.services.db
        branch = await units.get_unit_by_key(db, BRANCH)
        now = int(h.clock.now().timestamp())
        await study.create_items(
            db, branch_ids=[branch.id], title="学习村规民约", body="第一部分",
            due_date="2026-03-06", remind_at={branch.id: "10:00"}, created_by=None,
            now=now)
        # Study from the reminder: one tap.
        await h.advance(hours=2)
        await member.wait_for_message(lambda m: "学习村规民约" in m.plain)
        await tap(member, "✅ 已学习", lambda m: "已记录" in m.plain or "✅" in m.plain)

        # Study through 📖 今日学习, before the next item's reminder is due.
        await study.create_items(
            db, branch_ids=[branch.id], title="学习党章第二章", body="",
            due_date="2026-03-04", remind_at={branch.id: "16:00"}, created_by=None,
            now=int(h.clock.now().timestamp()))
        await member.send_text("📖 今日学习")
        item = await member.wait_for_message(lambda m: "学习党章第二章" in m.plain)
        assert "✅ 已学习" in item.button_texts
        assert "学习村规民约" not in item.plain  # already answered
        await member.press("✅ 已学习", item)
        membership = (await stored(h, 3201)).membership
        answered = await study.answers_for(db, item_id=(await study.open_items(
            db, [branch.id], min_due="2026-03-01"))[0].id)
        assert any(a.member_id == membership.id for a in answered)
        assert typed.journey() == ["📖 今日学习"]  # study: one big button, no command

        # Pledges approved at the start of the year; the report day comes.
        for text in ("帮助调解邻里纠纷", "参加村规民约监督"):
            await pledges.add_pledge(db, member_id=membership.id, year=2026,
                                     parsed=parse_pledge(text), now=now)
        for pledge_id in await pledges.submit_pledges(db, member_id=membership.id, year=2026,
                                                      now=now):
            await pledges.decide_pledge(db, pledge_id, approve=True, by=None, now=now)
        h.clock.set(datetime(2026, 3, 25, 3, 0, tzinfo=UTC))  # 11:00 in Beijing
        await h.tick()
        ask = await member.wait_for_message(lambda m: "帮助调解邻里纠纷" in m.plain
                                            and "✅ 已完成" in m.button_texts)
        await member.press("✅ 已完成", ask)
        await member.wait_for_message(lambda m: "已选择：✅ 已完成" in m.plain)
        await member.send_text("📝 我的承诺")
        second = await member.wait_for_message(lambda m: "参加村规民约监督" in m.plain
                                               and "🔄 进行中" in m.button_texts)
        await member.press("🔄 进行中", second)
        await member.wait_for_message(lambda m: "践诺已全部汇报" in m.plain)
        reports = await pledges.reports_for(
            db, [p.id for p in await pledges.member_pledges(db, membership.id, 2026)], 202603)
        assert {r.status for r in reports} == {"done", "ongoing"}
        assert typed.journey() == ["📝 我的承诺"]  # the month's report: one big button

        # 找书记: the secretary gets one line and answers with one tap.
        secretary = h.user(SECRETARY)
        await say(member, "📞 找书记", "已告诉书记")
        call = await secretary.wait_for_message(
            lambda m: "王秀英" in m.plain and "想找您" in m.plain)
        assert any(e.get("type") == "text_link" and "tg://user?id=3201" in e.get("url", "")
                   for e in call.entities)
        await secretary.press("✅ 我来联系", call)
        await member.wait_for_message(lambda m: "收到了，会联系您" in m.plain)
        # A second press soon after does not ring the secretary again.
        before = len(secretary.messages)
        await member.send_text("📞 找书记")
        await member.wait_for_message(lambda m: "刚才已经告诉书记了" in m.plain)
        assert len(secretary.messages) == before
        assert typed.journey() == ["📞 找书记", "📞 找书记"]  # 找书记, pressed twice

        await member.send_text("❓ 帮助")
        await member.wait_for_message(lambda m: "不用打字" in m.plain)
        assert typed.journey() == ["❓ 帮助"]
        assert typed.sent, "the member did act"
        assert typed.commands == [], typed.commands


async def test_any_member_may_turn_the_big_buttons_on_and_off(tmp_path):
    """"Every member who wants it": /buttons gives a regular member the four buttons, and
    takes them away again."""
    async with BotHarness.started(tmp_path) as h:
        member = await admitted(h, "renhe-citrus", 3202, "张伟")
        on = await say(member, "/buttons", "已打开大按钮")
        assert on.button_texts == BIG and on.reply_markup.get("is_persistent") is True
        await say(member, "📖 今日学习", "今天没有要学习的内容")
        off = await say(member, "/buttons", "已收起大按钮")
        assert off.reply_markup.get("remove_keyboard") is True
