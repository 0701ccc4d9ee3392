"""Pledge texts and buttons, built from the catalogue: pure, no Telegram calls or SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callback_data import pack
from bot.domain import pledges as rules
from bot.domain.pledges import Pledge, PledgeReport, format_number
from bot.i18n import catalogue, raw, t

__all__ = [
    "FEATURE",
    "approval",
    "button",
    "evaluation_ask",
    "marked_line",
    "month_label",
    "number_of",
    "numbered",
    "progress_keyboard",
    "rating_keyboard",
    "rating_label",
    "report_ask",
    "report_summary",
    "review",
    "secretary_rate_ask",
    "skip_keyboard",
    "start_keyboard",
    "templates",
]

FEATURE = "pl"


def _target(language: str, pledge: Pledge) -> str:
    if pledge.target is None:
        return ""
    return t(
        language, "pledges.target", target=format_number(pledge.target), unit=pledge.unit or ""
    )


def _line(language: str, number: int, pledge: Pledge) -> str:
    return t(
        language, "pledges.line", n=number, text=pledge.text, target=raw(_target(language, pledge))
    )


def _mark(language: str, pledge: Pledge) -> str:
    if pledge.status == "returned":
        return t(language, "pledges.mark_returned", comment=pledge.return_comment or "")
    return t(language, f"pledges.mark_{pledge.status}")


def marked_line(language: str, number: int, pledge: Pledge) -> str:
    """Return a numbered pledge with its state (draft, submitted, returned with why, approved)."""
    return _line(language, number, pledge) + _mark(language, pledge)


def numbered(
    language: str, pledges: Sequence[Pledge], *, marked: bool = False, indent: str = ""
) -> list[str]:
    """Return the pledges as numbered lines, with their states when `marked`."""
    line = marked_line if marked else _line
    return [indent + line(language, n, p) for n, p in enumerate(pledges, 1)]


def month_label(language: str, month: int) -> str:
    """Return yyyymm as the catalogue writes a month."""
    year, number = rules.month_of(month)
    return t(language, "pledges.month", year=year, month=number)


def rating_label(language: str, rating: str | None) -> str:
    """Return a rating's name, or "not rated yet"."""
    return t(language, f"pledges.rating.{rating}") if rating else t(language, "pledges.unrated")


def number_of(pledges: Sequence[Pledge], pledge_id: int) -> int:
    """Return the 1-based place of a pledge in its member's list of the year."""
    return next((i for i, p in enumerate(pledges, 1) if p.id == pledge_id), 0)


def button(label: str, *parts: object) -> InlineKeyboardButton:
    """Return a pledge button whose callback data is `pl:<parts…>`."""
    return InlineKeyboardButton(label, callback_data=pack(FEATURE, *map(str, parts)))


def _start_row(language: str, year: int) -> list[InlineKeyboardButton]:
    return [
        button(t(language, "pledges.btn_add"), "add", year),
        button(t(language, "pledges.btn_templates"), "tpl", year),
    ]


def start_keyboard(language: str, year: int) -> InlineKeyboardMarkup:
    """Return the ➕ type / 📋 pick common pledges buttons."""
    return InlineKeyboardMarkup([_start_row(language, year)])


def _choices(
    language: str, group: str, choices: Sequence[str], action: str, *args: object
) -> InlineKeyboardMarkup:
    """Return one row of buttons, one per choice, each `pl:<action>:<args…>:<choice>`."""
    return InlineKeyboardMarkup(
        [[button(t(language, f"pledges.{group}.{c}"), action, *args, c) for c in choices]]
    )


def progress_keyboard(language: str, pledge_id: int, month: int) -> InlineKeyboardMarkup:
    """Return the ✅ / 🔄 / ⏸ buttons of one pledge's monthly report."""
    return _choices(language, "progress", rules.PROGRESS, "rep", pledge_id, month)


def rating_keyboard(language: str, action: str, pledge_id: int) -> InlineKeyboardMarkup:
    """Return the 好 / 较好 / 一般 / 差 buttons; `action` tells whose rating they set."""
    return _choices(language, "rating", rules.RATINGS, action, pledge_id)


def skip_keyboard(language: str, action: str, *args: object) -> InlineKeyboardMarkup:
    """Return the one ⏭ button that answers a typed question with nothing."""
    return InlineKeyboardMarkup([[button(t(language, "pledges.btn_skip"), action, *args)]])


def review(
    language: str, year: int, pledges: Sequence[Pledge], header: str = ""
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Return the draft review: every pledge with its state, and edit/delete/submit buttons."""
    lines = [header] if header else []
    lines.append(
        t(
            language,
            "pledges.review_title",
            year=year,
            count=len(pledges),
            minimum=rules.MIN_PLEDGES,
            maximum=rules.MAX_PLEDGES,
        )
    )
    lines += numbered(language, pledges, marked=True)
    editable = [(n, p) for n, p in enumerate(pledges, 1) if p.is_editable]
    rows = [
        [
            button(t(language, "pledges.btn_edit", n=n), "edit", p.id),
            button(t(language, "pledges.btn_delete", n=n), "del", p.id),
        ]
        for n, p in editable
    ]
    if len(pledges) < rules.MAX_DRAFTS:
        rows.append(_start_row(language, year))
    if editable:
        lines.append(t(language, "pledges.review_hint"))
        rows.append([button(t(language, "pledges.btn_submit"), "sub", year)])
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def approval(
    language: str, name: str, branch: str, year: int, pledges: Sequence[Pledge], member_id: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Return the secretary's approval message: the pledges and per-pledge buttons."""
    lines = [t(language, "pledges.approval_title", name=name, branch=branch, year=year)]
    lines += numbered(language, pledges, marked=True)
    waiting = [(n, p) for n, p in enumerate(pledges, 1) if p.status == "submitted"]
    rows = [
        [
            button(t(language, "pledges.btn_approve", n=n), "ok", p.id),
            button(t(language, "pledges.btn_return", n=n), "ret", p.id),
        ]
        for n, p in waiting
    ]
    if len(waiting) > 1:
        rows.append([button(t(language, "pledges.btn_approve_all"), "all", member_id, year)])
    if not waiting:
        lines.append(t(language, "pledges.approval_done"))
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def report_ask(language: str, month: int, number: int, pledge: Pledge) -> str:
    """Return the monthly question about one pledge."""
    return t(
        language,
        "pledges.report_ask",
        month=month_label(language, month),
        n=number,
        text=pledge.text,
        target=raw(_target(language, pledge)),
    )


def report_summary(language: str, pledge: Pledge, reports: Sequence[PledgeReport]) -> str:
    """Return one line on a pledge's progress: the latest report and how many months."""
    latest, months = rules.latest_report(pledge.id, reports)
    if latest is None:
        return t(language, "pledges.no_reports")
    amount = ""
    if latest.amount is not None and pledge.target is not None:
        amount = t(
            language,
            "pledges.amount_of",
            amount=format_number(latest.amount),
            target=format_number(pledge.target),
            unit=pledge.unit or "",
        )
    elif latest.amount is not None:
        amount = t(
            language,
            "pledges.amount_only",
            amount=format_number(latest.amount),
            unit=pledge.unit or "",
        )
    note = t(language, "pledges.note_of", note=latest.note) if latest.note else ""
    return t(
        language,
        "pledges.latest_report",
        month=month_label(language, latest.month),
        status=t(language, f"pledges.progress.{latest.status}"),
        amount=raw(amount),
        note=raw(note),
        months=months,
    )


def _rating_ask(
    language: str,
    key: str,
    pledge: Pledge,
    number: int,
    reports: Sequence[PledgeReport],
    **params: Any,
) -> str:
    """Return a year-end question `key` about one pledge: its text, target and progress."""
    return t(
        language,
        key,
        year=pledge.year,
        n=number,
        text=pledge.text,
        target=raw(_target(language, pledge)),
        summary=raw(report_summary(language, pledge, reports)),
        **params,
    )


def evaluation_ask(
    language: str, pledge: Pledge, number: int, reports: Sequence[PledgeReport]
) -> str:
    """Return the member's year-end question about one pledge, with its progress."""
    return _rating_ask(language, "pledges.evaluate_ask", pledge, number, reports)


def secretary_rate_ask(
    language: str,
    name: str,
    branch: str,
    pledge: Pledge,
    number: int,
    reports: Sequence[PledgeReport],
    self_rating: str | None,
) -> str:
    """Return the secretary's year-end question about a member's pledge and own rating."""
    return _rating_ask(
        language,
        "pledges.secretary_rate_ask",
        pledge,
        number,
        reports,
        name=name,
        branch=branch,
        rating=rating_label(language, self_rating),
    )


def templates(language: str) -> list[str]:
    """Return the common pledges offered as buttons (so nobody has to type)."""
    prefix = "pledges.template."
    keys = sorted(
        (k for k in catalogue("zh") if k.startswith(prefix)), key=lambda k: int(k[len(prefix) :])
    )
    return [t(language, key) for key in keys]
