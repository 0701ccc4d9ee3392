"""/forget leaves nothing readable: every table, every column, and the database files.

A mobile member registers in 深圳, gets study reminders and follow-ups, the
secretary's digests name her, she is asked "您还在深圳吗？", starts to answer
("换地方了", so a typed answer is awaited), writes an excuse note and keeps a
draft pledge.  After /forget, a dump of every table (found in sqlite_master,
all columns) holds neither her name, nor her chat id, nor her city, nor the
words she typed; neither do the database files on disk.  What stays is the
anonymous record: her study answer, the send log's keys, the membership dates.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.pledges import ParsedPledge
from storage.db import table_names
from storage.repositories import (
    campaigns,
    contacts,
    helpers,
    households,
    meetings,
    pending_inputs,
    people,
    pledges,
    posts,
    study,
)
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import BotHarness, tap
from tests.e2e.membership import admitted, stored

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday, 09:00 in Beijing
CHAT_ID = 987654321
HELPER_CHAT = 987000111
NAME = "欧阳芳菲"
CITY = "深圳"
TYPED = ("工地加班走不开", "回乡招商引资")  # her excuse note, her draft pledge


async def dump(h: BotHarness) -> dict[str, list[dict[str, object]]]:
    """Return every row of every table, every column, as stored."""
    db = h.services.db
    tables = await table_names(db)
    everything: dict[str, list[dict[str, object]]] = {}
    for table in tables:
        async with db.execute(f'SELECT * FROM "{table}"') as cursor:
            names = [column[0] for column in cursor.description]
            rows = await cursor.fetchall()
        everything[table] = [dict(zip(names, row, strict=True)) for row in rows]
    return everything


def traces(everything: dict[str, list[dict[str, object]]], *needles: str | int) -> list[str]:
    """Return "table.column = value" for every stored value that holds one of the needles."""
    found = []
    for table, rows in everything.items():
        for row in rows:
            for column, value in row.items():
                for needle in needles:
                    if isinstance(needle, int):
                        hit = value == needle or (isinstance(value, str) and str(needle) in value)
                    elif isinstance(value, bytes):
                        hit = needle.encode() in value
                    else:
                        hit = isinstance(value, str) and needle in value
                    if hit:
                        found.append(f"{table}.{column} = {value!r}")
    return found


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path, start=START) as harness:
        yield harness


async def test_forget_leaves_no_name_chat_id_city_or_typed_text_anywhere(h):
    member = await admitted(h, "renhe-mobile", CHAT_ID, NAME, "mobile", city=CITY)
    secretary = h.user(BRANCH_SECRETARIES["renhe-mobile"], "zh")
    db = h.services.db
    person, membership = await stored(h, member.id)
    now = int(h.clock.now().timestamp())

    # A study item: reminders and follow-ups go out; she never answers it.
    await study.create_items(
        db, branch_ids=[membership.branch_id], title="学习党章", body="总纲",
        due_date="2026-03-06", remind_at={membership.branch_id: "19:30"}, created_by=None, now=now,
    )
    second = (await study.create_items(
        db, branch_ids=[membership.branch_id], title="学习准则", body="全文",
        due_date="2026-03-06", remind_at={membership.branch_id: "19:30"}, created_by=None, now=now,
    ))[0]
    for _ in range(5 * 24):
        await h.advance(hours=1)
    assert any("学习党章" in text for text in member.texts)
    # Another one she excused with a typed note.
    await study.record_answer(db, second.id, membership.id, status="excused", entered_by=None,
                              now=now, reason="other")
    assert await study.set_note(db, second.id, membership.id, f"{TYPED[0]}（{CITY}）")

    # Monday's digest to the secretary names her among those who missed study.
    h.clock.set(datetime(2026, 3, 9, 0, 0, tzinfo=UTC))
    await h.tick()
    await secretary.wait_for_message(lambda m: "周报" in m.plain)

    # A month on: "您还在深圳吗？"; she starts to say she moved, then stops.
    h.clock.set(datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    await h.tick()
    await member.wait_for_message(lambda m: f"您还在{CITY}吗" in m.plain)
    await tap(member, "📍 换地方了", "常见地点")

    # A draft pledge she never submitted.
    await pledges.add_pledge(db, member_id=membership.id, year=2026,
                             parsed=ParsedPledge(f"{TYPED[1]}，联系{CITY}老乡"), now=now)

    # The secretary reached her by phone and noted where (storage.repositories.contacts).
    attempt = await contacts.record_attempt(db, member_id=membership.id, by_person_id=None,
                                            method="phone", outcome="reached", place=None, now=now)
    await contacts.set_attempt_place(db, attempt, f"{CITY}宝安区")

    # A meeting she asked leave from, typing the reason (storage.repositories.meetings).
    called = await meetings.create_meetings(
        db, calls=[(membership.branch_id, [membership.id])], kind="theme_day", subject=None,
        topic="主题党日", starts_at=now + 60 * 86400, timezone="Asia/Shanghai", place=None,
        online_link=None, hours=0, called_by=None, now=now,
    )
    await meetings.set_reply(db, called[0].id, membership.id, reply="leave", reason="other",
                             note=f"在{CITY}打工", by=person.id, now=now)

    # The features added later hold her too: a 帮学人 tie and its link, a
    # 履岗 report's note, a nomination's reason, a household visit's line, a
    # 纪要 naming her, and a helper halfway through typing an answer for her.
    helper = await people.ensure_person(db, telegram_id=HELPER_CHAT, now=now, name="帮学人老李")
    assert await helpers.add_helper(db, member_id=membership.id, helper_person_id=helper.id,
                                    kind="helper", added_by=None, now=now)
    link = await helpers.new_link(db, code="hlpcode1", member_id=membership.id, created_by=None,
                                  now=now, expires_at=now + 86400)
    assert await helpers.use_link(db, link.id, helper.id, now)
    post = await posts.create_post(db, branch_id=membership.branch_id, year=2026, name="宣传岗",
                                   duties="", targets=[], by=None, now=now)
    holder = await posts.ask_holder(db, post, membership.id, now=now)
    await posts.save_report(db, holder.id, 202603, "done", note=f"在{CITY}宣讲两次", now=now,
                            entered_by=None)
    campaign = await campaigns.open_campaign(db, unit_id=membership.branch_id, title="服务之星",
                                             stars=1, opens_at=now, closes_at=now + 86400, by=None)
    await campaigns.nominate(db, campaign, member_id=membership.id, by=helper.id,
                             reason=f"常回{CITY}帮乡亲", now=now)
    household = await households.add_household(db, branch_id=membership.branch_id,
                                               name="困难户老王家", needs=[], created_by=None,
                                               now=now)
    assert await households.assign(db, household_id=household, member_id=membership.id,
                                   assigned_by=None, now=now)
    visit = await households.record_visit(db, household_id=household, member_id=membership.id,
                                          kind="visit", entered_by=None, now=now)
    await households.set_note(db, visit, f"从{CITY}寄了药")
    await meetings.set_record(db, called[0].id, f"{NAME}同志请假", by=None)
    await pending_inputs.set_pending(db, pending_inputs.PendingInput(
        telegram_id=HELPER_CHAT, kind="pledge_report_note", started_at=now, data="x",
        subject_member_id=membership.id,
    ))

    before = await dump(h)
    for table in ("post_reports", "campaign_nominations", "household_visits"):
        assert traces({table: before[table]}, CITY), table
    assert traces({"meetings": before["meetings"]}, NAME)
    # The test means something only if all of it was really stored beforehand.
    assert traces({"meeting_invitees": before["meeting_invitees"]}, CITY)
    assert traces({"contact_attempts": before["contact_attempts"]}, CITY)
    assert traces({"outbox": before["outbox"]}, CHAT_ID)
    hers = [row for row in before["outbox"] if row["person_id"] == person.id]
    assert traces({"outbox": hers}, "您还在") and traces({"outbox": hers}, CITY)
    digests = [row for row in before["outbox"] if row["person_id"] != person.id]
    assert traces({"outbox": digests}, NAME), "no digest named her"
    assert traces({"pledges": before["pledges"]}, TYPED[1])
    assert traces({"pending_inputs": before["pending_inputs"]}, CHAT_ID)

    await member.send_command("forget")
    confirm = await member.wait_for_message(lambda m: "删除我的个人信息" in m.plain)
    await member.press("🗑 确定删除", confirm)
    await member.wait_for_message(lambda m: "您的个人信息已删除" in m.plain)

    after = await dump(h)
    assert traces(after, NAME, CHAT_ID, CITY, *TYPED) == []
    # Who helped her is personal too; a helper's half-typed answer for her is dropped,
    # so it cannot record for someone who is gone.
    for table in ("member_helpers", "helper_links"):
        assert not [row for row in after[table] if row["member_id"] == membership.id], table
    assert not [row for row in after["pending_inputs"]
                if row["subject_member_id"] == membership.id]

    # The files on disk hold no old copy either (secure_delete, WAL checkpointed).
    for path in h.database.parent.glob(f"{h.database.name}*"):
        data = path.read_bytes()
        for needle in (NAME, CITY, *TYPED):
            assert needle.encode() not in data, (path.name, needle)

    # What stays: the anonymous record.
    assert any(
        row["member_id"] == membership.id and row["status"] == "excused" and row["note"] is None
        for row in after["study_answers"]
    )
    assert [row["status"] for row in after["members"] if row["id"] == membership.id] == ["left"]
    assert len(after["outbox"]) == len(before["outbox"])  # the send log keeps every key
    assert not any(
        row["status"] in ("pending", "uncertain") and row["person_id"] == person.id
        for row in after["outbox"]
    )


async def test_the_confirmation_says_what_goes_and_what_stays(h):
    member = await admitted(h, "renhe-mobile", CHAT_ID, NAME, "mobile", city=CITY)
    await member.send_command("forget")
    confirm = (await member.wait_for_message(lambda m: "删除我的个人信息" in m.plain)).plain
    for deleted in ("姓名", "聊天 ID", "所在地", "请假说明", "未提交", "发给您的消息"):
        assert deleted in confirm.split("将匿名保留")[0], deleted
    for kept in ("学习签到", "审核通过的承诺"):
        assert kept in confirm.split("将匿名保留")[1], kept
