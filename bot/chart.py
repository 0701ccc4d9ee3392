"""The participation chart: the last 12 weeks' study completion as a PNG.

    data = ChartData(weeks=("2026W01", ...), series=(("renhe-citrus", (0.8, None, ...)),))
    png = await render_chart(data, title="Study participation")

One bar group per week for a single branch; one line per branch for a
roll-up.  matplotlib runs on the headless Agg backend, in a worker thread, so
the event loop never waits for it.  Weeks are labelled by their Monday ("3/30").

Labels: the Noto Sans CJK SC font that the `mplfonts` dependency ships is used,
so Chinese shows on a fresh machine; failing that, an installed CJK font
(checked once); failing both, the caller passes ASCII labels (unit keys) and
the caption carries the Chinese names, so nothing renders as empty boxes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: must be chosen before pyplot is imported anywhere

from matplotlib import font_manager
from matplotlib.figure import Figure

__all__ = [
    "CJK_FONTS",
    "MAX_LINES",
    "WEEKS",
    "ChartData",
    "bundled_cjk_font",
    "cjk_font",
    "render_chart",
    "render_chart_sync",
    "series_from_counts",
    "week_label",
]

WEEKS = 12
# Families that carry Chinese glyphs, most common on Linux servers first.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
)
# The font shipped by the `mplfonts` dependency (SIL Open Font License).
_BUNDLED = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")
_WEEK_CODE = re.compile(r"^(\d{4})W(\d{2})$")
# A roll-up draws at most this many branches (the weakest come first); more is unreadable.
MAX_LINES = 10
# Figures are independent, but rc_context and the font cache are process-wide.
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the chart plots: week labels and one series of rates (0–1, None: nothing due)."""

    weeks: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]

    def __post_init__(self) -> None:
        for label, values in self.series:
            if len(values) != len(self.weeks):
                raise ValueError(f"series {label!r} has {len(values)} values for "
                                 f"{len(self.weeks)} weeks")


def bundled_cjk_font() -> Path | None:
    """Return the path of the CJK font a dependency ships, or None if it is not installed."""
    # find_spec locates the package without importing it (its CLI pulls in more).
    spec = importlib.util.find_spec(_BUNDLED[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _BUNDLED[1]
    return path if path.is_file() else None


@cache
def cjk_font() -> str | None:
    """Return the name of a font with Chinese glyphs (the shipped one first), or None."""
    with _LOCK:
        path = bundled_cjk_font()
        if path is not None:
            font_manager.fontManager.addfont(str(path))
            return font_manager.FontProperties(fname=str(path)).get_name()
        installed = {entry.name for entry in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in installed), None)


def render_chart_sync(
    data: ChartData, *, title: str, y_label: str = "%", width: float = 8.0, height: float = 4.0
) -> bytes:
    """Draw the chart and return PNG bytes (blocking: call render_chart from async code)."""
    font = cjk_font()
    style = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with _LOCK, matplotlib.rc_context(style):
        figure = Figure(figsize=(width, height), dpi=100)
        axes = figure.subplots()
        positions = list(range(len(data.weeks)))
        series = data.series[:MAX_LINES]
        if len(series) == 1:
            label, values = series[0]
            heights = [0.0 if v is None else 100 * v for v in values]
            bars = axes.bar(positions, heights, color="#c0392b", label=label)
            for bar, value in zip(bars, values, strict=True):
                text = "-" if value is None else f"{round(100 * value)}"
                axes.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              ha="center", va="bottom", fontsize=8)
        else:
            for label, values in series:
                points = [None if v is None else 100 * v for v in values]
                axes.plot(positions, [float("nan") if p is None else p for p in points],
                          marker="o", label=label)
            axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        axes.set_xticks(positions, [week_label(week) for week in data.weeks], fontsize=8)
        axes.set_ylim(0, 105)
        axes.set_ylabel(y_label)
        axes.set_title(title)
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()


def week_label(week: str) -> str:
    """Return a week's Monday as "3/30" from its ISO code "2026W14" (other labels unchanged)."""
    match = _WEEK_CODE.match(week)
    if match is None:
        return week
    monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    return f"{monday.month}/{monday.day}"


async def render_chart(
    data: ChartData, *, title: str, y_label: str = "%", width: float = 8.0, height: float = 4.0
) -> bytes:
    """Draw the chart in a worker thread and return PNG bytes."""
    return await asyncio.to_thread(
        render_chart_sync, data, title=title, y_label=y_label, width=width, height=height
    )


def series_from_counts(
    weeks: Sequence[str], counts: dict[str, tuple[int, int]]
) -> tuple[float | None, ...]:
    """Return one rate per week from {week: (studied, base)}; None where nothing was due."""
    values: list[float | None] = []
    for week in weeks:
        studied, base = counts.get(week, (0, 0))
        values.append(None if base <= 0 else min(1.0, studied / base))
    return tuple(values)
