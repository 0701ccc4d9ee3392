"""Typed numbers: only plain ASCII digits count ('٣' passes str.isdigit() and int() reads it)."""

import pytest

from bot.domain.commands import is_number
from bot.domain.digest import parse_week_code
from bot.domain.pledges import parse_year
from bot.domain.study import parse_studyday
from bot.errors import InvalidInput


@pytest.mark.parametrize("text", ["²", "٣", "-1", "", "1.5", "١٢"])
def test_only_ascii_digits_are_numbers(text):
    assert not is_number(text)


def test_plain_digits_are_numbers():
    assert is_number("2026") and is_number("0")


def test_typed_year_and_study_day_refuse_other_scripts_digits():
    with pytest.raises(InvalidInput):
        parse_year(["٢٠٢٦"], 2026)
    with pytest.raises(InvalidInput):
        parse_studyday(["٣", "20:00"])


def test_week_code_refuses_other_scripts_digits():
    assert parse_week_code("٢٠٢٦W10") is None
    assert parse_week_code("2026W10") is not None
