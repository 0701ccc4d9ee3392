"""Pairing with households (结对帮扶), end to end through the emulator.

The secretary of 梦公塘…脐橙种植党支部 registers 王某户（三组） (needs: 技术, 销售) and
pairs 张伟 with it. 张伟 logs a visit in two taps from /households and adds a
line. Thirty days without a visit bring one gentle reminder, in daytime
hours only, and never a second for the same stretch; a visit from the
reminder's own buttons starts a new stretch. The secretary's /households, the
digest and the ledger show it all.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from bot.domain.models import Category
from bot.emulator import EmulatedUser
from storage.repositories import households, members, offline_members, people, units
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness
from tests.e2e.membership import admitted

BRANCH = "renhe-citrus"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday, 09:00 in Beijing
MEMBER_ID = 2701


def reminders(user: EmulatedUser) -> list[str]:
    return [text for text in user.texts if text.startswith("🤝 您结对帮扶的")]


async def register_and_pair(h: BotHarness, secretary: EmulatedUser) -> int:
    """Register 王某户（三组） with needs 技术 and 销售, pair 张伟; return the household id."""
    await secretary.send_command("household")
    await secretary.wait_for_message(lambda m: "请输入户名" in m.plain)
    await secretary.send_text("王某户（三组）\u200b")
    needs = await secretary.wait_for_message(lambda m: "这户需要什么帮助" in m.plain)
    assert needs.button_texts == ["技术", "销售", "就业", "照料", "✅ 完成"]
    await secretary.press("技术", needs)
    await secretary.wait_for_message(lambda m: "✓ 技术" in m.button_texts)
    await secretary.press("销售", needs)
    await secretary.wait_for_message(lambda m: "✓ 销售" in m.button_texts)
    await secretary.press("✅ 完成", needs)
    card = await secretary.wait_for_message(lambda m: m.plain.startswith("🏠 王某户（三组）"))
    assert "需要：技术、销售" in card.plain and "还没有指派党员" in card.plain
    await secretary.press("👥 指派结对党员", card)
    picker = await secretary.wait_for_message(lambda m: "指派结对党员" in m.plain)
    await secretary.press("张伟", picker)
    await secretary.wait_for_message(lambda m: "✓ 张伟" in m.button_texts)
    await secretary.press("✅ 完成", picker)
    await secretary.wait_for_message(lambda m: "结对党员：张伟（还没有走访）" in m.plain)
    (household,) = await households.branch_households(
        h.services.db, (await units.get_unit_by_key(h.services.db, BRANCH)).id)
    assert household.name == "王某户（三组）" and household.needs == ("tech", "sales")
    return household.id


async def test_register_pair_visit_remind_and_report(tmp_path) -> None:
    async with BotHarness.started(tmp_path, start=START) as h:
        db = h.services.db
        secretary = h.user(BRANCH_SECRETARIES[BRANCH], "zh")
        member = await admitted(h, BRANCH, MEMBER_ID, "张伟")
        await register_and_pair(h, secretary)

        # --- two taps: the household, then what was done; then an optional line.
        await member.send_command("households")
        mine = await member.wait_for_message(lambda m: "我结对帮扶的户" in m.plain)
        assert "王某户（三组） · 需要：技术、销售 · 最近走访：还没有走访" in mine.plain
        await member.press("🏠 王某户（三组）", mine)
        kinds = await member.wait_for_message(lambda m: "这次做了什么" in m.plain)
        assert kinds.button_texts == [
            "🏠 走访", "🔧 技术指导", "🛒 帮助销售", "💼 就业帮扶", "其他"]
        await member.press("🔧 技术指导", kinds)
        await member.wait_for_message(
            lambda m: "✅ 已记录：3月2日（周一） 王某户（三组） · 🔧 技术指导" in m.plain)
        ask = await member.wait_for_message(lambda m: "要补一句吗" in m.plain)
        assert ask.button_texts == ["跳过"]
        await member.send_text("教了春季修剪\u202e")
        await member.wait_for_message(lambda m: "已补上这句话" in m.plain)
        (visit,) = await households.branch_visits(
            db, (await units.get_unit_by_key(db, BRANCH)).id)
        assert (visit.kind, visit.note, visit.entered_by) == ("tech", "教了春季修剪", None)

        # --- 30 days after the visit, in the night: nothing; the first daytime tick: one.
        visited = h.clock.now()
        h.clock.set(datetime(2026, 4, 1, 14, 0, tzinfo=UTC))  # 22:00 in Beijing, day 30
        await h.tick()
        assert reminders(member) == []
        await h.advance(hours=9)  # 07:00 in Beijing: still quiet hours
        assert reminders(member) == []
        await h.advance(hours=1)  # 08:00: allowed
        (reminder,) = reminders(member)
        assert "王某户（三组）" in reminder and "30 天没有走访记录" in reminder
        # Planned with the member's zone: a fan-out that reached her after 21:00
        # would hold it for the morning (tests/e2e/test_delivery_worker.py).
        async with db.execute("SELECT quiet_zone FROM outbox WHERE kind = 'hh.remind'") as cur:
            assert [row[0] for row in await cur.fetchall()] == ["Asia/Shanghai"]
        for _ in range(5):
            await h.advance(days=3)
        assert len(reminders(member)) == 1  # once per stretch, however long it lasts
        assert (h.clock.now() - visited).days >= 44

        # --- a visit from the reminder's own buttons (one tap) starts a new stretch.
        message = next(m for m in member.messages if m.plain.startswith("🤝 您结对帮扶的"))
        await member.press("🏠 走访", message)
        await member.wait_for_message(lambda m: "· 🏠 走访" in m.plain and "已记录" in m.plain)
        skip = await member.wait_for_message(lambda m: "要补一句吗" in m.plain)
        await member.press("跳过", skip)
        await member.wait_for_callback_answer()
        assert reminders(member) == []  # the pressed reminder now says what was logged
        await h.advance(days=29)
        assert reminders(member) == []
        await h.advance(days=1, hours=1)
        assert len(reminders(member)) == 1

        # --- the secretary's /households: the list, last visits and who visits.
        await secretary.send_command("households")
        view = await secretary.wait_for_message(lambda m: "帮扶的户（1 户）" in m.plain)
        assert "🟠 王某户（三组）" in view.plain and "结对：张伟（" in view.plain

        # --- the digest names the household; the ledger has the 结对帮扶 sheet.
        await secretary.send_command("digest", BRANCH)
        summary = await secretary.wait_for_message(lambda m: "周报" in m.plain)
        assert "🤝 联系 1 户，本月走访 0 户；超过 30 天未走访：王某户（三组）" in summary.plain
        await secretary.send_command("export", BRANCH)
        document = await secretary.wait_for_message(lambda m: m.kind == "document")
        book = load_workbook(io.BytesIO(document.file_bytes))
        rows = list(book["结对帮扶"].iter_rows(values_only=True))
        assert list(rows[0]) == ["户名", "需要", "结对党员", "日期", "走访党员", "方式",
                                 "代为登记人", "备注"]
        assert list(rows[1][:3]) == ["王某户（三组）", "技术、销售", "张伟"]
        assert [row[4:6] for row in rows[2:]] == [("张伟", "🔧 技术指导"), ("张伟", "🏠 走访")]
        assert rows[2][7] == "教了春季修剪"


async def test_no_digest_line_while_every_household_is_visited(tmp_path) -> None:
    async with BotHarness.started(tmp_path, start=START) as h:
        secretary = h.user(BRANCH_SECRETARIES[BRANCH], "zh")
        await admitted(h, BRANCH, MEMBER_ID, "张伟")
        await register_and_pair(h, secretary)
        await secretary.send_command("digest", BRANCH)
        summary = await secretary.wait_for_message(lambda m: "周报" in m.plain)
        assert "🤝" not in summary.plain


async def test_a_member_without_telegram_is_paired_and_the_secretary_logs_for_them(
    tmp_path,
) -> None:
    async with BotHarness.started(tmp_path, start=START) as h:
        db = h.services.db
        secretary = h.user(BRANCH_SECRETARIES[BRANCH], "zh")
        branch = await units.get_unit_by_key(db, BRANCH)
        now = int(h.clock.now().timestamp())
        sec_person = await people.get_person_by_telegram(db, secretary.id)
        offline = await offline_members.register_offline(
            db, branch_id=branch.id, name="李老汉", category=Category.ELDERLY, place=None,
            timezone=None, note=None, registered_by=sec_person.id if sec_person else None,
            language="zh", now=now)
        assert offline is not None
        await admitted(h, BRANCH, MEMBER_ID, "张伟")
        await register_and_pair(h, secretary)
        card = next(m for m in reversed(secretary.messages) if "👥 指派结对党员" in m.button_texts)
        await secretary.press("👥 指派结对党员", card)
        picker = await secretary.wait_for_message(
            lambda m: "李老汉（无 Telegram）" in m.button_texts)
        await secretary.press("李老汉（无 Telegram）", picker)
        await secretary.wait_for_message(lambda m: "✓ 李老汉（无 Telegram）" in m.button_texts)
        await secretary.press("✅ 完成", picker)
        card = await secretary.wait_for_message(lambda m: "📝 代 李老汉 记一笔" in m.button_texts)
        await secretary.press("📝 代 李老汉 记一笔", card)
        kinds = await secretary.wait_for_message(lambda m: "代 李老汉 记录" in m.plain)
        await secretary.press("🏠 走访", kinds)
        await secretary.wait_for_message(lambda m: "（代 李老汉 记录）" in m.plain)
        visits = await households.branch_visits(db, branch.id)
        assert [(v.member_name, v.entered_by) for v in visits] == [("李老汉", sec_person.id)]
        member = await members.get_member(db, visits[0].member_id)
        assert member is not None and member.person_id != sec_person.id
