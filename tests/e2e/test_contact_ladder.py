"""Contact that counts offline: the search ladder for a silent mobile member, end to end.

赵磊 (人和村流动党员党支部, in 东莞) never answers the bot. His helper 李明 is
asked at day 30 whether she has reached him; the secretary gets a call task at
day 60; the 90-day warning follows. The helper answers 联系不上, the secretary
tries and fails once, and at day 100 reaches him by phone from the warning's
own button and notes he moved to 深圳. That call restarts the silence exactly
as a reply would: no 150-day warning comes, the ladder starts over 30 days
later, and the ledger's 联系记录 sheet and the digest list every attempt with
who made it. Nobody else may record contact for him, and they all get one
refusal.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from bot.domain.models import Category
from bot.emulator import EmulatedUser
from bot.i18n import t
from storage.repositories import contacts, helpers, members, people, units
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness
from tests.e2e.membership import admitted

SECRETARY = 910005  # 刘海涛, secretary of 人和村流动党员党支部 (bot/data/county.toml)
BRANCH = "renhe-mobile"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday, 09:00 in Beijing
FAST = {"delivery": {"per_chat_per_second": 50}}
SILENT_ID = 2502
HELPER_ID = 2503


def _texts(user: EmulatedUser, prefix: str, name: str = "赵磊") -> list[str]:
    return [text for text in user.texts if text.startswith(prefix) and name in text]


def warnings(secretary: EmulatedUser) -> list[str]:
    return [text for text in secretary.texts
            if "赵磊" in text and text.startswith(("⚠️ 久未回复提醒", "🔴 长期未回复"))]


async def walk(h: BotHarness, until: datetime) -> None:
    """Move the clock a day at a time, ticking each day, until `until`."""
    while h.clock.now() < until:
        await h.advance(days=1)


async def silent_member(h: BotHarness) -> int:
    """Create an approved mobile member who will never answer; return the member id."""
    db = h.services.db
    branch = await units.get_unit_by_key(db, BRANCH)
    now = int(h.clock.now().timestamp())
    person = await people.ensure_person(
        db, telegram_id=SILENT_ID, now=now, name="赵磊", language="zh", timezone="Asia/Shanghai"
    )
    member = await members.add_member(
        db, person_id=person.id, branch_id=branch.id, category=Category.MOBILE, place="东莞",
        invite_id=None, now=now,
    )
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)
    return member.id


async def test_silent_member_ladder_and_a_call_that_counts(tmp_path) -> None:
    async with BotHarness.started(tmp_path, start=START, config=FAST) as h:
        db = h.services.db
        secretary = h.user(SECRETARY, "zh")
        helper = await admitted(h, "renhe-citrus", HELPER_ID, "李明")
        member_id = await silent_member(h)
        helper_person = await people.get_person_by_telegram(db, HELPER_ID)
        await helpers.add_helper(db, member_id=member_id, helper_person_id=helper_person.id,
                                 kind="helper", added_by=None,
                                 now=int(h.clock.now().timestamp()))

        # --- day 30: the helper is asked first; the secretary hears nothing yet.
        await walk(h, START + timedelta(days=29))
        assert _texts(helper, "📞 您最近联系上") == []
        await walk(h, START + timedelta(days=30))
        (ask,) = _texts(helper, "📞 您最近联系上")
        assert "赵磊 已 30 天未回复支部助手" in ask
        assert _texts(secretary, "📞 请致电") == []

        # --- day 60: a call task for the secretary, with the record buttons.
        await walk(h, START + timedelta(days=59))
        assert _texts(secretary, "📞 请致电") == []
        await walk(h, START + timedelta(days=60))
        (task,) = _texts(secretary, "📞 请致电")
        assert "已满 60 天未回复支部助手，请核实" in task and "最后联系：3月2日（周一）" in task
        assert "失联" not in task
        call = next(m for m in secretary.messages if m.plain.startswith("📞 请致电"))
        assert call.button_texts == ["📞 电话联系上", "🏠 上门走访", "👥 见面", "📵 联系不上"]

        # The helper could not reach him, and neither could the secretary.
        helper_ask = next(m for m in helper.messages if m.plain.startswith("📞 您最近联系上"))
        await helper.press("📵 联系不上", helper_ask)
        await helper.wait_for_message(lambda m: "未联系上" in m.plain)
        await secretary.press("📵 联系不上", call)
        await secretary.wait_for_message(lambda m: "未联系上" in m.plain)

        # --- day 90: the warning, which carries the record buttons itself.
        await walk(h, START + timedelta(days=90))
        (warning,) = warnings(secretary)
        assert "已满 90 天未回复支部助手，请核实" in warning
        await walk(h, START + timedelta(days=100))
        warned = next(m for m in secretary.messages if m.plain.startswith("⚠️ 久未回复提醒"))
        assert "📞 电话联系上" in warned.button_texts

        # The digest's line for him leads to the same record buttons.
        await secretary.send_command("digest", BRANCH)
        summary = await secretary.wait_for_message(
            lambda m: any(b.startswith("📍 流动党员") for b in m.button_texts))
        await secretary.press(next(b for b in summary.button_texts if b.startswith("📍 流动党员")),
                              summary)
        offer = await secretary.wait_for_message(lambda m: "📞 赵磊" in m.button_texts)
        assert "线下联系过谁" in offer.plain

        # --- day 100: reached by phone, one tap from the warning; he is in 深圳 now.
        await secretary.press("📞 电话联系上", warned)
        done = await secretary.wait_for_message(lambda m: "已记录" in m.plain)
        assert "未回复天数从今天重新计算" in done.plain and "还在东莞吗" in done.plain
        await secretary.press("🔄 换了地方", done)
        await secretary.wait_for_message(lambda m: "现在在哪个城市" in m.plain)
        await secretary.send_text("深圳")
        await secretary.wait_for_message(lambda m: "已更新 赵磊 的所在地：深圳" in m.plain)
        member = await members.get_member(db, member_id)
        assert member.place == "深圳"
        await secretary.send_command("digest", BRANCH)
        summary = await secretary.wait_for_message(lambda m: "周报" in m.plain)
        assert "📞 本周线下联系上 1 人：赵磊（电话，刘海涛）" in summary.plain
        assert "失联" not in summary.plain
        reached_at = h.clock.now()

        # --- no 150-day (or 180-day) warning follows; the ladder starts again at +30.
        await walk(h, START + timedelta(days=185))
        assert len(warnings(secretary)) == 1
        assert len(_texts(helper, "📞 您最近联系上")) == 2
        assert len(_texts(secretary, "📞 请致电")) == 2
        await secretary.send_command("mobile")
        view = await secretary.wait_for_message(lambda m: "流动党员" in m.plain)
        line = next(x for x in view.plain.split("\n") if "赵磊" in x)
        assert line.startswith("🟢")  # 85 days since the call: not warned

        # --- the ledger's 联系记录 sheet lists every attempt and its source.
        await secretary.send_command("export", BRANCH)
        document = await secretary.wait_for_message(lambda m: m.kind == "document")
        book = load_workbook(io.BytesIO(document.file_bytes))
        assert "联系记录" in book.sheetnames
        rows = list(book["联系记录"].iter_rows(values_only=True))
        assert list(rows[0]) == ["日期", "党员", "方式", "记录人", "结果", "所在地"]
        body = [list(row[1:]) for row in rows[1:]]
        assert body == [
            ["赵磊", "帮学人/联系人", "李明", "未联系上", None],
            ["赵磊", "电话", "刘海涛", "未联系上", None],
            ["赵磊", "电话", "刘海涛", "联系上", "深圳"],
        ]
        assert rows[3][0].date() == reached_at.astimezone(UTC).date()
        stored = await contacts.branch_attempts(db, member.branch_id)
        assert [a.method for a in stored] == ["helper", "phone", "phone"]


async def test_only_the_branch_and_the_members_helpers_may_record(tmp_path) -> None:
    async with BotHarness.started(tmp_path, start=START, config=FAST) as h:
        db = h.services.db
        member_id = await silent_member(h)
        plain = await admitted(h, BRANCH, 2504, "王芳", "mobile", city="深圳")
        other = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
        stranger = h.user(2599, "zh")
        refusal = t("zh", "contact_log.not_allowed")
        forms = [f"ct:r:{member_id}:phone", f"ct:n:{member_id}", f"ct:m:{member_id}",
                 f"ct:hy:{member_id}", "ct:r:900000:phone", "ct:ps:900000"]
        for user in (plain, other, stranger):
            if user.last_message is None:
                await h.app.bot.send_message(user.id, "buttons")
                await user.wait_for_message(lambda m: m.plain == "buttons")
            answers = set()
            for data in forms:
                query = await user.press_data(data)
                answers.add((await user.wait_for_callback_answer(query)).text)
            assert answers == {refusal}, (user.id, answers)
        assert await contacts.branch_attempts(db, (await members.get_member(db, member_id))
                                              .branch_id) == []
        # The branch's own secretary may: from /mobile, a name opens the record buttons.
        secretary = h.user(SECRETARY, "zh")
        await secretary.send_command("mobile")
        offer = await secretary.wait_for_message(lambda m: "📞 赵磊" in m.button_texts)
        await secretary.press("📞 赵磊", offer)
        prompt = await secretary.wait_for_message(lambda m: "记录一次联系" in m.plain)
        await secretary.press("🏠 上门走访", prompt)
        done = await secretary.wait_for_message(lambda m: "已记录" in m.plain)
        assert "通过上门走访联系上 赵磊" in done.plain
        await secretary.press("📍 仍在原地", done)
        await secretary.wait_for_message(lambda m: "仍在东莞" in m.plain)
        (attempt,) = await contacts.branch_attempts(
            db, (await members.get_member(db, member_id)).branch_id)
        assert attempt.place == "东莞" and attempt.by_name == "刘海涛"

        # His helper may record too (her answer to the ladder's question), but the
        # place is for the branch's leaders: she is not shown it.
        helper = await admitted(h, "renhe-citrus", HELPER_ID, "李明")
        helper_person = await people.get_person_by_telegram(db, HELPER_ID)
        await helpers.add_helper(db, member_id=member_id, helper_person_id=helper_person.id,
                                 kind="helper", added_by=None,
                                 now=int(h.clock.now().timestamp()))
        await helper.press_data(f"ct:hy:{member_id}")
        done = await helper.wait_for_message(lambda m: "已记录" in m.plain)
        assert "还在原来的地方吗" in done.plain and "东莞" not in done.plain
        await helper.press("📍 仍在原地", done)
        kept = await helper.wait_for_message(lambda m: "仍在原地" in m.plain)
        assert "东莞" not in kept.plain
        # The secretary's attempt stays the secretary's: nobody else completes it.
        first = await contacts.get_attempt(db, 1)
        assert first is not None and first.by_person_id != helper_person.id
        answer = await helper.press_data("ct:pc:1")  # the first attempt: the secretary's visit
        assert (await helper.wait_for_callback_answer(answer)).text == refusal
