"""Features' roll-up figures: shown on the branch's line, and the weighing ones lower its score."""

from __future__ import annotations

import pytest

from bot import report_parts
from bot.digest_render import render_rollup
from bot.domain.digest import RollupFigure, build_digest, rank_rollup, rollup_line
from tests.unit.test_digest_render import PERIOD
from tests.unit.test_digest_rules import RULES, member, week


def _clean(count: int = 4):
    return build_digest(week(members=tuple(member(i, f"m{i}") for i in range(1, count + 1))),
                        RULES)


def test_a_weighing_figure_counts_as_members_needing_attention() -> None:
    digest = _clean(4)
    assert rollup_line(digest).health == 100.0
    # An unreported post and an overdue household: 2 of 4 → attention term 0.5.
    figures = [RollupFigure("履岗未报 1", 1), RollupFigure("超 30 天未走访 1 户", 1)]
    line = rollup_line(digest, figures)
    assert line.health == 50.0
    assert [f.text for f in line.figures] == ["履岗未报 1", "超 30 天未走访 1 户"]


def test_figures_cap_at_the_whole_branch_and_information_never_lowers() -> None:
    digest = _clean(2)
    assert rollup_line(digest, [RollupFigure("联系未果 9 人", 9)]).health == 0.0
    informational = [RollupFigure("本周变动 3", 3, weighs=False),
                     RollupFigure("代为登记 5", 5, weighs=False)]
    line = rollup_line(digest, informational)
    assert line.health == 100.0 and len(line.figures) == 2


def test_a_zero_figure_is_neither_shown_nor_counted() -> None:
    line = rollup_line(_clean(), [RollupFigure("履岗未报 0", 0)])
    assert line.figures == () and line.health == 100.0


def test_ranking_puts_the_branch_with_weighing_figures_below_a_clean_one() -> None:
    clean = rollup_line(_clean())
    flagged = rollup_line(_clean(), [RollupFigure("组织生活未召开 1", 1)])
    informed = rollup_line(_clean(), [RollupFigure("本周变动 2", 2, weighs=False)])
    ranked = rank_rollup([clean, flagged, informed], order=[clean.branch_id])
    assert ranked[0] is flagged  # weakest first


def test_render_shows_the_figures_before_the_score() -> None:
    line = rollup_line(_clean(), [RollupFigure("履岗未报 1", 1)])
    text = render_rollup("zh", "咸水乡党委", PERIOD, "Asia/Shanghai", [line])
    shown = next(row for row in text.splitlines() if row.startswith("1. "))
    assert "履岗未报 1 · 得分 75" in shown


@pytest.mark.asyncio
async def test_registry_collects_figures_skips_empty_and_survives_a_broken_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(report_parts, "_FIGURES", {})

    async def posts(services, branch_id, start, end, language):
        return RollupFigure(f"履岗未报 {branch_id}", branch_id)

    async def nothing(services, branch_id, start, end, language):
        return None

    async def broken(services, branch_id, start, end, language):
        raise RuntimeError("boom")

    async def zero(services, branch_id, start, end, language):
        return RollupFigure("本周变动 0", 0, weighs=False)

    for name, build in (("posts", posts), ("none", nothing), ("broken", broken),
                        ("zero", zero)):
        report_parts.add_rollup_figure(name, build)
    report_parts.add_rollup_figure("posts", posts)  # registering twice keeps one
    figures = await report_parts.rollup_figures(None, 2, 0, 1, "zh")  # type: ignore[arg-type]
    assert figures == [RollupFigure("履岗未报 2", 2)]
