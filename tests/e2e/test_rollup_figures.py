"""The roll-up ranks branches by what features contribute (bot.report_parts' figures).

Friday 10 April 2026, noon in Beijing.  In 梦公塘…脐橙种植党支部 a post holder's
March 履岗 report (due on the 25th) is missing and a household has not been
visited since it was registered on 20 February; 生猪养殖党支部 has neither.
Nothing else differs: members approved the day before (no pledges asked
yet), no study, no meeting owed urgently.  The committee secretary's roll-up
shows both figures on the citrus line and ranks it weaker than the pigs'.
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.repositories import households, members, people, posts, units
from tests.e2e.harness import BotHarness

NOW = datetime(2026, 4, 10, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
COMMITTEE_SECRETARY = 910001  # 咸水乡党委
CITRUS = "梦公塘早蜜柑脐橙种植党支部"
PIGS = "生猪养殖党支部"
DAY = 86400


async def _members(h: BotHarness, branch_key: str, first_id: int, names: list[str]) -> list[int]:
    """Store active members approved yesterday, each with a chat; return their member ids."""
    db = h.services.db
    now = int(h.clock.now().timestamp())
    branch = await units.get_unit_by_key(db, branch_key)
    ids = []
    for offset, name in enumerate(names):
        person = await people.ensure_person(db, telegram_id=first_id + offset, now=now,
                                            name=name, timezone="Asia/Shanghai", language="zh")
        member = await members.add_member(db, person_id=person.id, branch_id=branch.id,
                                          category=members.Category("regular"), place=None,
                                          invite_id=None, now=now - DAY)
        await members.decide_member(db, member.id, approve=True, decided_by=None, now=now - DAY)
        h.user(first_id + offset, "zh", first_name=name)
        ids.append(member.id)
    return ids


async def test_committee_rollup_ranks_an_overdue_household_and_unreported_post_lower(tmp_path):
    async with BotHarness.started(tmp_path, start=NOW) as h:
        db = h.services.db
        citrus = await units.get_unit_by_key(db, "renhe-citrus")
        holder, *_ = await _members(h, "renhe-citrus", 4100, ["张伟", "王芳", "李强"])
        await _members(h, "renhe-pigs", 4200, ["赵磊", "周杰", "孙丽"])
        march_1 = int(datetime(2026, 3, 1, 2, 0, tzinfo=UTC).timestamp())
        post = await posts.create_post(db, branch_id=citrus.id, year=2026,
                                       name="柑桔种植技术服务岗", duties="技术指导",
                                       targets=[], by=None, now=march_1)
        asked = await posts.ask_holder(db, post, holder, now=march_1)
        await posts.decide_holder(db, asked.id, accept=True, now=march_1)
        await households.add_household(
            db, branch_id=citrus.id, name="王某户（三组）", needs=["tech"], created_by=None,
            now=int(datetime(2026, 2, 20, 2, 0, tzinfo=UTC).timestamp()))

        top = h.user(COMMITTEE_SECRETARY, "zh")
        await top.send_command("digest")
        rollup = await top.wait_for_message(lambda m: "汇总周报" in m.plain)
        lines = {line.split("：")[0].split(". ", 1)[1]: line
                 for line in rollup.plain.splitlines() if ". " in line and "：" in line}
        assert "履岗未报 1" in lines[CITRUS] and "超 30 天未走访 1 户" in lines[CITRUS]
        assert "履岗未报" not in lines[PIGS] and "未走访" not in lines[PIGS]
        # 2 things needing attention among 3 members: 100 × (1 − 2/3); the pigs' branch is clean.
        assert lines[CITRUS].endswith("得分 33") and lines[PIGS].endswith("得分 100")
        assert lines[CITRUS].startswith("1. ") and lines[PIGS].startswith("2. ")
        assert rollup.button_texts[:2] == [CITRUS, PIGS]
