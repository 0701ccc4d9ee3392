"""The 公示 picture: a valid PNG, the expected names, every glyph in the shipped CJK font."""

from __future__ import annotations

import io
import warnings

import matplotlib.image

from bot.gongshi import Gongshi, gongshi_lines, render_gongshi_sync

DATA = Gongshi(
    branch="梦公塘早蜜柑脐橙种植党支部",
    year=2026,
    date="4月5日（周日）",
    pledges=[("张伟", "带动5户群众改造果园")],
    posts=[("柑桔种植技术服务岗", ["张伟", "李娜"])],
    stars=[("服务明星评比", "李娜")],
)


def test_the_lines_name_pledges_holders_and_stars() -> None:
    text = "\n".join(line for line, _ in gongshi_lines(DATA))
    assert "梦公塘早蜜柑脐橙种植党支部 2026 年公示" in text
    assert "张伟：带动5户群众改造果园" in text
    assert "柑桔种植技术服务岗：张伟、李娜" in text
    assert "服务明星评比：李娜" in text


def test_an_empty_section_says_so() -> None:
    lines = gongshi_lines(Gongshi(branch="支部", year=2026, date="1月1日"))
    assert [line for line, _ in lines].count("（暂无）") == 3


def test_a_valid_png_with_no_missing_glyphs() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_gongshi_sync(DATA)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [
        w
        for w in caught
        if "missing from" in str(w.message).lower() or "glyph" in str(w.message).lower()
    ]
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.shape[0] > image.shape[1] > 800  # portrait, printable
