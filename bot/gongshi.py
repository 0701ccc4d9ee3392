"""The 公示 picture: a branch's approved pledges, post holders and stars, for the notice board.

    data = Gongshi(branch="梦公塘…党支部", year=2026, date="4月5日（周日）",
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
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from bot.chart import _LOCK, cjk_font
from bot.i18n import t

__all__ = ["LANGUAGE", "Gongshi", "gongshi_lines", "render_gongshi", "render_gongshi_sync"]

LANGUAGE = "zh"  # a notice board in a Chinese village
_WRAP = 34  # characters per printed line at the body size on A4
# Only the Regular face ships, so headings are set apart by size, not weight.
_STYLES = {
    "title": (20, "normal"),
    "heading": (14, "normal"),
    "body": (11, "normal"),
    "footer": (10, "normal"),
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


def gongshi_lines(data: Gongshi) -> list[tuple[str, str]]:
    """Return the picture's lines, each with its style (title, heading, body, footer)."""
    lines = [(_z("gongshi.title", branch=data.branch, year=data.year), "title")]

    def section(heading: str, body: list[str]) -> None:
        lines.append((_z(heading), "heading"))
        if not body:
            body = [_z("gongshi.empty")]
        for text in body:
            wrapped = textwrap.wrap(text, _WRAP) or [text]
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
    lines.append((_z("gongshi.footer", date=data.date), "footer"))
    return lines


def render_gongshi_sync(data: Gongshi) -> bytes:
    """Draw the notice and return PNG bytes (blocking: call render_gongshi from async code)."""
    lines = gongshi_lines(data)
    font = cjk_font()
    style = {"font.family": [font, "DejaVu Sans"]} if font else {}
    step = 0.32  # inches per body line
    height = max(11.69, 1.2 + step * 1.3 * len(lines))  # A4 at least, longer when needed
    with _LOCK, matplotlib.rc_context(style):
        figure = Figure(figsize=(8.27, height), dpi=110)
        figure.patch.set_facecolor("white")
        y = height - 0.8
        for text, kind in lines:
            size, weight = _STYLES[kind]
            x, align = (0.5, "center") if kind == "title" else (0.08, "left")
            if kind == "heading":
                y -= step * 0.5
            figure.text(x, y / height, text, ha=align, va="top", fontsize=size, fontweight=weight)
            y -= step * (1.6 if kind == "title" else 1.25 if kind == "heading" else 1.0)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", facecolor="white")
        return buffer.getvalue()


async def render_gongshi(data: Gongshi) -> bytes:
    """Draw the notice in a worker thread and return PNG bytes."""
    return await asyncio.to_thread(render_gongshi_sync, data)
