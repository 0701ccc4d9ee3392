"""Times, dates and zones the way a member would say them, not the way a computer stores them.

    zone_label("zh", "Asia/Shanghai", now)        # "北京时间"
    zone_label("zh", "Europe/Madrid", now)        # "当地时间（比北京时间晚 6 小时）" (7 in winter)
    day_label("zh", date(2026, 4, 5))             # "4月5日（周日）"
    week_label("zh", date(2026, 3, 30), date(2026, 4, 5))   # "3月30日—4月5日"
    clock_label("zh", time(9, 0))                 # "上午9:00"
    moment_label("zh", ts, tz)                    # "4月5日（周日）上午9:00"

An elderly reader should never meet "Asia/Shanghai" or "2026-W14".  IANA
names stay where they are data: the `/me` details line and the ledger.
The words come from the catalogue (`[when]`), so English reads
"Beijing time", "Sun 5 Apr" and "9:00 am".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.domain.localtime import zone
from bot.i18n import t

__all__ = [
    "BEIJING",
    "clock_label",
    "day_label",
    "iso_day_label",
    "moment_label",
    "week_label",
    "zone_label",
]

# The reference every member knows; China has one zone and no daylight saving.
BEIJING = ZoneInfo("Asia/Shanghai")


def _offset_minutes(tz: ZoneInfo, at: datetime) -> int:
    """Return how many minutes `tz` is ahead of Beijing at the instant `at` (DST-aware)."""
    local = at.astimezone(tz).utcoffset()
    beijing = at.astimezone(BEIJING).utcoffset()
    assert local is not None and beijing is not None
    return int((local - beijing).total_seconds() // 60)


def _span(language: str, minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if rest:
        return t(language, "when.hours_minutes", hours=hours, minutes=rest)
    return t(language, "when.hours", hours=hours)


def zone_label(language: str, timezone: str | None, at: int | float | datetime) -> str:
    """Name a zone by its distance from Beijing at `at`, e.g. "北京时间"."""
    moment = at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC)
    difference = _offset_minutes(zone(timezone), moment)
    if difference == 0:
        # Same clock as Beijing (e.g. Singapore): the member reads Beijing times as they are.
        key = "when.beijing" if (timezone or "Asia/Shanghai") in _BEIJING_NAMES else "when.same"
        return t(language, key)
    key = "when.ahead" if difference > 0 else "when.behind"
    return t(language, key, span=_span(language, abs(difference)))


# Zone names that are Beijing time itself (mainland China's IANA aliases).
_BEIJING_NAMES = frozenset({
    "Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC",
})


def day_label(language: str, day: date, *, today: date | None = None) -> str:
    """Return "4月5日（周日）"; the year is added when it is not `today`'s year."""
    weekday = t(language, f"when.weekday.{day.isoweekday()}")
    month = t(language, f"when.month.{day.month}")
    if today is not None and day.year != today.year:
        return t(language, "when.day_year", year=day.year, month=month, day=day.day,
                 weekday=weekday)
    return t(language, "when.day", month=month, day=day.day, weekday=weekday)


def iso_day_label(language: str, iso: str | None, *, today: date | None = None) -> str:
    """Return `day_label` of a stored `YYYY-MM-DD`, or the text unchanged if it is not one."""
    if not iso:
        return ""
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return day_label(language, day, today=today)


def week_label(language: str, first: date, last: date) -> str:
    """Return "3月30日—4月5日" for the days of one week (or any span)."""
    return t(language, "when.week",
             first=t(language, "when.short", month=t(language, f"when.month.{first.month}"),
                     day=first.day),
             last=t(language, "when.short", month=t(language, f"when.month.{last.month}"),
                    day=last.day))


def clock_label(language: str, moment: time) -> str:
    """Return the time of day as people say it: "上午9:00", "晚上8:30" / "9:00 am"."""
    hour = moment.hour
    if hour < 6:
        part = "dawn"
    elif hour < 12:
        part = "morning"
    elif hour < 13:
        part = "noon"
    elif hour < 18:
        part = "afternoon"
    else:
        part = "evening"
    twelve = hour % 12 or 12
    return t(language, f"when.{part}", hour=twelve, hour24=hour, minute=f"{moment.minute:02d}")


def moment_label(
    language: str, timestamp: int | float, tz: ZoneInfo, *, today: date | None = None
) -> str:
    """Return "4月5日（周日）上午9:00" in `tz` for a UTC unix timestamp."""
    local = datetime.fromtimestamp(timestamp, UTC).astimezone(tz)
    return t(language, "when.moment", day=day_label(language, local.date(), today=today),
             clock=clock_label(language, local.time()))
