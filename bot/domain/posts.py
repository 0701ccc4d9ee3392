"""Rules of posts with duties (设岗定责), without Telegram or SQL.

    parse_post("柑桔种植技术服务岗\n负责果园技术指导\n技术指导 ≥ 12 户次/年")
    # PostSpec(name="柑桔种植技术服务岗", duties=("负责果园技术指导",),
    #          targets=(TargetSpec("技术指导", 12.0, "户次"),))
    parse_count("3户次")   # 3.0

A post's year runs like the pledge year: its monthly 履岗 report is asked on
the pledges' report_day (bot.domain.pledges.report_moment, open_month,
latest_followup), and the year-end assessment opens on the pledges'
evaluation day, on the same 兑现 scale (pledges.RATINGS).  Targets are read
with the pledges' target parser, so "12 户次" means the same in both.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.domain import pledges
from bot.domain.free_text import clean_text, echo
from bot.errors import InvalidInput

__all__ = [
    "MAX_COUNT",
    "MAX_DUTIES",
    "MAX_NAME",
    "REASONS",
    "REPORT_CHOICES",
    "PostSpec",
    "TargetSpec",
    "parse_count",
    "parse_post",
]

MAX_NAME = 40
MAX_DUTIES = 10
# A count larger than this in one month is a typing slip (an extra 0), not work done.
MAX_COUNT = 500
REPORT_CHOICES = ("done", "note", "miss")
REASONS = ("ill", "away", "busy", "other")

# "技术指导 ≥ 12 户次/年", "技术指导 >= 12 户次", "技术指导 不少于 12 户次"
_TARGET_SPLIT = re.compile(r"\s*(?:≥|>=|＞＝|不少于|至少)\s*")
_PER_YEAR = re.compile(r"\s*(?:/|每)\s*年\s*$")


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """An assessment target as typed: a label, and a yearly number with a unit if it has one."""

    label: str
    target: float | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class PostSpec:
    """A post as the secretary typed it."""

    name: str
    duties: tuple[str, ...]
    targets: tuple[TargetSpec, ...]


def parse_post(text: str) -> PostSpec:
    """Read a typed post: the name on the first line, then duties and "≥" target lines."""
    lines = [clean_text(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise InvalidInput("posts.usage")
    name = lines[0]
    if len(name) > MAX_NAME:
        raise InvalidInput("posts.name_too_long", length=len(name), limit=MAX_NAME)
    duties: list[str] = []
    targets: list[TargetSpec] = []
    for line in lines[1:]:
        folded = unicodedata.normalize("NFKC", line)
        if _TARGET_SPLIT.search(folded):
            parts = _TARGET_SPLIT.split(folded, maxsplit=1)
            targets.append(_target_parts(line, parts[0], parts[1]))
        else:
            duties.append(line[: pledges.MAX_TEXT])
    return PostSpec(name, tuple(duties[:MAX_DUTIES]), tuple(targets[:MAX_DUTIES]))


def _target_parts(line: str, label: str, amount: str) -> TargetSpec:
    amount = _PER_YEAR.sub("", amount)
    try:
        parsed = pledges.parse_pledge(f"{label} | {amount}")
    except InvalidInput as problem:
        raise InvalidInput("posts.bad_target", line=echo(line)) from problem
    if parsed.target is None:
        raise InvalidInput("posts.bad_target", line=echo(line))
    return TargetSpec(parsed.text, parsed.target, parsed.unit)


def parse_count(text: str) -> float:
    """Read a month's count ("3", "3户次", "三"); raise InvalidInput for anything else."""
    try:
        value = pledges.parse_amount(text, None)
    except InvalidInput as problem:
        if problem.key == "pledges.amount_negative":
            raise InvalidInput("posts.count_negative") from problem
        raise InvalidInput("posts.count_not_number", text=echo(clean_text(text))) from problem
    if value > MAX_COUNT:
        raise InvalidInput("posts.count_too_big", amount=pledges.format_number(value))
    return value
