"""The `branchbot` command line.

    branchbot run [--config config.toml] [--bots NAME,…] [--role all|updates|planner|delivery]
    branchbot demo
    branchbot db migrate | db backup PATH
    branchbot org import FILE | org check | org show

Global options such as `--config` go anywhere: `branchbot --config X org show`
and `branchbot org import FILE --config X` mean the same.  Nothing any
command prints, tracebacks included, shows the bot token.  Exit status: 0 ok,
1 a finding or a failure worth retrying, 2 a refusal (bad config, damaged or
locked database, rejected token) that needs a person.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from pathlib import Path

from bot.config import TOKEN_ENV, Settings, load_settings
from bot.errors import BranchbotError
from bot.log_redaction import add_secret, redacted_stdio

__all__ = ["main"]

log = logging.getLogger("branchbot")


def _global_options(*, top: bool) -> argparse.ArgumentParser:
    """Return a parent parser holding the options every (sub)command accepts."""
    options = argparse.ArgumentParser(add_help=False)
    # Only the top level has a default: a subcommand that is not given the
    # option must not overwrite a value given before it with None.
    options.add_argument(
        "--config", type=Path, default=None if top else argparse.SUPPRESS,
        help="TOML settings file (default: ./config.toml if present)",
    )
    return options


def _parser() -> argparse.ArgumentParser:
    common = [_global_options(top=False)]
    parser = argparse.ArgumentParser(
        prog="branchbot", description="支部助手 branchbot", parents=[_global_options(top=True)]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", parents=common, help="run the bot (long polling, or webhook if configured)"
    )
    run.add_argument(
        "--bots", default=None, metavar="NAME,…",
        help="serve only these [[bots]] (default: all of them)",
    )
    # Kept in step with bot.scheduling.ROLES (not imported: --help stays fast).
    run.add_argument(
        "--role", choices=("all", "updates", "planner", "delivery"), default="all",
        help="what this process does: take updates and run handlers, plan, deliver the"
        " outbox, or all of it (default); split roles need a PostgreSQL store",
    )
    commands.add_parser(
        "demo", parents=common, help="offline demo: local Bot API emulator, seeded county"
    )

    db = commands.add_parser("db", parents=common, help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("migrate", parents=common, help="apply pending migrations")
    copy = db_commands.add_parser(
        "copy", parents=common,
        help="copy a SQLite file into an empty PostgreSQL database, checked by row counts",
    )
    copy.add_argument("source", type=Path, help="the county's SQLite file")
    copy.add_argument("target", help="postgresql://user@host/database")
    backup = db_commands.add_parser("backup", parents=common, help="online backup to PATH")
    backup.add_argument("path", type=Path)

    org = commands.add_parser("org", parents=common, help="the organisation tree")
    org_commands = org.add_subparsers(dest="org_command", required=True)
    org_import = org_commands.add_parser(
        "import", parents=common, help="import units from TOML or CSV"
    )
    org_import.add_argument("file", type=Path)
    org_commands.add_parser(
        "check", parents=common, help="check the tree against the structure rules"
    )
    org_commands.add_parser("show", parents=common, help="print the tree")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config
    if path is None and Path("config.toml").exists():
        path = Path("config.toml")
    settings = load_settings(path, environ=os.environ)
    add_secret(settings.telegram.token)
    for bot in settings.bots:
        add_secret(bot.token)
    add_secret(settings.telegram.webhook_secret)
    return settings


async def _dispatch(args: argparse.Namespace) -> int:
    # Imported here so `branchbot --help` stays fast and a config error is
    # reported before anything heavy loads.
    from bot import cli

    if args.command == "demo":
        from bot.demo import run_demo

        return await run_demo()
    settings = _settings(args)
    if args.command == "run":
        from bot.app import run_bot

        await run_bot(settings, bots=args.bots, role=args.role)
        return 0
    if args.command == "db":
        if args.db_command == "migrate":
            return await cli.db_migrate(settings)
        if args.db_command == "copy":
            return await cli.db_copy(settings, args.source, args.target)
        return await cli.db_backup(settings, args.path)
    if args.command == "org":
        if args.org_command == "import":
            return await cli.org_import(settings, args.file)
        if args.org_command == "check":
            return await cli.org_check(settings)
        return await cli.org_show(settings)
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = _parser().parse_args(argv)
    # Known before the config is read, so even a config error cannot show it.
    add_secret(os.environ.get(TOKEN_ENV))
    # Everything written to stdout and stderr passes the redaction, including
    # what bypasses logging: tracebacks and library exception texts (PTB puts
    # the token in the text of its 401 error).
    with redacted_stdio():
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # httpx logs every request URL, and the URL carries the bot token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # APScheduler logs two INFO lines per run of every job: with a 30 s tick
        # that is ~6,000 lines a day saying nothing.  Its warnings still show.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        try:
            return asyncio.run(_dispatch(args))
        except BranchbotError as exc:
            print(f"branchbot: {exc}", file=sys.stderr)
            return getattr(exc, "exit_status", 2)
        except KeyboardInterrupt:
            return 130
        except Exception:
            # A bug: keep the traceback for the report (redacted on its way out).
            traceback.print_exc()
            return 1


if __name__ == "__main__":
    sys.exit(main())
