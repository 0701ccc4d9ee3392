"""One month's report round, shared by pledges' 践诺 and posts' 履岗 (STYLE.md §4.1).

    this = report_round(now, month, settings.pledges, tz, hours, away_until)
    planned = round_messages(
        this, person_id, chat_id,
        asks=[Ask("post.report", key, lambda: (text, markup_dict))],
        followup=lambda number: Ask("post.followup", key_of(number), render),
    )
    messages = [p.build() for p in planned]     # or only those whose key is new

The round is the same for every feature: asked on report_day (moved into the
member's allowed hours), open until next month's ask, followed up every
FOLLOWUP_DAYS up to max_followups, never followed up while the member is away.
A feature supplies only its words, buttons and outbox keys.  Who answers (the
member, or a helper with the author kept) is handlers.pledges.acting's
`load_me` on both sides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import PledgeSettings
from bot.domain.away import is_away
from bot.domain.localtime import local_date
from bot.domain.outgoing import OutgoingMessage
from bot.domain.pledges import (
    Hours,
    latest_followup,
    next_month,
    report_moment,
    send_time,
)

__all__ = ["Ask", "Planned", "Round", "report_round", "round_messages"]


@dataclass(frozen=True, slots=True)
class Round:
    """When a month's report is asked, when it closes, and the follow-up due now if any."""

    month: int
    asked_at: datetime  # the scheduled ask (what "due before the ask" is measured against)
    ask_due: datetime  # when the ask goes out: as scheduled, or now if planned late
    closes: datetime  # the next month's ask: the buttons expire then
    followup: int  # how many follow-ups are due by now (0: none yet)
    followup_due: datetime | None  # the latest follow-up's send time; None while away or none


@dataclass(frozen=True, slots=True)
class Ask:
    """A feature's message in a round: its outbox kind and key, and how to render it if new."""

    kind: str
    key: str
    render: Callable[[], tuple[str, dict]]  # (text, reply markup as a dict)


@dataclass(frozen=True, slots=True)
class Planned:
    """A message the round may send; `build` renders it only when its key is new."""

    key: str
    build: Callable[[], OutgoingMessage]


def report_round(
    now: datetime,
    month: int,
    settings: PledgeSettings,
    tz: ZoneInfo,
    hours: Hours,
    away_until: str | None,
) -> Round:
    """Return month yyyymm's round for one member as it stands at `now`."""
    asked_at = report_moment(month, settings.report_day, tz, hours)
    closes = report_moment(next_month(month), settings.report_day, tz, hours)
    number, scheduled = latest_followup(asked_at, now, settings.max_followups)
    followup_due = None
    if number > 0 and not is_away(away_until, local_date(now.timestamp(), tz)):
        followup_due = send_time(scheduled, now, tz, hours)
    return Round(
        month, asked_at, send_time(asked_at, now, tz, hours), closes, number, followup_due
    )


def round_messages(
    this: Round,
    person_id: int,
    chat_id: int,
    asks: Sequence[Ask],
    followup: Callable[[int], Ask] | None,
) -> list[Planned]:
    """Return the round's asks and, when one is due, its follow-up, all expiring at the close."""
    found = [_planned(this, person_id, chat_id, ask, this.ask_due) for ask in asks]
    if followup is not None and this.followup_due is not None:
        found.append(
            _planned(this, person_id, chat_id, followup(this.followup), this.followup_due)
        )
    return found


def _planned(this: Round, person_id: int, chat_id: int, ask: Ask, due: datetime) -> Planned:
    def build() -> OutgoingMessage:
        text, markup = ask.render()
        return OutgoingMessage(
            dedupe_key=ask.key,
            kind=ask.kind,
            person_id=person_id,
            chat_id=chat_id,
            text=text,
            due_at=int(due.timestamp()),
            reply_markup=markup,
            expires_at=int(this.closes.timestamp()),
        )

    return Planned(ask.key, build)
