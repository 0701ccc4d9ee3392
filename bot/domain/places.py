"""Place names and shared locations to IANA time zones, offline.

    find_place("深圳市")              # Place(key="shenzhen", timezone="Asia/Shanghai", ...)
    find_place("ＭＡＤＲＩＤ")          # Place(key="madrid", timezone="Europe/Madrid", ...)
    suggest_places("shen")           # [Place(key="shenzhen", ...), Place(key="shenyang", ...)]
    await timezone_for_location_async(40.4168, -3.7038)  # "Europe/Madrid"
    nearest_place(40.42, -3.70)      # Place(key="madrid", ...)

The table lives in bot/data/cities.toml and is read once, on first use.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import threading
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.free_text import clean_text

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder

__all__ = [
    "DEFAULT_TIMEZONE",
    "Place",
    "all_places",
    "find_place",
    "is_place_in_zone",
    "nearest_place",
    "normalize_place_name",
    "place_by_key",
    "popular_places",
    "suggest_places",
    "timezone_for_location",
    "timezone_for_location_async",
    "warm_up_timezone_finder",
]

# The county is in China; when nothing better is known, Beijing time is right
# for most members and is the time branch meetings are announced in.
DEFAULT_TIMEZONE = "Asia/Shanghai"

# Decision (see the Xinjiang note in cities.toml): the bot schedules by the
# official Beijing time everywhere in China, so a location in Xinjiang gets
# the same zone as typing its city name.
_OFFICIAL_ZONE = {
    "Asia/Urumqi": "Asia/Shanghai",
    "Asia/Kashgar": "Asia/Shanghai",
}

_POPULAR_LIMIT = 8
_EARTH_RADIUS_KM = 6371.0088

# Separators people put inside names ("New York", "Xi'an", "Ho-Chi-Minh",
# "Frankfurt a.M."); dropping them lets every spacing variant match.
_SEPARATORS = re.compile(r"[\s\-_'’‘`\".·・‧]+")
# At most one suffix is removed, so a name is never cut twice.
_SUFFIXES = ("特别行政区", "自治区", "city", "市", "省")
# Province prefixes the user may put before a city: "广东省深圳", "广东深圳".
_PROVINCE_SUFFIXES = ("", "省", "自治区")


@dataclass(frozen=True)
class Place:
    """A city a member may be in, with its IANA time zone."""

    key: str
    name_zh: str
    name_en: str
    country: str
    timezone: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class _Catalogue:
    """The parsed table with its lookup indexes."""

    places: tuple[Place, ...]
    by_key: Mapping[str, Place]
    by_alias: Mapping[str, Place]
    # Normalised aliases per place, in table order, for suggestions.
    aliases: tuple[tuple[Place, tuple[str, ...]], ...]
    province_of: Mapping[str, str]
    # Normalised province prefix -> short province name, longest first.
    province_prefixes: tuple[tuple[str, str], ...]
    popular: tuple[Place, ...]


def normalize_place_name(text: str) -> str:
    """Fold a typed place name to the form aliases are matched in."""
    # Invisible characters (a zero-width space, a bidi override) must not hide a
    # known city; NFKC turns full-width "ＭＡＤＲＩＤ" / "深圳　" into plain ASCII and spaces.
    folded = unicodedata.normalize("NFKC", clean_text(text)).casefold()
    # Drop accents so "São Paulo" and "Sao Paulo" are the same name.
    decomposed = unicodedata.normalize("NFKD", folded)
    folded = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    folded = _SEPARATORS.sub("", folded)
    for suffix in _SUFFIXES:
        # Keep at least two characters, so "呼市" and "乌市" stay themselves
        # rather than turning into single characters that match too much.
        if folded.endswith(suffix) and len(folded) - len(suffix) >= 2:
            folded = folded[: -len(suffix)]
            break
    return folded


def all_places() -> tuple[Place, ...]:
    """Return every place in the table, in table order."""
    return _catalogue().places


def place_by_key(key: str) -> Place | None:
    """Return the place with this stable key, or None."""
    return _catalogue().by_key.get(key)


def find_place(text: str) -> Place | None:
    """Return the place a member typed, or None when it is not in the table."""
    catalogue = _catalogue()
    place = _find_exact(catalogue, text)
    if place is None and "," in unicodedata.normalize("NFKC", text):
        # "Madrid, Spain" / "马德里，西班牙": the city comes first.
        first = unicodedata.normalize("NFKC", text).split(",", 1)[0]
        place = _find_exact(catalogue, first)
    return place


def is_place_in_zone(place: str | None, zone_name: str) -> bool:
    """Tell whether a stored place is a known place in this zone (so a zone alone keeps it).

    A member who gives only a zone has not said where in it they are: a place
    elsewhere is no longer true, and the city a zone is named after is only a
    guess (Asia/Shanghai covers all of China).
    """
    found = find_place(place) if place else None
    return found is not None and found.timezone == zone_name


def suggest_places(text: str, limit: int = 5) -> list[Place]:
    """Return up to `limit` places whose names start with or contain the text."""
    query = normalize_place_name(text)
    if not query or limit <= 0:
        return []
    catalogue = _catalogue()
    # "广东" / "广东省" alone: offer that province's cities.
    province = dict(catalogue.province_prefixes).get(query)
    best: dict[str, tuple[int, int]] = {}
    for index, (place, aliases) in enumerate(catalogue.aliases):
        rank = min((_match_rank(query, alias) for alias in aliases), default=4)
        if province is not None and catalogue.province_of.get(place.key) == province:
            rank = min(rank, 2)
        if rank < 4:
            best[place.key] = (rank, index)
    ordered = sorted(best.items(), key=lambda item: item[1])
    return [catalogue.by_key[key] for key, _ in ordered[:limit]]


def popular_places(country: str | None = None) -> list[Place]:
    """Return about eight common destinations for buttons, optionally in one country."""
    catalogue = _catalogue()
    if country is None:
        return list(catalogue.popular[:_POPULAR_LIMIT])
    code = country.strip().upper()
    # The table's own order is by importance too, so it fills up a country
    # whose cities are not all on the popular list.
    chosen = [p for p in catalogue.popular if p.country == code]
    chosen += [p for p in catalogue.places if p.country == code and p not in chosen]
    return chosen[:_POPULAR_LIMIT]


def nearest_place(latitude: float, longitude: float) -> Place:
    """Return the table place closest to a point (great-circle distance)."""
    lat, lon = _check_coordinates(latitude, longitude)
    return min(
        _catalogue().places,
        key=lambda place: _haversine_km(lat, lon, place.latitude, place.longitude),
    )


def timezone_for_location(latitude: float, longitude: float) -> str:
    """Return the IANA zone at a point; blocking, the first call loads data."""
    lat, lon = _check_coordinates(latitude, longitude)
    # timezone_at_land answers None at sea (it would say "Etc/GMT+3"); a member
    # sharing a location at sea is better served by the nearest city's zone.
    found = _finder().timezone_at_land(lng=lon, lat=lat)
    candidates = []
    if found is not None:
        candidates.append(_OFFICIAL_ZONE.get(found, found))
    candidates.append(nearest_place(lat, lon).timezone)
    for zone in candidates:
        # The finder's data and the installed tzdata are released separately;
        # never hand out a name zoneinfo cannot load.
        if _is_valid_zone(zone):
            return zone
    return DEFAULT_TIMEZONE


async def timezone_for_location_async(latitude: float, longitude: float) -> str:
    """Return the IANA zone at a point without blocking the event loop."""
    # Validate here so bad input fails fast, without a thread hop.
    lat, lon = _check_coordinates(latitude, longitude)
    return await asyncio.to_thread(timezone_for_location, lat, lon)


def warm_up_timezone_finder() -> None:
    """Load the time-zone polygons now (blocking), so the first lookup is quick."""
    _finder()


# --- lookup helpers ---------------------------------------------------------


def _find_exact(catalogue: _Catalogue, text: str) -> Place | None:
    """Match a whole alias, or a province prefix followed by a whole alias."""
    key = normalize_place_name(text)
    if not key:
        return None
    place = catalogue.by_alias.get(key)
    if place is not None:
        return place
    for prefix, province in catalogue.province_prefixes:
        if key.startswith(prefix) and len(key) > len(prefix):
            candidate = catalogue.by_alias.get(normalize_place_name(key[len(prefix) :]))
            # Only accept "广东深圳", not "浙江深圳": a wrong province means
            # the member meant something we do not know.
            if candidate is not None and catalogue.province_of.get(candidate.key) == province:
                return candidate
    return None


def _match_rank(query: str, alias: str) -> int:
    """Rank how well an alias suits a partial query: lower is better, 4 is no match."""
    if alias == query:
        return 0
    if alias.startswith(query):
        return 1
    if query in alias:
        return 2
    # "深圳宝安区" or "广东东莞长安镇" contain a known city; short aliases like
    # "la" or "京" would match almost anything, so they must be long enough.
    min_len = 3 if alias.isascii() else 2
    if len(alias) >= min_len and alias in query:
        return 3
    return 4


def _check_coordinates(latitude: float, longitude: float) -> tuple[float, float]:
    """Return the coordinates as floats, or raise ValueError when out of range."""
    lat, lon = float(latitude), float(longitude)
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude must be between -90 and 90, got {latitude!r}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude must be between -180 and 180, got {longitude!r}")
    return lat, lon


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@functools.cache
def _is_valid_zone(name: str) -> bool:
    """Tell whether zoneinfo can load this zone name."""
    try:
        ZoneInfo(name)
    # A directory name such as "America" raises IsADirectoryError (an OSError).
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# --- the time-zone finder -----------------------------------------------------

_finder_instance: TimezoneFinder | None = None
_finder_lock = threading.Lock()


def _finder() -> TimezoneFinder:
    """Return the shared TimezoneFinder, building it on first use."""
    global _finder_instance
    # Lookups run in worker threads (timezone_for_location_async); the lock
    # keeps two first calls from both paying for construction.  Lookups on a
    # built finder are read-only and safe to run concurrently.
    if _finder_instance is None:
        with _finder_lock:
            if _finder_instance is None:
                # Imported here: it pulls in numpy and polygon data, which
                # importing the domain package should not pay for.
                from timezonefinder import TimezoneFinder

                _finder_instance = TimezoneFinder()
    return _finder_instance


# --- loading the table --------------------------------------------------------


@functools.cache
def _catalogue() -> _Catalogue:
    """Read and index bot/data/cities.toml, once."""
    source = resources.files("bot") / "data" / "cities.toml"
    return _parse_catalogue(tomllib.loads(source.read_text(encoding="utf-8")))


def _parse_catalogue(data: Mapping[str, Any]) -> _Catalogue:
    """Build the indexes from parsed TOML; raise ValueError on a bad table."""
    rows = data.get("place")
    if not isinstance(rows, list) or not rows:
        raise ValueError("cities.toml has no [[place]] entries")

    places: list[Place] = []
    by_key: dict[str, Place] = {}
    by_alias: dict[str, Place] = {}
    aliases: list[tuple[Place, tuple[str, ...]]] = []
    province_of: dict[str, str] = {}

    for row in rows:
        place = _parse_place(row)
        if place.key in by_key:
            raise ValueError(f"duplicate place key {place.key!r}")
        names = _normalised_aliases(
            [place.key, place.name_zh, place.name_en, *row.get("aliases", [])]
        )
        for alias in names:
            other = by_alias.setdefault(alias, place)
            if other is not place:
                raise ValueError(f"alias {alias!r} names both {other.key!r} and {place.key!r}")
        if province := row.get("province"):
            province_of[place.key] = str(province)
        places.append(place)
        by_key[place.key] = place
        aliases.append((place, names))

    long_names: Mapping[str, list[str]] = data.get("province_long_names", {})
    prefixes: dict[str, str] = {}
    for province in set(province_of.values()):
        forms = [province + suffix for suffix in _PROVINCE_SUFFIXES]
        forms += long_names.get(province, [])
        for form in forms:
            # Not normalize_place_name: that would cut "广东省" back to "广东"
            # and lose the longer prefix.
            prefixes[unicodedata.normalize("NFKC", form).casefold()] = province

    popular: list[Place] = []
    for key in data.get("popular", []):
        if key not in by_key:
            raise ValueError(f"popular place {key!r} is not in the table")
        popular.append(by_key[key])

    return _Catalogue(
        places=tuple(places),
        by_key=by_key,
        by_alias=by_alias,
        aliases=tuple(aliases),
        province_of=province_of,
        province_prefixes=tuple(sorted(prefixes.items(), key=lambda kv: -len(kv[0]))),
        popular=tuple(popular),
    )


def _parse_place(row: Mapping[str, Any]) -> Place:
    """Build one Place from a [[place]] row; raise ValueError if a field is missing."""
    try:
        place = Place(
            key=str(row["key"]),
            name_zh=str(row["name_zh"]),
            name_en=str(row["name_en"]),
            country=str(row["country"]),
            timezone=str(row["timezone"]),
            latitude=float(row["lat"]),
            longitude=float(row["lon"]),
        )
    except KeyError as exc:
        raise ValueError(f"place {row.get('key', row)!r} lacks field {exc.args[0]!r}") from None
    if not (len(place.country) == 2 and place.country.isascii() and place.country.isupper()):
        raise ValueError(f"place {place.key!r}: country must be an ISO code, not {place.country!r}")
    _check_coordinates(place.latitude, place.longitude)
    return place


def _normalised_aliases(names: Iterable[str]) -> tuple[str, ...]:
    """Normalise names, dropping empties and repeats but keeping order."""
    return tuple(dict.fromkeys(n for n in map(normalize_place_name, names) if n))
