"""split_message: long texts cut into Telegram-sized messages, never inside a line."""

from __future__ import annotations

import pytest

from bot.domain.text import TELEGRAM_LIMIT, split_message, telegram_length


def test_short_text_is_one_message() -> None:
    assert split_message("一行\n两行") == ["一行\n两行"]


def test_exactly_the_limit_is_one_message() -> None:
    text = "x" * TELEGRAM_LIMIT
    assert split_message(text) == [text]


def test_lines_are_packed_and_never_cut() -> None:
    lines = [f"第{i}行 " + "字" * (i % 37) for i in range(600)]
    parts = split_message("\n".join(lines), limit=500)
    assert len(parts) > 1
    assert all(telegram_length(part) <= 500 for part in parts)
    # Re-joining the parts gives every line back, whole and in order.
    assert "\n".join(parts).split("\n") == lines


def test_parts_are_filled_greedily() -> None:
    parts = split_message("aaaa\nbbbb\ncccc", limit=9)
    assert parts == ["aaaa\nbbbb", "cccc"]


def test_roster_over_4096_characters_is_split_at_line_ends() -> None:
    rows = [f"• <b>党员{i:03d}</b> — 流动党员 · 已登记 · 3 天前联系" for i in range(200)]
    parts = split_message("\n".join(rows))
    assert len(parts) >= 2
    for part in parts:
        assert telegram_length(part) <= TELEGRAM_LIMIT
        for line in part.split("\n"):
            assert line in rows


def test_an_overlong_line_is_cut_at_the_limit() -> None:
    line = "a" * 25
    parts = split_message(f"head\n{line}\ntail", limit=10)
    assert parts == ["head", "aaaaaaaaaa", "aaaaaaaaaa", "aaaaa\ntail"]


def test_a_cut_does_not_split_an_html_entity() -> None:
    line = "abcdefg&amp;hij"
    parts = split_message(line, limit=10)
    assert parts == ["abcdefg", "&amp;hij"]
    assert "".join(parts) == line


def test_emoji_count_twice_and_are_not_split() -> None:
    text = "😀" * 10  # 20 UTF-16 code units
    parts = split_message(text, limit=8)
    assert parts == ["😀" * 4, "😀" * 4, "😀" * 2]
    assert all(telegram_length(part) <= 8 for part in parts)


def test_no_part_is_blank() -> None:
    text = "a" * 10 + "\n\n\n" + "b" * 10
    parts = split_message(text, limit=10)
    assert all(part.strip() for part in parts)
    assert parts[0] == "a" * 10 and parts[-1] == "b" * 10


def test_a_tiny_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        split_message("text", limit=2)
