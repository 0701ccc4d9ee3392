"""Review: what /away echoes back stays short, however much was typed."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.away import parse_away
from bot.errors import InvalidInput

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize("typed", ["夏" * 4000, "2026-02-30" + " " * 3000 + "x" * 1000])
def test_a_huge_odd_input_is_echoed_shortened(typed):
    # The echo went into the reply whole: over Telegram's 4096 characters the
    # member got the generic apology instead of the usage hint.
    with pytest.raises(InvalidInput) as caught:
        parse_away(typed, TODAY)
    assert len(caught.value.params["text"]) <= 40


@pytest.mark.parametrize(("typed", "key"), [
    ("2026-02-30", "away.bad_date"), ("-5", "away.bad_input"), ("99999", "away.too_far"),
    ("0", "away.bad_input"), ("02-30", "away.bad_date"),
])
def test_odd_inputs_name_their_problem(typed, key):
    with pytest.raises(InvalidInput) as caught:
        parse_away(typed, TODAY)
    assert caught.value.key == key
