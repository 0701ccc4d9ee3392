"""Whole user journeys the end-to-end tests reuse: invites and joining a branch."""

from __future__ import annotations

import re

from bot.domain.joining import new_code
from bot.emulator import EmulatedUser, SentMessage
from storage.repositories import invites, units
from tests.e2e.harness import BotHarness

__all__ = [
    "APPROVE_BUTTON",
    "BRANCH_SECRETARIES",
    "CATEGORY_BUTTON",
    "CONSENT_BUTTON",
    "begin_registration",
    "invite_by_command",
    "invite_in_db",
    "join",
]

# Secretaries of the seeded county (bot/data/county.toml).
BRANCH_SECRETARIES = {
    "renhe-citrus": 910003,
    "renhe-pigs": 910004,
    "renhe-mobile": 910005,
    "tingzijiang-sunset": 910009,
}
GENERAL_BRANCH_SECRETARY = 910002  # 人和村党总支部, above citrus, pigs and mobile
CATEGORY_BUTTON = {
    "zh": {"regular": "普通党员", "mobile": "流动党员（外出务工经商）", "elderly": "老龄党员"},
    "en": {
        "regular": "Regular member",
        "mobile": "Mobile member (working or in business away from home)",
        "elderly": "Elderly member",
    },
}
CONSENT_BUTTON = {"zh": "✅ 同意", "en": "✅ I agree"}
NAME_QUESTION = {"zh": "姓名", "en": "real name"}
APPROVE_BUTTON = {"zh": "✅ 同意", "en": "✅ Approve"}


async def invite_by_command(secretary: EmulatedUser, args: str = "") -> str:
    """Have the secretary run /invite and return the code from the deep link."""
    await secretary.send_command("invite", args)
    reply = await secretary.wait_for_message(lambda m: "start=" in m.plain)
    match = re.search(r"\?start=([A-Za-z0-9_-]+)", reply.plain)
    assert match, reply.plain
    return match.group(1)


async def invite_in_db(
    h: BotHarness, branch_key: str, *, expires_in: int = 86400, max_uses: int = 50,
    revoked: bool = False,
) -> str:
    """Store an invite directly (for expiry and use-limit cases) and return its code."""
    db = h.services.db
    branch = await units.get_unit_by_key(db, branch_key)
    now = int(h.clock.now().timestamp())
    code = new_code()
    invite = await invites.create_invite(
        db, code=code, branch_id=branch.id, created_by=None, now=now,
        expires_at=now + expires_in, max_uses=max_uses,
    )
    if revoked:
        await invites.revoke_invite(db, invite.id, now)
    return code


async def begin_registration(
    member: EmulatedUser, code: str, name: str, language: str = "zh"
) -> SentMessage:
    """Open the deep link, type the name and return the category question."""
    await member.send_command("start", code)
    await member.wait_for_message(lambda m: NAME_QUESTION[language] in m.plain)
    await member.send_text(name)
    return await member.wait_for_message(lambda m: bool(m.button_texts))


SUBMITTED = {"zh": "已提交！", "en": "Sent! The secretary"}


async def join(
    h: BotHarness,
    member: EmulatedUser,
    code: str,
    name: str,
    category: str,
    language: str = "zh",
    *,
    city: str | None = None,
    location: tuple[float, float] | None = None,
) -> None:
    """Play the member from the deep link to the pending request."""
    await begin_registration(member, code, name, language)
    await member.press(CATEGORY_BUTTON[language][category])
    if category == "mobile":
        await member.wait_for_message(lambda m: any(
            label in m.button_texts for label in ("深圳", "Shenzhen")
        ))
        if city is not None:
            await member.send_text(city)
        else:
            assert location is not None
            await member.share_location(*location)
    await member.wait_for_message(lambda m: CONSENT_BUTTON[language] in m.button_texts)
    await member.press(CONSENT_BUTTON[language])
    # The submitted note, not the consent text (whose who-sees lines also say 审核).
    await member.wait_for_message(lambda m: SUBMITTED[language] in m.plain)
