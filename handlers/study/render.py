"""Study texts and buttons more than one step shows, from the catalogue: pure, no Telegram calls."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callback_data import pack
from bot.domain import study as rules
from bot.domain.humane import iso_day_label
from bot.domain.models import Unit
from bot.domain.schedule import Windows, moved_wall_time
from bot.domain.study import Answer, NextKind, Reason
from bot.i18n import raw, t
from handlers.keyboards import button_grid
from storage.repositories.study import AnswerRecord, StudyItem

__all__ = [
    "FEATURE",
    "already_text",
    "answer_keyboard",
    "body_html",
    "branch_names",
    "button",
    "cancel_keyboard",
    "cancel_row",
    "due_example",
    "due_keyboard",
    "item_text",
    "label",
    "name",
    "names",
    "reason_keyboard",
    "reason_text",
    "remind_hours",
    "remind_when",
    "title_html",
    "title_label",
]

FEATURE = "study"
NAMES_SHOWN = 20
_MESSAGE_KEYS = {
    NextKind.REMINDER: "study.reminder",
    NextKind.FOLLOWUP: "study.followup",
    NextKind.SNOOZE: "study.snooze",
}


def button(label: str, action: str, *args: object) -> InlineKeyboardButton:
    """Return a study button pressing `study:<action>:<args…>`."""
    return InlineKeyboardButton(label, callback_data=pack(FEATURE, action, *args))


def label(language: str, key: str, **params: Any) -> str:
    """Return catalogue text for a button label: plain text, so t()'s escaping is undone."""
    return html.unescape(t(language, key, **params))


def name(language: str, person_name: str | None) -> str:
    """Return a person's name, or the catalogue's stand-in for a nameless one."""
    return person_name or t(language, "study.no_name")


def names(language: str, shown: Sequence[str]) -> str:
    """Return up to NAMES_SHOWN names joined in the language's way, then how many in all."""
    separator = "、" if language == "zh" else ", "
    text = separator.join(shown[:NAMES_SHOWN])
    if len(shown) > NAMES_SHOWN:
        text += t(language, "study_more.names", count=len(shown))
    return text


def branch_names(language: str, branches: Sequence[Unit]) -> str:
    """Return the branches' names as one list."""
    return names(language, [branch.name for branch in branches])


def remind_hours(remind: Mapping[int, str]) -> str:
    """Return the distinct reminder hours of branch id → HH:MM, as "19:30 / 20:00"."""
    return " / ".join(sorted(set(remind.values())))


def remind_when(language: str, remind: Mapping[int, str], windows: Windows) -> str:
    """Return when members are really reminded: each branch hour moved out of quiet hours.

    A promise of "21:18" is wrong when 21:18 is in quiet hours; the same rule
    that moves every reminder (schedule.moved_wall_time) says when it comes.
    """
    sentences = []
    for at_text in sorted(set(remind.values())):
        at = time.fromisoformat(at_text)
        regular = moved_wall_time(at, windows, elderly=False)
        elderly = moved_wall_time(at, windows, elderly=True)
        hhmm = rules.format_hhmm
        if regular == elderly == (at, 0):
            sentences.append(t(language, "study.when_on_time", at=at_text))
            continue
        elderly_at = _moved_at(language, elderly)
        if regular == (at, 0):
            sentences.append(t(
                language, "study.when_elderly_later", at=at_text, elderly_at=elderly_at,
                start=hhmm(windows.elderly_start), end=hhmm(windows.elderly_end),
            ))
        else:
            sentences.append(t(
                language, "study.when_quiet", at=at_text, moved_at=_moved_at(language, regular),
                elderly_at=elderly_at, quiet_start=hhmm(windows.quiet_start),
                quiet_end=hhmm(windows.quiet_end),
            ))
    return "\n".join(sentences)


def _moved_at(language: str, moved: tuple[time, int]) -> str:
    at, days_later = moved
    key = "study.when_next_day" if days_later else "study.when_same_day"
    return t(language, key, at=rules.format_hhmm(at))


def reason_text(language: str, reason: str | None) -> str:
    """Return an excuse reason's name."""
    return t(language, f"study.reason.{reason}")


# ---------------------------------------------------------------- an item


def title_html(language: str, item: StudyItem) -> str:
    """Return the item's title as HTML; a weekly occurrence's is its date."""
    if item.title:
        return html.escape(item.title, quote=False)
    return t(language, "study.weekly_title",
             date=iso_day_label(language, item.occurrence_date or item.due_date))


def title_label(language: str, item: StudyItem) -> str:
    """Return the item's title as a plain button label."""
    return item.title or label(language, "study.weekly_title",
                               date=iso_day_label(language, item.occurrence_date))


def body_html(language: str, item: StudyItem) -> str:
    """Return the item's text or link as HTML; a weekly occurrence's is the catalogue's."""
    if item.body:
        return html.escape(item.body, quote=False)
    return t(language, "study.weekly_body")


def item_text(language: str, item: StudyItem, kind: NextKind, seq: int, elderly: bool) -> str:
    """Return a reminder, follow-up or snooze; elderly members get the short wording."""
    key = _MESSAGE_KEYS[kind] + ("_short" if elderly else "")
    return t(
        language,
        key,
        title=raw(title_html(language, item)),
        body=raw(body_html(language, item)),
        due=iso_day_label(language, item.due_date),
        n=seq,
    )


def already_text(language: str, existing: AnswerRecord) -> str:
    """Return the alert for a second answer: what was recorded, and by whom if for them."""
    if existing.status == Answer.DONE:
        answer = t(language, "study.answer_done")
    else:
        answer = t(language, "study.answer_excused", reason=reason_text(language, existing.reason))
    if existing.on_behalf and existing.entered_by_name:
        return t(language, "study.already_by", answer=raw(answer), who=existing.entered_by_name)
    return t(language, "study.already", answer=raw(answer))


# ---------------------------------------------------------------- keyboards


def answer_keyboard(language: str, item_id: int) -> InlineKeyboardMarkup:
    """Return the one-tap answers of a reminder: ✅ on its own row, then ⏰ and 🙋."""
    return InlineKeyboardMarkup(
        [
            [button(t(language, "study.btn_done"), "done", item_id)],
            [
                button(t(language, "study.btn_later"), "later", item_id),
                button(t(language, "study.btn_excuse"), "excuse", item_id),
            ],
        ]
    )


def reason_keyboard(language: str, item_id: int) -> InlineKeyboardMarkup:
    """Return a button per excuse reason, then ↩️ back to the answers."""
    buttons = [
        button(t(language, f"study.reason_button.{reason.value}"), "why", item_id, reason.value)
        for reason in Reason
    ]
    back = [button(t(language, "study.btn_back"), "back", item_id)]
    return InlineKeyboardMarkup([*button_grid(buttons), back])


def cancel_row(language: str, stamp: int) -> list[InlineKeyboardButton]:
    """Return the ✖ cancel button of a question (`stamp`: when it was first asked)."""
    return [button(t(language, "study.btn_cancel"), "cancel", stamp)]


def cancel_keyboard(language: str, stamp: int) -> InlineKeyboardMarkup:
    """Return a keyboard of just the question's ✖ cancel button."""
    return InlineKeyboardMarkup([cancel_row(language, stamp)])


def due_example(today: date) -> date:
    """Return the date a due-date question shows as an example (a week from today)."""
    return rules.due_presets(today)[1][1]


def due_keyboard(language: str, today: date, stamp: int) -> InlineKeyboardMarkup:
    """Return the preset due dates, ✍️ type one, and ✖ cancel."""
    presets = [
        button(label(language, key, date=when), "due", when.isoformat(), stamp)
        for key, when in rules.due_presets(today)
    ]
    typed = button(t(language, "study.btn_type_date"), "type", stamp)
    return InlineKeyboardMarkup(
        [[preset] for preset in presets] + [[typed], cancel_row(language, stamp)]
    )
