"""Digest wording: short summary, escaped names, details split safely, buttons within limits."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.callback_data import MAX_BYTES, unpack
from bot.config import WhereaboutsSettings
from bot.digest_render import (
    NAMES_SHOWN,
    ROLLUP_PAGE,
    SECTIONS,
    chart_caption,
    keyboard,
    page_buttons,
    page_count,
    render_detail,
    render_rollup,
    render_summary,
    rollup_buttons,
    summary_buttons,
)
from bot.domain.digest import (
    Answer,
    BranchDigest,
    BranchWeek,
    MemberFacts,
    Outcome,
    Pending,
    StudyItem,
    Upcoming,
    build_digest,
    rank_rollup,
    rollup_line,
    week_period,
)
from bot.domain.text import TELEGRAM_LIMIT, telegram_length
from bot.i18n import catalogue

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = int(datetime(2026, 3, 2, 8, tzinfo=SHANGHAI).timestamp())
JOINED = int(datetime(2026, 1, 1, tzinfo=SHANGHAI).timestamp())
PERIOD = week_period(2026, 9, SHANGHAI)


def _item(iid: int, due: str, title: str | None) -> StudyItem:
    day = date.fromisoformat(due)
    end = int(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).timestamp()) + 86400
    return StudyItem(iid, title, due, end)


def _digest(count: int = 5, *, name=lambda i: f"党员{i:03d}", **extra) -> BranchDigest:
    members = tuple(
        MemberFacts(member_id=i, person_id=1000 + i, name=name(i), category="regular",
                    joined_at=JOINED)
        for i in range(1, count + 1)
    )
    items = (_item(1, "2026-02-26", "学习<党章>&准则"), _item(2, "2026-03-01", None))
    answers = (Answer(1, 1, Outcome.STUDIED), Answer(2, 1, Outcome.STUDIED),
               Answer(1, 2, Outcome.STUDIED, on_behalf=True, entered_by_name="书记<甲>"))
    week = BranchWeek(
        branch_id=7, branch_key="renhe-citrus", branch_name="梦公塘早蜜柑脐橙种植党支部",
        timezone="Asia/Shanghai", period=PERIOD, now=NOW, members=members, items=items,
        answers=answers, **extra,
    )
    return build_digest(week, WhereaboutsSettings())


def _balanced(part: str) -> bool:
    tags = re.findall(r"</?(b|i|code)>", part)
    opened = re.findall(r"<(b|i|code)>", part)
    return len(opened) * 2 == len(tags)


def test_summary_counts_names_and_totals_in_chinese() -> None:
    text = render_summary("zh", _digest(5))
    assert "梦公塘早蜜柑脐橙种植党支部" in text and "周报 2月23日—3月1日" in text and "W09" not in text  # noqa: E501 (CJK text counts double)
    assert "党员 5 人" in text
    assert "应学 10 人次 · ✅ 已学 3 · 🙋 请假 0 · ❌ 未学 7（完成率 30%）" in text
    assert "未学习（4 人）：党员002、党员003（2项）" not in text  # 党员002 missed one item
    assert "党员003（2 项）" in text and "党员002" in text
    assert "以上 4 人需要关注；其余 1 人一切正常。" in text


def test_summary_in_english() -> None:
    text = render_summary("en", _digest(3))
    assert "digest 23 Feb – 1 Mar" in text
    assert "completion" in text and "Missed (2)" in text
    assert "2 members above need attention; the other 1 are fine." in text


def test_user_text_is_escaped() -> None:
    digest = _digest(3, name=lambda i: f"<b>坏</b>&{i}")
    text = render_summary("zh", digest)
    assert "&lt;b&gt;坏&lt;/b&gt;&amp;2" in text and "<b>坏</b>" not in text
    detail = "\n".join(render_detail("zh", digest, "miss"))
    assert "学习&lt;党章&gt;&amp;准则" in detail and "&lt;b&gt;坏" in detail
    behalf = "\n".join(render_detail("zh", digest, "behalf"))
    assert "书记&lt;甲&gt;" in behalf


def test_summary_names_at_most_a_few_and_counts_the_rest() -> None:
    text = render_summary("zh", _digest(40))
    missed_line = next(line for line in text.splitlines() if "未学习" in line)
    assert missed_line.count("党员0") == NAMES_SHOWN
    assert f"等 {39 - NAMES_SHOWN} 人" in missed_line
    assert telegram_length(text) < 1500


def test_long_details_split_between_lines_with_tags_whole() -> None:
    digest = _digest(600, name=lambda i: f"很长的名字{i:04d}" * 3)
    parts = render_detail("zh", digest, "miss")
    assert len(parts) > 1
    assert all(telegram_length(part) <= TELEGRAM_LIMIT for part in parts)
    assert all(_balanced(part) for part in parts)
    lines = "\n".join(parts).splitlines()
    assert sum(line.startswith("• ") for line in lines) == 599  # everyone but 党员001


def test_every_section_renders_and_buttons_fit_callback_limits() -> None:
    digest = _digest(
        4,
        pending=(Pending(90, "新人<x>", "mobile", NOW - 3600),),
        upcoming=(Upcoming("study", "2026-03-05", item=_item(3, "2026-03-05", "新学习")),
                  Upcoming("pledge_report", "2026-03-06", count=4)),
    )
    buttons = summary_buttons("zh", digest)
    for label, data in buttons:
        assert len(data.encode()) <= MAX_BYTES and label
    sections = [unpack(data)[2][1] for _, data in buttons if unpack(data)[1] == "d"]
    assert set(sections) <= set(SECTIONS) and "miss" in sections and "pend" in sections
    assert unpack(buttons[-1][1])[:2] == ("dg", "x")
    for section in SECTIONS:
        parts = render_detail("zh", digest, section)
        assert parts and all(_balanced(part) for part in parts)
    assert "新人&lt;x&gt;" in render_detail("zh", digest, "pend")[0]
    summary = render_summary("zh", digest)
    assert "学习：新学习（3月5日（周四）截止）" in summary and "3月6日（周五）践诺汇报（4 人）" in summary  # noqa: E501 (CJK text counts double)
    assert keyboard(buttons) is not None and keyboard([]) is None


def test_unknown_section_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown digest section"):
        render_detail("zh", _digest(2), "nope")


def test_rollup_lists_weakest_first_with_branch_buttons() -> None:
    strong = _digest(2)
    weak = _digest(6)
    lines = rank_rollup([rollup_line(strong), rollup_line(weak)])
    text = render_rollup("zh", "人和村党总支部", PERIOD, "Asia/Shanghai", lines)
    assert "人和村党总支部" in text and "下属 2 个支部，党员 8 人" in text
    assert text.index("1. ") < text.index("2. ")
    buttons = rollup_buttons(lines, PERIOD)
    assert [unpack(data)[1] for _, data in buttons] == ["b", "b"]
    assert all(len(data.encode()) <= MAX_BYTES for _, data in buttons)


def test_chart_caption_stays_under_the_caption_limit() -> None:
    legend = [(f"key-{i}", "很长的支部名称" * 5) for i in range(200)]
    caption = chart_caption("zh", "人和村党总支部", legend)
    assert telegram_length(caption) <= 1024 and "近 12 周" in caption


def test_catalogue_has_every_digest_key_in_both_languages() -> None:
    zh = {k for k in catalogue("zh") if k.startswith(("digest.", "ledger."))}
    en = {k for k in catalogue("en") if k.startswith("digest.")}
    assert {k for k in zh if k.startswith("digest.")} == en
    assert {"ledger.sheet_roster", "ledger.roster_head", "digest.help"} <= zh


def test_a_long_rollup_is_paged_with_ranks_running_on_and_buttons_per_page() -> None:
    from dataclasses import replace as _replace

    base = rollup_line(_digest(2))
    lines = [_replace(base, branch_id=100 + i, branch_name=f"第{i + 1:03d}支部")
             for i in range(2 * ROLLUP_PAGE + 3)]
    assert page_count(lines) == 3 and page_count([]) == 1 and page_count(lines[:1]) == 1
    second = render_rollup("zh", "咸水乡党委", PERIOD, "Asia/Shanghai", lines, page=1)
    # Totals are the whole unit's; the lines are this page's, ranked on from the first.
    assert f"下属 {len(lines)} 个支部" in second
    assert f"{ROLLUP_PAGE + 1}. " in second and "第016支部" in second
    assert "第015支部" not in second and "第031支部" not in second
    assert f"第 2/3 页（每页 {ROLLUP_PAGE} 个支部）" in second
    assert telegram_length(second) <= TELEGRAM_LIMIT
    assert [label for label, _ in rollup_buttons(lines, PERIOD, 1)] == [
        f"第{i:03d}支部" for i in range(ROLLUP_PAGE + 1, 2 * ROLLUP_PAGE + 1)]
    assert len(rollup_buttons(lines, PERIOD, 2)) == 3
    # ◀ only after the first page, ▶ only before the last; each names its page and week.
    assert [unpack(d)[2] for _, d in page_buttons("zh", 5, PERIOD, 0, 3)] == [
        ["5", PERIOD.code, "1"]]
    assert [label for label, _ in page_buttons("zh", 5, PERIOD, 1, 3)] == ["◀ 上一页", "下一页 ▶"]
    assert [unpack(d)[2][2] for _, d in page_buttons("zh", 5, PERIOD, 2, 3)] == ["1"]
    assert page_buttons("zh", 5, PERIOD, 0, 1) == []
    assert all(len(d.encode()) <= MAX_BYTES for _, d in page_buttons("zh", 999999, PERIOD, 1, 3))
    single = render_rollup("zh", "咸水乡党委", PERIOD, "Asia/Shanghai", lines[:2])
    assert "页" not in single.split("得分 =")[-1]
