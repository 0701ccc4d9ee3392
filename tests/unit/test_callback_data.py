"""Reading callback data by shape: what a client may send, and what the bot's buttons carry."""

from __future__ import annotations

import pytest

from bot.callback_data import (
    INT,
    MAX_INT,
    TEXT,
    MalformedButton,
    decode,
    pack,
    parse_id,
)

SHAPES = {
    "ok": (INT,),
    "why": (INT, frozenset({"ill", "away"})),
    "sd": [(INT, INT, frozenset({"off"})), (INT, INT, INT)],
    "pl": (TEXT, INT),
}


def test_well_formed_data_is_read_with_typed_values() -> None:
    pressed = decode(pack("f", "why", 7, "ill"), "f", SHAPES)
    assert (pressed.action, pressed.args, pressed.values) == ("why", ["7", "ill"], (7, "ill"))
    assert decode("f:sd:0:0:off", "f", SHAPES).values == (0, 0, "off")
    assert decode("f:sd:3:3:2000", "f", SHAPES).values == (3, 3, 2000)
    assert decode("f:pl:shenzhen:12", "f", SHAPES).values == ("shenzhen", 12)


@pytest.mark.parametrize(
    "data",
    [
        None, "", ":", "x" * 64, "f", "f:", "f:ok", "f:ok:", "f:ok:1:2", "f:ok:abc", "f:ok:-1",
        "f:ok:1.5", "f:ok: 1", "f:ok:²", "f:ok:٣", "f:ok:１", f"f:ok:{MAX_INT + 1}",
        "f:why:1:bored", "f:why:1", "f:sd:1:2", "f:sd:1:2:on", "f:pl::1", "f:nope:1",
        "g:ok:1", "f:ok:" + "1" * 70,
    ],
)
def test_anything_else_raises_malformed_button(data) -> None:
    with pytest.raises(MalformedButton):
        decode(data, "f", SHAPES)


def test_ids_are_ascii_decimals_sqlite_can_hold() -> None:
    assert parse_id("0") == 0 and parse_id("0042") == 42
    assert parse_id(str(MAX_INT)) == MAX_INT
    assert parse_id(str(MAX_INT + 1)) is None
    assert parse_id("٣") is None and parse_id("²") is None and parse_id("") is None


def test_every_study_and_pledge_button_has_a_shape() -> None:
    import handlers.pledges as pledges
    import handlers.study as study

    assert set(study._SHAPES) == set(study._BUTTONS)
    assert set(pledges._SHAPES) == set(pledges._BUTTONS)


@pytest.mark.parametrize(
    ("feature", "data"),
    [
        ("study", "study:why:12:ill"), ("study", "study:sd:0:0:off"),
        ("study", "study:sd:7:3:0800"), ("study", "study:due:2026-03-08:1767225600"),
        ("study", "study:edit:5:title"), ("hp", "hp:add:3:9"), ("hp", "hp:cy:Ab3x"),
        ("pl", "pl:rep:4:202603:not_started"), ("pl", "pl:sec:4:good"),
        ("pl", "pl:all:9:2026"),
    ],
)
def test_the_bots_own_buttons_decode(feature, data) -> None:
    import handlers.helpers as helpers
    import handlers.pledges as pledges
    import handlers.study as study

    shapes = {"study": study._SHAPES, "pl": pledges._SHAPES, "hp": helpers._SHAPES}[feature]
    assert decode(data, feature, shapes).args == data.split(":")[2:]


async def test_a_button_pressed_in_a_group_is_answered_before_it_is_dropped(monkeypatch) -> None:
    from telegram import CallbackQuery, Update
    from telegram.ext import ApplicationHandlerStop

    from handlers.contact import ignore_group_chats

    answered = []

    async def answer(self, *args, **kwargs):
        answered.append(self.id)
        return True

    monkeypatch.setattr(CallbackQuery, "answer", answer)
    chat = {"id": -100, "type": "group", "title": "人和村"}
    update = Update.de_json(
        {
            "update_id": 1,
            "callback_query": {
                "id": "q1", "chat_instance": "1", "data": "study:done:1",
                "from": {"id": 5, "is_bot": False, "first_name": "A"},
                "message": {"message_id": 1, "date": 0, "chat": chat},
            },
        },
        None,
    )
    with pytest.raises(ApplicationHandlerStop):
        await ignore_group_chats(update, None)
    assert answered == ["q1"]
