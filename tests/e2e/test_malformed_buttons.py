"""Buttons a client can forge: every press is answered, none raises, a button's values are bounded.

A Telegram client can send any callback data up to 64 bytes, not only what
the bot put on its buttons. Each press below is answered (the button stops
spinning) with a short alert, no apology is sent and nothing is logged as an
error; and a secretary's own branch-pick button cannot carry an invite that
/invite would refuse.
"""

from __future__ import annotations

import logging

import pytest

from bot.emulator import EmulatedUser
from bot.i18n import t
from storage.repositories import invites, units
from tests.e2e.flows import BRANCH_SECRETARIES
from tests.e2e.harness import ADMIN_ID, BotHarness
from tests.e2e.membership import admitted

BRANCH = "renhe-citrus"
APOLOGY = "抱歉，刚才出了点问题"

MALFORMED = [
    # no prefix any feature takes, or nothing after it
    ":", "x" * 64, "unknown:thing", "study", "pl:", "::::", "dg", "join:", "🙂:🙂",
    # a known prefix, an unknown action or the wrong number of args
    "join:ok", "join:ok:1:2", "join:cat", "study:cim:1", "study:zz:1", "pl:all:1", "pl:ok",
    "wh:yes", "sec:revoke", "sec:revoke:a:b", "sec:pick:invite:1", "sec:pick:invite:1:2:3:4:5",
    "dg:x", "dg:b:1", "dg:c:1", "dg:p:1:2026W10", "lang:set", "tz:place", "away:days",
    "leave:yes", "forget:yes:1:2",
    # the right arity, a value that is not what the button carries
    "join:ok:abc", "join:no:-1", "join:cat:pilot:1", "join:consent:maybe:1", "study:ci:x",
    "study:cim:a:b", "study:done:²", "study:done:٣", "study:done:99999999999999999999",
    "study:why:1:bored", "study:edit:1:colour", "study:sd:1:x:2000", "pl:ok:x",
    "pl:rep:1:202601:great", "pl:self:1:best", "pl:again:abc", "pl:tpa:2026:x",
    "wh:yes:x", "wh:pl:beijing:x", "sec:rmask:x",
    # a helper's subject part (f<member id>): not a number, misplaced, doubled, on a
    # secretary's button, or naming a member nobody may act for
    "study:done:1:fx", "study:done:1:f", "study:done:1:12", "study:done:f1:1",
    "study:done:1:f1:f1", "study:open:1:f1", "pl:add:2026:f²", "pl:ok:1:f1",
    "pl:rep:1:202601:done:fx", "wh:yes:1:f-1", "wh:pl:beijing:1:fabc", "study:done:1:f999999",
    "pl:add:2026:f999999", "wh:yes:1:f999999", "sec:pick:nope:1", "sec:pick:invite:1:x:5",
    "dg:x:x", "dg:d:1:gossip:2026W10", "dg:c:x:2026W10", "dg:c:1:2026W10:2", "dg:p:1:2026W10:x",
    "lang:set:xx", "tz:cancel:x", "away:days:5",
    "away:off:1", "leave:yes:x", "forget:no:x",
    # well formed, naming nothing that exists or a value out of range
    "join:ok:999999", "join:cat:regular:1", "join:place:atlantis:1", "study:done:999999",
    "study:ci:999999", "study:cim:999999:999999", "study:open:999999", "study:skip:1",
    "study:pub:1", "study:to:999999:1", "study:due:2026-02-30:1", "study:sd:999999:3:2000",
    "study:sd:999999:9:2561", "pl:rep:999999:202601:done", "pl:again:209913",
    "pl:tpa:2026:999", "pl:sub:1", "wh:yes:1", "wh:pl:atlantis:1", "sec:rmask:999999",
    "sec:pick:members:999999", "dg:x:999999", "dg:d:999999:miss:2026W10",
    "dg:b:999999:9999W99", "dg:c:999999:2026W10", "dg:p:999999:2026W10:0",
    "tz:place:atlantis:1", "leave:no:999999",
    "forget:yes:999999",
    # members without Telegram (om:): wrong arity, wrong kind, and nothing that exists
    "om:", "om:br", "om:br:x", "om:cat:pilot:1", "om:cat:regular", "om:m:²", "om:link:1:2",
    "om:br:999999", "om:m:999999", "om:link:999999", "om:cy:nosuchcode", "om:cn:nosuchcode",
    "om:cat:regular:1", "om:pl:atlantis:1", "om:skip:1",
    # posts (ps:) and campaigns (cp:): wrong arity, wrong kind, nothing that exists
    "ps:", "ps:h:1", "ps:c:1:maybe", "ps:r:1:202603:great", "ps:why:1:202603:bored",
    "ps:n:1:202603:1:7", "ps:n:1:202603:1", "ps:a:1:best", "ps:a:x:good", "ps:zz:1",
    "ps:h:999999:999999", "ps:c:999999:y", "ps:r:999999:202603:done", "ps:a:999999:good",
    # a post button's subject part: not a number, misplaced, doubled, on a leader's button,
    # or naming a member nobody may act for
    "ps:r:1:202603:done:fx", "ps:r:1:f1:202603:done", "ps:r:1:202603:done:f1:f1",
    "ps:why:1:202603:ill:f", "ps:n:1:202603:1:3:f²", "ps:nd:1:202603:f1", "ps:f:x:f1",
    "ps:f:1:f1:f1", "ps:a:1:good:f1", "ps:h:1:1:f1", "ps:c:1:y:f1", "ps:f:1",
    "ps:r:1:202603:done:f999999", "ps:f:999999:f999999",
    "cp:", "cp:v", "cp:v:x", "cp:b:1", "cp:b:1:²", "cp:zz:1", "cp:n:999999", "cp:v:999999",
    "cp:b:999999:999999", "cp:x:999999", "cp:k:999999",
    # contact that counts offline (ct:): wrong arity, wrong kind, nothing that exists
    "ct:", "ct:m", "ct:m:x", "ct:r:1", "ct:r:1:fax", "ct:r:x:phone", "ct:n:1:2", "ct:hy:-1",
    "ct:ps:²", "ct:pl:beijing", "ct:pl:beijing:x", "ct:zz:1", "ct:m:999999",
    "ct:r:999999:phone", "ct:n:999999", "ct:hn:999999", "ct:ps:999999", "ct:pc:999999",
    "ct:pl:atlantis:999999",
    # lives change (lc:) and the big buttons (big:): wrong arity, kind, nothing that exists
    "lc:", "lc:ok", "lc:ok:1:2", "lc:no:x", "lc:eld:²", "lc:to:-1", "lc:x", "lc:zz:1",
    "lc:ok:999999", "lc:no:999999", "lc:eld:999999", "lc:to:999999", "lc:pl:atlantis",
    "lc:x:0", "big:", "big:ack", "big:ack:x", "big:ack:1:2", "big:zz:1", "big:ack:999999",
    # helpers (hp:): wrong arity, wrong kind, and nothing that exists
    "hp:", "hp:m", "hp:m:x", "hp:b:1", "hp:add:1:x", "hp:rm:²", "hp:for:1:2", "hp:zz:1",
    "hp:si:1", "hp:end", "hp:cy", "hp:m:999999", "hp:b:999999:1", "hp:add:999999:1",
    "hp:rm:999999:1", "hp:lk:999999", "hp:for:999999", "hp:st:999999", "hp:si:999999:1",
    "hp:pl:999999", "hp:rp:999999", "hp:rt:999999", "hp:wb:999999",
    "hp:cy:nosuchcode", "hp:cn:nosuchcode",
    # households (hh:): wrong arity, wrong kind, and nothing that exists
    "hh:", "hh:c", "hh:c:x", "hh:nd:1", "hh:nd:1:money", "hh:k:1:2", "hh:k:1:2:dance",
    "hh:am:²:1", "hh:h:1", "hh:sk:-1", "hh:zz:1", "hh:v:999999", "hh:nb:999999",
    "hh:nd:999999:tech", "hh:ok:999999", "hh:c:999999", "hh:as:999999", "hh:am:999999:1",
    "hh:h:999999:1", "hh:k:999999:1:visit", "hh:sk:999999",
    # meetings (mt:): wrong arity, wrong kind, and nothing that exists
    "mt:", "mt:a", "mt:a:1", "mt:a:x:1", "mt:why:1:1:bored", "mt:hm:1:1:late", "mt:k:rave:1",
    "mt:t:2500:1", "mt:h:3:1", "mt:d:x:1", "mt:cx:1:2", "mt:zz:1", "mt:tg:²:1",
    "mt:a:999999:999999", "mt:l:999999:1", "mt:o:999999:1", "mt:why:999999:1:ill",
    "mt:hm:999999:1:present", "mt:att:999999", "mt:tg:999999:1", "mt:ok:999999",
    "mt:open:999999", "mt:mv:999999", "mt:pl:999999", "mt:cx:999999", "mt:cx:999999:1",
    "mt:to:999999:1", "mt:k:theme_day:1", "mt:d:20261399:1", "mt:t:0900:1", "mt:h:4:1",
    "mt:on:1", "mt:nl:1", "mt:go:1", "mt:x:1", "mt:skip:1",
]


@pytest.fixture
async def h(tmp_path):
    async with BotHarness.started(tmp_path) as harness:
        yield harness


async def _with_a_message(h: BotHarness, user: EmulatedUser) -> EmulatedUser:
    """Give the user a bot message to press buttons under."""
    await h.app.bot.send_message(user.id, "buttons")
    await user.wait_for_message(lambda m: m.plain == "buttons")
    return user


async def test_every_malformed_press_is_answered_without_an_apology(h, caplog):
    caplog.set_level(logging.INFO)
    users = [
        await _with_a_message(h, h.user(4901, "zh")),  # a stranger
        await admitted(h, BRANCH, 4902, "张伟"),
        await admitted(h, "renhe-mobile", 4903, "赵磊", "mobile", city="深圳"),
        h.user(BRANCH_SECRETARIES[BRANCH], "zh"),
        await _with_a_message(h, h.user(ADMIN_ID, "en")),
    ]
    for user in users:
        for data in MALFORMED:
            query = await user.press_data(data)
            answer = await user.wait_for_callback_answer(query)
            assert answer.text, (user, data)  # an alert saying why, not a silent spinner
        assert user.unanswered_queries == []
        assert not any(APOLOGY in text for text in user.texts), (user, user.texts[-3:])
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_unreadable_button_says_it_no_longer_works(h):
    stranger = await _with_a_message(h, h.user(4911, "zh"))
    for data in ("x" * 64, "join:ok:abc", "study:ci:x"):
        await stranger.press_data(data)
        answer = await stranger.wait_for_callback_answer()
        assert answer.text == t("zh", "errors.stale_button")
        assert answer.show_alert


@pytest.mark.parametrize(
    ("days", "uses", "refusal"),
    [
        (99999, 999999999, t("zh", "invite.bad_days", max=365)),
        (7, 999999999, t("zh", "invite.bad_uses", max=100000)),
        (0, 5, t("zh", "invite.bad_days", max=365)),
        (7, 0, t("zh", "invite.bad_uses", max=100000)),
    ],
)
async def test_forged_invite_pick_is_held_to_the_typed_bounds(h, days, uses, refusal):
    secretary = await _with_a_message(h, h.user(BRANCH_SECRETARIES[BRANCH], "zh"))
    db = h.services.db
    branch = await units.get_unit_by_key(db, BRANCH)
    before = await invites.list_invites(db, [branch.id])
    await secretary.press_data(f"sec:pick:invite:{branch.id}:{days}:{uses}")
    answer = await secretary.wait_for_callback_answer()
    assert answer.text == refusal and answer.show_alert
    assert await invites.list_invites(db, [branch.id]) == before
    # The same values typed get the same answer.
    await secretary.send_command("invite", f"{BRANCH} {days} {uses}")
    assert (await secretary.wait_for_message()).plain == refusal


async def test_pick_within_bounds_still_makes_the_invite(h):
    secretary = await _with_a_message(h, h.user(BRANCH_SECRETARIES[BRANCH], "zh"))
    db = h.services.db
    branch = await units.get_unit_by_key(db, BRANCH)
    await secretary.press_data(f"sec:pick:invite:{branch.id}:365:100000")
    await secretary.wait_for_callback_answer()
    await secretary.wait_for_message(lambda m: "start=" in m.plain)
    (made,) = await invites.list_invites(db, [branch.id])
    assert made.max_uses == 100000
    assert made.expires_at - made.created_at == 365 * 86400


@pytest.mark.parametrize("telegram_id", ["²", "99999999999999999999999"])
async def test_appoint_with_an_id_no_chat_can_have_gets_the_usage(h, telegram_id):
    admin = h.user(ADMIN_ID, "zh")
    await admin.send_command("appoint", f"renhe-pigs {telegram_id}")
    assert (await admin.wait_for_message()).plain == t("zh", "org.appoint_usage")
