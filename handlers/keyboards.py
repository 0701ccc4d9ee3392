"""Keyboards more than one feature shows: places, a location request, yes/no, join requests.

    markup = place_keyboard(language, popular_places(), lambda p: pack("tz", "place", p.key))
    await chat.send_message(text, reply_markup=location_keyboard(t(language, "x.share")))

Labels come from the catalogue (callers pass rendered text or a language);
callback data is always built by the caller, so each feature keeps its prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.callback_data import pack
from bot.domain.humane import zone_label
from bot.domain.models import Category
from bot.domain.places import Place
from bot.i18n import raw, t

__all__ = [
    "MAX_BUTTONS",
    "approval_keyboard",
    "button_grid",
    "join_request_text",
    "location_keyboard",
    "place_keyboard",
    "place_name",
    "yes_no_keyboard",
]

# Telegram accepts at most 100 buttons in one inline keyboard; stay well below.
MAX_BUTTONS = 90


def place_name(place: Place, language: str) -> str:
    """Return the place's name in the member's language."""
    return place.name_zh if language == "zh" else place.name_en


def button_grid(
    buttons: Iterable[InlineKeyboardButton], columns: int = 2
) -> list[list[InlineKeyboardButton]]:
    """Return the buttons laid out `columns` to a row."""
    flat = list(buttons)
    return [flat[i : i + columns] for i in range(0, len(flat), columns)]


def place_keyboard(
    language: str,
    places: Sequence[Place],
    callback: Callable[[Place], str],
    extra_rows: Sequence[Sequence[InlineKeyboardButton]] = (),
) -> InlineKeyboardMarkup:
    """Return place buttons two to a row, each pressing `callback(place)`, then `extra_rows`."""
    buttons = [
        InlineKeyboardButton(place_name(place, language), callback_data=callback(place))
        for place in places
    ]
    return InlineKeyboardMarkup([*button_grid(buttons), *(list(row) for row in extra_rows)])


def location_keyboard(label: str) -> ReplyKeyboardMarkup:
    """Return a one-time reply keyboard whose single button shares the user's location."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def yes_no_keyboard(yes: str, yes_data: str, no: str, no_data: str) -> InlineKeyboardMarkup:
    """Return one row: a confirming and a declining button."""
    return InlineKeyboardMarkup(
        [[
            InlineKeyboardButton(yes, callback_data=yes_data),
            InlineKeyboardButton(no, callback_data=no_data),
        ]]
    )


def approval_keyboard(language: str, member_id: int) -> InlineKeyboardMarkup:
    """Return the ✅ / ❌ buttons of a join request (handled by handlers.onboarding)."""
    return yes_no_keyboard(
        t(language, "join.approve"), pack("join", "ok", member_id),
        t(language, "join.reject"), pack("join", "no", member_id),
    )


def join_request_text(
    language: str, *, name: str, branch: str, category: str, place: str | None,
    timezone: str | None, at: int | float,
) -> str:
    """Return a join request as its approvers read it (the place only for mobile members)."""
    place_line = (
        t(language, "join.request_place", place=place or "—",
          timezone=zone_label(language, timezone, at) if timezone else "—")
        if category == Category.MOBILE
        else ""
    )
    return t(
        language, "join.request", name=name, branch=branch,
        category=t(language, f"category.{category}"), place_line=raw(place_line),
    )
