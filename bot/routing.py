"""Messages a handler sends to someone else go out through that person's own bot.

    await send_to_person(context, telegram_id, text, reply_markup=markup)

A handler answers the person it is talking to through `context.bot`.  A
message to another person (a join request to a secretary, the verdict to the
member, "X 想找您") must come from the recipient's bot (`people.bot`,
`[[bots]]`): a city secretary talking to bot A who approves a member of
county B is heard by that member from bot B, never from A.  It is sent at once
through that bot when this process serves it (its Applications, listed under
SIBLINGS_KEY by bot.app and by the tests), else stored in the outbox, urgent,
for the process that serves it (it finds it on its next look, within seconds).

With the one default bot ('', a `[telegram].token` deployment) every person
is that bot's: the message goes through `context.bot` at once, as it always has.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from telegram import Bot, Message, TelegramObject

from bot.domain.outgoing import OutgoingMessage
from bot.services import SERVICES_KEY, get_services
from storage.repositories import outbox, people

__all__ = ["DIRECT_KIND", "local_bots", "send_to_person"]

log = logging.getLogger(__name__)

# An outbox kind starting "reply" is time-sensitive (priority 0, see
# bot.domain.outgoing.URGENT_KINDS): someone is waiting for this answer.
DIRECT_KIND = "reply.direct"
# bot_data key of the Applications of this process (bot.app.SIBLINGS_KEY; the
# literal here avoids importing bot.app, which imports every handler).
_SIBLINGS = "branchbot.siblings"


def local_bots(context: Any) -> dict[str, Bot]:
    """Return the bots this process serves, by `[[bots]]` name (the current one included)."""
    found: dict[str, Bot] = {}
    for app in context.application.bot_data.get(_SIBLINGS) or (context.application,):
        services = app.bot_data.get(SERVICES_KEY)
        if services is not None:  # an Application not started (yet) serves nobody
            found.setdefault(services.bot_name, app.bot)
    return found


async def send_to_person(
    context: Any,
    telegram_id: int,
    text: str,
    *,
    reply_markup: TelegramObject | None = None,
) -> Message | None:
    """Send `text` to another person through their own bot; None when it was queued for it.

    Telegram errors of a send made here reach the caller, as `send_message`'s would.
    """
    services = get_services(context)
    bot: Bot = context.bot
    if services.bot_name:
        known = await people.bot_of(services.db, telegram_id)
        # Someone the database does not know (an admin from the config) has no
        # bot of their own: the one they were reached through is the only one.
        if known is not None and known[1] != services.bot_name:
            person_id, wanted = known
            other = local_bots(context).get(wanted)
            if other is None:
                # Not served here ('': they have written to no bot yet; their bot
                # takes the row over when they do, see people.assign_bot).
                await _queue(services, person_id, telegram_id, text, reply_markup)
                return None
            bot = other
    return await bot.send_message(telegram_id, text, reply_markup=reply_markup)


async def _queue(
    services: Any, person_id: int, telegram_id: int, text: str, markup: TelegramObject | None
) -> None:
    now = services.now_ts()
    await outbox.enqueue(services.db, [OutgoingMessage(
        # Each direct message is its own: a key no planner will ever repeat.
        dedupe_key=f"{DIRECT_KIND}|p{person_id}|{uuid.uuid4().hex}",
        kind=DIRECT_KIND,
        person_id=person_id,
        chat_id=telegram_id,
        text=text,
        due_at=now,
        reply_markup=None if markup is None else markup.to_dict(),
    )], now=now)
    log.info("a direct message to person %s waits in the outbox for their bot", person_id)
