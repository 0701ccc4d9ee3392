"""Words with consequences: no catalogue text may say what the bot has no authority to say.

The bot records; it never decides (DOMAIN.md).  Registering in 支部助手 is 登记,
not 入党; leaving or being taken off the list changes no 党籍 or 组织关系;
secretaries are elected, so the bot never 任命s; silence is a fact ("已满 N 天
未回复支部助手"), never a 失联 finding.  The banned list is checked over every
key of both catalogues, so a new text cannot bring an old phrase back.
"""

from __future__ import annotations

import re

import pytest

from bot.i18n import LANGUAGES, catalogue

# (pattern, why) checked against every text of every language.
BANNED: list[tuple[str, str]] = [
    # 输入/录入 + 党员 ("请输入党员的姓名") is typing, not joining.
    (r"(?<![输录写])入党", "registering in the bot is 登记, not joining the Party"),
    (r"党员身份[^。；;]*结束", "leaving the bot does not end Party membership"),
    (r"任命", "secretaries are elected; the bot records who they are"),
    (r"已失联|失联党员|失联线|列为失联|脱党", "失联/脱党 are findings of the organisation"),
    (r"代签|代为签到|代录", "acting for someone is 代为登记, one term"),
    (r"免学", "study is not waived while away: 外出请假"),
    (r"正式(?!党员)", "正式 contrasts 正式党员 with 预备党员; registered is 已登记"),
    (r"退出支部|移出党员|退党|除名", "leaving the bot reads as 退党 / 除名"),
    (r"提交审批|书记审批", "pledges are submitted for 支部审核"),
    (r"在外务工", "the category is 外出务工经商"),
    (r"第 ?\{n\} ?次", "a follow-up is 再次提醒, not a count off by one"),
    (r"不能参加", "study is not attended; 不能参加 does not fit"),
    # A service-star 评比 is a vote among members, not an election to an office.
    (r"当选", "a 评比 chooses service stars; 当选 reads as an election"),
    # English: the same meanings must not come back in translation.
    (r"(?<!/)\b[Aa]ppoint(s|ed|ment)?\b", "the bot records an elected secretary"),
    (r"(?i)\blost[- ]contact\b", "lost contact is the organisation's finding"),
    (r"(?i)membership[^.]*\bends\b", "leaving the bot does not end membership"),
    (r"(?i)\bleave the branch\b|\bremove a member\b", "reads as leaving the Party"),
    (r"(?i)\bnow a member\b|\bjoin the party\b", "registering is not joining"),
    (r"(?i)\bwaived?\b", "study is not waived while away"),
    (r"(?i)\(working away\)", "the category is working or in business away from home"),
    (r"(?i)\belecting\b|\bnobody elected\b", "a 评比 chooses service stars, no election"),
]

# 结对帮扶 pairs members with households (the seed's sixth combination); the
# helper for an elderly member's study is 帮学人.  Households stay allowed.
STUDY_HELPER_KEYS = ("help.", "commands.", "study.")
STUDY_HELPER_BANNED = r"结对|(?i:(?<!/)\bpair(ed|ing|s)?\b)"

# An IANA zone name ("Asia/Shanghai") means nothing to an elderly reader.
IANA = re.compile(r"\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b")
# These two teach the input /timezone accepts, for the members who want to type a zone.
IANA_ALLOWED = {"timezone.ask", "timezone.unknown_zone"}


def _texts():
    for language in LANGUAGES:
        for key, text in sorted(catalogue(language).items()):
            yield language, key, text


@pytest.mark.parametrize(("pattern", "why"), BANNED, ids=[p for p, _ in BANNED])
def test_no_catalogue_text_uses_a_banned_phrase(pattern: str, why: str) -> None:
    found = [(lang, key, text) for lang, key, text in _texts() if re.search(pattern, text)]
    assert found == [], why


def test_the_study_helper_is_never_called_a_pairing() -> None:
    found = [
        (lang, key, text) for lang, key, text in _texts()
        if key.startswith(STUDY_HELPER_KEYS) and re.search(STUDY_HELPER_BANNED, text)
    ]
    assert found == []


def test_no_member_facing_text_spells_an_iana_zone() -> None:
    found = [
        (lang, key, text) for lang, key, text in _texts()
        if key not in IANA_ALLOWED and IANA.search(text)
    ]
    assert found == []


def test_the_banned_patterns_catch_the_old_wording() -> None:
    """The lint would have failed on the texts issue 10 lists (guards the regexes themselves)."""
    old = [
        "\n您在<b>{branch}</b>的党员身份也会同时结束。\n",
        "/invite — 生成入党员邀请链接",
        "/appoint &lt;单位代码&gt; — 任命书记（生成书记邀请链接）",
        "正式", "🎉 您已正式加入<b>{branch}</b>！",
        "/leave — 退出支部", "/remove — 移出党员",
        "🚨 已失联（{count} 人）：{names}", "满 {lost_days} 天将列为失联党员，请设法联系。",
        "✍️ 代签记录（{count}）", "　代为签到：{count} 条", "（由 {by} 代录）", "外出（免学）",
        "📤 提交审批", "要加入支部，请先入党", "书记审批后在支部公开", "流动党员（在外务工）",
        "🔔 <b>学习提醒（第 {n} 次）</b>", "不能参加点“🙋 请假”",
        "（本次无人当选）", "(nobody elected this time)", "electing {stars} service stars",
        "Appoint a secretary", "🚨 Lost contact ({count}): {names}",
        "\nYour membership of <b>{branch}</b> ends as well.\n", "Leave the branch",
    ]
    for text in old:
        assert any(re.search(pattern, text) for pattern, _ in BANNED), text
    assert IANA.search("时区 Asia/Shanghai") and not IANA.search("北京时间")


# key → what each language must now say (item 1 of issue 10).
NEW_WORDING: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "forget.membership_line": (("支部助手中的登记也会同时结束", "党员身份和组织关系不受影响"),
                               ("registration in Branch Assistant", "not affected")),
    "help.secretary": (
        ("/invite — 生成登记邀请链接",),
        ("/invite — make a registration invite link",),
    ),
    "status.active": (("已登记",), ("registered",)),
    "join.welcome": (("支部助手登记",), ("register you in Branch Assistant",)),
    "join.welcome_approved": (
        ("您已在<b>{branch}</b>的支部助手登记",),
        ("registered in Branch Assistant",),
    ),
    "help.member": (
        ("/leave — 不再使用支部助手",),
        ("/leave — stop using Branch Assistant",),
    ),
    # /checkin and /helpfor moved here from help.member: 联系人 are no members.
    "helpers.help": (
        ("帮学人", "联系人", "代为登记"),
        ("帮学人", "联系人", "names you"),
    ),
    "commands.leave": (("不再使用支部助手",), ("Stop using Branch Assistant",)),
    "leave.confirm": (("不再使用支部助手", "不影响您的党员身份和组织关系"), ("not affected",)),
    "leave.done": (("不再在<b>{branch}</b>使用支部助手", "不影响组织关系"), ("not affected",)),
    "leave.told_secretary": (("不影响组织关系",), ("membership unaffected",)),
    "remove.confirm": (
        ("支部助手名单中移出", "不影响组织关系"),
        ("off the Branch Assistant list", "does not affect"),
    ),
    "remove.done": (
        ("移出<b>{branch}</b>的支部助手名单", "不影响组织关系"),
        ("membership unaffected",),
    ),
    "remove.you_were_removed": (
        ("移出<b>{branch}</b>的支部助手名单", "组织关系"),
        ("not affected",),
    ),
    "commands.remove": (("从名单移出",), ("off the list",)),
    "commands.appoint": (("登记书记",), ("Record a secretary",)),
    "help.admin": (("登记书记", "选举产生"), ("the elected secretary",)),
    "org.appointed": (("已登记", "只记录选举结果"), ("only records the election result",)),
    "whereabouts.warning": (
        ("已满 {days} 天未回复支部助手，请核实", "按规定启动查找程序"),
        ("not replied to Branch Assistant for {days} days", "search procedure"),
    ),
    "whereabouts.lost": (
        ("已满 {days} 天未回复支部助手，请核实", "仍联系不上的，按规定启动查找程序"),
        ("not replied to Branch Assistant for {days} days", "search procedure"),
    ),
    "digest.mobile_lost": (
        ("已满 {days} 天未回复支部助手", "请核实"),
        ("No reply to Branch Assistant",),
    ),
    "digest.line_lost": (("已满 {days} 天未回复支部助手，请核实",), ("please check",)),
    "study.pair_notice": (("帮学人",), ("study helper",)),
    "study.pair_pick_elderly": (("帮学人",), ("study helper",)),
    "study.commands.pair": (("帮学人",), ("Study helper",)),
    "digest.on_behalf": (("代为登记",), ("on someone's behalf",)),
    "digest.button_behalf": (("代为登记",), ("On behalf",)),
    "digest.line_behalf": (("代为登记",), ("on their behalf",)),
    "ledger.outcome_away": (("外出请假",), ("外出请假",)),
    "pledges.rating.good": (("全部兑现",), ("Fully fulfilled",)),
    "pledges.rating.fair": (("基本兑现",), ("Largely fulfilled",)),
    "pledges.rating.poor": (("未兑现",), ("Not fulfilled",)),
    "ledger.rating.good": (("全部兑现",), ("全部兑现",)),
    "pledges.btn_submit": (("提交支部审核",), ("Submit for branch review",)),
    "pledges.ask": (("提交支部审核",), ("branch's review",)),
    "study.reminder": (("有事学不了",), ("can't study it",)),
    "study.followup": (("再次提醒",), ("Reminder again",)),
    "category.mobile": (("外出务工经商",), ("working or in business away from home",)),
}


@pytest.mark.parametrize("key", sorted(NEW_WORDING))
def test_each_phrase_of_issue_10_reads_as_the_branch_would_say_it(key: str) -> None:
    zh, en = NEW_WORDING[key]
    for language, wanted in (("zh", zh), ("en", en)):
        text = catalogue(language).get(key) or catalogue("zh")[key]
        for phrase in wanted:
            assert phrase in text, (language, key, text)
