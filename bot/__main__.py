"""The `branchbot` command line.

    branchbot run [--config config.toml]
    branchbot demo
    branchbot db migrate | db backup PATH
    branchbot org import FILE | org check
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from bot.config import Settings, load_settings
from bot.errors import BranchbotError

__all__ = ["main"]

log = logging.getLogger("branchbot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="branchbot", description="支部助手 branchbot")
    parser.add_argument(
        "--config", type=Path, default=None,
        help="TOML settings file (default: ./config.toml if present)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling, or webhook if configured)")
    commands.add_parser("demo", help="offline demo: local Bot API emulator, seeded county")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("migrate", help="apply pending migrations")
    backup = db_commands.add_parser("backup", help="online backup to PATH")
    backup.add_argument("path", type=Path)

    org = commands.add_parser("org", help="the organisation tree")
    org_commands = org.add_subparsers(dest="org_command", required=True)
    org_import = org_commands.add_parser("import", help="import units from TOML or CSV")
    org_import.add_argument("file", type=Path)
    org_commands.add_parser("check", help="check the tree against the structure rules")
    org_commands.add_parser("show", help="print the tree")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config
    if path is None and Path("config.toml").exists():
        path = Path("config.toml")
    return load_settings(path, environ=os.environ)


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

        await run_bot(settings)
        return 0
    if args.command == "db":
        if args.db_command == "migrate":
            return await cli.db_migrate(settings)
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
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL, and the URL carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return asyncio.run(_dispatch(args))
    except BranchbotError as exc:
        print(f"branchbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
