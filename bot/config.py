"""Typed, validated settings read once from a TOML file.

    settings = load_settings(Path("config.toml"), environ=os.environ)
    settings.telegram.api_base_url

Every setting has a default except the token, which may also come from the
BRANCHBOT_TOKEN environment variable.  A bad value stops start-up with one
line naming the key, the value found and the form expected (ConfigError).
The token is masked in every repr so it cannot leak into logs.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import _MISSING, ConfigError

__all__ = [
    "DEFAULT_API_BASE_URL",
    "DEFAULT_TIMEZONE",
    "TOKEN_ENV",
    "BotSettings",
    "DeliverySettings",
    "DigestSettings",
    "GeneralSettings",
    "InviteSettings",
    "PledgeSettings",
    "Settings",
    "StorageSettings",
    "StructureSettings",
    "StudySettings",
    "TelegramSettings",
    "WhereaboutsSettings",
    "is_postgres_url",
    "load_settings",
    "parse_settings",
    "storage_location",
]

TOKEN_ENV = "BRANCHBOT_TOKEN"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_API_BASE_FILE_URL = "https://api.telegram.org/file/bot"
DEFAULT_TIMEZONE = "Asia/Shanghai"
LANGUAGES = ("zh", "en")
# fullmatch, not `$`: `$` also matches before a trailing newline, and a token
# read with its newline made httpx fail later with the token in a traceback.
_TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{10,}")
# What Telegram accepts as a webhook's secret_token.
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """How to reach the Bot API."""

    token: str | None = field(default=None, repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    api_base_file_url: str = DEFAULT_API_BASE_FILE_URL
    mode: str = "polling"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # None in webhook mode: a random one is made at each start (bot.app).
    webhook_secret: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        masked = "None" if self.token is None else "'***'"
        return (
            f"TelegramSettings(token={masked}, api_base_url={self.api_base_url!r}, "
            f"mode={self.mode!r}, webhook_url={self.webhook_url!r})"
        )


@dataclass(frozen=True, slots=True)
class BotSettings:
    """One bot of a deployment (`[[bots]]`): its name, its token, the unit it serves.

    The name is what `people.bot` and `outbox.bot` hold; '' is the one default
    bot of `[telegram].token` when no `[[bots]]` are listed.  `unit` is a unit
    key as in the organisation file (`branchbot org import`), checked against
    the database at start; None for the default bot (it serves everything).
    """

    name: str
    token: str | None = field(default=None, repr=False)
    unit: str | None = None
    # The environment variable the token comes from.  A bot whose variable is
    # not set has no token: commands that never talk to Telegram (org, db) and
    # a `run --bots` that leaves it out do not need one; serving it does.
    token_env: str | None = None

    def __repr__(self) -> str:
        masked = "None" if self.token is None else "'***'"
        return f"BotSettings(name={self.name!r}, token={masked}, unit={self.unit!r})"

    def missing_token(self) -> ConfigError:
        """Return the error for serving this bot without its token."""
        if self.token_env is not None:
            return ConfigError(
                f'[[bots]] "{self.name}".token_env ({self.token_env})',
                _MISSING,
                "a set environment variable holding the token",
            )
        return ConfigError(f'[[bots]] "{self.name}".token', _MISSING, "a bot token")


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where the data lives: a SQLite file path (default) or a postgresql:// URL.

    `[storage].url` chooses the engine (`sqlite:///path`, a plain path, or
    `postgresql://user@host/db`); the older `[storage].database` key still
    names a SQLite file.  Both end up in `database`, which storage.db's
    open_database() dispatches on, so every entry point opens either engine.
    """

    database: str = "branchbot.sqlite3"

    @property
    def is_postgres(self) -> bool:
        """Tell whether the store is a PostgreSQL server rather than a SQLite file."""
        return is_postgres_url(self.database)


def is_postgres_url(location: str) -> bool:
    """Tell whether a storage location names a PostgreSQL server."""
    return location.startswith(("postgresql://", "postgres://"))


def storage_location(url: str) -> str:
    """Turn a `[storage].url` into what open_database takes: a file path or a postgresql URL."""
    if is_postgres_url(url):
        return url
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):] or ":memory:"
    if url.startswith("sqlite://"):
        return url[len("sqlite://"):] or ":memory:"
    if "://" in url:
        raise ValueError(url)
    return url


@dataclass(frozen=True, slots=True)
class GeneralSettings:
    """Organisation-wide defaults."""

    default_timezone: str = DEFAULT_TIMEZONE
    default_language: str = "zh"
    admins: tuple[int, ...] = ()
    log_level: str = "INFO"


@dataclass(frozen=True, slots=True)
class StructureSettings:
    """The structure rule: branch size versus committee size (seed defaults)."""

    joint_below: int = 3
    small_max: int = 8
    small_committee: int = 0
    large_committee: int = 2


@dataclass(frozen=True, slots=True)
class InviteSettings:
    """Defaults for a secretary's invite links."""

    expiry_days: int = 7
    max_uses: int = 50


@dataclass(frozen=True, slots=True)
class StudySettings:
    """When and how often study reminders go out."""

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    elderly_start: time = time(9, 0)
    elderly_end: time = time(18, 0)
    max_followups: int = 2
    followup_hours: int = 24
    snooze_minutes: int = 120


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """Pacing and recovery of every scheduled send."""

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: int = 20
    max_attempts: int = 5
    grace_hours: int = 12
    tick_seconds: float = 30.0
    # How long a send waits for Telegram's answer before its outcome is unknown,
    # and when such an 'uncertain' message may be sent once more (bot.delivery).
    send_timeout_seconds: float = 5.0
    uncertain_retry_minutes: int = 30
    # Sends in flight at once: bot.delivery picks k ≈ rate × round trip + 1
    # from the measured round trip, never above this cap.
    max_in_flight: int = 12
    # Sent (or otherwise closed) outbox rows older than this keep only their
    # key, kind, dates and outcome: text, keyboard, photo and chat id are dropped.
    retention_days: int = 30
    # Bot API allow_paid_broadcast: up to 1000 messages/s for 0.1 Telegram Star
    # per message beyond the free limit, from the bot's balance.  Off: ~30/s.
    paid_broadcast: bool = False
    paid_per_second: float = 1000.0

    @property
    def send_per_second(self) -> float:
        """Return the overall rate delivery paces to (the paid rate when paid broadcasts are on)."""
        return self.paid_per_second if self.paid_broadcast else self.global_per_second


@dataclass(frozen=True, slots=True)
class PledgeSettings:
    """The yearly pledge cycle."""

    start_month: int = 1
    start_day: int = 15
    report_day: int = 25
    max_followups: int = 2
    # A member who joins on or after this day (month, day) makes pledges from
    # the next year on: a year that is nearly over leaves nothing to pledge.
    late_join_month: int = 11
    late_join_day: int = 1
    # 评诺: this many days after rating opens the secretary rates a pledge the
    # member has not rated themselves (the year's record must not wait on it).
    secretary_rates_after_days: int = 14

    @property
    def late_join_cutoff(self) -> tuple[int, int]:
        """Return (month, day) from which a new member's pledges start the next year."""
        return (self.late_join_month, self.late_join_day)


@dataclass(frozen=True, slots=True)
class WhereaboutsSettings:
    """Mobile members' check-ins and the silence marks before lost contact."""

    interval_days: int = 30
    warn_days: tuple[int, ...] = (90, 150)
    lost_days: int = 180
    # The search ladder before the warnings: helpers are asked, then the secretary calls.
    ask_helpers_days: int = 30
    call_task_days: int = 60


@dataclass(frozen=True, slots=True)
class HouseholdSettings:
    """Pairing with households (结对帮扶): when a member is gently reminded to visit."""

    reminder_days: int = 30  # days without a visit before the member is reminded, once per gap


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """When secretaries get their weekly digest (their local time)."""

    weekday: int = 1  # ISO weekday, 1 = Monday
    hour: int = 8
    include_committee: bool = False


# Branch life's expected rhythm (issue 12): meeting kind -> monthly | quarterly | yearly | none.
MEETING_KINDS = ("assembly", "committee", "group", "lecture", "theme_day", "training")
MEETING_RHYTHMS = ("monthly", "quarterly", "yearly", "none")
DEFAULT_MEETING_RHYTHM: dict[str, str] = {
    "theme_day": "monthly", "committee": "monthly", "group": "monthly",
    "assembly": "quarterly", "lecture": "quarterly", "training": "none",
}


@dataclass(frozen=True, slots=True)
class MeetingSettings:
    """Branch life: the rhythm per kind of branch, the yearly 学时 target, when to confirm."""

    # Branch kind ("default" for any other) -> meeting kind -> rhythm.
    rhythm: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: {"default": dict(DEFAULT_MEETING_RHYTHM)}
    )
    hours_target: float = 32.0
    confirm_after_hours: int = 2  # "请确认到会情况" this long after the start

    def rhythm_for(self, branch_kind: str) -> dict[str, str]:
        """Return the rhythm of a kind of branch: its own table over the default one."""
        return {**self.rhythm.get("default", DEFAULT_MEETING_RHYTHM),
                **self.rhythm.get(branch_kind, {})}


def _meetings(raw: Mapping[str, Any]) -> MeetingSettings:
    section = _Section(raw, "meetings")
    hours_target = section.number("hours_target", 32.0, 0.0, 1000.0)
    confirm = section.integer("confirm_after_hours", 2, 0, 72)
    tables = section._get("rhythm", {})
    section.reject_unknown()
    if not isinstance(tables, Mapping):
        raise ConfigError("[meetings].rhythm", tables, "a table of branch kinds")
    rhythm: dict[str, dict[str, str]] = {"default": dict(DEFAULT_MEETING_RHYTHM)}
    for branch_kind, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"[meetings.rhythm].{branch_kind}", table, "a table")
        for kind, every in table.items():
            if kind not in MEETING_KINDS or every not in MEETING_RHYTHMS:
                raise ConfigError(f"[meetings.rhythm.{branch_kind}].{kind}", every,
                                  "a meeting kind set to " + ", ".join(MEETING_RHYTHMS))
        rhythm.setdefault(branch_kind, {}).update(table)
    return MeetingSettings(rhythm=rhythm, hours_target=hours_target, confirm_after_hours=confirm)


@dataclass(frozen=True, slots=True)
class Settings:
    """All settings, one frozen object per TOML section."""

    telegram: TelegramSettings = TelegramSettings()
    storage: StorageSettings = StorageSettings()
    general: GeneralSettings = GeneralSettings()
    structure: StructureSettings = StructureSettings()
    invites: InviteSettings = InviteSettings()
    study: StudySettings = StudySettings()
    delivery: DeliverySettings = DeliverySettings()
    pledges: PledgeSettings = PledgeSettings()
    whereabouts: WhereaboutsSettings = WhereaboutsSettings()
    digest: DigestSettings = DigestSettings()
    meetings: MeetingSettings = MeetingSettings()
    households: HouseholdSettings = HouseholdSettings()
    # `[[bots]]`: several tokens in one deployment; empty means the one default bot.
    bots: tuple[BotSettings, ...] = ()

    @property
    def served_bots(self) -> tuple[BotSettings, ...]:
        """Return the deployment's bots: the `[[bots]]`, or the default bot named ''."""
        return self.bots or (BotSettings(name="", token=self.telegram.token),)

    def is_admin(self, user_id: int) -> bool:
        """Tell whether a Telegram user id is listed as an admin."""
        return user_id in self.general.admins


class _Section:
    """Reads typed values out of one TOML table, naming `[section].key` on error."""

    def __init__(self, raw: Mapping[str, Any], name: str) -> None:
        table = raw.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{name}]", table, "a table")
        self._table = table
        self._name = name
        self._known: set[str] = set()

    def _key(self, key: str) -> str:
        return f"[{self._name}].{key}"

    def _get(self, key: str, default: Any) -> Any:
        self._known.add(key)
        return self._table.get(key, default)

    def string(self, key: str, default: str | None) -> Any:
        value = self._get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(self._key(key), value, "a non-empty string")
        return value

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self._get(key, default)
        if value not in options:
            raise ConfigError(self._key(key), value, "one of " + ", ".join(options))
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(self._key(key), value, f"an integer from {low} to {high}")
        return value

    def number(self, key: str, default: float, low: float, high: float = 100_000.0) -> float:
        value = self._get(key, default)
        # TOML has nan and inf literals; either one later broke every tick.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise ConfigError(self._key(key), value, f"a number from {low:g} to {high:g}")
        return float(value)

    def url(self, key: str, default: str | None, schemes: tuple[str, ...]) -> Any:
        value = self.string(key, default)
        if value is not None and not _is_url(value, schemes):
            form = "http(s)" if schemes == ("http", "https") else "/".join(schemes)
            raise ConfigError(self._key(key), value, f"an absolute {form} URL")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(self._key(key), value, "true or false")
        return value

    def clock_time(self, key: str, default: time) -> time:
        value = self._get(key, default.strftime("%H:%M"))
        if isinstance(value, time):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value):
            hour, minute = map(int, value.split(":"))
            if hour < 24 and minute < 60:
                return time(hour, minute)
        raise ConfigError(self._key(key), value, 'a time of day "HH:MM"')

    def int_list(self, key: str, default: tuple[int, ...], low: int) -> tuple[int, ...]:
        value = self._get(key, list(default))
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= low for v in value
        ):
            raise ConfigError(self._key(key), value, f"a list of integers of at least {low}")
        return tuple(value)

    def timezone(self, key: str, default: str) -> str:
        value = self._get(key, default)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
            raise ConfigError(
                self._key(key), value, 'an IANA time zone such as "Asia/Shanghai"'
            ) from None
        return value

    def reject_unknown(self) -> None:
        unknown = sorted(set(self._table) - self._known)
        if unknown:
            raise ConfigError(self._key(unknown[0]), self._table[unknown[0]], "no such setting")


def _is_url(value: str, schemes: tuple[str, ...]) -> bool:
    """Tell whether `value` is an absolute URL with one of `schemes` and a host."""
    if any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a port like ":x"
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.hostname)


def _telegram(raw: Mapping[str, Any], environ: Mapping[str, str]) -> TelegramSettings:
    section = _Section(raw, "telegram")
    token = section._get("token", None) or environ.get(TOKEN_ENV) or None
    if token is not None and not (isinstance(token, str) and _TOKEN_RE.fullmatch(token)):
        # Never echo the token itself, even a malformed one.
        raise ConfigError(
            "[telegram].token", "<hidden>",
            'a bot token like "123456:ABC-DEF..." with no spaces or line breaks',
        )
    # http is allowed for a self-hosted Bot API server on the same host.
    api_base_url = section.url("api_base_url", DEFAULT_API_BASE_URL, ("http", "https"))
    file_url = section.url("api_base_file_url", DEFAULT_API_BASE_FILE_URL, ("http", "https"))
    mode = section.choice("mode", "polling", ("polling", "webhook"))
    # Telegram posts updates only to https; a reverse proxy ends TLS in front of the bot.
    webhook_url = section.url("webhook_url", None, ("https",))
    if mode == "webhook" and webhook_url is None:
        raise ConfigError("[telegram].webhook_url", _MISSING, "a public https URL in webhook mode")
    webhook_secret = section._get("webhook_secret", None)
    if webhook_secret is not None and not (
        isinstance(webhook_secret, str) and _WEBHOOK_SECRET_RE.fullmatch(webhook_secret)
    ):
        # Like the token, never echoed.
        raise ConfigError(
            "[telegram].webhook_secret", "<hidden>", "1 to 256 characters from A-Z a-z 0-9 _ -"
        )
    settings = TelegramSettings(
        token=token,
        api_base_url=api_base_url,
        api_base_file_url=file_url,
        mode=mode,
        webhook_url=webhook_url,
        webhook_listen=section.string("webhook_listen", "127.0.0.1"),
        webhook_port=section.integer("webhook_port", 8443, 1, 65535),
        webhook_secret=webhook_secret,
    )
    section.reject_unknown()
    return settings


# Short ascii: the name is stored on every person and outbox row and typed in `--bots`.
_BOT_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_TOKEN_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _bots(raw: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[BotSettings, ...]:
    """Read `[[bots]]`: each a unique name, a token (or the env var holding it) and a unit key."""
    tables = raw.get("bots", [])
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise ConfigError("[[bots]]", "<not a list of tables>", "[[bots]] tables")
    bots: list[BotSettings] = []
    tokens: set[str] = set()
    for number, table in enumerate(tables, start=1):
        where = f"[[bots]] #{number}"
        unknown = sorted(set(table) - {"name", "token", "token_env", "unit"})
        if unknown:
            # A misspelt "tokne" may hold a token: never echo the value.
            raise ConfigError(f"{where}.{unknown[0]}", "<hidden>", "no such setting")
        name = table.get("name", _MISSING)
        if not (isinstance(name, str) and _BOT_NAME_RE.fullmatch(name)):
            raise ConfigError(
                f"{where}.name", name, "a short name of a-z 0-9 _ - (up to 32), unique"
            )
        where = f'[[bots]] "{name}"'
        if any(bot.name == name for bot in bots):
            raise ConfigError(f"{where}.name", name, "a name no other [[bots]] entry has")
        token = table.get("token")
        token_env = table.get("token_env")
        if (token is None) == (token_env is None):
            raise ConfigError(
                f"{where}.token", _MISSING if token is None else "<hidden>",
                "either token or token_env (the environment variable holding it), not both",
            )
        key = f"{where}.token"
        if token_env is not None:
            if not (isinstance(token_env, str) and _TOKEN_ENV_RE.fullmatch(token_env)):
                raise ConfigError(f"{where}.token_env", token_env, "an environment variable name")
            key = f"{where}.token_env ({token_env})"
            token = environ.get(token_env) or None
        if token is None:
            pass  # checked when the bot is served (BotSettings.missing_token)
        elif not (isinstance(token, str) and _TOKEN_RE.fullmatch(token)):
            # Like [telegram].token: never echoed, even malformed.
            raise ConfigError(
                key, "<hidden>",
                'a bot token like "123456:ABC-DEF..." with no spaces or line breaks',
            )
        if token is not None and token in tokens:
            raise ConfigError(key, "<hidden>", "a token no other [[bots]] entry uses")
        if token is not None:
            tokens.add(token)
        unit = table.get("unit", _MISSING)
        if not (isinstance(unit, str) and unit.strip()):
            raise ConfigError(f"{where}.unit", unit, "the key of the unit it serves (org file)")
        bots.append(BotSettings(name=name, token=token, unit=unit, token_env=token_env))
    return tuple(bots)


def _general(raw: Mapping[str, Any]) -> GeneralSettings:
    section = _Section(raw, "general")
    admins = section.int_list("admins", (), 1)
    settings = GeneralSettings(
        default_timezone=section.timezone("default_timezone", DEFAULT_TIMEZONE),
        default_language=section.choice("default_language", "zh", LANGUAGES),
        admins=admins,
        log_level=section.choice("log_level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
    )
    section.reject_unknown()
    return settings


def parse_settings(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from a parsed TOML mapping, raising ConfigError on the first bad key."""
    environ = environ or {}
    known = {
        "telegram",
        "storage",
        "general",
        "structure",
        "invites",
        "study",
        "delivery",
        "pledges",
        "whereabouts",
        "digest",
        "meetings",
        "households",
        "bots",
    }
    for name in raw:
        if name not in known:
            raise ConfigError(f"[{name}]", "a table", "no such section")

    storage = _Section(raw, "storage")
    url = storage.string("url", None)
    database = storage.string("database", None)
    if url is not None and database is not None:
        raise ConfigError("[storage].url", url, "either url or database, not both")
    if url is not None:
        try:
            database = storage_location(url)
        except ValueError:
            raise ConfigError(
                "[storage].url", url, "sqlite:///PATH, a file path, or postgresql://…"
            ) from None
    storage_settings = StorageSettings(database=database or "branchbot.sqlite3")
    storage.reject_unknown()

    s = _Section(raw, "structure")
    structure = StructureSettings(
        joint_below=s.integer("joint_below", 3, 1, 1000),
        small_max=s.integer("small_max", 8, 1, 10000),
        small_committee=s.integer("small_committee", 0, 0, 50),
        large_committee=s.integer("large_committee", 2, 0, 50),
    )
    if structure.small_max < structure.joint_below:
        raise ConfigError(
            "[structure].small_max",
            structure.small_max,
            f"an integer of at least [structure].joint_below ({structure.joint_below})",
        )
    s.reject_unknown()

    i = _Section(raw, "invites")
    invites = InviteSettings(
        expiry_days=i.integer("expiry_days", 7, 1, 365),
        max_uses=i.integer("max_uses", 50, 1, 100000),
    )
    i.reject_unknown()

    st = _Section(raw, "study")
    study = StudySettings(
        quiet_start=st.clock_time("quiet_start", time(21, 0)),
        quiet_end=st.clock_time("quiet_end", time(8, 0)),
        elderly_start=st.clock_time("elderly_start", time(9, 0)),
        elderly_end=st.clock_time("elderly_end", time(18, 0)),
        max_followups=st.integer("max_followups", 2, 0, 10),
        followup_hours=st.integer("followup_hours", 24, 1, 24 * 14),
        snooze_minutes=st.integer("snooze_minutes", 120, 5, 24 * 60),
    )
    if study.elderly_start >= study.elderly_end:
        raise ConfigError(
            "[study].elderly_end",
            study.elderly_end.strftime("%H:%M"),
            "a time after [study].elderly_start",
        )
    st.reject_unknown()

    d = _Section(raw, "delivery")
    delivery = DeliverySettings(
        global_per_second=d.number("global_per_second", 30.0, 0.1, 1000.0),
        per_chat_per_second=d.number("per_chat_per_second", 1.0, 0.01, 1000.0),
        per_group_per_minute=d.integer("per_group_per_minute", 20, 1, 1000),
        max_attempts=d.integer("max_attempts", 5, 1, 50),
        grace_hours=d.integer("grace_hours", 12, 0, 24 * 30),
        tick_seconds=d.number("tick_seconds", 30.0, 0.05, 24 * 3600.0),
        send_timeout_seconds=d.number("send_timeout_seconds", 5.0, 0.05),
        uncertain_retry_minutes=d.integer("uncertain_retry_minutes", 30, 1, 24 * 60),
        max_in_flight=d.integer("max_in_flight", 12, 1, 64),
        retention_days=d.integer("retention_days", 30, 1, 3650),
        paid_broadcast=d.boolean("paid_broadcast", False),
        paid_per_second=d.number("paid_per_second", 1000.0, 0.1, 1000.0),
    )
    d.reject_unknown()

    p = _Section(raw, "pledges")
    pledges = PledgeSettings(
        start_month=p.integer("start_month", 1, 1, 12),
        start_day=p.integer("start_day", 15, 1, 28),
        report_day=p.integer("report_day", 25, 1, 28),
        max_followups=p.integer("max_followups", 2, 0, 10),
        late_join_month=p.integer("late_join_month", 11, 1, 12),
        late_join_day=p.integer("late_join_day", 1, 1, 28),
        secretary_rates_after_days=p.integer("secretary_rates_after_days", 14, 0, 60),
    )
    p.reject_unknown()

    w = _Section(raw, "whereabouts")
    whereabouts = WhereaboutsSettings(
        interval_days=w.integer("interval_days", 30, 1, 365),
        warn_days=w.int_list("warn_days", (90, 150), 1),
        lost_days=w.integer("lost_days", 180, 1, 3650),
        ask_helpers_days=w.integer("ask_helpers_days", 30, 1, 3650),
        call_task_days=w.integer("call_task_days", 60, 1, 3650),
    )
    if whereabouts.call_task_days < whereabouts.ask_helpers_days:
        raise ConfigError(
            "[whereabouts].call_task_days",
            whereabouts.call_task_days,
            f"at least [whereabouts].ask_helpers_days ({whereabouts.ask_helpers_days})",
        )
    if any(mark >= whereabouts.lost_days for mark in whereabouts.warn_days):
        raise ConfigError(
            "[whereabouts].warn_days",
            list(whereabouts.warn_days),
            f"marks below [whereabouts].lost_days ({whereabouts.lost_days})",
        )
    w.reject_unknown()

    g = _Section(raw, "digest")
    digest = DigestSettings(
        weekday=g.integer("weekday", 1, 1, 7),
        hour=g.integer("hour", 8, 0, 23),
        include_committee=g.boolean("include_committee", False),
    )
    g.reject_unknown()

    hh = _Section(raw, "households")
    households = HouseholdSettings(reminder_days=hh.integer("reminder_days", 30, 1, 365))
    hh.reject_unknown()

    telegram = _telegram(raw, environ)
    bots = _bots(raw, environ)
    if bots:
        token_in_file = isinstance(raw.get("telegram"), Mapping) and "token" in raw["telegram"]
        if token_in_file:
            # Which bot would it be?  [[bots]] names every token of the deployment.
            raise ConfigError(
                "[telegram].token", "<hidden>", "no token here when [[bots]] lists the tokens"
            )
        # BRANCHBOT_TOKEN (if set) is not used: [[bots]] names every token.
        telegram = replace(telegram, token=None)
    return Settings(
        telegram=telegram,
        bots=bots,
        storage=storage_settings,
        general=_general(raw),
        structure=structure,
        invites=invites,
        study=study,
        delivery=delivery,
        pledges=pledges,
        whereabouts=whereabouts,
        digest=digest,
        meetings=_meetings(raw),
        households=households,
    )


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the TOML file at `path` (None: defaults plus the environment)."""
    if path is None:
        return parse_settings({}, environ)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("config file", str(path), "an existing TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config file", str(path), f"valid TOML ({exc})") from None
    return parse_settings(raw, environ)
