"""Members without Telegram (issue 11): registered by the secretary, recorded for, claimed later.

A 夕阳红 member without a phone is registered by the branch secretary (郑桂英);
the roster, the study record, the digest and the ledger all have her, marked
"无 Telegram（由 郑桂英 代为登记）" rather than unreachable; the secretary checks
her in; later she (or a relative) claims the record from a new Telegram
account with the one-time link, and /me shows the history kept.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from bot.emulator import EmulatedUser, SentMessage
from storage.repositories import audit, members, people, study, units
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness

SUNSET = "tingzijiang-sunset"
SECRETARY = BRANCH_SECRETARIES[SUNSET]  # 郑桂英
MARKER = "无 Telegram（由 郑桂英 代为登记）"
MONDAY_8 = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # the weekly digest's hour in Beijing


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


async def register_offline(
    secretary: EmulatedUser, name: str, category_button: str, note: str | None
) -> tuple[SentMessage, str]:
    """Play /addmember in Chinese; return the confirmation and the claim code."""
    await secretary.send_command("addmember")
    await secretary.wait_for_message(lambda m: "真实姓名" in m.plain)
    await secretary.send_text(name)
    ask = await secretary.wait_for_message(lambda m: category_button in m.button_texts)
    await secretary.press(category_button, ask)
    note_ask = await secretary.wait_for_message(lambda m: "⏭ 跳过" in m.button_texts)
    if note is None:
        await secretary.press("⏭ 跳过", note_ask)
    else:
        await secretary.send_text(note)
    done = await secretary.wait_for_message(lambda m: "已代为登记" in m.plain)
    link = await secretary.wait_for_message(lambda m: "start=claim_" in m.plain)
    assert re.search(r"至 \d+月\d+日（周.）", link.plain), link.plain
    match = re.search(r"\?start=claim_([A-Za-z0-9]+)", link.plain)
    assert match, link.plain
    return done, match.group(1)


async def publish_sunday(secretary: EmulatedUser, title: str) -> None:
    """Publish a study item due this Sunday through /study."""
    await secretary.send_command("study")
    await secretary.wait_for_message(lambda m: "学习标题" in m.plain)
    await secretary.send_text(title)
    await secretary.wait_for_message(lambda m: "学习内容" in m.plain)
    await secretary.send_text("https://example.org/report")
    prompt = await secretary.wait_for_message(
        lambda m: any(b.startswith("本周日") for b in m.button_texts)
    )
    await secretary.press(next(b for b in prompt.button_texts if b.startswith("本周日")), prompt)
    confirm = await secretary.wait_for_message(lambda m: "✅ 发布" in m.button_texts)
    await secretary.press("✅ 发布", confirm)
    await secretary.wait_for_message(lambda m: "已发布" in m.plain)


async def test_phone_less_member_is_registered_recorded_for_reported_and_claimed(h):
    secretary = h.user(SECRETARY, "zh")
    db = h.services.db

    # 1. The secretary registers her: no invite, no chat.
    done, code = await register_offline(secretary, "王秀英", "老龄党员", "由女儿代为联系")
    assert "王秀英" in done.plain and "由女儿代为联系" in done.plain and MARKER in done.plain
    person = next(
        p for p in [await people.get_person(db, row.member.person_id)
                    for row in await members.list_members_in(db, [await _branch_id(h)],
                                                             ("active",))]
        if p and p.name == "王秀英"
    )
    assert person.telegram_id is None
    assert any(e.action == "member.register_offline" and e.actor == f"tg:{SECRETARY}"
               for e in await audit.recent(db))

    # 2. The roster has her, marked by who registered her, not as unreachable.
    await secretary.send_command("members")
    roster = await secretary.wait_for_message(lambda m: "党员名单" in m.plain)
    line = next(line for line in roster.plain.splitlines() if "王秀英" in line)
    assert MARKER in line and "⚠️" not in line

    # 3. A study item: nothing is ever sent to her; the secretary checks her in.
    await publish_sunday(secretary, "学习党章")
    await secretary.send_command("checkin")
    pick = await secretary.wait_for_message(lambda m: "代为登记" in m.plain and m.button_texts)
    await secretary.press(pick.button_texts[0], pick)
    names = await secretary.wait_for_message(lambda m: "王秀英" in m.button_texts)
    await secretary.press("王秀英", names)
    await secretary.wait_for_message(lambda m: "王秀英" in m.plain and "郑桂英" in m.plain)
    (item,) = await study.open_items(db, [await _branch_id(h)], min_due="2000-01-01")
    member_id = await _member_id(h, person.id)
    answer = await study.get_answer(db, item.id, member_id)
    assert (answer.status, answer.entered_by_name, answer.on_behalf) == ("done", "郑桂英", True)

    # 4. The weekly digest counts her, says who entered it and lists her as 无 Telegram.
    h.clock.set(MONDAY_8)
    report = await h.tick()
    digest = await secretary.wait_for_message(lambda m: "王秀英（由 郑桂英 代为登记）" in m.plain)
    assert "已学 1" in digest.plain and "需代为登记（1 人）" in digest.plain
    assert "发不到" not in digest.plain  # she is not "unreachable"
    assert "代为登记：1 条" in digest.plain
    behalf_button = next(b for b in digest.button_texts if b.startswith("✍️"))
    await secretary.press(behalf_button, digest)
    detail = await secretary.wait_for_message(lambda m: "学习党章（由 郑桂英 代为登记）" in m.plain)
    assert "王秀英" in detail.plain
    async with db.execute("SELECT COUNT(*) FROM outbox WHERE person_id = ?", (person.id,)) as c:
        assert (await c.fetchone())[0] == 0  # no planner queued anything for her
    assert report is not None

    # 5. The ledger's roster has her, with who registered her.
    await secretary.send_command("export")
    document = await secretary.wait_for_message(lambda m: m.kind == "document")
    book = load_workbook(io.BytesIO(document.file_bytes))
    rows = [[c.value for c in row] for row in book["花名册"].iter_rows(min_row=2)]
    row = next(r for r in rows if r[0] == "王秀英")
    assert MARKER in row
    study_rows = [[c.value for c in r] for r in book["学习记录"].iter_rows(min_row=2)]
    assert any(r[2] == "王秀英" and r[3] == "已学习" and r[6] == "郑桂英" for r in study_rows)

    # 6. Later she claims the record from a new Telegram account: consent first.
    member = h.user(4801, "zh")
    await member.send_command("start", f"claim_{code}")
    consent = await member.wait_for_message(lambda m: "✅ 同意" in m.button_texts)
    assert "王秀英" in consent.plain and "老龄党员" in consent.plain
    await member.press("✅ 同意", consent)
    await member.wait_for_message(lambda m: "认领成功" in m.plain)
    await secretary.wait_for_message(lambda m: "王秀英 已用认领链接" in m.plain)
    claimed = await people.get_person(db, person.id)
    assert claimed.telegram_id == 4801  # the same record: her history stays hers
    await member.send_command("me")
    me = await member.wait_for_message(lambda m: "我的信息" in m.plain)
    assert "王秀英" in me.plain and "夕阳红党支部" in me.plain
    assert "由 郑桂英 代为登记" in me.plain
    assert not re.search(r"\d{4}-\d{2}-\d{2}", me.plain), me.plain  # 3月9日（周一）, humane
    assert re.search(r"认领日期：\d+月\d+日（周.）", me.plain), me.plain
    assert "已学习 1 次" in me.plain and "其中 1 次由他人代为登记" in me.plain

    # 7. The link is used up: reusing it (from anyone) is refused and changes nothing.
    other = h.user(4802, "zh")
    await other.send_command("start", f"claim_{code}")
    assert "已经用过" in (await other.wait_for_message()).plain
    assert await people.get_person_by_telegram(db, 4802) is None  # no half profile
    await member.send_command("start", f"claim_{code}")
    assert "已经用过" in (await member.wait_for_message()).plain


async def test_bogus_and_replaced_claim_links_get_a_clear_answer_and_store_nothing(h):
    secretary = h.user(SECRETARY, "zh")
    _, first = await register_offline(secretary, "刘德福", "老龄党员", None)
    # A new link from the member's entry replaces the first one.
    await secretary.send_command("offline")
    listing = await secretary.wait_for_message(lambda m: "刘德福" in m.button_texts)
    await secretary.press("刘德福", listing)
    entry = await secretary.wait_for_message(lambda m: "🔗 生成认领链接" in m.button_texts)
    assert MARKER in entry.plain
    await secretary.press("🔗 生成认领链接", entry)
    link = await secretary.wait_for_message(
        lambda m: "start=claim_" in m.plain and f"claim_{first}" not in m.plain
    )
    second = re.search(r"claim_([A-Za-z0-9]+)", link.plain).group(1)

    stranger = h.user(4811, "zh")
    await stranger.send_command("start", "claim_nonsense")
    assert "认领链接无效" in (await stranger.wait_for_message()).plain
    await stranger.send_command("start", f"claim_{first}")
    assert "已作废" in (await stranger.wait_for_message()).plain
    assert await people.get_person_by_telegram(h.services.db, 4811) is None

    # Declining the consent stores nothing; the link still works afterwards.
    await stranger.send_command("start", f"claim_{second}")
    consent = await stranger.wait_for_message(lambda m: "❌ 不同意" in m.button_texts)
    await stranger.press("❌ 不同意", consent)
    await stranger.wait_for_message(lambda m: "没有做任何改动" in m.plain)
    assert await people.get_person_by_telegram(h.services.db, 4811) is None
    await stranger.send_command("start", f"claim_{second}")
    consent = await stranger.wait_for_message(lambda m: "✅ 同意" in m.button_texts)
    await stranger.press("✅ 同意", consent)
    await stranger.wait_for_message(lambda m: "认领成功" in m.plain)


async def test_an_existing_member_cannot_claim_someone_elses_record(h):
    secretary = h.user(SECRETARY, "zh")
    _, code = await register_offline(secretary, "陈阿婆", "普通党员", None)
    # The secretary is already someone in the bot: the claim is refused.
    await secretary.send_command("start", f"claim_{code}")
    assert "已经在支部助手登记过" in (await secretary.wait_for_message()).plain


async def _branch_id(h: BotHarness) -> int:
    return (await units.get_unit_by_key(h.services.db, SUNSET)).id


async def _member_id(h: BotHarness, person_id: int) -> int:
    membership = await members.current_membership(h.services.db, person_id)
    assert membership is not None
    return membership.id


async def test_secretary_records_leave_with_a_reason_for_a_phone_less_member(h):
    """/checkin records only ✅; it points to /helpfor, where 🙋 and a reason are one tap each."""
    secretary = h.user(SECRETARY, "zh")
    await register_offline(secretary, "王秀英", "老龄党员", None)
    await publish_sunday(secretary, "学习党章")
    await secretary.send_command("checkin")
    pick = await secretary.wait_for_message(lambda m: "代为登记" in m.plain and m.button_texts)
    await secretary.press(pick.button_texts[0], pick)
    names = await secretary.wait_for_message(lambda m: "王秀英" in m.button_texts)
    assert "/helpfor" in names.plain  # where 🙋 with a reason is recorded

    await secretary.send_command("helpfor")
    listing = await secretary.wait_for_message(lambda m: "王秀英" in m.button_texts)
    await secretary.press("王秀英", listing)
    menu = await secretary.wait_for_message(lambda m: "📖 学习" in m.button_texts)
    await secretary.press("📖 学习", menu)
    items = await secretary.wait_for_message(lambda m: "学习党章" in m.button_texts)
    await secretary.press("学习党章", items)
    ask = await secretary.wait_for_message(lambda m: "王秀英" in m.plain
                                           and "🙋 请假" in m.button_texts)
    await secretary.press("🙋 请假", ask)
    reasons = await secretary.wait_for_message(lambda m: "🤒 生病" in m.button_texts)
    await secretary.press("🤒 生病", reasons)
    await secretary.wait_for_message(lambda m: "生病" in m.plain and not m.button_texts)
    db = h.services.db
    (item,) = await study.open_items(db, [await _branch_id(h)], min_due="2000-01-01")
    person = await people.get_person_by_telegram(db, SECRETARY)
    async with db.execute("SELECT m.id FROM members m JOIN people p ON p.id = m.person_id"
                          " WHERE p.name = '王秀英'") as cur:
        (member_id,) = await cur.fetchone()
    answer = await study.get_answer(db, item.id, member_id)
    assert (answer.status, answer.reason, answer.entered_by, answer.on_behalf) == (
        "excused", "ill", person.id, True)
    # The digest's detail says who entered the leave, like any 代为登记.
    await secretary.send_command("digest")
    digest = await secretary.wait_for_message(lambda m: "代为登记" in m.plain and "周报" in m.plain)
    assert "王秀英" in digest.plain


async def test_a_claimed_member_is_reminded_of_the_items_still_open(h):
    """Items published while she had no chat were closed for her; the claim opens them again."""
    secretary = h.user(SECRETARY, "zh")
    _, code = await register_offline(secretary, "王秀英", "老龄党员", None)
    await publish_sunday(secretary, "学习党章")
    for _ in range(2):
        await h.advance(hours=1)  # the planner has seen her: no chat, nothing to send
    db = h.services.db
    async with db.execute("SELECT COUNT(*) FROM study_targets WHERE state != 'closed'") as cur:
        assert (await cur.fetchone())[0] == 0

    member = h.user(4821, "zh")
    await member.send_command("start", f"claim_{code}")
    consent = await member.wait_for_message(lambda m: "✅ 同意" in m.button_texts)
    await member.press("✅ 同意", consent)
    await member.wait_for_message(lambda m: "认领成功" in m.plain)
    # An elderly record: the big buttons come with the claim, as on approval.
    await member.wait_for_message(lambda m: "📖 今日学习" in m.button_texts)
    for _ in range(24):
        if any("学习党章" in m.plain and "✅ 已学习" in m.button_texts for m in member.messages):
            break
        await h.advance(hours=1)
    reminder = await member.wait_for_message(
        lambda m: "学习党章" in m.plain and "✅ 已学习" in m.button_texts)
    await member.press("✅ 已学习", reminder)
    await member.wait_for_message(lambda m: m.message_id == reminder.message_id
                                  and "已学习（" in m.plain)
    (item,) = await study.open_items(db, [await _branch_id(h)], min_due="2000-01-01")
    person = await people.get_person_by_telegram(db, 4821)
    answer = await study.get_answer(db, item.id, await _member_id(h, person.id))
    assert answer.status == "done" and not answer.on_behalf  # her own answer now


async def test_a_phone_less_mobile_member_is_in_mobile_and_never_warned_as_silent(h):
    """A mobile member without Telegram has a place and a line in /mobile, marked, and the
    bot never counts days "without reply" from someone it cannot write to."""
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"], "zh")
    await secretary.send_command("addmember")
    await secretary.wait_for_message(lambda m: "真实姓名" in m.plain)
    await secretary.send_text("周建国")
    ask = await secretary.wait_for_message(lambda m: "流动党员（外出务工经商）" in m.button_texts)
    await secretary.press("流动党员（外出务工经商）", ask)
    await secretary.wait_for_message(lambda m: "这位流动党员现在在哪个城市" in m.plain)
    await secretary.send_text("深圳")
    note_ask = await secretary.wait_for_message(lambda m: "⏭ 跳过" in m.button_texts)
    await secretary.press("⏭ 跳过", note_ask)
    done = await secretary.wait_for_message(lambda m: "已代为登记" in m.plain)
    assert "深圳" in done.plain

    for _ in range(4):
        await h.advance(days=30)
    await secretary.send_command("mobile")
    view = await secretary.wait_for_message(lambda m: "周建国" in m.plain)
    line = next(x for x in view.plain.split("\n") if "周建国" in x)
    assert "（无 Telegram）" in line and "深圳" in view.plain
    assert not [m for m in secretary.messages if "周建国" in m.plain
                and m.plain.startswith(("⚠️ 久未回复提醒", "🔴 长期未回复"))]
