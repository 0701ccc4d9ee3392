"""Helpers who act for a member everywhere (issue 11 item 2), through the emulator.

A phone-less elderly member of 梦公塘早蜜柑脐橙种植党支部 (registered by the
secretary with /addmember) is paired with 赵敏, a member of ANOTHER branch
(生猪养殖党支部) under the same committee (咸水乡党委).  赵敏 checks her in
(✅, and 🙋 with a reason), enters her pledges from the templates, files her
monthly 践诺 report and her year-end self-rating; each record keeps 赵敏 as
who entered it, and the digest and the ledger name her; at the end she claims
the record with her own account and keeps all of it (issue 11's first acceptance
chain in one test).  A relative registers
as a mobile member's 联系人 through a one-time helper link and confirms
"still in 深圳" for him.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from bot.domain.models import Category
from storage.repositories import helpers, members, people, pledges, study, units
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness
from tests.e2e.test_offline_members import register_offline
from tests.e2e.test_study import member_id, member_in_db, publish, until

CITRUS = "renhe-citrus"
SECRETARY = BRANCH_SECRETARIES[CITRUS]  # 陈秀兰
MOBILE_SECRETARY = BRANCH_SECRETARIES["renhe-mobile"]
HELPER = 4101  # 赵敏, 生猪养殖党支部
CONTACT = 4301  # 刘芳, a relative: no membership
START = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(
        tmp_path, start=START, config={"delivery": {"per_chat_per_second": 50}}
    ) as harness:
        yield harness


async def _person_id(h: BotHarness, telegram_id: int) -> int:
    person = await people.get_person_by_telegram(h.services.db, telegram_id)
    assert person is not None
    return person.id


async def _offline_member_id(h: BotHarness, name: str) -> int:
    async with h.services.db.execute(
        "SELECT m.id FROM members m JOIN people p ON p.id = m.person_id WHERE p.name = ?", (name,)
    ) as cur:
        (row,) = await cur.fetchall()
    return row[0]


async def _menu(helper, name: str):
    """Open /helpfor and the member's menu; return the menu message."""
    await helper.send_command("helpfor")
    pick = await helper.wait_for_message(lambda m: name in m.button_texts)
    await helper.press(name, pick)
    return await helper.wait_for_message(lambda m: "📖 学习" in m.button_texts)


async def test_a_helper_from_another_branch_acts_for_a_phone_less_member(h):
    secretary = h.user(SECRETARY, "zh")
    await register_offline(secretary, "王秀英", "老龄党员", "由女儿代为联系")
    elderly = await _offline_member_id(h, "王秀英")
    helper = await member_in_db(h, HELPER, "赵敏", "Asia/Shanghai", branch_key="renhe-pigs")

    # The secretary pairs her with a member of another branch of the committee.
    await secretary.send_command("pair")
    pick = await secretary.wait_for_message(lambda m: "王秀英" in m.button_texts)
    await secretary.press("王秀英", pick)
    screen = await secretary.wait_for_message(lambda m: "🔗 联系人链接" in m.button_texts)
    assert "➕ 龙水镇党委" not in screen.button_texts  # another committee is not offered
    await secretary.press("➕ 生猪养殖党支部", screen)
    candidates = await secretary.wait_for_message(lambda m: "赵敏" in m.button_texts)
    await secretary.press("赵敏", candidates)
    await secretary.wait_for_message(lambda m: "已安排：赵敏 做 王秀英 的帮学人" in m.plain)
    await helper.wait_for_message(lambda m: "您已被安排为 王秀英 的帮学人" in m.plain)
    helper_id = await _person_id(h, HELPER)

    # Study: ✅ for one item, 🙋 with a reason for another.
    await publish(secretary, "学习党章")
    await publish(secretary, "学习新条例")
    menu = await _menu(helper, "王秀英")
    assert "代为登记：赵敏" in menu.plain
    await helper.press("📖 学习", menu)
    items = await helper.wait_for_message(lambda m: "学习党章" in m.button_texts)
    await helper.press("学习党章", items)
    ask = await helper.wait_for_message(lambda m: "✅ 已学习" in m.button_texts)
    assert "王秀英" in ask.plain
    await helper.press("✅ 已学习", ask)
    await helper.wait_for_message(lambda m: "已学习" in m.plain and not m.button_texts)
    await helper.press("学习新条例", items)
    ask = await helper.wait_for_message(
        lambda m: "学习新条例" in m.plain and "🙋 请假" in m.button_texts
    )
    await helper.press("🙋 请假", ask)
    reasons = await helper.wait_for_message(lambda m: "🤒 生病" in m.button_texts)
    await helper.press("🤒 生病", reasons)
    await helper.wait_for_message(lambda m: "生病" in m.plain and not m.button_texts)
    branch = await units.get_unit_by_key(h.services.db, CITRUS)
    answers = {
        item.title: await study.get_answer(h.services.db, item.id, elderly)
        for item in await study.open_items(h.services.db, [branch.id], min_due="2000-01-01")
    }
    assert answers["学习党章"].status == "done" and answers["学习新条例"].reason == "ill"
    for answer in answers.values():
        assert (answer.entered_by, answer.on_behalf, answer.entered_by_name) == (
            helper_id, True, "赵敏"
        )

    # Pledges from the templates, entered by the helper through the member's own flow.
    menu = await _menu(helper, "王秀英")
    await helper.press("📝 承诺", menu)
    start = await helper.wait_for_message(lambda m: "📋 常用承诺" in m.button_texts)
    await helper.press("📋 常用承诺", start)
    # The helper's buttons name the member they act for (a trailing f<member id>).
    offered = await helper.wait_for_message(lambda m: "pl:tpa:2026:0:" in str(m.buttons))
    await helper.press_data(f"pl:tpa:2026:0:f{elderly}", offered)
    review = await helper.wait_for_message(lambda m: "已加入" in m.plain or "1." in m.plain)
    await helper.press_data(f"pl:tpl:2026:f{elderly}", review)
    offered = await helper.wait_for_message(lambda m: "pl:tpa:2026:1:" in str(m.buttons))
    await helper.press_data(f"pl:tpa:2026:1:f{elderly}", offered)
    review = await helper.wait_for_message(lambda m: "📤 提交支部审核" in m.button_texts)
    await helper.press("📤 提交支部审核", review)
    await helper.wait_for_message(lambda m: "已提交" in m.plain)
    entered = await pledges.member_pledges(h.services.db, elderly, 2026)
    assert len(entered) == 2
    rows = await h.services.db.execute_fetchall(
        "SELECT entered_by FROM pledges WHERE member_id = ?", (elderly,)
    )
    assert {row[0] for row in rows} == {helper_id}
    now = int(h.clock.now().timestamp())
    for pledge in entered:
        await pledges.decide_pledge(h.services.db, pledge.id, approve=True,
                                    by=await _person_id(h, SECRETARY), now=now)

    # This week's digest names the helper for what she entered.
    await secretary.send_command("digest")
    digest = await secretary.wait_for_message(lambda m: "代为登记（帮学人、联系人）" in m.plain)
    assert "赵敏 为 王秀英 登记了学习 2 次、承诺 2 条" in digest.plain

    # The monthly 践诺 report, once the month's report day has come.
    h.clock.set(datetime(2026, 3, 26, 2, 0, tzinfo=UTC))
    menu = await _menu(helper, "王秀英")
    await helper.press("📊 本月践诺", menu)
    question = await helper.wait_for_message(lambda m: "✅ 已完成" in m.button_texts)
    await helper.press("✅ 已完成", question)
    await helper.wait_for_message(lambda m: "已完成" in m.plain and not m.button_texts)
    rows = await h.services.db.execute_fetchall(
        "SELECT r.entered_by FROM pledge_reports r JOIN pledges p ON p.id = r.pledge_id"
        " WHERE p.member_id = ?", (elderly,),
    )
    assert [row[0] for row in rows] == [helper_id]

    # The year-end self-rating.
    h.clock.set(datetime(2026, 12, 28, 2, 0, tzinfo=UTC))
    menu = await _menu(helper, "王秀英")
    await helper.press("⭐ 年终自评", menu)
    rating = await helper.wait_for_message(lambda m: "全部兑现" in m.button_texts)
    await helper.press("全部兑现", rating)
    await helper.wait_for_message(lambda m: "全部兑现" in m.plain and not m.button_texts)
    rows = await h.services.db.execute_fetchall(
        "SELECT self_rated_by FROM pledges WHERE member_id = ? AND self_rating IS NOT NULL",
        (elderly,),
    )
    assert [row[0] for row in rows] == [helper_id]

    # The ledger has a sheet of what was entered on someone's behalf, helper named.
    await secretary.send_command("export")
    sent = await secretary.wait_for_message(lambda m: m.kind == "document")
    book = load_workbook(io.BytesIO(sent.file_bytes))
    sheet = book["代为登记"]
    cells = [[str(c.value or "") for c in row] for row in sheet.iter_rows()]
    assert sum(1 for row in cells if "王秀英" in row and "赵敏" in row) >= 4
    assert any(row[2].startswith("承诺") for row in cells)
    assert any(row[2].startswith("践诺") for row in cells)
    assert any(row[2].startswith("自评") for row in cells)

    # Later she claims the record with her own account: what the helper entered stays hers.
    await secretary.send_command("offline")
    listing = await secretary.wait_for_message(lambda m: "王秀英" in m.button_texts)
    await secretary.press("王秀英", listing)
    entry = await secretary.wait_for_message(lambda m: "🔗 生成认领链接" in m.button_texts)
    await secretary.press("🔗 生成认领链接", entry)
    link = await secretary.wait_for_message(lambda m: "start=claim_" in m.plain)
    code = re.search(r"start=(claim_[A-Za-z0-9]+)", link.plain).group(1)
    member = h.user(4102, "zh")
    await member.send_command("start", code)
    consent = await member.wait_for_message(lambda m: "✅ 同意" in m.button_texts)
    await member.press("✅ 同意", consent)
    await member.wait_for_message(lambda m: "认领成功" in m.plain)
    assert (await people.get_person_by_telegram(h.services.db, 4102)).id == (
        await members.get_member(h.services.db, elderly)).person_id
    await member.send_command("me")
    me = await member.wait_for_message(lambda m: "我的信息" in m.plain)
    assert "学习记录：已学习 1 次，请假 1 次（其中 2 次由他人代为登记）" in me.plain
    assert len(await pledges.member_pledges(h.services.db, elderly, 2026)) == 2
    await secretary.send_command("export")
    sent = await secretary.wait_for_message(
        lambda m: m.kind == "document" and m.message_id != sent.message_id)
    book = load_workbook(io.BytesIO(sent.file_bytes))
    cells = [[str(c.value or "") for c in row] for row in book["代为登记"].iter_rows()]
    assert sum(1 for row in cells if "王秀英" in row and "赵敏" in row) >= 4


async def test_a_contact_registers_through_a_helper_link_and_confirms_whereabouts(h):
    db = h.services.db
    branch = await units.get_unit_by_key(db, "renhe-mobile")
    now = int(h.clock.now().timestamp())
    person = await people.ensure_person(db, telegram_id=4302, now=now, name="刘强",
                                        timezone="Asia/Shanghai")
    member = await members.add_member(db, person_id=person.id, branch_id=branch.id,
                                      category=Category.MOBILE, place="深圳", invite_id=None,
                                      now=now)
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)
    secretary = h.user(MOBILE_SECRETARY, "zh")
    await secretary.send_command("pair")
    pick = await secretary.wait_for_message(lambda m: "刘强" in m.button_texts)
    await secretary.press("刘强", pick)
    screen = await secretary.wait_for_message(lambda m: "🔗 联系人链接" in m.button_texts)
    await secretary.press("🔗 联系人链接", screen)
    link = await secretary.wait_for_message(lambda m: "start=helper_" in m.plain)
    code = re.search(r"start=(helper_[A-Za-z0-9]+)", link.plain).group(1)

    relative = h.user(CONTACT, "zh")
    await relative.send_command("start", code)
    intro = await relative.wait_for_message(lambda m: "联系人" in m.plain and m.button_texts)
    assert "不会成为党员" in intro.plain
    await relative.press("✅ 同意", intro)
    await relative.wait_for_message(lambda m: "真实姓名" in m.plain)
    await relative.send_text("刘芳")
    await relative.wait_for_message(lambda m: "您已成为 刘强 的联系人" in m.plain)
    await secretary.wait_for_message(lambda m: "刘芳 已通过联系人链接成为 刘强 的联系人" in m.plain)
    contact = await people.get_person_by_telegram(db, CONTACT)
    assert await members.current_membership(db, contact.id) is None  # not a member

    # The same link works once.
    await h.user(4303, "zh").send_command("start", code)
    assert "无效" in (await h.user(4303).wait_for_message()).plain

    menu = await _menu(relative, "刘强")
    await relative.press("📍 所在地", menu)
    ask = await relative.wait_for_message(lambda m: "✅ 是，还在" in m.button_texts)
    assert "深圳" in ask.plain
    await relative.press("✅ 是，还在", ask)
    await relative.wait_for_message(lambda m: "深圳" in m.plain and not m.button_texts)
    rows = await db.execute_fetchall(
        "SELECT kind, entered_by FROM whereabouts_log WHERE member_id = ?", (member.id,)
    )
    assert [tuple(row) for row in rows] == [("confirmed", contact.id)]


async def test_a_helpers_own_buttons_stay_their_own_after_helpfor(h):
    """Whom a press records for comes from the press, not from having opened /helpfor."""
    secretary = h.user(SECRETARY, "zh")
    await register_offline(secretary, "王秀英", "老龄党员", None)
    elderly = await _offline_member_id(h, "王秀英")
    # A helper who is also a member of the same branch: she gets her own reminders.
    helper = await member_in_db(h, 4201, "李强", "Asia/Shanghai")
    helper_id = await _person_id(h, 4201)
    own = await member_id(h, 4201)
    await helpers.add_helper(h.services.db, member_id=elderly, helper_person_id=helper_id,
                             kind=helpers.HELPER, added_by=None,
                             now=int(h.clock.now().timestamp()))
    await publish(secretary, "学习党章")
    await until(h, datetime(2026, 3, 9, 11, 30, tzinfo=UTC))  # 19:30 in Beijing
    reminder = await helper.wait_for_message(
        lambda m: m.plain.startswith("📖") and "✅ 已学习" in m.button_texts
    )
    item = next(
        i.id for i in await study.open_items(h.services.db, [(await units.get_unit_by_key(
            h.services.db, CITRUS)).id], min_due="2000-01-01") if i.title == "学习党章"
    )

    # /helpfor shows the member's study item; then ✅ on her OWN reminder: her own answer.
    menu = await _menu(helper, "王秀英")
    await helper.press("📖 学习", menu)
    items = await helper.wait_for_message(lambda m: "学习党章" in m.button_texts)
    await helper.press("学习党章", items)
    ask = await helper.wait_for_message(
        lambda m: "王秀英" in m.plain and "✅ 已学习" in m.button_texts
    )
    assert all(data.endswith(f":f{elderly}") for row in ask.buttons for _, data in row)
    assert not any(":f" in (data or "") for row in reminder.buttons for _, data in row)
    await helper.press("✅ 已学习", reminder)
    await helper.wait_for_message(lambda m: m.message_id == reminder.message_id
                                  and "已学习（" in m.plain)
    mine = await study.get_answer(h.services.db, item, own)
    assert mine is not None and mine.status == "done" and not mine.on_behalf
    assert await study.get_answer(h.services.db, item, elderly) is None

    # Then ✅ on the /helpfor study message: the member's, entered by the helper.
    await helper.press("✅ 已学习", ask)
    await helper.wait_for_message(lambda m: m.message_id == ask.message_id and not m.button_texts)
    theirs = await study.get_answer(h.services.db, item, elderly)
    assert (theirs.status, theirs.entered_by, theirs.on_behalf) == ("done", helper_id, True)

    # 🙋 📝 其他 pressed for the member, then a typed reason: on the member's answer.
    await publish(secretary, "学习新条例")
    second = next(
        i.id for i in await study.open_items(h.services.db, [(await units.get_unit_by_key(
            h.services.db, CITRUS)).id], min_due="2000-01-01") if i.title == "学习新条例"
    )
    menu = await _menu(helper, "王秀英")
    await helper.press("📖 学习", menu)
    items = await helper.wait_for_message(lambda m: "学习新条例" in m.button_texts)
    await helper.press("学习新条例", items)
    ask = await helper.wait_for_message(lambda m: "学习新条例" in m.plain and "王秀英" in m.plain
                                        and "🙋 请假" in m.button_texts)
    await helper.press("🙋 请假", ask)
    await helper.wait_for_message(lambda m: "📝 其他" in m.button_texts)
    await helper.press("📝 其他", ask)
    await helper.wait_for_message(lambda m: "补充请假说明" in m.plain)
    await helper.send_text("住院了")
    await helper.wait_for_message(lambda m: "已记录说明" in m.plain)
    excused = await study.get_answer(h.services.db, second, elderly)
    assert (excused.status, excused.reason, excused.note, excused.entered_by) == (
        "excused", "other", "住院了", helper_id
    )
    assert await study.get_answer(h.services.db, second, own) is None

    # Her own pledges, right after acting for the member: her own buttons, her own record.
    await helper.send_command("mypledges")
    start = await helper.wait_for_message(lambda m: "📋 常用承诺" in m.button_texts
                                          and "王秀英" not in m.plain)
    await helper.press("📋 常用承诺", start)
    offered = await helper.wait_for_message(lambda m: "pl:tpa:2026:0" in str(m.buttons))
    assert f":f{elderly}" not in str(offered.buttons)
    await helper.press_data("pl:tpa:2026:0", offered)
    await helper.wait_for_message(lambda m: "📤 提交支部审核" in m.button_texts)
    assert len(await pledges.member_pledges(h.services.db, own, 2026)) == 1
    assert await pledges.member_pledges(h.services.db, elderly, 2026) == []
    rows = await h.services.db.execute_fetchall(
        "SELECT entered_by FROM pledges WHERE member_id = ?", (own,)
    )
    assert [row[0] for row in rows] == [None]
