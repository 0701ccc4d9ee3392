"""The real `branchbot` command as a subprocess: every failed start exits at once, in one
line, never showing the token; one process per database; a SIGKILLed one blocks nothing.

The emulator runs in this process (so `run` has a Bot API to talk to); the
command runs as `python -m bot`, as systemd would run it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.emulator import BotApiEmulator
from tests.pg import server_url

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAFakeButRealLookingSecretPart_xyz123"
SECRET_PART = TOKEN.split(":", 1)[1]
# A failed start must end well within this; a hang shows as a timeout.
PROMPT = 20.0


@pytest.fixture
async def emulator():
    async with BotApiEmulator() as running:
        yield running


def write_config(tmp_path: Path, emulator: BotApiEmulator, database: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        "[telegram]\n"
        f'api_base_url = "{emulator.base_url}"\n'
        f'api_base_file_url = "{emulator.base_file_url}"\n'
        "[storage]\n"
        f'database = "{database}"\n',
        encoding="utf-8",
    )
    return config


def _env(token: str | None = TOKEN) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BRANCHBOT_TOKEN", None)
    if token is not None:
        env["BRANCHBOT_TOKEN"] = token
    return env


async def spawn(cwd: Path, *args: str, token: str | None = TOKEN) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=cwd, env=_env(token),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """Wait for the process to exit by itself; fail (and kill it) if it hangs."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), PROMPT)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail("the command did not exit: it hangs after its error")
    return process.returncode, (out + err).decode()


async def branchbot(cwd: Path, *args: str, token: str | None = TOKEN) -> tuple[int, str]:
    return await finish(await spawn(cwd, *args, token=token))


async def wait_until_running(process: asyncio.subprocess.Process) -> str:
    """Read stderr until the bot says it runs; return what it wrote."""
    assert process.stderr is not None
    seen = ""

    async def scan() -> None:
        nonlocal seen
        while "branchbot is running" not in seen:
            line = await process.stderr.readline()
            if not line:
                raise AssertionError(f"the bot exited before running:\n{seen}")
            seen += line.decode()

    await asyncio.wait_for(scan(), PROMPT)
    return seen


# ----------------------------------------------------------------- the token


async def test_rejected_token_exits_at_once_in_one_line_without_the_token(tmp_path, emulator):
    """A revoked token: 401 on getMe. PTB's error quotes the token; nothing printed may."""
    emulator.reject_token(TOKEN)
    config = write_config(tmp_path, emulator, tmp_path / "bot.sqlite3")
    status, output = await branchbot(tmp_path, "run", "--config", str(config))
    assert status == 2
    assert SECRET_PART not in output
    assert "Traceback" not in output
    assert "rejected the token" in output and "docs/deploy.md#rotate" in output
    assert TOKEN in emulator.tokens_seen  # it really asked, and was refused


async def test_a_bot_whose_token_variable_is_unset_stops_only_the_run_that_serves_it(
    tmp_path, emulator
):
    """A city config lists every county's [[bots]]; each machine has only its own tokens."""
    config = write_config(tmp_path, emulator, tmp_path / "bot.sqlite3")
    with config.open("a", encoding="utf-8") as out:
        out.write(
            '[[bots]]\nname = "a"\ntoken_env = "BRANCHBOT_TOKEN"\nunit = "county-a"\n'
            '[[bots]]\nname = "b"\ntoken_env = "COUNTY_B_TOKEN"\nunit = "county-b"\n'
        )
    org = tmp_path / "org.toml"
    org.write_text(
        '[[unit]]\nkey = "county-a"\nlevel = "committee"\nname = "甲乡党委"\nkind = "township"\n'
        '[[unit]]\nkey = "county-b"\nlevel = "committee"\nname = "乙乡党委"\nkind = "township"\n',
        encoding="utf-8",
    )
    status, output = await branchbot(tmp_path, "org", "import", str(org), "--config", str(config))
    assert status == 0 and "导入完成：新建 2，更新 0，未变 0" in output
    status, output = await branchbot(tmp_path, "run", "--config", str(config))
    assert status == 2
    assert output.strip().splitlines()[-1] == (
        'branchbot: config error: [[bots]] "b".token_env (COUNTY_B_TOKEN) = missing;'
        " expected a set environment variable holding the token"
    )
    assert not emulator.tokens_seen  # refused before any request
    serving_a = await spawn(tmp_path, "run", "--bots", "a", "--config", str(config))
    try:
        seen = await wait_until_running(serving_a)
        await asyncio.sleep(1.5)  # the first scheduler ticks run
    finally:
        serving_a.terminate()
        _, rest = await finish(serving_a)
    assert TOKEN in emulator.tokens_seen
    # The log says what happened, not every scheduler tick.  (APScheduler's
    # warnings still show: on a loaded machine a job may be reported late.)
    log = seen + rest
    assert "Running job" not in log and "executed successfully" not in log, log


async def test_token_with_a_line_break_is_refused_before_any_request(tmp_path, emulator):
    """A token pasted with its newline once failed deep in httpx, token in the traceback."""
    config = write_config(tmp_path, emulator, tmp_path / "bot.sqlite3")
    status, output = await branchbot(tmp_path, "run", "--config", str(config), token=TOKEN + "\n")
    assert status == 2
    assert output.strip().splitlines()[-1].startswith("branchbot: config error: [telegram].token")
    assert SECRET_PART not in output and "Traceback" not in output
    assert not emulator.tokens_seen


# ----------------------------------------------------------------- one process per database


async def test_second_process_is_refused_and_a_killed_one_blocks_nothing(tmp_path, emulator):
    database = tmp_path / "bot.sqlite3"
    config = write_config(tmp_path, emulator, database)
    first = await spawn(tmp_path, "run", "--config", str(config))
    try:
        await wait_until_running(first)
        status, output = await branchbot(tmp_path, "run", "--config", str(config))
        assert status == 2
        assert str(database) in output and f"process {first.pid}" in output
        assert "only one branchbot" in output
        # Migrating under a running bot is refused the same way.
        status, output = await branchbot(tmp_path, "db", "migrate", "--config", str(config))
        assert status == 2 and f"process {first.pid}" in output
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()

    # The killed holder's lock file is still there, with its pid; it must not matter.
    assert (tmp_path / "bot.sqlite3.lock").read_text().strip() == str(first.pid)
    again = await spawn(tmp_path, "run", "--config", str(config))
    await wait_until_running(again)
    again.send_signal(signal.SIGTERM)
    status, _ = await finish(again)
    assert status == 0  # a clean stop is a clean exit (systemd: not a failure)


# ----------------------------------------------------------------- bad databases


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def newer_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
            " description TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT '')"
        )
        db.execute("INSERT INTO schema_version (version, description) VALUES (9999, 'future')")
    db.close()


def unwritable_beside(path: Path) -> None:
    """A sound WAL database whose -wal and -shm files cannot be created.

    Stands in for a read-only location even when the tests run as root,
    where permissions do not stop anything.
    """
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE t (x)")
    db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
        Path(f"{path}{suffix}").mkdir()


COMMANDS = [("run",), ("db", "migrate"), ("org", "show"), ("db", "backup", "b")]
CASES = {
    "garbage": (garbage, "is damaged", "branchbot db backup"),
    "newer_schema": (newer_schema, "version 9999", "knows up to"),
    "unwritable": (unwritable_beside, "cannot open database", "writable"),
}


# A backup copies whatever schema it finds, so a newer schema is no error for it.
BAD_DATABASE_RUNS = [
    pytest.param(case, command, id=f"{' '.join(command)}-{case}")
    for case in sorted(CASES)
    for command in COMMANDS
    if not (case == "newer_schema" and command[0:2] == ("db", "backup"))
]


@pytest.mark.parametrize(("case", "command"), BAD_DATABASE_RUNS)
async def test_bad_database_ends_every_command_promptly(tmp_path, emulator, case, command):
    prepare, *expected = CASES[case]
    database = tmp_path / "bot.sqlite3"
    prepare(database)
    config = write_config(tmp_path, emulator, database)
    status, output = await branchbot(tmp_path, *command, "--config", str(config))
    assert status == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("branchbot: ")
    for text in expected:
        assert text in last
    assert "Traceback" not in output


@pytest.mark.skipif(server_url() is None, reason="PostgreSQL only: a server's schema and rights")
@pytest.mark.parametrize("command", [("run",), ("db", "migrate"), ("org", "show")])
async def test_a_postgresql_schema_missing_or_closed_to_us_ends_every_command_in_one_line(
    tmp_path, emulator, command
):
    """A DBA's first try: a search_path naming no schema, or a user who may not create there."""
    import asyncpg

    server = server_url()
    assert server is not None
    admin = await asyncpg.connect(server)
    suffix = os.urandom(4).hex()
    schema, reader = f"closed_{suffix}", f"reader_{suffix}"
    await admin.execute(f"CREATE SCHEMA {schema}; CREATE ROLE {reader} LOGIN")
    await admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {reader}")
    joiner = "&" if "?" in server else "?"
    parts = urlsplit(server)
    as_reader = parts._replace(netloc=f"{reader}@{parts.hostname}:{parts.port}").geturl()
    closed = f"{as_reader}{joiner}search_path={schema}"
    cases = {
        f"{server}{joiner}search_path=nowhere_{suffix}": "must exist (CREATE SCHEMA",
        closed: "must be allowed to create in the schema",
    }
    try:
        for url, expected in cases.items():
            config = write_config(tmp_path, emulator, tmp_path / "unused.sqlite3")
            config.write_text(
                config.read_text(encoding="utf-8").replace(
                    f'database = "{tmp_path / "unused.sqlite3"}"', f'url = "{url}"'
                ),
                encoding="utf-8",
            )
            status, output = await branchbot(tmp_path, *command, "--config", str(config))
            assert status == 2, output
            last = output.strip().splitlines()[-1]
            assert last.startswith("branchbot: cannot use database postgresql://"), output
            assert expected in last
            assert "Traceback" not in output
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE; DROP ROLE {reader}")
        await admin.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
async def test_read_only_directory_ends_run_promptly(tmp_path, emulator):
    folder = tmp_path / "ro"
    folder.mkdir()
    database = folder / "bot.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    config = write_config(tmp_path, emulator, database)
    folder.chmod(0o555)
    try:
        status, output = await branchbot(tmp_path, "run", "--config", str(config))
    finally:
        folder.chmod(0o755)
    assert status == 2 and "Traceback" not in output


# ----------------------------------------------------------------- webhook without a set secret


async def test_webhook_run_makes_a_secret_and_refuses_posts_without_it(tmp_path, emulator):
    """No [telegram].webhook_secret: `run` makes one, registers it, and PTB checks it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path, emulator, tmp_path / "bot.sqlite3")
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[storage]",
            'mode = "webhook"\nwebhook_url = "https://bot.example.org/hook"\n'
            f"webhook_port = {port}\n[storage]",
        ),
        encoding="utf-8",
    )
    process = await spawn(tmp_path, "run", "--config", str(config))
    try:
        await wait_until_running(process)
        registered = emulator.webhook
        assert registered is not None and registered["url"] == "https://bot.example.org/hook"
        assert len(registered["secret_token"]) >= 32
        emulator.route_webhook(f"http://127.0.0.1:{port}/hook")
        update = {"message": {
            "message_id": 1, "date": 1772413200, "text": "/help",
            "chat": {"id": 4001, "type": "private"},
            "from": {"id": 4001, "is_bot": False, "first_name": "M"},
        }}
        assert await emulator.post_update(update, secret_token=None) == 403
        assert await emulator.post_update(update) == 200
    finally:
        process.send_signal(signal.SIGTERM)
        status, output = await finish(process)
    assert status == 0
    assert registered["secret_token"] not in output  # the secret is masked like the token


async def test_token_revoked_while_running_ends_the_process(tmp_path, emulator):
    """PTB's polling gives up on a 401 silently; the process must not linger, looking alive."""
    config = write_config(tmp_path, emulator, tmp_path / "bot.sqlite3")
    process = await spawn(tmp_path, "run", "--config", str(config))
    await wait_until_running(process)
    emulator.reject_token(TOKEN)
    # Ends the long poll in progress, so the next getUpdates meets the 401 at once.
    await emulator.add_user(4001, first_name="M").send_text("hello")
    status, output = await finish(process)
    assert status == 2
    assert "rejected the token" in output.strip().splitlines()[-1]
    assert SECRET_PART not in output
