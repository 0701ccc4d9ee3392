"""Tests for place names and locations to time zones (bot.domain.places)."""

from __future__ import annotations

import asyncio
import tomllib
from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from bot.domain import places
from bot.domain.places import (
    DEFAULT_TIMEZONE,
    Place,
    all_places,
    find_place,
    nearest_place,
    normalize_place_name,
    place_by_key,
    popular_places,
    suggest_places,
    timezone_for_location,
    timezone_for_location_async,
)

MADRID = (40.4168, -3.7038)
NEW_YORK = (40.7128, -74.0060)
SHENZHEN = (22.5431, 114.0579)


def _raw_table() -> dict:
    """Read cities.toml the way the module does, but without its checks."""
    source = resources.files("bot") / "data" / "cities.toml"
    return tomllib.loads(source.read_text(encoding="utf-8"))


def _zone(text: str) -> str | None:
    """Return the zone find_place gives for a typed name."""
    place = find_place(text)
    return None if place is None else place.timezone


# --- find_place ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("深圳", "Asia/Shanghai"),
        ("深圳市", "Asia/Shanghai"),
        ("shenzhen", "Asia/Shanghai"),
        ("Shenzhen City", "Asia/Shanghai"),
        ("  SHENZHEN  ", "Asia/Shanghai"),
        ("ｓｈｅｎｚｈｅｎ", "Asia/Shanghai"),  # full-width letters
        ("深圳　", "Asia/Shanghai"),  # ideographic space
        ("马德里", "Europe/Madrid"),
        ("Madrid", "Europe/Madrid"),
        ("ＭＡＤＲＩＤ", "Europe/Madrid"),
        ("纽约", "America/New_York"),
        ("New York", "America/New_York"),
        ("new-york", "America/New_York"),
        ("NewYork", "America/New_York"),
        ("NYC", "America/New_York"),
        ("香港", "Asia/Hong_Kong"),
        ("香港特别行政区", "Asia/Hong_Kong"),
        ("Hong Kong", "Asia/Hong_Kong"),
        ("澳門", "Asia/Macau"),
        ("臺北市", "Asia/Taipei"),
        ("Xi'an", "Asia/Shanghai"),
        ("xian", "Asia/Shanghai"),
        ("São Paulo", "America/Sao_Paulo"),
        ("sao paulo", "America/Sao_Paulo"),
        ("Ho Chi Minh City", "Asia/Ho_Chi_Minh"),
        ("胡志明市", "Asia/Ho_Chi_Minh"),
        ("Milano", "Europe/Rome"),
        ("普拉托", "Europe/Rome"),
        ("迪拜", "Asia/Dubai"),
        ("东京", "Asia/Tokyo"),
        ("悉尼", "Australia/Sydney"),
        ("Buenos Aires", "America/Argentina/Buenos_Aires"),
        ("Peking", "Asia/Shanghai"),
    ],
)
def test_find_place_maps_names_to_zone(text: str, zone: str) -> None:
    assert _zone(text) == zone


@pytest.mark.parametrize("text", ["乌鲁木齐", "Urumqi", "wulumuqi", "喀什", "Kashgar"])
def test_xinjiang_uses_beijing_time(text: str) -> None:
    assert _zone(text) == "Asia/Shanghai"


def test_find_place_returns_the_right_record() -> None:
    place = find_place("马德里")
    assert place is not None
    assert (place.key, place.name_zh, place.name_en, place.country) == (
        "madrid",
        "马德里",
        "Madrid",
        "ES",
    )
    assert place == find_place("madrid") == place_by_key("madrid")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("广东省深圳市", "shenzhen"),
        ("广东深圳", "shenzhen"),
        ("浙江省义乌市", "yiwu"),
        ("广西壮族自治区南宁市", "nanning"),
        ("新疆维吾尔自治区乌鲁木齐市", "urumqi"),
        ("Madrid, Spain", "madrid"),
        ("马德里，西班牙", "madrid"),
    ],
)
def test_find_place_accepts_province_prefix_and_country_suffix(text: str, key: str) -> None:
    place = find_place(text)
    assert place is not None and place.key == key


@pytest.mark.parametrize(
    "text",
    ["", "   ", "市", "Atlantis", "深", "shen", "浙江深圳", "Madird", "台州x", "taizhou"],
)
def test_unknown_or_partial_names_are_not_guessed(text: str) -> None:
    assert find_place(text) is None


def test_short_names_with_suffix_are_not_cut_to_one_character() -> None:
    assert normalize_place_name("呼市") == "呼市"
    assert find_place("呼市") is not None and find_place("呼市").key == "hohhot"
    assert find_place("呼") is None


def test_normalize_place_name() -> None:
    assert normalize_place_name(" Ｎｅｗ  Ｙｏｒｋ　City ") == "newyork"
    assert normalize_place_name("深圳市") == "深圳"
    assert normalize_place_name("São Paulo") == "saopaulo"


# --- suggest_places -----------------------------------------------------------


def test_suggestions_for_a_prefix() -> None:
    keys = [p.key for p in suggest_places("shen")]
    assert keys[:2] == ["shenzhen", "shenyang"]


def test_suggestions_for_a_chinese_prefix() -> None:
    assert [p.key for p in suggest_places("深")] == ["shenzhen"]
    assert "guangzhou" in [p.key for p in suggest_places("广")]


def test_suggestions_find_a_city_inside_a_longer_address() -> None:
    assert [p.key for p in suggest_places("深圳市宝安区")][:1] == ["shenzhen"]
    assert "dongguan" in [p.key for p in suggest_places("东莞长安镇")]


def test_suggestions_for_a_province_name() -> None:
    keys = [p.key for p in suggest_places("广东省", limit=20)]
    assert keys[:3] == ["shenzhen", "guangzhou", "dongguan"]
    assert all(place_by_key(k).country == "CN" for k in keys)
    assert "xiamen" not in keys
    assert [p.key for p in suggest_places("广西")][:2] == ["guilin", "nanning"]
    assert find_place("广东") is None


def test_suggestions_offer_the_ambiguous_taizhou() -> None:
    assert [p.key for p in suggest_places("taizhou")] == ["taizhou_zj"]


def test_suggestions_respect_limit_and_order() -> None:
    many = suggest_places("a", limit=50)
    assert len(many) > 5
    assert suggest_places("a", limit=3) == many[:3]
    assert suggest_places("a", limit=0) == []


def test_suggestions_for_nonsense_are_empty() -> None:
    assert suggest_places("zzzzqq") == []
    assert suggest_places("") == []
    assert suggest_places("  ") == []


def test_short_aliases_do_not_match_inside_long_text() -> None:
    # "la" (Los Angeles) sits inside "atlanta"; it must not be suggested for it.
    assert "los_angeles" not in [p.key for p in suggest_places("atlanta")]


# --- popular_places -----------------------------------------------------------


def test_popular_places() -> None:
    popular = popular_places()
    keys = [p.key for p in popular]
    assert 6 <= len(popular) <= 8
    assert keys[:3] == ["shenzhen", "guangzhou", "dongguan"]
    assert {"madrid", "dubai"} <= set(keys)


def test_popular_places_in_one_country() -> None:
    italy = popular_places("it")
    assert [p.key for p in italy][:2] == ["milan", "prato"]
    assert {p.country for p in italy} == {"IT"}
    assert "rome" in [p.key for p in italy]
    china = popular_places("CN")
    assert len(china) == 8 and {p.country for p in china} == {"CN"}
    assert popular_places("XX") == []


# --- shared locations ---------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "zone"),
    [
        (MADRID, "Europe/Madrid"),
        (NEW_YORK, "America/New_York"),
        (SHENZHEN, "Asia/Shanghai"),
        ((22.3193, 114.1694), "Asia/Hong_Kong"),
        ((43.8256, 87.6168), "Asia/Shanghai"),  # Urumqi: official Beijing time
        ((-33.8688, 151.2093), "Australia/Sydney"),
    ],
)
def test_timezone_for_location(point: tuple[float, float], zone: str) -> None:
    assert timezone_for_location(*point) == zone


async def test_timezone_for_location_async() -> None:
    results = await asyncio.gather(
        timezone_for_location_async(*MADRID),
        timezone_for_location_async(*NEW_YORK),
        timezone_for_location_async(*SHENZHEN),
    )
    assert results == ["Europe/Madrid", "America/New_York", "Asia/Shanghai"]


def test_location_at_sea_falls_back_to_nearest_place() -> None:
    # Mid-Atlantic, west of Lisbon: the finder has only an ocean zone there.
    lat, lon = 38.0, -20.0
    assert timezone_for_location(lat, lon) == nearest_place(lat, lon).timezone == "Europe/Lisbon"


def test_unknown_finder_zone_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeFinder:
        def __init__(self, answer: str | None) -> None:
            self.answer = answer

        def timezone_at_land(self, *, lng: float, lat: float) -> str | None:
            return self.answer

    monkeypatch.setattr(places, "_finder", lambda: FakeFinder("Mars/Olympus_Mons"))
    assert timezone_for_location(*MADRID) == "Europe/Madrid"
    monkeypatch.setattr(places, "_finder", lambda: FakeFinder(None))
    assert timezone_for_location(*NEW_YORK) == "America/New_York"


def test_last_resort_is_beijing_time(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoAnswer:
        def timezone_at_land(self, *, lng: float, lat: float) -> str | None:
            return None

    broken = Place("x", "某地", "Nowhere", "CN", "Not/A_Zone", 0.0, 0.0)
    monkeypatch.setattr(places, "_finder", lambda: NoAnswer())
    monkeypatch.setattr(places, "nearest_place", lambda lat, lon: broken)
    assert timezone_for_location(0.0, 0.0) == DEFAULT_TIMEZONE == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(90.1, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0), (float("nan"), 0.0)],
)
def test_out_of_range_coordinates_raise(lat: float, lon: float) -> None:
    with pytest.raises(ValueError):
        timezone_for_location(lat, lon)
    with pytest.raises(ValueError):
        nearest_place(lat, lon)


async def test_out_of_range_coordinates_raise_async() -> None:
    with pytest.raises(ValueError):
        await timezone_for_location_async(123.0, 0.0)


def test_edge_coordinates_are_accepted() -> None:
    assert timezone_for_location(90.0, 180.0)
    assert timezone_for_location(-90.0, -180.0)


@pytest.mark.parametrize(
    ("point", "key"),
    [
        (MADRID, "madrid"),
        ((40.42, -3.70), "madrid"),
        (NEW_YORK, "new_york"),
        (SHENZHEN, "shenzhen"),
        ((22.54, 114.06), "shenzhen"),
        ((39.47, 75.99), "kashgar"),
        ((48.0, 2.5), "paris"),
    ],
)
def test_nearest_place(point: tuple[float, float], key: str) -> None:
    assert nearest_place(*point).key == key


# --- the table ------------------------------------------------------------------


def test_every_zone_in_the_table_is_valid() -> None:
    for place in all_places():
        assert ZoneInfo(place.timezone), place.key


def test_table_size_and_required_places() -> None:
    chinese = [p for p in all_places() if p.country in {"CN", "HK", "MO", "TW"}]
    abroad = [p for p in all_places() if p not in chinese]
    assert 60 <= len(chinese) <= 90
    assert len(abroad) >= 40
    required = [
        "深圳", "广州", "东莞", "佛山", "苏州", "宁波", "温州", "厦门", "泉州", "义乌",
        "无锡", "常州", "中山", "珠海", "惠州", "青岛", "大连", "乌鲁木齐", "喀什", "拉萨",
        "北京", "上海", "天津", "重庆", "香港", "澳门", "台北",
        "马德里", "巴塞罗那", "米兰", "罗马", "普拉托", "巴黎", "伦敦", "柏林", "法兰克福",
        "莫斯科", "迪拜", "利雅得", "新加坡", "吉隆坡", "曼谷", "胡志明市", "河内", "雅加达",
        "马尼拉", "东京", "大阪", "首尔", "悉尼", "墨尔本", "奥克兰", "纽约", "洛杉矶",
        "旧金山", "多伦多", "温哥华", "圣保罗", "布宜诺斯艾利斯", "约翰内斯堡", "拉各斯",
        "内罗毕", "罗安达", "亚的斯亚贝巴", "开罗", "伊斯坦布尔", "塔什干", "阿拉木图",
        "乌兰巴托",
    ]  # fmt: skip
    missing = [name for name in required if find_place(name) is None]
    assert missing == []


def test_every_provincial_capital_is_present() -> None:
    capitals = [
        "石家庄", "太原", "呼和浩特", "沈阳", "长春", "哈尔滨", "南京", "杭州", "合肥",
        "福州", "南昌", "济南", "郑州", "武汉", "长沙", "广州", "南宁", "海口", "成都",
        "贵阳", "昆明", "拉萨", "西安", "兰州", "西宁", "银川", "乌鲁木齐",
    ]  # fmt: skip
    assert [c for c in capitals if find_place(c) is None] == []


def test_table_keys_and_names_round_trip() -> None:
    for place in all_places():
        assert place_by_key(place.key) is place
        assert find_place(place.name_zh) is place, place.key
        assert find_place(place.name_en) is place, place.key
        assert -90 <= place.latitude <= 90 and -180 <= place.longitude <= 180


def test_no_alias_names_two_places() -> None:
    owner: dict[str, str] = {}
    clashes = []
    for row in _raw_table()["place"]:
        for name in [row["key"], row["name_zh"], row["name_en"], *row.get("aliases", [])]:
            alias = normalize_place_name(name)
            previous = owner.setdefault(alias, row["key"])
            if previous != row["key"]:
                clashes.append((alias, previous, row["key"]))
    assert clashes == []


def test_loader_rejects_an_alias_clash() -> None:
    row = {
        "key": "a",
        "name_zh": "甲",
        "name_en": "Alpha",
        "country": "CN",
        "timezone": "Asia/Shanghai",
        "lat": 0.0,
        "lon": 0.0,
        "aliases": ["shared"],
    }
    other = {**row, "key": "b", "name_zh": "乙", "name_en": "Beta"}
    with pytest.raises(ValueError, match="shared"):
        places._parse_catalogue({"place": [row, other]})


def test_loader_rejects_bad_rows() -> None:
    row = {
        "key": "a",
        "name_zh": "甲",
        "name_en": "Alpha",
        "country": "CN",
        "timezone": "Asia/Shanghai",
        "lat": 0.0,
        "lon": 0.0,
    }
    with pytest.raises(ValueError, match="timezone"):
        places._parse_catalogue({"place": [{k: v for k, v in row.items() if k != "timezone"}]})
    with pytest.raises(ValueError, match="latitude"):
        places._parse_catalogue({"place": [{**row, "lat": 95.0}]})
    with pytest.raises(ValueError, match="country"):
        places._parse_catalogue({"place": [{**row, "country": "China"}]})
    with pytest.raises(ValueError, match="nowhere"):
        places._parse_catalogue({"place": [row], "popular": ["nowhere"]})
    with pytest.raises(ValueError):
        places._parse_catalogue({})


def test_place_is_frozen() -> None:
    place = all_places()[0]
    with pytest.raises(AttributeError):
        place.timezone = "UTC"  # type: ignore[misc]
