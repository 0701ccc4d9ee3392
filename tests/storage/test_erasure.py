"""storage.repositories.erasure: what goes from every table, and what stays anonymous."""

from __future__ import annotations

import aiosqlite

from bot.domain.models import Category
from bot.domain.outgoing import OutgoingMessage
from bot.domain.pledges import ParsedPledge
from storage.db import table_names
from storage.repositories import (
    audit,
    drafts,
    members,
    outbox,
    pending_inputs,
    people,
    pledges,
    whereabouts,
)
from storage.repositories.drafts import Draft
from storage.repositories.erasure import Erasure, erase_person
from storage.repositories.pending_inputs import PendingInput

NOW = 1_770_000_000
NAME = "欧阳芳菲"
CHAT = 987654321
SECRETARY_CHAT = 555000111


async def _setup(db: aiosqlite.Connection) -> tuple[int, int, int]:
    """Return (person, member, secretary person) of a mobile member in 深圳 and her secretary."""
    cursor = await db.execute(
        "INSERT INTO units (key, level, name, kind, created_at, updated_at)"
        " VALUES ('b1', 'branch', '流动党员党支部', 'mobile', 0, 0)"
    )
    branch = cursor.lastrowid or 0
    person = await people.ensure_person(db, telegram_id=CHAT, now=NOW, name=NAME,
                                        timezone="Asia/Shanghai")
    member = await members.add_member(db, person_id=person.id, branch_id=branch,
                                      category=Category.MOBILE, place="深圳", invite_id=None,
                                      now=NOW)
    await members.decide_member(db, member.id, approve=True, decided_by=None, now=NOW)
    secretary = await people.ensure_person(db, telegram_id=SECRETARY_CHAT, now=NOW, name="刘海涛")
    return person.id, member.id, secretary.id


def _message(key: str, person_id: int, chat_id: int, text: str, **extra: object) -> OutgoingMessage:
    return OutgoingMessage(dedupe_key=key, kind=key.split("|")[0], person_id=person_id,
                           chat_id=chat_id, text=text, due_at=NOW, **extra)  # type: ignore[arg-type]


async def _rows(db: aiosqlite.Connection, sql: str, *params: object) -> list[tuple]:
    return [tuple(row) for row in await db.execute_fetchall(sql, params)]


async def test_erasure_clears_every_trace_and_keeps_the_anonymous_record(db):
    person, member, secretary = await _setup(db)
    await outbox.enqueue(db, [
        _message(f"where.ask|m{member}|0|1", person, CHAT, "📍 您还在<b>深圳</b>吗？",
                 reply_markup={"inline_keyboard": [[{"text": "✅", "callback_data": "w:y"}]]}),
        _message(f"study.reminder|m{member}|1|0", person, CHAT, "📖 学习提醒"),
        _message(f"where.warn|m{member}|s1|90d.p{secretary}", secretary, SECRETARY_CHAT,
                 f"⚠️ {NAME}（深圳）已满 90 天未回复支部助手"),
        _message(f"digest|p{secretary}|u1|2026-W10", secretary, SECRETARY_CHAT,
                 f"📋 周报\n❌ 未学：{NAME}、张伟",
                 reply_markup={"inline_keyboard": [[{"text": NAME, "callback_data": "d:m"}]]}),
        _message(f"digest|p{secretary}|u1|2026-W11", secretary, SECRETARY_CHAT,
                 f"📋 周报\n❌ 未学：{NAME}、张伟"),
        _message(f"digest|p{secretary}|u1|2026-W09", secretary, SECRETARY_CHAT, "📋 周报 张伟"),
    ], now=NOW)
    for key in (f"where.ask|m{member}|0|1", f"digest|p{secretary}|u1|2026-W10",
                f"digest|p{secretary}|u1|2026-W09"):
        row = await outbox.get_row(db, key)
        await outbox.mark_sent(db, row.id, message_id=1, now=NOW)
    draft = await pledges.add_pledge(db, member_id=member, year=2026,
                                     parsed=ParsedPledge("回乡招商引资"), now=NOW)
    kept = await pledges.add_pledge(db, member_id=member, year=2026,
                                    parsed=ParsedPledge(f"{NAME}带动5户", 5.0, "户"), now=NOW)
    await db.execute("UPDATE pledges SET status = 'submitted' WHERE id = ?", (kept.id,))
    await pledges.decide_pledge(db, kept.id, approve=True, by=secretary, now=NOW)
    await pledges.set_secretary_comment(db, kept.id, f"{NAME}表现很好")
    await pledges.save_report_status(db, kept.id, 202603, "ongoing", now=NOW)
    await pledges.save_report_note(db, kept.id, 202603, "联系了深圳两家超市")
    await whereabouts.record_answer(db, member_id=member, kind="moved", place="深圳",
                                    timezone="Asia/Shanghai", now=NOW)
    await drafts.save_draft(db, Draft(CHAT, "code", NOW, "place", name=NAME), NOW)
    await pending_inputs.set_pending(db, PendingInput(CHAT, "where.place", NOW, None))
    await audit.record(db, at=NOW, actor=f"tg:{CHAT}", action="member.request",
                       subject=f"tg:{CHAT}", detail={"name": NAME})

    await erase_person(db, Erasure(person_id=person, telegram_id=CHAT, name=NAME,
                                   placeholder="（已删除）", now=NOW + 1))

    dump = []
    for table in await table_names(db):
        dump += [(table, value) for row in await _rows(db, f'SELECT * FROM "{table}"')
                 for value in row]
    leaks = [(t, v) for t, v in dump
             if v == CHAT or (isinstance(v, str) and any(s in v for s in (NAME, "深圳", "招商")))]
    assert leaks == []

    # To her or about her: no chat id, no text; what was still to be sent is cancelled.
    assert await _rows(
        db, "SELECT status, chat_id, text, reply_markup FROM outbox WHERE dedupe_key LIKE ?"
        " ORDER BY id", f"%|m{member}|%",
    ) == [("sent", 0, "", None), ("cancelled", 0, "", None), ("cancelled", 0, "", None)]
    # The secretary's digests: the sent one naming her is emptied, the pending
    # one goes out without her name, one that never named her is untouched.
    digests = await _rows(db, "SELECT status, text FROM outbox WHERE kind = 'digest' ORDER BY id")
    assert digests == [("sent", ""), ("pending", "📋 周报\n❌ 未学：（已删除）、张伟"),
                       ("sent", "📋 周报 张伟")]
    # Pledges: the draft is gone, the approved one stays without name or comment.
    assert await pledges.get_pledge(db, draft.id) is None
    approved = await pledges.get_pledge(db, kept.id)
    assert approved.text == "（已删除）带动5户" and approved.status == "approved"
    assert (await pledges.get_report(db, kept.id, 202603)).status == "ongoing"
    erased = await people.get_person(db, person)
    assert erased.name is None and erased.telegram_id is None and erased.timezone is None
    assert await _rows(db, "SELECT actor, subject, detail FROM audit") == [
        (f"person:{person}", f"person:{person}", '{"name": "（已删除）"}')
    ]
