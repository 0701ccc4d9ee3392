"""The chart labels weeks by date and draws Chinese with a font that has the glyphs (issue 10)."""

from __future__ import annotations

import warnings

import pytest
from fontTools.ttLib import TTFont

from bot import chart
from bot.chart import ChartData, bundled_cjk_font, cjk_font, render_chart_sync, week_label

WEEKS = tuple(f"2026W{n:02d}" for n in range(3, 15))
TITLE = "近 12 周学习完成率"
BRANCHES = ("梦公塘早蜜柑脐橙种植党支部", "人和村流动党员党支部")


@pytest.mark.parametrize(
    ("code", "label"),
    [("2026W14", "3/30"), ("2026W09", "2/23"), ("2026W01", "12/29"), ("2020W53", "12/28")],
)
def test_weeks_are_labelled_by_their_monday(code: str, label: str) -> None:
    assert week_label(code) == label
    assert week_label("anything else") == "anything else"


def test_the_x_axis_shows_dates_not_week_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []

    def spy(week: str) -> str:
        shown.append(week_label(week))
        return shown[-1]

    monkeypatch.setattr(chart, "week_label", spy)
    render_chart_sync(ChartData(WEEKS, (("a", (0.5,) * 12),)), title="t")
    assert shown[0] == "1/12" and shown[-1] == "3/30"
    assert not any(label.startswith("W") for label in shown)


def test_a_cjk_font_ships_with_the_dependencies() -> None:
    path = bundled_cjk_font()
    assert path is not None, "the mplfonts dependency (pyproject.toml) is not installed"
    assert cjk_font() == "Noto Sans CJK SC"
    cmap = TTFont(str(path), lazy=True).getBestCmap()
    for text in (TITLE, *BRANCHES):
        missing = [ch for ch in text if not ch.isspace() and ord(ch) not in cmap]
        assert not missing, (text, missing)


def test_chinese_labels_render_without_missing_glyphs() -> None:
    data = ChartData(WEEKS, tuple((name, (0.5,) * 12) for name in BRANCHES))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_chart_sync(data, title=TITLE)
    assert png.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from font" in str(w.message)]
