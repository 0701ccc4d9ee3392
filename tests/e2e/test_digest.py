"""The weekly digest end to end: a seeded week, the scheduled send, roll-up, buttons, export.

The county is bot/data/county.toml.  Week 2026-W10 (Mon 2 – Sun 8 March) is
seeded straight into the other features' tables through their repositories;
the clock starts on Sunday 8 March at noon in Beijing and the scheduler is
ticked hour by hour: the digest must arrive with the Monday 08:00 tick, once.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from bot import digest_render
from bot.domain.pledges import ParsedPledge
from bot.emulator import EmulatedUser, SentMessage
from handlers import digest as digest_handlers
from storage.repositories import members, people, pledges, roles, study, units
from tests.e2e.flows import BRANCH_SECRETARIES, GENERAL_BRANCH_SECRETARY
from tests.e2e.harness import BotHarness

SUNDAY_NOON = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
MONDAY_8 = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # the configured 08:00 in Beijing
DAY = 86400
CITRUS = "梦公塘早蜜柑脐橙种植党支部"
PIGS = "生猪养殖党支部"
MOBILE = "人和村流动党员党支部"
PNG = b"\x89PNG\r\n\x1a\n"


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


async def _member(
    h: BotHarness, branch_key: str, user_id: int, name: str, category: str = "regular",
    *, approved_days_ago: int = 60, status: str = "active",
) -> tuple[int, int]:
    """Store an approved (or pending) member and return (member id, person id)."""
    db = h.services.db
    now = _ts(h.clock.now())
    branch = await units.get_unit_by_key(db, branch_key)
    person = await people.ensure_person(db, telegram_id=user_id, now=now, name=name,
                                        timezone="Asia/Shanghai", language="zh")
    member = await members.add_member(db, person_id=person.id, branch_id=branch.id,
                                      category=members.Category(category), place=None,
                                      invite_id=None, now=now - approved_days_ago * DAY)
    if status == "active":
        await members.decide_member(db, member.id, approve=True, decided_by=None,
                                    now=now - approved_days_ago * DAY)
    h.user(user_id, "zh", first_name=name)  # a chat the bot can write to
    return member.id, person.id


async def _item(h: BotHarness, branch_key: str, title: str, due: str) -> int:
    db = h.services.db
    branch = await units.get_unit_by_key(db, branch_key)
    created = await study.create_items(
        db, branch_ids=[branch.id], title=title, body="正文", due_date=due,
        remind_at={branch.id: "19:30"}, created_by=None, now=_ts(h.clock.now()) - 7 * DAY,
    )
    return created[0].id


async def _answer(h: BotHarness, item: int, member: int, status: str = "done", **kwargs) -> None:
    kwargs.setdefault("entered_by", None)
    await study.record_answer(h.services.db, item, member, status=status,
                              now=_ts(h.clock.now()) - 3 * DAY, **kwargs)


async def seed_week(h: BotHarness) -> dict[str, int]:
    """Seed citrus (weak), pigs (strong) and mobile (middling); return member ids by name."""
    db = h.services.db
    ids: dict[str, int] = {}
    citrus = ("张伟", "王芳", "李强", "赵磊", "周杰", "孙丽")  # Telegram ids 3000…3005
    for offset, name in enumerate(citrus):
        category = "mobile" if name == "王芳" else "regular"
        ids[name], ids[f"{name}.person"] = await _member(
            h, "renhe-citrus", 3000 + offset, name, category
        )
    await _member(h, "renhe-citrus", 3100, "陈静", status="pending")
    secretary = await people.get_person_by_telegram(db, BRANCH_SECRETARIES["renhe-citrus"])
    now = _ts(h.clock.now())
    # 王芳 (mobile) approved 120 days ago, last heard from 100 days ago: past the 90-day mark.
    await db.execute("UPDATE members SET decided_at = ? WHERE id = ?",
                     (now - 120 * DAY, ids["王芳"]))
    await db.execute("UPDATE people SET last_contact_at = ? WHERE id = ?",
                     (now - 100 * DAY, ids["王芳.person"]))
    await members.set_away(db, ids["赵磊"], "2026-03-10")
    await people.mark_unreachable(db, ids["周杰.person"], "Forbidden: bot was blocked by the user",
                                  now - DAY)
    h.users[3004].block()  # 周杰
    # 孙丽's approved pledge has no February report: late since 28 Feb.
    feb1 = _ts(datetime(2026, 2, 1, 2, tzinfo=UTC))
    pledge = await pledges.add_pledge(db, member_id=ids["孙丽"], year=2026,
                                      parsed=ParsedPledge("带动5户群众改造果园", 5, "户"), now=feb1)
    await pledges.submit_pledges(db, member_id=ids["孙丽"], year=2026, now=feb1)
    await pledges.decide_pledge(db, pledge.id, approve=True, by=None, now=feb1)
    # 张伟 and 赵磊 pledged and reported February: the year asks nothing more of them.
    for name in ("张伟", "赵磊"):
        await _pledged(h, ids[name], reported=(202602,))

    a = await _item(h, "renhe-citrus", "学习党章第一章", "2026-03-04")
    b = await _item(h, "renhe-citrus", "学习<准则>&条例", "2026-03-06")
    await _item(h, "renhe-citrus", "学习新党章", "2026-03-12")  # next week
    await _answer(h, a, ids["张伟"])
    await _answer(h, a, ids["李强"], entered_by=secretary.id, on_behalf=True)
    await _answer(h, a, ids["孙丽"], "excused", entered_by=ids["孙丽.person"], reason="ill")
    await _answer(h, b, ids["张伟"])
    await _answer(h, b, ids["周杰"])
    await _answer(h, b, ids["孙丽"])
    # Pigs: both studied.  Mobile branch: one of two missed.
    p1, _ = await _member(h, "renhe-pigs", 3200, "猪场甲")
    p2, _ = await _member(h, "renhe-pigs", 3201, "猪场乙")
    pig_item = await _item(h, "renhe-pigs", "防疫知识", "2026-03-05")
    await _answer(h, pig_item, p1)
    await _answer(h, pig_item, p2)
    m1, m1_person = await _member(h, "renhe-mobile", 3300, "外出甲", "mobile")
    _m2, m2_person = await _member(h, "renhe-mobile", 3301, "外出乙", "mobile")
    for person_id in (m1_person, m2_person):
        await people.touch_contact(db, (await people.get_person(db, person_id)).telegram_id,
                                   now - DAY)
    mobile_item = await _item(h, "renhe-mobile", "在外学习", "2026-03-05")
    await _answer(h, mobile_item, m1)
    return ids


async def _pledged(
    h: BotHarness, member_id: int, *, year: int = 2026, reported: tuple[int, ...] = (),
    approved_at: int | None = None,
) -> int:
    """Store an approved pledge of `year` (reported for the given months); return its id."""
    db = h.services.db
    at = approved_at or _ts(datetime(year, 2, 1, 2, tzinfo=UTC))
    pledge = await pledges.add_pledge(db, member_id=member_id, year=year,
                                      parsed=ParsedPledge("带头学习党章", None, None), now=at)
    await pledges.submit_pledges(db, member_id=member_id, year=year, now=at)
    await pledges.decide_pledge(db, pledge.id, approve=True, by=None, now=at)
    for month in reported:
        await pledges.save_report_status(db, pledge.id, month, "ongoing", now=at)
    return pledge.id


def _digests(user: EmulatedUser) -> list[SentMessage]:
    return [m for m in user.messages if "周报" in m.plain]


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path, start=SUNDAY_NOON) as harness:
        yield harness


async def test_digest_arrives_at_the_local_hour_once_with_exact_counts_and_names(h):
    await seed_week(h)
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    while h.clock.now() < MONDAY_8:
        await h.advance(hours=1)
        if h.clock.now() < MONDAY_8:
            assert _digests(secretary) == [], f"digest came early, at {h.clock.now()}"
    digest = await secretary.wait_for_message(lambda m: "周报" in m.plain)
    text = digest.plain
    assert f"{CITRUS} · 周报 3月2日—3月8日" in text
    assert "党员 6 人，其中流动党员 1 人" in text
    assert "📚 学习：2 项，应学 12 人次 · ✅ 已学 5 · 🙋 请假 3 · ❌ 未学 4（完成率 56%）" in text
    assert "未学习（3 人）：王芳（2 项）、周杰、李强" in text
    assert "代为登记：1 条" in text
    assert "践诺汇报逾期（2026-02，1 人）：孙丽" in text
    # Asked on 15 January, three never submitted pledges: named, not counted as fine.
    assert "📝 未提交今年承诺（3 人）：周杰、李强、王芳" in text
    assert "超过 90 天未联系（1 人）：王芳（100 天）" in text
    assert "消息发不到（1 人）：周杰" in text
    assert "待审批的登记申请：1 份" in text
    assert "学习：学习新党章（3月12日（周四）截止）" in text
    assert "以上 4 人需要关注；其余 2 人一切正常。" in text
    for name in ("张伟", "赵磊", "陈静"):  # fine, or only a count: never named in the summary
        assert name not in text
    # The chart is not sent with the digest (nor stored in the outbox): it comes when asked.
    assert all(m.kind == "text" for m in secretary.messages)
    photos = "SELECT count(*) FROM outbox WHERE photo IS NOT NULL"
    assert (await h.services.db.execute_fetchall(photos))[0][0] == 0
    await secretary.press("📈 参与率图表", digest)
    chart = await secretary.wait_for_message(lambda m: m.kind == "photo")
    assert chart.file_bytes is not None and chart.file_bytes.startswith(PNG)
    assert "近 12 周" in chart.plain and CITRUS in chart.plain

    # The missed list behind its button names each item; the on-behalf list names who entered.
    await secretary.press("❌ 未学名单（3）", digest)
    missed = await secretary.wait_for_message(lambda m: "未学习名单" in m.plain)
    assert "• 王芳：学习党章第一章、学习<准则>&条例" in missed.plain
    await secretary.press("📋 年度事项（3）", digest)
    year = await secretary.wait_for_message(lambda m: "年度事项还没完成" in m.plain)
    assert "• 李强：未提交承诺" in year.plain and "张伟" not in year.plain
    await secretary.press("✍️ 代为登记（1）", digest)
    behalf = await secretary.wait_for_message(lambda m: "代为登记 ·" in m.plain)
    assert "• 李强：学习党章第一章（由 陈秀兰 代为登记）" in behalf.plain

    # Sent once: further ticks through the week, and a restart, add nothing.
    count = len(_digests(secretary))
    for _ in range(3):
        await h.advance(hours=4)
    await h.restart()
    for _ in range(3):
        await h.advance(hours=4)
    assert len(_digests(secretary)) == count == 1


async def test_general_branch_rollup_ranks_weakest_first(h, monkeypatch):
    await seed_week(h)
    # Count how often each branch's digest is computed: its secretary's digest and one
    # roll-up line, however many leaders above get a roll-up (general branch, committee).
    computed: Counter[int] = Counter()
    real_branch_digest = digest_handlers.branch_digest

    async def counting(services, branch, period, now):
        computed[branch.id] += 1
        return await real_branch_digest(services, branch, period, now)

    monkeypatch.setattr(digest_handlers, "branch_digest", counting)
    leader = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    top = h.user(910001, "zh")  # the committee secretary above
    h.clock.set(MONDAY_8 + timedelta(minutes=5))
    await h.tick()
    rollup = await leader.wait_for_message(lambda m: "汇总周报" in m.plain)
    planned = dict(computed)  # the tick planned every digest and roll-up at once
    lines = [line for line in rollup.plain.splitlines() if line[:2] in ("1.", "2.", "3.")]
    # Every member of the mobile branch owes pledges and a whereabouts answer: weakest.
    assert [line.split("：")[0] for line in lines] == [f"1. {MOBILE}", f"2. {CITRUS}",
                                                      f"3. {PIGS}"]
    assert "学习 50%" in lines[0] and "学习 56%" in lines[1] and "学习 100%" in lines[2]
    assert "年度事项未完成 2" in lines[0] and "年度事项未完成 3" in lines[1]
    assert rollup.button_texts == [MOBILE, CITRUS, PIGS, "📈 参与率图表"]
    await leader.press("📈 参与率图表", rollup)
    chart = await leader.wait_for_message(lambda m: m.kind == "photo")
    assert chart.file_bytes.startswith(PNG) and "人和村党总支部" in chart.plain
    # A branch secretary pressing the roll-up's chart (a forwarded or forged button) is
    # refused like any unit outside their tree.
    chart_data = next(b for row in rollup.buttons for b in row if b[0] == "📈 参与率图表")[1]
    pigs_secretary = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
    await pigs_secretary.send_command("help")
    await pigs_secretary.wait_for_message()
    query = await pigs_secretary.press_data(chart_data)
    assert "不归您管理" in ((await pigs_secretary.wait_for_callback_answer(query)).text or "")
    assert all(m.kind != "photo" for m in pigs_secretary.messages)
    # Any branch's digest opens from its button.
    await leader.press(PIGS, rollup)
    pigs = await leader.wait_for_message(lambda m: f"{PIGS} · 周报" in m.plain)
    assert "✅ 已学 2" in pigs.plain and "3月2日—3月8日" in pigs.plain
    # The committee secretary above gets a roll-up too, including the branch directly under it.
    committee = await top.wait_for_message(lambda m: "汇总周报" in m.plain)
    assert "咸水乡农业党支部：还没有党员" in committee.plain
    citrus = await units.get_unit_by_key(h.services.db, "renhe-citrus")
    assert planned[citrus.id] == 2 and max(planned.values()) <= 2


async def test_a_long_rollup_is_paged_for_leaders_above_only(h, monkeypatch):
    monkeypatch.setattr(digest_render, "ROLLUP_PAGE", 2)  # three branches: two pages
    await seed_week(h)
    leader = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    h.clock.set(MONDAY_8 + timedelta(minutes=5))
    await h.tick()
    rollup = await leader.wait_for_message(lambda m: "汇总周报" in m.plain)
    assert "下属 3 个支部" in rollup.plain and "第 1/2 页" in rollup.plain
    assert f"1. {MOBILE}" in rollup.plain and PIGS not in rollup.plain
    assert rollup.button_texts == [MOBILE, CITRUS, "下一页 ▶", "📈 参与率图表"]
    next_data = next(d for row in rollup.buttons for label, d in row if label == "下一页 ▶")
    # A branch secretary cannot page a roll-up above them, whatever the button says.
    pigs_secretary = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
    await pigs_secretary.send_command("help")
    await pigs_secretary.wait_for_message()
    query = await pigs_secretary.press_data(next_data)
    assert "不归您管理" in ((await pigs_secretary.wait_for_callback_answer(query)).text or "")
    assert not any("汇总周报" in m.plain for m in pigs_secretary.messages)
    # The leader turns the page: the same message now shows the third branch.
    await leader.press("下一页 ▶", rollup)
    second = await leader.wait_for_message(lambda m: "第 2/2 页" in m.plain)
    assert second.message_id == rollup.message_id
    assert f"3. {PIGS}" in second.plain and f"1. {MOBILE}" not in second.plain
    assert second.button_texts == [PIGS, "◀ 上一页", "📈 参与率图表"]
    await leader.press("◀ 上一页", second)
    first = await leader.wait_for_message(lambda m: "第 1/2 页" in m.plain)
    assert f"1. {MOBILE}" in first.plain
    # A page past the end (a roll-up that shrank since) is a stale button.
    query = await leader.press_data(next_data.rsplit(":", 1)[0] + ":7", first)
    assert "过期" in ((await leader.wait_for_callback_answer(query)).text or "")


async def test_on_demand_digest_covers_the_week_so_far(h):
    await seed_week(h)
    h.clock.set(datetime(2026, 3, 5, 6, tzinfo=UTC))  # Thursday 14:00 in Beijing
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    await secretary.send_command("digest")
    digest = await secretary.wait_for_message(lambda m: "周报" in m.plain)
    # Only the item due Wednesday 4 March is over; Friday's is still next.
    assert "3月2日（周一）至今" in digest.plain
    assert "📚 学习：1 项，应学 6 人次 · ✅ 已学 2 · 🙋 请假 2 · ❌ 未学 2" in digest.plain
    assert "学习：学习<准则>&条例（3月6日（周五）截止）" in digest.plain
    await secretary.press("📈 参与率图表", digest)
    await secretary.wait_for_message(lambda m: m.kind == "photo")


async def test_secretary_cannot_see_or_export_a_branch_outside_their_tree(h):
    await seed_week(h)
    pigs_secretary = h.user(BRANCH_SECRETARIES["renhe-pigs"], "zh")
    for command in ("digest", "export"):
        await pigs_secretary.send_command(command, "renhe-citrus")
        refusal = await pigs_secretary.wait_for_message()
        assert "不归您管理" in refusal.plain and CITRUS not in refusal.plain
    general = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    await general.send_command("digest", "tingzijiang-sunset")
    assert "不归您管理" in (await general.wait_for_message()).plain
    member = h.user(3000, "zh")
    await member.send_command("digest")
    assert "只有支部书记" in (await member.wait_for_message()).plain
    assert all(m.kind == "text" for m in pigs_secretary.messages)


async def test_export_sends_a_workbook_with_the_branch_ledger(h):
    await seed_week(h)
    secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
    await secretary.send_command("export")
    document = await secretary.wait_for_message(lambda m: m.kind == "document")
    assert document.filename.endswith(".xlsx") and "台账" in document.plain
    # The caption names the day as people say it; the ISO date stays in the file name.
    assert re.search(r"台账（\d+月\d+日（周.）", document.plain), document.plain
    book = load_workbook(io.BytesIO(document.file_bytes))
    # The core's four sheets first; features add theirs after (bot.report_parts),
    # e.g. 代为登记 for the secretary's check-ins above.
    assert book.sheetnames[:4] == ["花名册", "学习记录", "承诺践诺", "流动党员"]
    assert "代为登记" in book.sheetnames
    roster = book["花名册"]
    assert roster["A1"].value == "姓名" and roster.max_row == 1 + 7  # 6 active, 1 pending
    names = {row[0].value for row in roster.iter_rows(min_row=2)}
    assert names == {"张伟", "王芳", "李强", "赵磊", "周杰", "孙丽", "陈静"}
    study_rows = [[c.value for c in row] for row in book["学习记录"].iter_rows(min_row=2)]
    assert len(study_rows) == 3 * 6  # three items × six active members
    behalf = next(row for row in study_rows if row[0] == "学习党章第一章" and row[2] == "李强")
    assert (behalf[3], behalf[6]) == ("已学习", "陈秀兰")
    outcomes = [row[3] for row in study_rows if row[0] == "学习党章第一章"]
    expected = ["已学习", "已学习", "请假", "外出请假", "未学习", "未学习"]
    assert sorted(outcomes) == sorted(expected)
    pledge_rows = list(book["承诺践诺"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[4]) for r in pledge_rows] == [
        ("孙丽", "带动5户群众改造果园", "已公开"),
        ("张伟", "带头学习党章", "已公开"),
        ("赵磊", "带头学习党章", "已公开"),
    ]
    mobile_rows = list(book["流动党员"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[4], r[5]) for r in mobile_rows] == [("王芳", 100, "久未回复")]
    # A general-branch secretary picks the branch from buttons, and gets it.
    general = h.user(GENERAL_BRANCH_SECRETARY, "zh")
    await general.send_command("export")
    picker = await general.wait_for_message(lambda m: bool(m.button_texts))
    assert picker.button_texts == [CITRUS, PIGS, MOBILE]
    await general.press(PIGS, picker)
    pigs_doc = await general.wait_for_message(lambda m: m.kind == "document")
    assert "renhe-pigs" in pigs_doc.filename


async def test_committee_members_get_the_digest_when_configured(tmp_path):
    config = {"digest": {"include_committee": True, "weekday": 1, "hour": 9}}
    async with BotHarness.started(tmp_path, start=SUNDAY_NOON, config=config) as h:
        await seed_week(h)
        db = h.services.db
        citrus = await units.get_unit_by_key(db, "renhe-citrus")
        helper = await people.ensure_person(db, telegram_id=3900, now=_ts(h.clock.now()),
                                            name="委员甲", language="en")
        await roles.appoint(db, unit_id=citrus.id, person_id=helper.id, role="committee",
                            appointed_by=None, now=_ts(h.clock.now()))
        committee = h.user(3900, "en")
        secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")
        h.clock.set(MONDAY_8 + timedelta(minutes=30))  # 08:30: before the configured 09:00
        await h.tick()
        assert _digests(secretary) == []
        await h.advance(hours=1)
        english = await committee.wait_for_message(lambda m: "digest 2 Mar – 8 Mar" in m.plain)
        assert "Missed (3)" in english.plain
        await secretary.wait_for_message(lambda m: "周报" in m.plain)


YEAR_END = datetime(2026, 12, 31, 6, tzinfo=UTC)  # Thursday 31 December, 14:00 in Beijing


async def test_year_end_digest_names_who_never_pledged_or_rated_and_the_secretary_rates_anyway(
    tmp_path,
):
    async with BotHarness.started(tmp_path, start=YEAR_END) as h:
        db = h.services.db
        ids: dict[str, int] = {}
        for offset, name in enumerate(("张伟", "王芳", "李强")):
            ids[name], _ = await _member(h, "renhe-citrus", 3000 + offset, name,
                                         approved_days_ago=300)
        # Approved on 29 November: not asked for 2026's pledges, so not missing them.
        await _member(h, "renhe-citrus", 3003, "赵磊", approved_days_ago=32)
        unrated = await _pledged(h, ids["王芳"], reported=(202612,))
        rated = await _pledged(h, ids["李强"], reported=(202612,))
        now = _ts(h.clock.now())
        await pledges.set_self_rating(db, rated, "good", now - DAY)
        await pledges.set_secretary_rating(db, rated, "good", by=None, now=now - DAY)
        secretary = h.user(BRANCH_SECRETARIES["renhe-citrus"], "zh")

        await secretary.send_command("digest")
        digest = await secretary.wait_for_message(lambda m: "周报" in m.plain)
        text = digest.plain
        assert "📝 未提交今年承诺（1 人）：张伟" in text
        assert "⭐ 评诺还没自评（1 人）：王芳" in text
        assert "以上 2 人需要关注；其余 2 人一切正常。" in text
        assert "赵磊" not in text and "李强" not in text
        assert "一切正常。" in text and "✅ 4 名党员一切正常" not in text

        # Before 11 January (28 December + 14 days) the secretary waits for 王芳's rating…
        h.clock.set(datetime(2027, 1, 5, 2, tzinfo=UTC))
        await secretary.press_data(f"pl:sec:{unrated}:good", digest)
        refusal = await secretary.wait_for_callback_answer()
        assert "1月11日起" in (refusal.text or "") and refusal.show_alert
        assert (await pledges.get_pledge(db, unrated)).secretary_rating is None

        # …and from 11 January, 10:00 the bot asks the secretary to rate it anyway.
        h.clock.set(datetime(2027, 1, 11, 1, 30, tzinfo=UTC))
        await h.tick()
        assert not any("由书记直接评价" in m.plain for m in secretary.messages)
        await h.advance(hours=1)
        ask = await secretary.wait_for_message(lambda m: "由书记直接评价" in m.plain)
        assert "王芳" in ask.plain and len(ask.button_texts) == 4
        await secretary.press(f"pl:sec:{unrated}:good", ask)
        await secretary.wait_for_message(lambda m: "可以再写一句评语" in m.plain)
        assert (await pledges.get_pledge(db, unrated)).secretary_rating == "good"
        # Asked once: later ticks do not ask again.
        await h.advance(hours=2)
        assert sum("2026 年承诺第 1 条" in m.plain for m in secretary.messages) == 1


async def test_a_long_digest_run_goes_out_over_ticks_and_every_leader_gets_one(h, monkeypatch):
    # A very large county's Monday digests take longer than a tick to compose:
    # the planner stops after its budget and goes on at the next tick, so the
    # first digests are sent at once and nobody is skipped or sent two.
    await seed_week(h)
    monkeypatch.setattr(digest_handlers, "COMPOSE_BUDGET_SECONDS", 0.0)  # one per tick
    leaders = [h.user(uid, "zh") for uid in (*BRANCH_SECRETARIES.values(),
                                             GENERAL_BRANCH_SECRETARY)]
    count = "SELECT COUNT(DISTINCT person_id) FROM outbox WHERE kind = 'digest'"
    h.clock.set(MONDAY_8)
    await h.tick()
    assert (await h.services.db.execute_fetchall(count))[0][0] == 1
    for _ in range(12):
        await h.advance(minutes=1)
    assert (await h.services.db.execute_fetchall(count))[0][0] > len(leaders)
    assert [len(_digests(leader)) for leader in leaders] == [1] * len(leaders)
