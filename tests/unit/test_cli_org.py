"""`branchbot db …` and `branchbot org …` as an admin runs them at a terminal."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main
from storage.migrate import available_migrations

COUNTY = Path(__file__).resolve().parents[2] / "bot" / "data" / "county.toml"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config file whose database lives in the test's temp directory."""
    path = tmp_path / "config.toml"
    database = json.dumps(str(tmp_path / "bot.sqlite3"))  # a JSON string is a TOML string
    path.write_text(f"[storage]\ndatabase = {database}\n", encoding="utf-8")
    return path


def run(config: Path, *argv: str) -> int:
    return main(["--config", str(config), *argv])


def add_members(config: Path, branch_key: str, count: int) -> None:
    """Put `count` active members into a branch, as registrations would."""
    with sqlite3.connect(config.parent / "bot.sqlite3") as db:
        (branch_id,) = db.execute("SELECT id FROM units WHERE key = ?", (branch_key,)).fetchone()
        for n in range(count):
            person = db.execute(
                "INSERT INTO people (telegram_id, name, created_at) VALUES (?, ?, 0)",
                (800000 + n, f"党员{n}"),
            ).lastrowid
            db.execute(
                "INSERT INTO members (person_id, branch_id, category, status, requested_at)"
                " VALUES (?, ?, 'regular', 'active', 0)",
                (person, branch_id),
            )


def test_db_migrate_then_up_to_date(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    versions = [m.version for m in available_migrations()]
    assert run(config, "db", "migrate") == 0
    assert capsys.readouterr().out.strip() == f"applied: {versions}"
    assert run(config, "db", "migrate") == 0
    assert capsys.readouterr().out.strip() == f"up to date (version {versions[-1]})"


def test_org_import_twice(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "org", "import", str(COUNTY)) == 0
    assert capsys.readouterr().out.strip() == "导入完成：新建 13，更新 0，未变 0"
    assert run(config, "org", "import", str(COUNTY)) == 0
    assert capsys.readouterr().out.strip() == "导入完成：新建 0，更新 0，未变 13"


def test_org_import_rejects_a_bad_file(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        COUNTY.read_text(encoding="utf-8").replace('kind = "elderly"', 'kind = "sunset"'),
        encoding="utf-8",
    )
    assert run(config, "org", "import", str(bad)) == 1
    err = capsys.readouterr().err.strip()
    header = [
        n for n, text in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1)
        if text == "[[unit]]"
    ][8]  # the ninth unit is 夕阳红党支部
    assert err == (
        f'branchbot: {bad}:{header}: unit "tingzijiang-sunset" has kind "sunset"; '
        "a branch is one of industry, association, mobile, elderly, stability, village, "
        "department, joint"
    )
    assert run(config, "org", "show") == 0
    assert "尚无组织" in capsys.readouterr().out


def test_org_show_draws_the_tree(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(config, "org", "import", str(COUNTY))
    capsys.readouterr()
    assert run(config, "org", "show") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [
        "咸水乡党委（乡镇党委，代码 xianshui）",
        "├─ 人和村党总支部（村，代码 renhe）",
        "│  ├─ 梦公塘早蜜柑脐橙种植党支部（产业基地，代码 renhe-citrus）",
        "│  ├─ 生猪养殖党支部（产业基地，代码 renhe-pigs）",
        "│  └─ 人和村流动党员党支部（流动党员，代码 renhe-mobile）",
        "└─ 咸水乡农业党支部（机关部门，代码 xianshui-agri）",
    ]
    assert len(lines) == 13


def test_org_check_clean_then_findings(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(config, "org", "import", str(COUNTY))
    capsys.readouterr()
    assert run(config, "org", "check") == 0
    assert capsys.readouterr().out.strip() == "结构检查通过"

    add_members(config, "renhe-pigs", 2)
    assert run(config, "org", "check") == 1
    assert capsys.readouterr().out.splitlines() == [
        "生猪养殖党支部：2 名党员，不足 3 名，应组建联合党支部",
        "共 1 项结构问题",
    ]


def test_org_check_in_english_with_custom_rule(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with config.open("a", encoding="utf-8") as handle:
        handle.write('[general]\ndefault_language = "en"\n[structure]\nsmall_max = 3\n')
    run(config, "org", "import", str(COUNTY))
    capsys.readouterr()
    add_members(config, "renhe-citrus", 4)
    assert run(config, "org", "check") == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "梦公塘早蜜柑脐橙种植党支部: 4 members, should have 2 committee member(s), has 0"
    )


def test_db_backup_holds_the_units(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(config, "org", "import", str(COUNTY))
    capsys.readouterr()
    target = tmp_path / "backup.sqlite3"
    assert run(config, "db", "backup", str(target)) == 0
    assert str(target) in capsys.readouterr().out
    with sqlite3.connect(target) as copy:
        names = {row[0] for row in copy.execute("SELECT name FROM units")}
    assert "夕阳红党支部" in names and len(names) == 13


def test_db_backup_without_a_database(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "db", "backup", str(tmp_path / "backup.sqlite3")) == 1
    assert "没有数据库" in capsys.readouterr().err
    assert not (tmp_path / "bot.sqlite3").exists()
