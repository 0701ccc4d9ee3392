"""Mobile members' whereabouts through the emulator: moving abroad, silence and 失联.

One member joins through the real invite flow (in Shenzhen), moves to Madrid
by sharing a location, and is then asked in Madrid's morning.  Another never
answers: the secretary is warned at 90 and 150 days and told at 180 that the
member has reached the lost-contact line, each exactly once; a message from
the member starts a new silence whose marks warn again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.models import Category
from bot.emulator import EmulatedUser, SentMessage
from storage.repositories import invites, members, people, units
from tests.e2e.harness import BotHarness, say, tap

SECRETARY = 910005  # 刘海涛, secretary of 人和村流动党员党支部 (bot/data/county.toml)
BRANCH = "renhe-mobile"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday, 09:00 in Beijing
MADRID = ZoneInfo("Europe/Madrid")
SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST = {"delivery": {"per_chat_per_second": 50}}


def local_hour(message: SentMessage, tz: ZoneInfo) -> int:
    return datetime.fromtimestamp(message.date, UTC).astimezone(tz).hour


def warnings(secretary: EmulatedUser, name: str) -> list[str]:
    """Return the lost-contact warnings about `name` (not /mobile views or digests)."""
    return [
        text
        for text in secretary.texts
        if name in text and text.startswith(("⚠️ 久未回复提醒", "🔴 长期未回复"))
    ]


async def walk(h: BotHarness, until: datetime) -> None:
    """Move the clock a day at a time, ticking each day, until `until`."""
    while h.clock.now() < until:
        await h.advance(days=1)


async def join_through_invite(h: BotHarness, member: EmulatedUser, secretary: EmulatedUser) -> None:
    """Join the mobile branch the way a member does: invite link, questions, approval."""
    db = h.services.db
    branch = await units.get_unit_by_key(db, BRANCH)
    now = int(h.clock.now().timestamp())
    await invites.create_invite(
        db,
        code="mobile-2026",
        branch_id=branch.id,
        created_by=None,
        now=now,
        expires_at=now + 7 * 86400,
        max_uses=10,
    )
    await member.send_command("start", "mobile-2026")
    await member.wait_for_message(lambda m: "请输入您的真实姓名" in m.plain)
    await say(member, "王芳", "请选择您的情况")
    await tap(member, "流动党员（外出务工经商）", "常见地点")
    await say(member, "深圳", "是否同意")
    await tap(member, "✅ 同意", "请等待")
    request = await secretary.wait_for_message(
        lambda m: "王芳" in m.plain and "登记申请" in m.plain
    )
    await secretary.press("✅ 同意", request)
    await member.wait_for_message(lambda m: "的支部助手登记！" in m.plain)


async def add_silent_member(h: BotHarness) -> None:
    """Create an approved English-speaking mobile member who will never answer."""
    db = h.services.db
    branch = await units.get_unit_by_key(db, BRANCH)
    now = int(h.clock.now().timestamp())
    person = await people.ensure_person(
        db, telegram_id=2402, now=now, name="Sam Lee", language="en", timezone="Asia/Shanghai"
    )
    member = await members.add_member(
        db,
        person_id=person.id,
        branch_id=branch.id,
        category=Category.MOBILE,
        place="东莞",
        invite_id=None,
        now=now,
    )
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)


async def test_moving_abroad_and_lost_contact_warnings(tmp_path) -> None:
    async with BotHarness.started(tmp_path, start=START, config=FAST) as h:
        wang = h.user(2401, "zh")
        sam = h.user(2402, "en")
        secretary = h.user(SECRETARY, "zh")
        await join_through_invite(h, wang, secretary)
        await add_silent_member(h)

        # --- 30 days later, 10:00 in Shenzhen: "还在深圳吗？" -------------------------
        h.clock.set(datetime(2026, 4, 1, 1, 0, tzinfo=UTC))
        await h.tick()
        assert not any("还在" in text for text in wang.texts)
        await h.advance(hours=1)
        ask = wang.last_message
        assert ask is not None and "您还在深圳吗？" in ask.plain
        assert ask.button_texts == ["✅ 是，还在", "📍 换地方了", "✈️ 回家了"]
        assert local_hour(ask, SHANGHAI) == 10
        english = sam.last_message
        assert english is not None and "Are you still in 东莞?" in english.plain
        assert english.button_texts == ["✅ Yes, still here", "📍 I've moved", "✈️ I'm back home"]

        # She moved to Madrid: an unknown city gets suggestions, a location settles it.
        await tap(wang, "📍 换地方了", "常见地点")
        assert "📍 发送我的位置" in wang.messages[-2].button_texts
        unknown = await say(wang, "火星基地", "没有找到“火星基地”")
        assert unknown.button_texts  # popular places to tap instead
        await wang.share_location(40.4168, -3.7038)
        moved = await wang.wait_for_message(lambda m: "已更新" in m.plain)
        assert "马德里附近" in moved.plain and "比北京时间晚 6 小时" in moved.plain and "Europe/" not in moved.plain  # noqa: E501 (CJK text counts double)
        person = await people.get_person_by_telegram(h.services.db, 2401)
        member = await members.current_membership(h.services.db, person.id)
        assert person.timezone == "Europe/Madrid" and member.place == "马德里附近"
        # The answered question's buttons are gone; pressing it again changes nothing.
        assert wang.message(ask.message_id).button_texts == []

        # --- The next ask comes at 10:00 in Madrid (08:00 UTC), not in Beijing's morning.
        h.clock.set(datetime(2026, 5, 1, 0, 0, tzinfo=UTC))
        for _ in range(12):
            await h.advance(hours=1)
        asks = [m for m in wang.messages if "您还在马德里附近吗？" in m.plain]
        assert len(asks) == 1
        assert local_hour(asks[0], MADRID) == 10 and local_hour(asks[0], SHANGHAI) == 16
        await tap(wang, "✅ 是，还在", "已确认：您仍在马德里附近")

        # The secretary's register.
        await secretary.send_command("mobile")
        register = await secretary.wait_for_message(lambda m: "流动党员" in m.plain)
        assert "王芳" in register.plain and "马德里附近（当地时间比北京时间晚 6 小时）" in register.plain  # noqa: E501 (CJK text counts double)
        assert register.plain.index("Sam Lee") < register.plain.index(
            "王芳"
        )  # longest silent first

        # --- Sam never answers: warnings at 90, 150 and 180 days of silence, once each.
        daily = START.replace(hour=2)  # ticks at 10:00 Beijing
        await walk(h, daily + timedelta(days=160))
        assert len(warnings(secretary, "Sam Lee")) == 2
        await secretary.send_command("mobile")
        view = await secretary.wait_for_message(lambda m: "Sam Lee" in m.plain)
        lines = view.plain.split("\n")
        at = next(i for i, line in enumerate(lines) if "Sam Lee" in line)
        assert lines[at].startswith("⚠️") and "已 160 天" in lines[at + 1]
        await walk(h, daily + timedelta(days=200))
        sent = warnings(secretary, "Sam Lee")
        assert len(sent) == 3
        assert "已满 90 天未回复支部助手，请核实" in sent[0] and "久未回复提醒" in sent[0]
        assert "已满 150 天未回复支部助手" in sent[1]
        assert "已满 180 天未回复支部助手，请核实" in sent[2] and "按规定启动查找程序" in sent[2]
        assert "最后联系：3月2日（周一）" in sent[0]
        await secretary.send_command("mobile")
        view = await secretary.wait_for_message(lambda m: "Sam Lee" in m.plain)
        assert next(line for line in view.plain.split("\n") if "Sam Lee" in line).startswith("🔴")

        # Any message is contact: the silence starts again, and so do the marks.
        await sam.send_text("hello, I changed my phone")
        await sam.wait_for_message()
        contact = h.clock.now()
        await walk(h, contact + timedelta(days=89))
        assert len(warnings(secretary, "Sam Lee")) == 3
        await h.advance(days=1)
        sent = warnings(secretary, "Sam Lee")
        assert len(sent) == 4 and "已满 90 天未回复支部助手" in sent[3]
        # Shown as a secretary reads a date (9月18日（周五）), never as 2026-09-18.
        assert contact.astimezone(SHANGHAI).date() == date(2026, 9, 18)
        assert "最后联系：9月18日（周五）" in sent[3]
        await walk(h, contact + timedelta(days=100))
        assert len(warnings(secretary, "Sam Lee")) == 4

        # An ask answered through a newer one is stale.
        sam_asks = [m for m in sam.messages if "Are you still in" in m.plain]
        assert len(sam_asks) >= 2
        await sam.press("✅ Yes, still here", sam_asks[-1])
        await sam.wait_for_message(lambda m: "Confirmed: you are still in 东莞" in m.plain)
        await sam.press("✈️ I'm back home", sam_asks[-2])
        stale = await sam.wait_for_callback_answer()
        assert "already answered" in (stale.text or "") and stale.show_alert
        person = await people.get_person_by_telegram(h.services.db, 2402)
        member = await members.current_membership(h.services.db, person.id)
        assert member.place == "东莞"


async def test_back_home_takes_the_branch_zone_and_commands_are_guarded(tmp_path) -> None:
    async with BotHarness.started(tmp_path, start=START, config=FAST) as h:
        db = h.services.db
        branch = await units.get_unit_by_key(db, BRANCH)
        now = int(h.clock.now().timestamp())
        person = await people.ensure_person(
            db,
            telegram_id=2403,
            now=now,
            name="Zhao Lei",
            language="en",
            timezone="America/New_York",
        )
        member = await members.add_member(
            db,
            person_id=person.id,
            branch_id=branch.id,
            category=Category.MOBILE,
            place="New York",
            invite_id=None,
            now=now,
        )
        await members.decide_member(db, member.id, approve=True, decided_by=None, now=now)
        zhao = h.user(2403, "en")

        # A member is not a secretary: /mobile is refused.
        await zhao.send_command("mobile")
        await zhao.wait_for_message(lambda m: "secretar" in m.plain.lower())

        # Approved 2 March 01:00 UTC, which is still 1 March in New York: asked 31 March.
        h.clock.set(datetime(2026, 3, 31, 13, 0, tzinfo=UTC))  # 09:00 in New York
        await h.tick()
        await h.advance(hours=1)
        ask = zhao.last_message
        assert ask is not None and "Are you still in New York?" in ask.plain
        assert local_hour(ask, ZoneInfo("America/New_York")) == 10
        await tap(zhao, "✈️ I'm back home", "Welcome home")
        person = await people.get_person_by_telegram(db, 2403)
        assert person.timezone == "Asia/Shanghai"  # the branch has none: the default zone
        current = await members.current_membership(db, person.id)
        assert current.place == "hometown"
