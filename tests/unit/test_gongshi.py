"""The 公示 picture: a valid PNG, the expected names, every glyph in the shipped CJK font."""

from __future__ import annotations

import io
import warnings

import matplotlib.image

from bot.gongshi import Gongshi, gongshi_lines, render_gongshi_sync

DATA = Gongshi(
    branch="梦公塘早蜜柑脐橙种植党支部",
    year=2026,
    date="2026年4月5日",
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


def test_signed_by_the_branch_with_the_full_date() -> None:
    lines = gongshi_lines(DATA)
    assert lines[-3:] == [
        ("以上内容予以公示，欢迎群众监督。", "footer"),
        ("梦公塘早蜜柑脐橙种植党支部", "sign"),
        ("2026年4月5日", "sign"),
    ]


def test_long_lines_wrap_between_names_and_a_long_title_keeps_its_year() -> None:
    names = ["张伟", "李娜", "王芳", "赵磊", "陈秀兰", "刘海涛", "郑桂英", "李德福", "周桂兰"]
    data = Gongshi(
        branch="咸水乡人和村梦公塘早蜜柑脐橙种植与销售联合党支部",
        year=2026,
        date="2026年4月5日",
        posts=[("柑桔种植技术服务岗", names * 2)],
    )
    lines = gongshi_lines(data)
    titles = [text for text, kind in lines if kind == "title"]
    assert len(titles) > 1 and titles[-1] == "2026 年公示"
    assert all(len(text) <= 22 for text in titles)  # none runs off the page
    body = [text.strip("　") for text, kind in lines if kind == "body" and text != "（暂无）"]
    # Every printed piece of the holders' line is whole names: none cut in two.
    pieces = [p for text in body for p in text.split("：")[-1].split("、") if p]
    assert set(pieces) <= set(names)
