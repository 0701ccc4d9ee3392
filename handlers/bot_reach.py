"""Several bots (`[[bots]]`): who in a branch no bot can reach yet, and each person's bot.

    register(app)                                   # digest lines, roll-up figure, ledger sheet
    remember_username("county-a", "county_a_bot")   # on startup: shown as @county_a_bot

Under `[[bots]]` a person belongs to the bot they registered or claimed a
role through, or first wrote to; a person whose bot is still '' (a secretary
imported from the org file, a helper who never wrote) gets nothing scheduled,
since no bot may write first.  The branch digest names them with what to do
(ask them to send the county's bot one message), the roll-up counts them per
branch (each is a phone call to make, so the count weighs like 联系未果), and
the ledger's 本县机器人 sheet shows everyone's bot.  With the one default bot
('' is then everyone's bot) none of this appears.
"""

from __future__ import annotations

from telegram.ext import Application

from bot.config import BotSettings
from bot.i18n import raw, t, tr
from bot.report_parts import (
    RollupFigure,
    Sheet,
    add_digest_section,
    add_ledger_sheet,
    add_rollup_figure,
)
from bot.services import Services
from storage.repositories import bot_reach as repo

__all__ = ["digest_lines", "ledger_sheet", "register", "remember_username", "rollup_figure"]

LEDGER = "zh"
# The roll-up line is one line per branch: past this many, "等 N 人".
ROLLUP_NAMES = 3

# Each bot's Telegram username by `[[bots]]` name, as this process's bots
# learned it from getMe at start.  A bot served by another process (--bots)
# is not here: it is then shown by its configured name.
_USERNAMES: dict[str, str] = {}


def remember_username(bot_name: str, username: str | None) -> None:
    """Record a bot's @username so the digest can tell people which bot to write to."""
    if bot_name and username:
        _USERNAMES[bot_name] = username


def _label(bot: BotSettings) -> str:
    username = _USERNAMES.get(bot.name)
    return f"@{username}" if username else bot.name


async def _county_bots(services: Services, branch_id: int) -> list[BotSettings]:
    """Return the bot serving the branch (the nearest unit above it with one), else all bots."""
    bots = services.settings.bots
    by_unit = {bot.unit: bot for bot in bots if bot.unit}
    for key in await repo.unit_chain(services.db, branch_id):
        if key in by_unit:
            return [by_unit[key]]
    # A branch under no bot's unit: any bot will do, each adopts on first contact.
    return list(bots)


async def _waiting(services: Services, branch_id: int) -> list[repo.UnitPerson]:
    if not services.settings.bots:
        return []  # one default bot: everyone is its person
    return [p for p in await repo.unit_people(services.db, branch_id) if not p.has_bot]


def _names(language: str, people: list[repo.UnitPerson], limit: int | None = None) -> str:
    shown = people if limit is None else people[:limit]
    names = [
        t(language, "bots.person", name=p.name or tr(language, "digest.anonymous"),
          role=tr(language, f"bots.role_{p.role}"))
        for p in shown
    ]
    text = tr(language, "digest.separator").join(names)
    if limit is not None and len(people) > limit:
        text += t(language, "bots.more", count=len(people) - limit)
    return text


async def digest_lines(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> list[str]:
    """Return the line naming the branch's people no bot can reach yet, and what to do."""
    waiting = await _waiting(services, branch_id)
    if not waiting:
        return []
    bots = tr(language, "bots.or").join(
        _label(bot) for bot in await _county_bots(services, branch_id))
    # Each name was escaped by t() in _names: raw() keeps it from being escaped twice.
    return ["", t(language, "bots.digest_line", count=len(waiting),
                  names=raw(_names(language, waiting)), bot=bots)]


async def rollup_figure(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> RollupFigure | None:
    """Return how many of the branch's people no bot can reach yet, the first few by name."""
    waiting = await _waiting(services, branch_id)
    if not waiting:
        return None
    return RollupFigure(
        text=t(language, "bots.rollup", count=len(waiting),
               names=raw(_names(language, waiting, ROLLUP_NAMES))),
        count=len(waiting),
        # Like 联系未果: each is someone to phone, and until then they get nothing.
        weighs=True,
    )


async def ledger_sheet(services: Services, branch_id: int) -> Sheet | None:
    """Return the 本县机器人 sheet: everyone of the branch and the bot they hear from."""
    if not services.settings.bots:
        return None
    people = await repo.unit_people(services.db, branch_id)
    if not people:
        return None
    labels = {bot.name: _label(bot) for bot in services.settings.bots}
    county = tr(LEDGER, "bots.or").join(
        _label(bot) for bot in await _county_bots(services, branch_id))
    rows: list[list[object]] = [
        [
            p.name or tr(LEDGER, "digest.anonymous"),
            tr(LEDGER, f"bots.role_{p.role}"),
            labels.get(p.bot, p.bot) if p.has_bot else tr(LEDGER, "bots.ledger_none"),
            "" if p.has_bot else t(LEDGER, "bots.ledger_todo", bot=county),
        ]
        for p in people
    ]
    return Sheet(title=tr(LEDGER, "bots.ledger_sheet"),
                 head=tr(LEDGER, "bots.ledger_head").split("|"), rows=rows)


def register(app: Application) -> None:
    """Add the several-bots digest line, roll-up figure and ledger sheet."""
    add_digest_section("bots", digest_lines)
    add_rollup_figure("bots", rollup_figure)
    add_ledger_sheet("bots", ledger_sheet)
