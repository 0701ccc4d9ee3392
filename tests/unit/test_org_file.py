"""An organisation file is rejected whole, naming the line of the offending unit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.domain.models import Level
from bot.errors import OrgImportError
from bot.org_file import CSV_COLUMNS, UnitSpec, parse_org_file

DATA = Path(__file__).resolve().parents[2] / "bot" / "data"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def base() -> list[dict[str, Any]]:
    """A valid four-unit file: committee, general branch, two branches."""
    return [
        {"key": "xianshui", "level": "committee", "name": "咸水乡党委", "kind": "township",
         "secretary": "黄志强", "secretary_telegram_id": 910001},
        {"key": "renhe", "parent": "xianshui", "level": "general_branch",
         "name": "人和村党总支部", "kind": "village", "timezone": "Asia/Shanghai"},
        {"key": "pigs", "parent": "renhe", "level": "branch", "name": "生猪养殖党支部",
         "kind": "industry"},
        {"key": "citrus", "parent": "renhe", "level": "branch", "name": "脐橙种植党支部",
         "kind": "industry", "secretary": "陈秀兰"},
    ]


def write(tmp_path: Path, fmt: str, units: list[dict[str, Any]]) -> tuple[Path, list[int]]:
    """Write `units` as a TOML or CSV file; return it and each unit's expected line."""
    lines: list[str] = []
    starts: list[int] = []
    if fmt == "toml":
        lines.append("# test county")
        for unit in units:
            lines.append("")
            starts.append(len(lines) + 1)
            lines.append("[[unit]]")
            for name, value in unit.items():
                shown = json.dumps(value, ensure_ascii=False)  # JSON scalars are TOML too
                lines.append(f"{name} = {shown}")
    else:
        lines.append(",".join(CSV_COLUMNS))
        for unit in units:
            starts.append(len(lines) + 1)
            lines.append(",".join(str(unit.get(c, "")) for c in CSV_COLUMNS))
    path = tmp_path / f"org.{fmt}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, starts


def rejection(path: Path, known: dict[str, Level] | None = None) -> OrgImportError:
    with pytest.raises(OrgImportError) as caught:
        parse_org_file(path, known=known)
    return caught.value


FORMATS = pytest.mark.parametrize("fmt", ["toml", "csv"])


@FORMATS
def test_valid_file_reads_in_order(tmp_path: Path, fmt: str) -> None:
    path, starts = write(tmp_path, fmt, base())
    specs = parse_org_file(path)
    assert [s.key for s in specs] == ["xianshui", "renhe", "pigs", "citrus"]
    assert [s.line for s in specs] == starts
    assert specs[0] == UnitSpec("xianshui", None, Level.COMMITTEE, "咸水乡党委", "township",
                                None, "黄志强", 910001)
    assert specs[1].timezone == "Asia/Shanghai"
    assert specs[3].secretary_name == "陈秀兰"
    assert specs[3].secretary_telegram_id is None


# (unit index, field changes, words the reason must contain)
REJECTIONS = [
    (2, {"key": "renhe"}, 'unit "renhe" is defined twice (first on line'),
    (2, {"key": "Pig Farm"}, 'key "Pig Farm" may use only'),
    (2, {"key": ""}, "a unit has no key"),
    (2, {"parent": "renhe2"},
     'unit "pigs" names parent "renhe2", which is not in the file or the database'),
    (3, {"parent": "pigs"},
     'unit "citrus" is a branch, but its parent "pigs" is a branch'),
    (1, {"parent": "renhe"}, "is its own ancestor: renhe → renhe"),
    (0, {"parent": "renhe"}, 'unit "xianshui" is a committee and cannot have a parent'),
    (2, {"parent": ""}, 'unit "pigs" is a branch and needs a parent'),
    (2, {"level": "village"}, 'unit "pigs" has level "village"; expected one of'),
    (2, {"level": ""}, 'unit "pigs" has no level'),
    (2, {"kind": "township"}, 'unit "pigs" has kind "township"; a branch is one of'),
    (1, {"kind": "industry"}, 'a general_branch is one of village, agency'),
    (2, {"name": "  "}, 'unit "pigs" has no name'),
    (2, {"name": "猪" * 101}, "has a name of 101 characters; at most 100"),
    (2, {"timezone": "Mars/Base"}, 'unit "pigs" has timezone "Mars/Base"'),
    (2, {"timezone": "Asia"}, 'has timezone "Asia"'),
    (2, {"secretary_telegram_id": "abc"}, 'has secretary_telegram_id "abc"'),
    (2, {"secretary_telegram_id": -5}, 'has secretary_telegram_id "-5"'),
    (2, {"secretary_telegram_id": 0}, 'has secretary_telegram_id "0"'),
    (2, {"secretary_telegram_id": 2**60}, "has secretary_telegram_id"),
    (2, {"secretary": "张" * 101}, "secretary name of 101 characters"),
]


@FORMATS
@pytest.mark.parametrize(("index", "changes", "reason"), REJECTIONS)
def test_rejection_names_the_unit_line(
    tmp_path: Path, fmt: str, index: int, changes: dict[str, Any], reason: str
) -> None:
    units = base()
    units[index].update(changes)
    path, starts = write(tmp_path, fmt, units)
    error = rejection(path)
    assert reason in error.reason
    assert error.line == starts[index]
    assert error.source == str(path)
    assert str(error).startswith(f"{path}:{starts[index]}: ")


@FORMATS
def test_duplicate_names_the_first_line(tmp_path: Path, fmt: str) -> None:
    units = base()
    units[3]["key"] = "pigs"
    path, starts = write(tmp_path, fmt, units)
    error = rejection(path)
    assert error.line == starts[3]
    assert f"first on line {starts[2]}" in error.reason


@FORMATS
def test_a_parent_loop_is_named_as_such(tmp_path: Path, fmt: str) -> None:
    units = base()
    units[1]["parent"] = "renhe-b"
    units.insert(2, {"key": "renhe-b", "parent": "renhe", "level": "general_branch",
                     "name": "乙村党总支部", "kind": "village"})
    path, starts = write(tmp_path, fmt, units)
    error = rejection(path)
    assert error.line == starts[1]
    assert "renhe → renhe-b → renhe" in error.reason


@FORMATS
def test_parent_in_the_database_is_allowed(tmp_path: Path, fmt: str) -> None:
    units = base()[2:]
    path, _ = write(tmp_path, fmt, units)
    specs = parse_org_file(path, known={"renhe": Level.GENERAL_BRANCH})
    assert [s.parent_key for s in specs] == ["renhe", "renhe"]


@FORMATS
def test_parent_in_the_database_must_have_the_right_level(tmp_path: Path, fmt: str) -> None:
    path, starts = write(tmp_path, fmt, base()[2:])
    error = rejection(path, known={"renhe": Level.BRANCH})
    assert error.line == starts[0]
    assert 'its parent "renhe" is a branch' in error.reason


@FORMATS
def test_level_of_an_existing_unit_cannot_change(tmp_path: Path, fmt: str) -> None:
    path, starts = write(tmp_path, fmt, base())
    error = rejection(path, known={"pigs": Level.GENERAL_BRANCH})
    assert error.line == starts[2]
    assert "is a general_branch in the database" in error.reason


def test_toml_true_is_not_a_telegram_id(tmp_path: Path) -> None:
    units = base()
    units[2]["secretary_telegram_id"] = True
    path, starts = write(tmp_path, "toml", units)
    assert rejection(path).line == starts[2]


def test_toml_unknown_field_is_rejected(tmp_path: Path) -> None:
    units = base()
    units[3]["secretery"] = "陈秀兰"
    path, starts = write(tmp_path, "toml", units)
    error = rejection(path)
    assert error.line == starts[3]
    assert 'unknown field "secretery"' in error.reason


def test_toml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text('[[unit]]\nkey = "a"\nname = \nlevel = "committee"\n', encoding="utf-8")
    error = rejection(path)
    assert error.line == 3
    assert error.reason.startswith("not valid TOML")


def test_toml_header_lines_with_comments_and_spacing(tmp_path: Path) -> None:
    text = (
        "# county\n"
        "\n"
        "[[unit]]   # the committee\n"
        'key = "a"\nlevel = "committee"\nname = "甲乡党委"\nkind = "township"\n'
        "\n\n"
        "[[ unit ]]\n"
        'key = "b"\nparent = "a"\nlevel = "branch"\nname = "乙"\nkind = "nope"\n'
    )
    path = tmp_path / "org.toml"
    path.write_text(text, encoding="utf-8")
    assert rejection(path).line == 10


def test_csv_missing_column_is_line_one(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text("key,parent,level,name\nxianshui,,committee,咸水乡党委\n", encoding="utf-8")
    error = rejection(path)
    assert error.line == 1
    assert 'missing column "kind"' in error.reason


def test_csv_unknown_column_is_line_one(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text("key,parent,level,name,kind,colour\n", encoding="utf-8")
    assert 'unknown column "colour"' in rejection(path).reason


def test_csv_optional_columns_may_be_left_out(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text("key,parent,level,name,kind\nxianshui,,committee,咸水乡党委,township\n",
                    encoding="utf-8")
    assert parse_org_file(path)[0].timezone is None


def test_csv_short_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text(
        "key,parent,level,name,kind\n"
        "xianshui,,committee,咸水乡党委,township\n"
        "\n"
        "renhe,xianshui,general_branch,人和村党总支部\n",
        encoding="utf-8",
    )
    error = rejection(path)
    assert error.line == 4
    assert "4 fields" in error.reason


def test_csv_bom_and_quoted_newline_keep_lines_physical(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    text = (
        "key,parent,level,name,kind\n"
        'xianshui,,committee,"咸水乡\n党委",township\n'
        "pigs,xianshui,branch,生猪养殖党支部,piggery\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    error = rejection(path)
    assert error.line == 4
    assert 'has kind "piggery"' in error.reason


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_bytes(b"key,parent,level,name,kind\n" + "咸水乡,,".encode("gbk"))
    error = rejection(path)
    assert error.line == 2
    assert "UTF-8" in error.reason


def test_unknown_extension_and_empty_file(tmp_path: Path) -> None:
    other = tmp_path / "org.xlsx"
    other.write_bytes(b"")
    assert "expected a .toml or .csv file" in rejection(other).reason
    empty = tmp_path / "org.toml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert rejection(empty).reason == "the file has no units"


def test_examples_and_demo_county_are_valid() -> None:
    toml = parse_org_file(DOCS / "org.example.toml")
    assert toml == parse_org_file(DOCS / "org.example.csv")
    county = parse_org_file(DATA / "county.toml")
    ids = [s.secretary_telegram_id for s in county]
    assert all(ids) and len(set(ids)) == len(ids)
    assert {s.kind for s in county if s.level == Level.BRANCH} >= {
        "industry", "mobile", "elderly", "association", "joint",
    }
