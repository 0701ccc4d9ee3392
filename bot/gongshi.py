"""The 公示 picture: a branch's approved pledges, post holders and stars, for the notice board.

    data = Gongshi(branch="梦公塘…党支部", year=2026, date="2026年4月5日",
                   pledges=[("张伟", "带动5户群众改造果园")],
                   posts=[("柑桔种植技术服务岗", ["张伟"])],
                   stars=[("服务明星评比", "李娜")])
    lines = gongshi_lines(data)                  # [(text, style)], what the picture says
    png = await render_gongshi(data)             # PNG bytes, A4 portrait

Non-members are not on Telegram; the seed asks that pledges, posts and
results be published so that they can supervise (群众监督).  The picture is
printed and pinned on the village notice board, so it is always Chinese
(the ledger's language) and drawn with the CJK font bot.chart loads, which
the `mplfonts` dependency ships: it renders the same on a fresh machine.
"""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from bot.chart import _LOCK, cjk_font
from bot.i18n import t

__all__ = ["LANGUAGE", "Gongshi", "gongshi_lines", "render_gongshi", "render_gongshi_sync"]

LANGUAGE = "zh"  # a notice board in a Chinese village
_WRAP = 36  # characters per printed line at the body size on A4
# In CJK character widths: a long branch name wraps rather than running off the page.
_TITLE_WRAP = 22
# Only the Regular face ships, so headings are set apart by size, not weight.
# Read from a notice board at arm's length, often by older villagers: large type.
_STYLES = {
    "title": (22, "normal"),
    "heading": (16, "normal"),
    "body": (13, "normal"),
    "footer": (13, "normal"),
    "sign": (13, "normal"),  # issuer and date, right-aligned as on a printed notice
}


@dataclass(frozen=True, slots=True)
class Gongshi:
    """What one branch publishes: (member, pledge) pairs, (post, holders), (campaign, star)."""

    branch: str
    year: int
    date: str
    pledges: Sequence[tuple[str, str]] = ()
    posts: Sequence[tuple[str, Sequence[str]]] = ()
    stars: Sequence[tuple[str, str]] = field(default_factory=tuple)


def _z(key: str, **params: object) -> str:
    # Not through HTML: the catalogue escapes for Telegram, the picture wants plain text.
    return html.unescape(t(LANGUAGE, key, **params))


def _width(text: str) -> float:
    """Return the printed width in CJK characters (Latin letters and digits are about half)."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.55 for c in text)


def _wrap(text: str, width: int) -> list[str]:
    """Cut text into lines of at most `width` characters, after a 、，；。 where one is near.

    textwrap breaks only at spaces, which Chinese has none of, so it would cut
    a name in two ("李德 / 福").
    """
    lines = []
    while len(text) > width:
        cut = max(text.rfind(mark, 0, width) for mark in "、，；。 ")
        cut = cut + 1 if cut >= width // 2 else width
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*lines, text] if text or not lines else lines


def gongshi_lines(data: Gongshi) -> list[tuple[str, str]]:
    """Return the picture's lines, each with its style (title, heading, body, footer)."""
    title = _z("gongshi.title", branch=data.branch, year=data.year)
    if _width(title) <= _TITLE_WRAP:
        lines = [(title, "title")]
    else:  # the branch on its own lines, the year below, rather than cut at the page edge
        lines = [(part, "title") for part in _wrap(data.branch, _TITLE_WRAP)]
        lines.append((_z("gongshi.title_year", year=data.year), "title"))

    def section(heading: str, body: list[str]) -> None:
        lines.append((_z(heading), "heading"))
        if not body:
            body = [_z("gongshi.empty")]
        for text in body:
            wrapped = _wrap(text, _WRAP)
            lines.append((wrapped[0], "body"))
            lines.extend(("　　" + rest, "body") for rest in wrapped[1:])

    section(
        "gongshi.pledges",
        [_z("gongshi.pledge_line", name=name, text=text) for name, text in data.pledges],
    )
    section(
        "gongshi.posts",
        [_z("gongshi.post_line", post=post, names="、".join(names)) for post, names in data.posts],
    )
    section(
        "gongshi.stars",
        [_z("gongshi.star_line", title=title, name=name) for title, name in data.stars],
    )
    lines.append((_z("gongshi.footer"), "footer"))
    lines.append((data.branch, "sign"))
    lines.append((data.date, "sign"))
    return lines


def render_gongshi_sync(data: Gongshi) -> bytes:
    """Draw the notice and return PNG bytes (blocking: call render_gongshi from async code)."""
    lines = gongshi_lines(data)
    font = cjk_font()
    style = {"font.family": [font, "DejaVu Sans"]} if font else {}
    step = 0.36  # inches per body line
    height = max(11.69, 1.6 + step * 1.4 * len(lines))  # A4 at least, longer when needed
    with _LOCK, matplotlib.rc_context(style):
        figure = Figure(figsize=(8.27, height), dpi=110)
        figure.patch.set_facecolor("white")
        y = height - 0.8
        for text, kind in lines:
            size, weight = _STYLES[kind]
            x, align = {"title": (0.5, "center"), "sign": (0.92, "right")}.get(
                kind, (0.08, "left")
            )
            if kind in ("heading", "footer"):
                y -= step * (0.5 if kind == "heading" else 1.0)
            figure.text(x, y / height, text, ha=align, va="top", fontsize=size, fontweight=weight)
            y -= step * {"title": 1.3, "heading": 1.25}.get(kind, 1.0)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", facecolor="white")
        return buffer.getvalue()


async def render_gongshi(data: Gongshi) -> bytes:
    """Draw the notice in a worker thread and return PNG bytes."""
    return await asyncio.to_thread(render_gongshi_sync, data)
