"""Word a digest from the catalogue: a short summary first, the details behind buttons.

    text = render_summary("zh", digest)
    markup = keyboard(summary_buttons("zh", digest))
    parts = render_detail("zh", digest, "miss")      # already split under 4096
    text = render_rollup("zh", unit_name, period, ranked_lines)

Every member name goes through html.escape (or t()'s escaping); every line
closes the tags it opens, so split_message, which only breaks between lines,
can never separate a <b> from its </b>.  Callback data (≤ 64 bytes):

    dg:d:<branch_id>:<section>:<week code>   a detail of one branch's digest
    dg:b:<branch_id>:<week code>             one branch's digest (from a roll-up)
    dg:x:<branch_id>                         the branch's Excel ledger
    dg:c:<unit_id>:<week code>               the 12-week chart, drawn when pressed
    dg:p:<unit_id>:<week code>:<page>        a page of a long roll-up (◀ ▶, 0-based)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callback_data import pack
from bot.domain.digest import (
    GAP_ORDER,
    BranchDigest,
    MemberFacts,
    Period,
    RollupLine,
    Silence,
    StudyItem,
    Upcoming,
)
from bot.domain.humane import day_label, iso_day_label, moment_label, week_label
from bot.domain.localtime import local_date, zone
from bot.domain.text import split_message
from bot.i18n import raw, t

__all__ = [
    "FEATURE",
    "NAMES_SHOWN",
    "ROLLUP_PAGE",
    "SECTIONS",
    "Button",
    "chart_button",
    "chart_caption",
    "keyboard",
    "page_buttons",
    "page_count",
    "page_lines",
    "render_detail",
    "render_rollup",
    "render_summary",
    "rollup_buttons",
    "study_day_title",
    "summary_buttons",
]

FEATURE = "dg"
# The summary names at most this many people per section; the button lists everyone.
NAMES_SHOWN = 8
# Detail sections, in button order.
SECTIONS = ("miss", "year", "behalf", "mob", "unr", "pend", "items")
# A roll-up shows this many branches a page, each with its button, and ◀ ▶ between pages:
# a county's hundreds of branches would pass Telegram's 4096 characters and 100 buttons.
ROLLUP_PAGE = 15

Button = tuple[str, str]  # (label, callback data)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _name(language: str, member: MemberFacts) -> str:
    """Return the member's escaped name (forgotten members read as anonymous)."""
    return _esc(member.name) if member.name else t(language, "digest.anonymous")


def _names(language: str, people: Sequence[MemberFacts], suffixes: Sequence[str] = ()) -> str:
    """Return up to NAMES_SHOWN names joined, with "and N more" when there are more."""
    shown = [
        _name(language, member) + (suffixes[index] if index < len(suffixes) else "")
        for index, member in enumerate(people[:NAMES_SHOWN])
    ]
    text = t(language, "digest.separator").join(shown)
    if len(people) > NAMES_SHOWN:
        text += t(language, "digest.and_more", count=len(people) - NAMES_SHOWN)
    return text


def _offline_names(language: str, people: Sequence[MemberFacts]) -> str:
    """Return "name（由 X 代为登记）" for up to NAMES_SHOWN members, then how many more."""
    shown = [
        t(language, "offline.digest_name", name=raw(_name(language, member)),
          who=member.registered_by or t(language, "digest.anonymous"))
        for member in people[:NAMES_SHOWN]
    ]
    text = t(language, "digest.separator").join(shown)
    if len(people) > NAMES_SHOWN:
        text += t(language, "digest.and_more", count=len(people) - NAMES_SHOWN)
    return text


def _title(language: str, item: StudyItem) -> str:
    """Return the item's title, or the catalogue's name of a study day's occurrence."""
    if item.title:
        return item.title
    return study_day_title(language, item.due_date)


def study_day_title(language: str, due_date: str) -> str:
    """Name a weekly study day's occurrence by its day, e.g. "3月6日（周五）学习日"."""
    day = date.fromisoformat(due_date)
    return t(language, "digest.weekly_title", month=day.month, day=day.day,
             weekday=t(language, f"study.weekday.{day.isoweekday()}"))


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)}%"


def _week(language: str, period: Period, timezone: str) -> str:
    """Return the period's days as people write them, "3月2日—3月8日", never "2026-W10"."""
    tz = zone(timezone)
    return week_label(language, local_date(period.start, tz),
                      local_date(max(period.start, period.end - 1), tz))


def _period_text(language: str, period: Period, timezone: str) -> str:
    first = day_label(language, local_date(period.start, zone(timezone)))
    key = "digest.period_so_far" if period.partial else "digest.period"
    return t(language, key, week=_week(language, period, timezone), first=first)


def render_summary(language: str, digest: BranchDigest) -> str:
    """Return the short digest: counts, who needs attention by name, totals for the rest."""
    lines = [
        t(language, "digest.title", branch=digest.branch_name,
          period=raw(_period_text(language, digest.period, digest.timezone))),
        t(language, "digest.members", count=digest.member_count, mobile=digest.mobile_count),
        "",
    ]
    lines += _study_lines(language, digest)
    if digest.late_pledges:
        people = [member for member, _ in digest.late_pledges]
        lines.append(t(language, "digest.late_pledges", count=len(people),
                       month=digest.late_pledges[0][1], names=raw(_names(language, people))))
    else:
        lines.append(t(language, "digest.no_late_pledges"))
    lines += _year_lines(language, digest)
    lines += _mobile_lines(language, digest)
    if digest.unreachable:
        people = [u.member for u in digest.unreachable]
        lines.append(t(language, "digest.unreachable", count=len(people),
                       names=raw(_names(language, people))))
    if digest.offline:
        # Members without Telegram: not unreachable; someone records for them.
        lines.append(t(language, "offline.digest", count=len(digest.offline),
                       names=raw(_offline_names(language, digest.offline))))
    if digest.pending:
        lines.append(t(language, "digest.pending", count=len(digest.pending)))
    lines += _upcoming_lines(language, digest)
    lines += ["", _rest_line(language, digest)]
    return "\n".join(lines)


def _study_lines(language: str, digest: BranchDigest) -> list[str]:
    study = digest.study
    if not study.items:
        return [t(language, "digest.study_none")]
    lines = [t(language, "digest.study", items=len(study.items), expected=study.expected,
               studied=study.studied, excused=study.excused, missed=study.missed,
               rate=_percent(study.rate))]
    if study.missed_members:
        people = [m.member for m in study.missed_members]
        suffixes = [
            t(language, "digest.missed_times", count=len(m.items)) if len(m.items) > 1 else ""
            for m in study.missed_members
        ]
        lines.append(t(language, "digest.missed_names", count=len(people),
                       names=raw(_names(language, people, suffixes))))
    if study.on_behalf:
        lines.append(t(language, "digest.on_behalf", count=len(study.on_behalf)))
    return lines


def _year_lines(language: str, digest: BranchDigest) -> list[str]:
    """Return a line per thing the year still asks, naming who has not done it."""
    lines = []
    for gap in GAP_ORDER:
        people = digest.missing(gap)
        if people:
            lines.append(t(language, f"digest.year_{gap}", count=len(people),
                           names=raw(_names(language, people))))
    return lines


def _mobile_lines(language: str, digest: BranchDigest) -> list[str]:
    if not digest.mobile_count:
        return []
    if not digest.mobile:
        return [t(language, "digest.mobile_ok", count=digest.mobile_count)]
    lines = []
    silent, lost = digest.silent, digest.lost
    if silent:
        suffixes = [t(language, "digest.days", days=m.days) for m in silent]
        lines.append(t(language, "digest.mobile_silent", count=len(silent),
                       mark=min(m.mark for m in silent),
                       names=raw(_names(language, [m.member for m in silent], suffixes))))
    if lost:
        suffixes = [t(language, "digest.days", days=m.days) for m in lost]
        # "已满 N 天" with the smallest N is true of everyone listed.
        lines.append(t(language, "digest.mobile_lost", count=len(lost),
                       days=min(m.days for m in lost),
                       names=raw(_names(language, [m.member for m in lost], suffixes))))
    return lines


def _upcoming_lines(language: str, digest: BranchDigest) -> list[str]:
    if not digest.upcoming:
        return [t(language, "digest.next_none")]
    parts = [_upcoming(language, item) for item in digest.upcoming[:NAMES_SHOWN]]
    text = t(language, "digest.separator").join(parts)
    if len(digest.upcoming) > NAMES_SHOWN:
        text += t(language, "digest.and_more", count=len(digest.upcoming) - NAMES_SHOWN)
    return [t(language, "digest.next", items=raw(text))]


def _upcoming(language: str, upcoming: Upcoming) -> str:
    if upcoming.item is not None and not upcoming.item.title:
        # A study day is named by its day already; its due date would say it twice.
        return t(language, "digest.next_study_day", title=_title(language, upcoming.item))
    title = _title(language, upcoming.item) if upcoming.item is not None else ""
    return t(language, f"digest.next_{upcoming.kind}", title=title,
             day=iso_day_label(language, upcoming.due_date), count=upcoming.count)


def _rest_line(language: str, digest: BranchDigest) -> str:
    rest = digest.member_count - len(digest.attention)
    if not digest.attention:
        return t(language, "digest.all_fine", count=digest.member_count)
    if rest == 0:
        # "the other 0 are fine" would still say 一切正常 of nobody.
        return t(language, "digest.none_fine", named=len(digest.attention))
    return t(language, "digest.rest_fine", named=len(digest.attention), count=rest)


def summary_buttons(language: str, digest: BranchDigest) -> list[Button]:
    """Return the detail buttons of the sections that have something to show, then export."""
    counts = {
        "miss": len(digest.study.missed_members),
        "year": len(digest.year_gaps),
        "behalf": len(digest.study.on_behalf),
        "mob": len(digest.mobile),
        "unr": len(digest.unreachable),
        "pend": len(digest.pending),
        "items": len(digest.study.items),
    }
    code = digest.period.code
    buttons = [
        (t(language, f"digest.button_{section}", count=counts[section]),
         pack(FEATURE, "d", digest.branch_id, section, code))
        for section in SECTIONS
        if counts[section]
    ]
    buttons.append(chart_button(language, digest.branch_id, digest.period))
    buttons.append((t(language, "digest.button_export"), pack(FEATURE, "x", digest.branch_id)))
    return buttons


def chart_button(language: str, unit_id: int, period: Period) -> Button:
    """Return the button that draws a unit's 12-week chart when pressed.

    The chart is drawn on demand rather than sent with every digest: the
    planner's tick never waits for matplotlib and the outbox holds no PNGs.
    """
    return (t(language, "digest.button_chart"), pack(FEATURE, "c", unit_id, period.code))


def render_detail(language: str, digest: BranchDigest, section: str) -> list[str]:
    """Return one detail section as message parts, each within Telegram's limit."""
    if section not in SECTIONS:
        raise ValueError(f"unknown digest section {section!r}")
    title = t(language, f"digest.detail_{section}", branch=digest.branch_name,
              week=_week(language, digest.period, digest.timezone))
    lines = [title, *_detail_lines(language, digest, section)]
    if len(lines) == 1:
        lines.append(t(language, "digest.detail_empty"))
    return split_message("\n".join(lines))


def _detail_lines(language: str, digest: BranchDigest, section: str) -> list[str]:
    tz = digest.timezone
    if section == "miss":
        return [
            t(language, "digest.line_missed", name=raw(_name(language, m.member)),
              titles=t(language, "digest.separator").join(_title(language, i) for i in m.items),
              count=len(m.items))
            for m in digest.study.missed_members
        ]
    if section == "year":
        return [
            t(language, "digest.line_year", name=raw(_name(language, g.member)),
              gaps=t(language, "digest.separator").join(
                  t(language, f"digest.gap_{gap}") for gap in g.gaps))
            for g in digest.year_gaps
        ]
    if section == "behalf":
        return [
            t(language, "digest.line_behalf", name=raw(_name(language, o.member)),
              title=_title(language, o.item),
              by=o.entered_by or t(language, "digest.anonymous"))
            for o in digest.study.on_behalf
        ]
    if section == "mob":
        return [
            t(language,
              "digest.line_lost" if m.state == Silence.LOST else "digest.line_silent",
              name=raw(_name(language, m.member)), days=m.days,
              place=m.member.place or t(language, "digest.no_place"))
            for m in digest.mobile
        ]
    if section == "unr":
        return [
            t(language, "digest.line_unreachable", name=raw(_name(language, u.member)),
              reason=t(language, f"digest.reason_{u.reason}"))
            for u in digest.unreachable
        ]
    if section == "pend":
        return [
            t(language, "digest.line_pending",
              name=p.name or t(language, "digest.anonymous"),
              category=t(language, f"category.{p.category}"),
              at=moment_label(language, p.requested_at, zone(tz)))
            for p in digest.pending
        ] + [t(language, "digest.pending_hint")]
    if section == "items":
        return [
            t(language, "digest.line_item" if c.item.title else "digest.line_study_day",
              title=_title(language, c.item), day=iso_day_label(language, c.item.due_date),
              expected=c.expected, studied=c.studied, excused=c.excused, missed=c.missed)
            for c in digest.study.items
        ]
    raise ValueError(f"unknown digest section {section!r}")


def page_count(lines: Sequence[RollupLine]) -> int:
    """Return how many pages the roll-up takes (at least one)."""
    return max(1, -(-len(lines) // ROLLUP_PAGE))


def page_lines(lines: Sequence[RollupLine], page: int) -> list[tuple[int, RollupLine]]:
    """Return the (rank, line) pairs on a 0-based page; empty past the last page."""
    first = page * ROLLUP_PAGE
    if page < 0:
        return []
    return list(enumerate(lines[first : first + ROLLUP_PAGE], start=first + 1))


def render_rollup(
    language: str, unit_name: str, period: Period, timezone: str, lines: Sequence[RollupLine],
    page: int = 0,
) -> str:
    """Return one page of the roll-up: totals of all branches, then this page's, weakest first."""
    members = sum(line.members for line in lines)
    text = [
        t(language, "digest.rollup_title", unit=unit_name,
          period=raw(_period_text(language, period, timezone))),
        t(language, "digest.rollup_intro", branches=len(lines), members=members),
        "",
    ]
    for rank, line in page_lines(lines, page):
        if line.members == 0:
            text.append(t(language, "digest.rollup_empty", rank=rank, branch=line.branch_name))
            continue
        text.append(t(
            language, "digest.rollup_line", rank=rank, branch=line.branch_name,
            members=line.members, rate=_percent(line.study_rate), late=line.late_pledges,
            silent=line.silent, lost=line.lost, unreachable=line.unreachable,
            gaps=line.year_gaps,
            # Features' figures (bot.report_parts), already rendered, before the score.
            figures=raw("".join(t(language, "digest.rollup_figure", text=raw(f.text))
                                for f in line.figures)),
            health="—" if line.health is None else f"{line.health:.0f}",
        ))
    text += ["", t(language, "digest.rollup_score")]
    pages = page_count(lines)
    if pages > 1:
        text.append(t(language, "digest.rollup_page", page=page + 1, pages=pages,
                      size=ROLLUP_PAGE))
    return "\n".join(text)


def rollup_buttons(lines: Sequence[RollupLine], period: Period, page: int = 0) -> list[Button]:
    """Return one button per branch on the page (weakest first) opening that branch's digest."""
    return [
        (line.branch_name, pack(FEATURE, "b", line.branch_id, period.code))
        for _, line in page_lines(lines, page)
    ]


def page_buttons(
    language: str, unit_id: int, period: Period, page: int, pages: int
) -> list[Button]:
    """Return ◀ and ▶ for the pages before and after `page` (none on a single page)."""
    buttons = []
    if page > 0:
        buttons.append((t(language, "digest.button_prev_page"),
                        pack(FEATURE, "p", unit_id, period.code, page - 1)))
    if page + 1 < pages:
        buttons.append((t(language, "digest.button_next_page"),
                        pack(FEATURE, "p", unit_id, period.code, page + 1)))
    return buttons


def chart_caption(language: str, name: str, legend: Sequence[tuple[str, str]] = ()) -> str:
    """Return the chart's short caption; `legend` maps the chart's ASCII labels to names."""
    text = t(language, "digest.chart_caption", name=name)
    if legend:
        keys = t(language, "digest.separator").join(
            t(language, "digest.chart_legend", label=label, name=full) for label, full in legend
        )
        text += "\n" + keys
    # Captions are limited to 1024 characters; the legend is the part to cut.
    return split_message(text, limit=1000)[0]


def keyboard(buttons: Sequence[Button], columns: int = 2) -> InlineKeyboardMarkup | None:
    """Return the buttons as an inline keyboard, `columns` to a row (None when empty)."""
    if not buttons:
        return None
    flat = [InlineKeyboardButton(label, callback_data=data) for label, data in buttons]
    rows = [flat[i : i + columns] for i in range(0, len(flat), columns)]
    return InlineKeyboardMarkup(rows)
