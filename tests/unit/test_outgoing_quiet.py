"""bot.domain.outgoing.quiet_hours: the send-time quiet-hours fields every member-facing
planner passes, so delivery can hold a late message for the morning."""

from __future__ import annotations

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

from bot.domain.models import Category
from bot.domain.outgoing import OutgoingMessage, quiet_hours


def test_a_member_message_carries_the_zone_and_the_elderly_window():
    assert quiet_hours(ZoneInfo("Asia/Shanghai"), "regular") == {
        "quiet_zone": "Asia/Shanghai", "elderly": False,
    }
    assert quiet_hours("Asia/Urumqi", Category.ELDERLY) == {
        "quiet_zone": "Asia/Urumqi", "elderly": True,
    }
    message = OutgoingMessage(
        dedupe_key="k", kind="hh.remind", person_id=1, chat_id=2, text="x", due_at=0,
        **quiet_hours(ZoneInfo("Asia/Shanghai"), "elderly"),
    )
    assert (message.quiet_zone, message.elderly) == ("Asia/Shanghai", True)


def test_a_helper_reading_for_an_elderly_member_is_not_held_to_her_window():
    fields = quiet_hours(ZoneInfo("Asia/Shanghai"), "elderly", for_helper=True)
    assert fields == {"quiet_zone": "Asia/Shanghai", "elderly": False}


def test_no_iana_zone_gives_no_check_rather_than_a_wrong_one():
    assert quiet_hours(None)["quiet_zone"] is None
    assert quiet_hours(timezone(timedelta(hours=8)))["quiet_zone"] is None
