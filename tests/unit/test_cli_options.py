"""The command line: `--config` in any position; nothing printed ever shows the token."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot import cli
from bot.__main__ import main
from bot.config import TOKEN_ENV

COUNTY = Path(__file__).resolve().parents[2] / "bot" / "data" / "county.toml"
TOKEN = "123456789:AAFakeTokenForTestsOnly_xyz"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file in its own folder; the working directory has no config.toml."""
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "branchbot.toml"
    database = json.dumps(str(tmp_path / "bot.sqlite3"))
    path.write_text(f"[storage]\ndatabase = {database}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return path


def units_in(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM units").fetchone()[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "{config}", "org", "import", "{file}"],
        ["org", "import", "{file}", "--config", "{config}"],  # the README's promise
        ["org", "--config", "{config}", "import", "{file}"],
        ["org", "import", "--config={config}", "{file}"],
    ],
    ids=["before", "after", "between", "equals"],
)
def test_config_is_accepted_in_any_position(argv, config, tmp_path, capsys):
    args = [a.format(config=config, file=COUNTY) for a in argv]
    assert main(args) == 0
    assert "新建 13" in capsys.readouterr().out
    assert units_in(tmp_path) == 13  # the configured database, not a ./branchbot.sqlite3
    assert not (tmp_path / "branchbot.sqlite3").exists()


@pytest.mark.parametrize(
    "argv",
    [["db", "migrate", "--config", "{config}"], ["org", "show", "--config", "{config}"],
     ["org", "check", "--config", "{config}"], ["--config", "{config}", "org", "show"]],
)
def test_every_command_takes_config_after_it(argv, config, tmp_path, capsys):
    assert main([a.format(config=config) for a in argv]) == 0
    assert (tmp_path / "bot.sqlite3").exists()
    assert not (tmp_path / "branchbot.sqlite3").exists()


def test_an_unexpected_error_prints_a_traceback_without_the_token(
    config, capsys, monkeypatch
):
    """A bug's traceback still reaches the operator, the token in it masked."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)

    async def broken(settings):
        print(f"calling https://api.telegram.org/bot{TOKEN}/getMe")
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")

    monkeypatch.setattr(cli, "org_show", broken)
    assert main(["org", "show", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" in captured.err and "RuntimeError" in captured.err
    assert TOKEN not in output
    assert TOKEN.split(":")[1] not in output
    assert "/bot***/getMe" in captured.out and "The token `***`" in captured.err
