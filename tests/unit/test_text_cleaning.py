"""The one rule for typed text (bot.domain.free_text) and the fields that use it."""

from __future__ import annotations

import pytest

from bot.domain import joining, pledges, study
from bot.domain.away import parse_away
from bot.domain.free_text import clean_text, echo, has_visible, require_text
from bot.domain.places import find_place
from bot.errors import InvalidInput

RLO = "\u202e"

# Inputs that show nothing at all: each must clean to "".
BLANK = [
    pytest.param("", id="empty"),
    pytest.param("   \t ", id="spaces"),
    pytest.param("\u3164", id="hangul-filler-3164"),
    pytest.param("\uffa0\uffa0", id="halfwidth-hangul-filler"),
    pytest.param("\u115f\u1160", id="hangul-choseong-jungseong-fillers"),
    pytest.param("\u2800", id="braille-blank"),
    pytest.param("\u200b\u200c\u200d\u2060\ufeff", id="zero-width"),
    pytest.param(f"{RLO}\u202d\u2066\u2069", id="bidi-only"),
    pytest.param("\u180e\u00ad", id="mongolian-separator-soft-hyphen"),
    pytest.param("\x00\x07\x1b\x7f", id="controls"),
    pytest.param("\u3000\u00a0\u2003", id="wide-spaces"),
    pytest.param("\u0301\u0308", id="marks-alone"),
    pytest.param("\ud800", id="lone-surrogate"),
]

# (typed, kept): visible text stays, the invisible parts go, space is tidied.
CLEANED = [
    pytest.param(f"{RLO}张三", "张三", id="leading-rlo"),
    pytest.param(f"学习{RLO}党章\u202c", "学习党章", id="embedded-override-and-pop"),
    pytest.param("王\u200b芳", "王芳", id="zero-width-space"),
    pytest.param("\u3164张\u3164三", "张三", id="fillers-around-name"),
    pytest.param("  张   三 ", "张 三", id="spaces-collapse"),
    pytest.param("张\t三\n李", "张 三 李", id="single-line-joins-lines"),
    pytest.param("Zhao\x00Lei", "ZhaoLei", id="nul"),
    pytest.param("e\u0301", "\u00e9", id="nfc"),
    pytest.param("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧", id="emoji-zwj-sequence-kept"),
    pytest.param("深圳\u3000", "深圳", id="ideographic-space"),
]


@pytest.mark.parametrize("typed", BLANK)
def test_text_that_shows_nothing_cleans_to_empty(typed):
    assert clean_text(typed) == ""
    assert clean_text(typed, multiline=True) == ""
    with pytest.raises(InvalidInput) as refused:
        require_text(typed, "x.empty")
    assert refused.value.key == "x.empty"


@pytest.mark.parametrize(("typed", "kept"), CLEANED)
def test_visible_text_is_kept_and_invisible_characters_go(typed, kept):
    cleaned = clean_text(typed)
    assert cleaned == kept
    assert has_visible(cleaned)
    assert clean_text(cleaned) == cleaned  # the rule is idempotent


def test_none_is_empty():
    assert clean_text(None) == ""


def test_multiline_keeps_lines_and_at_most_one_blank_line():
    typed = f"  第一段 {RLO}\r\n\n\n\u200b\n  第二段\t 内容  \n\n"
    assert clean_text(typed, multiline=True) == "第一段\n\n第二段 内容"


def test_require_text_refuses_long_text_after_cleaning():
    assert require_text("\u200b" * 50 + "ab", "x.empty", limit=2, long_key="x.long") == "ab"
    with pytest.raises(InvalidInput) as refused:
        require_text("abc", "x.empty", limit=2, long_key="x.long")
    assert refused.value.key == "x.long" and refused.value.params == {"limit": 2, "length": 3}


def test_echo_cleans_and_shortens():
    assert echo(f"{RLO}abc") == "abc"
    assert echo(["a", f"{RLO}b"]) == "a b"
    assert echo("x" * 100) == "x" * 39 + "…"
    assert len(echo("长" * 100, 64)) == 64
    assert echo(None) == ""


# ---------------------------------------------------------------- the fields using it


@pytest.mark.parametrize("typed", ["\u3164", "\uffa0", "\u3164\u3164 \uffa0", f"{RLO}\u200b"])
def test_a_blank_looking_name_is_refused_as_invisible(typed):
    with pytest.raises(InvalidInput) as refused:
        joining.clean_name(typed)
    assert refused.value.key == "join.name_invisible"


def test_an_empty_name_is_still_empty():
    with pytest.raises(InvalidInput) as refused:
        joining.clean_name("   ")
    assert refused.value.key == "join.name_empty"


def test_pledge_text_comment_and_target_echo_are_cleaned():
    assert pledges.parse_pledge(f"{RLO}帮扶困难户 5 户\u200b").text == "帮扶困难户 5 户"
    with pytest.raises(InvalidInput) as empty:
        pledges.parse_pledge("\u200b\u3164")
    assert empty.value.key == "pledges.text_empty"
    assert pledges.clean_comment(f"请{RLO}补充") == "请补充"
    with pytest.raises(InvalidInput) as blank:
        pledges.clean_comment("\u2800")
    assert blank.value.key == "pledges.comment_empty"
    with pytest.raises(InvalidInput) as bad:
        pledges.parse_pledge(f"学习 | {RLO}abc")
    assert RLO not in bad.value.params["target"]


def test_study_fields_are_cleaned():
    assert study.clean_title(f"{RLO}学习 党章") == "学习 党章"
    assert study.clean_body(f"第一行{RLO}\n第二行") == "第一行\n第二行"
    assert study.clean_note("\u200b加班\u200b") == "加班"
    for clean, key in [
        (study.clean_title, "study.title_empty"),
        (study.clean_body, "study.body_empty"),
        (study.clean_note, "study.note_empty"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            clean("\u3164\u200b")
        assert refused.value.key == key


def test_echoed_arguments_carry_no_override():
    from datetime import date

    with pytest.raises(InvalidInput) as away:
        parse_away(f"{RLO}soon", date(2026, 3, 2))
    assert RLO not in away.value.params["text"]
    with pytest.raises(InvalidInput) as due:
        study.parse_due(f"{RLO}someday", date(2026, 3, 2))
    assert RLO not in due.value.params["text"]


def test_a_city_with_hidden_characters_is_still_found():
    assert find_place(f"深\u200b圳{RLO}") == find_place("深圳") is not None
