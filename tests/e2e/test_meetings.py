"""Branch life end to end: a 主题党日 from /meeting to the record, a training's hours, the digest.

The clock starts Monday 2 March 2026, 09:00 in Beijing.  The 梦公塘 citrus
branch has a regular member who comes, one who asks leave, an elderly member
who does not answer, a mobile member who joins online, and a member without
Telegram whose helper (帮学人) answers and marks attendance for her.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.domain.models import Category
from bot.emulator import EmulatedUser, SentMessage
from bot.scheduling import _PLANNERS as PLANNERS
from storage.repositories import helpers, members, offline_members, people, roles, units
from storage.repositories import meetings as meeting_repo
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness

CITRUS = "renhe-citrus"
AGRI = "xianshui-agri"
SECRETARY = BRANCH_SECRETARIES[CITRUS]
AGRI_SECRETARY = 910006
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        # Only the planner under test: the others (the digest draws charts) cost the time.
        planners = harness.app.bot_data[PLANNERS]
        for name in [name for name in planners if name != "meetings"]:
            del planners[name]
        yield harness


async def member_in_db(h: BotHarness, telegram_id: int, name: str,
                       category: Category = Category.REGULAR, branch: str = CITRUS,
                       timezone: str = "Asia/Shanghai") -> EmulatedUser:
    db = h.services.db
    unit = await units.get_unit_by_key(db, branch)
    now = int(h.clock.now().timestamp())
    person = await people.ensure_person(db, telegram_id=telegram_id, now=now, name=name,
                                        language="zh", timezone=timezone)
    member = await members.add_member(db, person_id=person.id, branch_id=unit.id,
                                      category=category, place=None, invite_id=None, now=now)
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)
    return h.user(telegram_id, "zh")


async def offline_with_helper(h: BotHarness, name: str, helper_telegram: int) -> int:
    db = h.services.db
    unit = await units.get_unit_by_key(db, CITRUS)
    now = int(h.clock.now().timestamp())
    member = await offline_members.register_offline(
        db, name=name, branch_id=unit.id, category=Category.ELDERLY, place=None, timezone=None,
        note=None, registered_by=None, language="zh", now=now)
    helper = await people.get_person_by_telegram(db, helper_telegram)
    await helpers.add_helper(db, member_id=member.id, helper_person_id=helper.id, kind="helper",
                             added_by=None, now=now)
    return member.id


def local(message: SentMessage) -> datetime:
    return datetime.fromtimestamp(message.date, UTC).astimezone(BEIJING)


def meeting_messages(user: EmulatedUser, start: str) -> list[SentMessage]:
    return [m for m in user.messages if m.plain.startswith(start)]


async def until(h: BotHarness, moment: datetime, step_minutes: int = 30) -> None:
    """Tick every `step_minutes` until the clock reaches `moment` (aware)."""
    step = step_minutes * 60
    while (now := int(h.clock.now().timestamp())) < moment.timestamp():
        await h.advance(seconds=min(step, int(moment.timestamp()) - now))


async def call_meeting(secretary: EmulatedUser, kind: str, day: str, clock: str, place: str,
                       link: str | None, topic: str, *, subject: str | None = None,
                       hours: str | None = None, target: str | None = None) -> SentMessage:
    """Play /meeting by buttons (typing only what has no button) up to the sent notice."""
    await secretary.send_command("meeting")
    if target:  # a leader above several branches is asked where first
        where = await secretary.wait_for_message(lambda m: "给哪个支部开会" in m.plain)
        await secretary.press(next(b for b in where.button_texts if b.startswith(target)), where)
    ask = await secretary.wait_for_message(lambda m: "开什么会" in m.plain)
    await secretary.press(kind, ask)
    if subject:
        await secretary.wait_for_message(lambda m: "培训的内容" in m.plain)
        await secretary.send_text(subject)
    days = await secretary.wait_for_message(lambda m: "哪一天" in m.plain)
    await secretary.press(next(b for b in days.button_texts if b.startswith(day)), days)
    times = await secretary.wait_for_message(lambda m: "几点开始" in m.plain)
    await secretary.press(clock, times)
    await secretary.wait_for_message(lambda m: "在哪里开" in m.plain)
    await secretary.send_text(place)
    ask_link = await secretary.wait_for_message(lambda m: "线上参加吗" in m.plain)
    if link:
        await secretary.send_text(link)
    else:
        await secretary.press("没有线上链接", ask_link)
    await secretary.wait_for_message(lambda m: "议题是什么" in m.plain)
    await secretary.send_text(topic)
    if hours:
        ask_hours = await secretary.wait_for_message(lambda m: "多少学时" in m.plain)
        await secretary.press(hours, ask_hours)
    confirm = await secretary.wait_for_message(lambda m: "📣 发出通知" in m.button_texts)
    assert topic in confirm.plain
    await secretary.press("📣 发出通知", confirm)
    return await secretary.wait_for_message(lambda m: "已发出" in m.plain)


async def test_theme_day_from_notice_to_record(h):
    secretary = h.user(SECRETARY)
    wei = await member_in_db(h, 7001, "张伟")
    fang = await member_in_db(h, 7002, "王芳")
    elder = await member_in_db(h, 7003, "李大爷", Category.ELDERLY)
    mobile = await member_in_db(h, 7004, "赵磊", Category.MOBILE)
    offline_id = await offline_with_helper(h, "孙奶奶", 7001)

    sent = await call_meeting(secretary, "主题党日", "3月5日", "晚上7:30", "村党群服务中心",
                              "https://meet.example.org/renhe", "学习两会精神")
    assert "5 名党员" in sent.plain
    await h.tick()

    notice = await wei.wait_for_message(lambda m: "会议通知" in m.plain)
    assert "3月5日（周四）晚上7:30" in notice.plain and "村党群服务中心" in notice.plain
    assert notice.button_texts == ["✅ 参加", "🙋 请假"]
    online = await mobile.wait_for_message(lambda m: "会议通知" in m.plain)
    assert "📍 在外地，线上参加" in online.button_texts
    # The helper also gets the notice for the member without Telegram, to answer for her.
    for_her = await wei.wait_for_message(lambda m: "孙奶奶" in m.plain)
    assert "代 孙奶奶 回复" in for_her.plain  # issue 13.5: the notice says whom it is for
    await wei.press("✅ 参加", for_her)
    await wei.wait_for_message(lambda m: "已代为登记" in m.plain)
    # The reply is hers, with the helper kept as who entered it.
    async with h.services.db.execute(
        "SELECT r.replied_by FROM meeting_invitees r WHERE r.member_id = ?", (offline_id,)
    ) as cur:
        assert [row[0] for row in await cur.fetchall()] == [
            (await people.get_person_by_telegram(h.services.db, wei.id)).id]

    await wei.press("✅ 参加", notice)
    await wei.wait_for_message(lambda m: "已回复：参加" in m.plain)
    leave = await fang.wait_for_message(lambda m: "会议通知" in m.plain)
    await fang.press("🙋 请假", leave)
    reasons = await fang.wait_for_message(lambda m: "生病" in m.button_texts)
    assert reasons.button_texts == ["生病", "外出务工", "家中有事", "其他"]
    await fang.press("生病", reasons)
    await fang.wait_for_message(lambda m: "请假（生病）" in m.plain)
    await mobile.press("📍 在外地，线上参加", online)
    await mobile.wait_for_message(lambda m: "线上参加" in m.plain and "已回复" in m.plain)

    # Tuesday: the secretary moves it to 9 a.m. the same day; announced once to everyone.
    await until(h, datetime(2026, 3, 3, 10, 0, tzinfo=BEIJING))
    await secretary.send_command("meetings")
    listing = await secretary.wait_for_message(lambda m: "最近和即将" in m.plain)
    await secretary.press(listing.button_texts[0], listing)
    card = await secretary.wait_for_message(lambda m: "🕘 改时间" in m.button_texts)
    await secretary.press("🕘 改时间", card)
    days = await secretary.wait_for_message(lambda m: "哪一天" in m.plain)
    await secretary.press(next(b for b in days.button_texts if b.startswith("3月5日")), days)
    await secretary.wait_for_message(lambda m: "几点开始" in m.plain)
    await secretary.send_text("09:00")
    await secretary.wait_for_message(lambda m: "已修改" in m.plain)
    for _ in range(3):
        await h.tick()
    for user in (wei, fang, elder, mobile):
        changes = [m for m in meeting_messages(user, "📣 会议变更") if "孙奶奶" not in m.plain]
        assert len(changes) == 1, (user.user_id, user.texts)
        assert "3月5日（周四）上午9:00" in changes[0].plain
    # ... and once to the helper, for the member without Telegram.
    assert len([m for m in meeting_messages(wei, "📣 会议变更") if "孙奶奶" in m.plain]) == 1

    # Reminders: the day before and two hours before, moved into allowed hours; none to
    # the member on leave; the elderly member only inside 9:00–18:00.
    await until(h, datetime(2026, 3, 5, 9, 0, tzinfo=BEIJING))
    wei_reminders = [local(m) for m in meeting_messages(wei, "⏰") if "孙奶奶" not in m.plain]
    assert [(m.day, m.hour) for m in wei_reminders] == [(4, 9), (5, 8)]
    assert meeting_messages(fang, "⏰") == []
    elder_reminders = [local(m) for m in meeting_messages(elder, "⏰")]
    assert [(m.day, m.hour) for m in elder_reminders] == [(4, 9)]
    assert all(9 <= m.hour < 18 for m in elder_reminders)

    # After the meeting: the secretary confirms, the helper marks 孙奶奶 first.
    await until(h, datetime(2026, 3, 5, 11, 0, tzinfo=BEIJING))
    ask = await secretary.wait_for_message(lambda m: "请确认到会情况" in m.plain)
    mark = await wei.wait_for_message(lambda m: "请帮忙登记" in m.plain)
    await wei.press("✅ 到会", mark)
    await wei.wait_for_message(lambda m: "已代为登记：到会" in m.plain)
    await secretary.press("📋 到会名单", ask)
    roster = await secretary.wait_for_message(lambda m: "到会情况" in m.plain and m.button_texts)
    assert "✅ 张伟 · 到会" in roster.plain
    assert "🙋 王芳 · 请假" in roster.plain
    assert "✅ 赵磊 · 到会" in roster.plain  # online counts as present
    assert "❌ 李大爷 · 缺席" in roster.plain
    assert "✅ 孙奶奶 · 到会（张伟 代为登记）" in roster.plain
    await secretary.press("❌ 李大爷", roster)
    toggled = await secretary.wait_for_message(lambda m: "✅ 李大爷 · 到会" in m.plain)
    await secretary.press("✔ 确认", toggled)
    done = await secretary.wait_for_message(lambda m: "✔ 已确认" in m.plain)
    assert done.button_texts == []  # confirmed: the roster can no longer be toggled
    await secretary.wait_for_message(lambda m: "一句话写下纪要" in m.plain)
    await secretary.send_text("学习两会精神，决定三月底前完成春耕互助。")
    await secretary.wait_for_message(lambda m: "纪要已保存" in m.plain)
    assert offline_id

    # The digest's branch-life block and the ledger's 组织生活 sheet show it.
    await secretary.send_command("digest")
    digest = await secretary.wait_for_message(lambda m: "组织生活" in m.plain)
    assert "主题党日：到会 4/5（请假 1，缺席 0）" in digest.plain
    await secretary.send_command("export")
    document = await secretary.wait_for_message(lambda m: m.kind == "document")
    book = load_workbook(io.BytesIO(document.file_bytes))
    rows = [[c.value for c in row] for row in book["组织生活"].iter_rows(min_row=2)]
    assert len(rows) == 1
    row = rows[0]
    assert row[1] == "主题党日" and row[2] == "学习两会精神" and row[4] == "已确认"
    assert set(row[5].split("、")) == {"张伟", "赵磊", "李大爷", "孙奶奶"}
    assert row[6] == "王芳" and row[9] == "学习两会精神，决定三月底前完成春耕互助。"


async def test_cancellation_is_announced_once_and_stops_reminders(h):
    secretary = h.user(SECRETARY)
    wei = await member_in_db(h, 7001, "张伟")
    await call_meeting(secretary, "党小组会", "3月4日", "下午2:30", "梦公塘果园", None, "春耕分工")
    await h.tick()
    await wei.wait_for_message(lambda m: "会议通知" in m.plain)
    await secretary.send_command("meetings")
    listing = await secretary.wait_for_message(lambda m: "最近和即将" in m.plain)
    await secretary.press(listing.button_texts[0], listing)
    card = await secretary.wait_for_message(lambda m: "✖ 取消会议" in m.button_texts)
    await secretary.press("✖ 取消会议", card)
    sure = await secretary.wait_for_message(lambda m: "确定取消" in m.plain)
    await secretary.press(sure.button_texts[0], sure)
    await secretary.wait_for_message(lambda m: "会议已取消" in m.plain)
    await until(h, datetime(2026, 3, 4, 18, 0, tzinfo=BEIJING), step_minutes=120)
    assert len(meeting_messages(wei, "📣 会议取消")) == 1
    assert meeting_messages(wei, "⏰") == []


async def test_the_meeting_planner_reads_only_the_units_it_needs(h, monkeypatch):
    # Planning follows what is due (issue 14): a notice's zone and branch name
    # come from its branches and the units above them, never the whole tree
    # (a province's 55,000 units took 0.5 s on every tick with a notice due).
    secretary = h.user(SECRETARY)
    wei = await member_in_db(h, 7001, "张伟")
    await call_meeting(secretary, "党小组会", "3月4日", "下午2:30", "梦公塘果园", None, "春耕分工")

    async def whole_tree(*args, **kwargs):
        raise AssertionError("a planner read every unit")

    monkeypatch.setattr(units, "list_units", whole_tree)
    await h.tick()
    notice = await wei.wait_for_message(lambda m: "会议通知" in m.plain)
    assert "3月4日（周三）下午2:30" in notice.plain and "梦公塘果园" in notice.plain


async def test_mobile_member_credited_at_home_for_a_training_where_they_work(h):
    mobile = await member_in_db(h, 7004, "赵磊", Category.MOBILE)
    await member_in_db(h, 7101, "周杰", branch=AGRI)
    agri_secretary = h.user(AGRI_SECRETARY)
    await call_meeting(agri_secretary, "培训", "3月3日", "上午9:00", "乡农技站", None,
                       "春季管护", subject="柑桔种植技术", hours="4 学时")
    await h.tick()
    # On the day, the visiting mobile member records coming with the meeting's number.
    await until(h, datetime(2026, 3, 3, 9, 0, tzinfo=BEIJING))
    await agri_secretary.send_command("meetings")
    listing = await agri_secretary.wait_for_message(lambda m: "最近和即将" in m.plain)
    await agri_secretary.press(listing.button_texts[0], listing)
    card = await agri_secretary.wait_for_message(lambda m: "/attend" in m.plain)
    number = card.plain.split("/attend ")[1].split("）")[0].strip()
    await mobile.send_command("attend", number)
    await mobile.wait_for_message(lambda m: "已登记" in m.plain)

    await until(h, datetime(2026, 3, 3, 11, 0, tzinfo=BEIJING))
    ask = await agri_secretary.wait_for_message(lambda m: "请确认到会情况" in m.plain)
    await agri_secretary.press("📋 到会名单", ask)
    roster = await agri_secretary.wait_for_message(lambda m: "到会情况" in m.plain)
    assert "赵磊 · 到会（外来流动党员，梦公塘早蜜柑脐橙种植党支部）" in roster.plain
    await agri_secretary.press("✔ 确认", roster)
    credited = await agri_secretary.wait_for_message(lambda m: "学时" in m.plain)
    assert "1 人各记 4 学时" in credited.plain

    await mobile.send_command("mymeetings")
    mine = await mobile.wait_for_message(lambda m: "我的会议" in m.plain)
    assert "2026年已记学时：4（目标 32）" in mine.plain

    home = h.user(SECRETARY)
    await home.send_command("digest")
    digest = await home.wait_for_message(lambda m: "组织生活" in m.plain)
    assert "赵磊 在咸水乡农业党支部参加了培训" in digest.plain
    await home.send_command("export")
    document = await home.wait_for_message(lambda m: m.kind == "document")
    book = load_workbook(io.BytesIO(document.file_bytes))
    hours = {row[0].value: [c.value for c in row] for row in book["学时"].iter_rows(min_row=2)}
    assert hours["赵磊"][2] == 4 and hours["赵磊"][3] == 4 and hours["赵磊"][5] == "还差 28"


async def test_missing_members_meeting_is_flagged_at_the_end_of_the_quarter(tmp_path):
    start = datetime(2026, 3, 23, 1, 0, tzinfo=UTC)
    async with BotHarness.started(tmp_path, start=start) as h:
        await member_in_db(h, 7001, "张伟")
        secretary = h.user(SECRETARY)
        await secretary.send_command("digest")
        digest = await secretary.wait_for_message(lambda m: "组织生活" in m.plain)
        assert "本季度支部党员大会 ⚠️ 未召开" in digest.plain
        assert "本季度党课 ⚠️ 未召开" in digest.plain
        assert "本月主题党日 ⚠️ 未召开" in digest.plain


async def test_the_rollup_ranks_a_branch_that_owes_its_meetings_lower(tmp_path):
    """Near the quarter's end, the branch that held its 三会一课 and 主题党日 ranks above one
    that held none, whose roll-up line says how many are owed; the branch's own digest names
    the member absent from three meetings in a row."""
    start = datetime(2026, 3, 23, 1, 0, tzinfo=UTC)
    async with BotHarness.started(tmp_path, start=start) as h:
        db = h.services.db
        held: list[int] = []
        for offset, name in enumerate(["张伟", "王芳", "李强"]):
            await member_in_db(h, 7201 + offset, name)
            held.append(await _member_id(h, 7201 + offset))
        for offset, name in enumerate(["赵磊", "周杰", "孙丽"]):
            await member_in_db(h, 7301 + offset, name, branch="renhe-pigs")
        citrus = await units.get_unit_by_key(db, CITRUS)
        when = int(datetime(2026, 3, 20, 9, 0, tzinfo=BEIJING).timestamp())
        for step, kind in enumerate(("assembly", "committee", "group", "lecture", "theme_day")):
            (meeting,) = await meeting_repo.create_meetings(
                db, calls=[(citrus.id, held)], kind=kind, subject=None, topic="学习",
                starts_at=when + step * 3600, timezone="Asia/Shanghai", place="村部",
                online_link=None, hours=2.0 if kind == "lecture" else 0.0, called_by=None,
                now=when - 86400)
            for present in held[:2]:  # 李强 never comes
                await meeting_repo.set_attendance(db, meeting.id, present, "present", by=None)
            await meeting_repo.confirm(db, meeting.id, by=None, now=when + 7200)
        secretary = h.user(SECRETARY)
        await secretary.send_command("digest")
        digest = await secretary.wait_for_message(lambda m: "组织生活" in m.plain)
        assert "连续三次缺席：李强" in digest.plain

        top = h.user(910001, "zh")  # 咸水乡党委
        await top.send_command("digest")
        rollup = await top.wait_for_message(lambda m: "汇总周报" in m.plain)
        lines = {line.split("：")[0].split(". ", 1)[1]: line
                 for line in rollup.plain.splitlines() if ". " in line and "：" in line}
        pigs, ours = lines["生猪养殖党支部"], lines["梦公塘早蜜柑脐橙种植党支部"]
        assert "组织生活未召开" in pigs and "组织生活未召开" not in ours
        assert int(pigs.split("得分 ")[1]) < int(ours.split("得分 ")[1])
        assert list(lines).index("生猪养殖党支部") < list(lines).index("梦公塘早蜜柑脐橙种植党支部")


async def _member_id(h: BotHarness, telegram_id: int) -> int:
    person = await people.get_person_by_telegram(h.services.db, telegram_id)
    return (await members.current_membership(h.services.db, person.id)).id


async def test_a_general_branch_calls_all_its_branches_and_a_committee_meeting_stays_small(h):
    """人和村党总支部's secretary calls a 党员大会 in every branch beneath at once; a 支委会 of
    the citrus branch reaches only its committee, not every member."""
    db = h.services.db
    wei = await member_in_db(h, 7001, "张伟")
    fang = await member_in_db(h, 7002, "王芳")
    pigs = await member_in_db(h, 7401, "钱多", branch="renhe-pigs")
    mobile = await member_in_db(h, 7402, "孙远", Category.MOBILE, branch="renhe-mobile")
    general = h.user(910002)
    sent = await call_meeting(general, "支部党员大会", "3月6日", "上午9:00", "村党群服务中心",
                              None, "选举支委", target="人和村党总支部下所有支部")
    assert "3 个支部" in sent.plain
    await h.tick()
    for user in (wei, fang, pigs, mobile):
        notice = await user.wait_for_message(lambda m: "会议通知" in m.plain)
        assert "支部党员大会" in notice.plain and "选举支委" in notice.plain

    citrus = await units.get_unit_by_key(db, CITRUS)
    wei_person = await people.get_person_by_telegram(db, 7001)
    await roles.appoint(db, unit_id=citrus.id, person_id=wei_person.id, role="committee",
                        appointed_by=None, now=int(h.clock.now().timestamp()))
    secretary = h.user(SECRETARY)
    sent = await call_meeting(secretary, "支委会", "3月7日", "上午9:00", "村部", None, "研究春耕")
    assert "1 名党员" in sent.plain
    await h.tick()
    await wei.wait_for_message(lambda m: "会议通知" in m.plain and "研究春耕" in m.plain)
    assert not [m for m in fang.messages if "研究春耕" in m.plain]
