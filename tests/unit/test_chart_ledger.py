"""The participation chart is a real PNG of 12 weeks; the ledger opens with the expected sheets."""

from __future__ import annotations

import io
import struct
import threading
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from bot import chart
from bot.chart import WEEKS, ChartData, render_chart, render_chart_sync, series_from_counts
from bot.ledger import (
    LedgerData,
    MobileRow,
    PledgeRow,
    RosterRow,
    StudyRow,
    build_ledger,
    build_ledger_sync,
    headers,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WEEK_CODES = tuple(f"2026W{n:02d}" for n in range(1, WEEKS + 1))


def _png_size(png: bytes) -> tuple[int, int]:
    """Return (width, height) from the IHDR chunk."""
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_branch_chart_is_a_png_of_twelve_weeks() -> None:
    rates = series_from_counts(WEEK_CODES, {"2026W01": (3, 4), "2026W05": (5, 5)})
    assert len(rates) == 12 and rates[0] == 0.75 and rates[4] == 1.0 and rates[1] is None
    data = ChartData(WEEK_CODES, (("renhe-citrus", rates),))
    png = render_chart_sync(data, title="Study completion")
    assert _png_size(png) == (800, 400)
    assert len(data.weeks) == 12 and all(len(values) == 12 for _, values in data.series)


def test_chart_decodes_with_pil_when_available() -> None:
    image_module = pytest.importorskip("PIL.Image")
    data = ChartData(WEEK_CODES, (("a", (0.5,) * 12), ("b", (None,) * 6 + (1.0,) * 6)))
    image = image_module.open(io.BytesIO(render_chart_sync(data, title="x")))
    image.verify()
    assert image.format == "PNG" and image.size == (800, 400)


def test_series_must_match_the_weeks() -> None:
    with pytest.raises(ValueError, match="12 weeks"):
        ChartData(WEEK_CODES, (("a", (0.5,) * 11),))


async def test_rendering_runs_off_the_event_loop(monkeypatch) -> None:
    seen: list[bool] = []
    original = chart.render_chart_sync

    def spy(*args, **kwargs):
        seen.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(chart, "render_chart_sync", spy)
    png = await render_chart(ChartData(WEEK_CODES, (("a", (0.2,) * 12),)), title="t")
    assert png.startswith(PNG_SIGNATURE) and seen == [False]


def _ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def _ledger() -> LedgerData:
    return LedgerData(
        branch_name="人和村流动党员党支部",
        branch_key="renhe-mobile",
        timezone="Asia/Shanghai",
        generated_at=_ts(2026, 3, 2, 1),
        roster=[
            RosterRow("王芳", "mobile", "active", _ts(2026, 1, 5, 2), "深圳", "Asia/Shanghai",
                      "zh", _ts(2026, 3, 1, 16, 30), True, None),
            RosterRow(None, "regular", "active", _ts(2026, 1, 6), None, None, None, None,
                      False, "2026-03-20"),
        ],
        study=[
            StudyRow("学习党章", "2026-02-26", "王芳", "studied", _ts(2026, 2, 25, 12),
                     None, "刘海涛"),
            StudyRow("学习党章", "2026-02-26", None, "missed"),
        ],
        pledges=[
            PledgeRow("王芳", 2026, "带动5户群众改造果园", "5 户", "approved",
                      {1: "ongoing", 2: "done"}, "good", "fair", "继续努力"),
        ],
        mobile=[
            MobileRow("王芳", "深圳", "Asia/Shanghai", _ts(2026, 3, 1, 16, 30), 0, "ok",
                      ((_ts(2026, 2, 1, 2), "深圳"), (_ts(2026, 1, 1, 2), "东莞"))),
            MobileRow("李强", None, "Europe/Madrid", None, 200, "lost"),
        ],
    )


def test_ledger_has_the_four_sheets_with_chinese_headers_and_rows() -> None:
    book = load_workbook(io.BytesIO(build_ledger_sync(_ledger())))
    assert book.sheetnames == ["花名册", "学习记录", "承诺践诺", "流动党员"]
    roster = book["花名册"]
    assert [c.value for c in roster[1]] == headers("roster")
    assert headers("roster")[:3] == ["姓名", "类别", "状态"]
    assert roster.max_row == 3
    first = [c.value for c in roster[2]]
    assert first[:3] == ["王芳", "流动党员（外出务工经商）", "已登记"]
    # 01:00 UTC on 1 March is 00:30 on 2 March in Beijing: dates are the branch's.
    assert first[3] == datetime(2026, 1, 5, 10, 0) and first[7] == datetime(2026, 3, 2, 0, 30)
    assert roster["A3"].value == "（已删除个人信息）" and roster["I3"].value == "不能"

    study = book["学习记录"]
    assert [c.value for c in study[1]] == ["学习内容", "截止日期", "姓名", "结果", "签到时间",
                                           "说明", "代为登记人"]
    assert study["B2"].value.date() == date(2026, 2, 26)
    assert [study["D2"].value, study["G2"].value, study["D3"].value] == [
        "已学习", "刘海涛", "未学习"]

    pledges = book["承诺践诺"]
    head = [c.value for c in pledges[1]]
    assert head[5:17] == [f"{m}月" for m in range(1, 13)] and head[-3:] == [
        "自评", "书记评价", "书记意见"]
    row = [c.value for c in pledges[2]]
    assert row[:5] == ["王芳", 2026, "带动5户群众改造果园", "5 户", "已公开"]
    assert row[5:8] == ["进行中", "已完成", None] and row[-3:] == ["全部兑现", "基本兑现", "继续努力"]  # noqa: E501 (CJK text counts double)

    mobile = book["流动党员"]
    assert mobile.max_row == 3
    assert [mobile["F2"].value, mobile["F3"].value, mobile["E3"].value] == ["正常", "长期未回复，请核实", 200]  # noqa: E501 (CJK text counts double)
    assert mobile["G2"].value == "2026-02-01 深圳；2026-01-01 东莞"


async def test_ledger_builds_in_a_thread_and_empty_sheets_keep_headers() -> None:
    data = LedgerData("空支部", "empty", "Asia/Shanghai", _ts(2026, 3, 2))
    book = load_workbook(io.BytesIO(await build_ledger(data)))
    assert all(book[name].max_row == 1 for name in book.sheetnames)


def test_member_text_stays_text_in_the_workbook() -> None:
    data = LedgerData(
        "支部", "b", "Asia/Shanghai", _ts(2026, 3, 2),
        pledges=[PledgeRow("=HYPERLINK(\"x\")", 2026, "=1+1\x07响铃", None, "approved")],
    )
    sheet = load_workbook(io.BytesIO(build_ledger_sync(data)))["承诺践诺"]
    assert sheet["A2"].value == '=HYPERLINK("x")' and sheet["A2"].data_type == "s"
    assert sheet["C2"].value == "=1+1响铃" and sheet["C2"].data_type == "s"
