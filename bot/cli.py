"""The admin commands behind `branchbot db …` and `branchbot org …` (no Telegram).

    branchbot db migrate          apply pending migrations
    branchbot db backup PATH      online copy of the live database
    branchbot org import FILE     TOML or CSV; all of it or nothing
    branchbot org check           structure findings; exit 1 if any
    branchbot org show            the tree

Each returns the process exit status.  The org commands migrate first, so
they work on a fresh database.  Every command checks the database first
(storage.health) and `db migrate` refuses while a bot runs on it.  Output
is in `[general].default_language`; the strings are here rather than in
the bot's catalogue because only admins at a terminal see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.clock import Clock, SystemClock
from bot.config import Settings, is_postgres_url
from bot.domain.models import Unit
from bot.domain.structure import StructureFinding
from bot.domain.tree import render_tree
from bot.errors import OrgImportError
from bot.i18n import t
from bot.org_file import parse_org_file
from bot.org_report import load_structure_findings
from storage.copy import CopyRefused, copy_database
from storage.db import backup_database
from storage.health import migrate_checked, open_checked_database
from storage.lock import DatabaseLock
from storage.migrate import current_version
from storage.repositories import units as units_repo

__all__ = [
    "db_backup",
    "db_copy",
    "db_migrate",
    "exclusive_use",
    "format_finding",
    "org_check",
    "org_import",
    "org_show",
]

_STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        # Migration output stays in the plain form operators grep logs for.
        "applied": "applied: {versions}",
        "up_to_date": "up to date (version {version})",
        "backup_done": "已备份到 {path}",
        "copy_table": "{table}：{rows} 行",
        "copy_done": "已复制 {tables} 张表、共 {rows} 行，两边行数一致",
        "copy_target": "目标须为 postgresql://… 地址：{target}",
        "copy_not_empty": "目标数据库的 {table} 表已有数据，未复制任何内容；请复制到空库",
        "copy_counts_differ": "{table} 表源库 {expected} 行、目标收到 {found} 行，未复制任何内容",
        "no_database": "没有数据库：{path}",
        "imported": "导入完成：新建 {created}，更新 {updated}，未变 {unchanged}",
        "check_clean": "结构检查通过",
        "check_count": "共 {count} 项结构问题",
        "empty_tree": "尚无组织，请先导入：branchbot org import FILE",
    },
    "en": {
        "applied": "applied: {versions}",
        "up_to_date": "up to date (version {version})",
        "backup_done": "backed up to {path}",
        "copy_table": "{table}: {rows} rows",
        "copy_done": "copied {tables} tables, {rows} rows; the counts match on both sides",
        "copy_target": "the target must be a postgresql://… URL: {target}",
        "copy_not_empty": "the target already has rows in {table}; nothing was copied;"
        " copy into an empty database",
        "copy_counts_differ": "{table}: {expected} rows in the source, {found} arrived;"
        " nothing was copied",
        "no_database": "no database at {path}",
        "imported": "imported: created {created}, updated {updated}, unchanged {unchanged}",
        "check_clean": "structure check passed",
        "check_count": "{count} structure finding(s)",
        "empty_tree": "no units yet; import some with: branchbot org import FILE",
    },
}


def _text(settings: Settings, message: str, **params: object) -> str:
    strings = _STRINGS.get(settings.general.default_language, _STRINGS["zh"])
    return strings[message].format(**params)


def format_finding(finding: StructureFinding, lang: str = "zh") -> str:
    """Return one line describing a structure finding in `lang` (zh or en)."""
    # Same wording as /org check in the bot: one catalogue for both.
    return t(
        lang,
        f"org.finding_{finding.rule}",
        name=finding.unit_name,
        members=finding.members,
        expected=finding.expected,
        found=finding.found,
    )


@asynccontextmanager
async def _database(settings: Settings, *, migrated: bool) -> AsyncIterator[aiosqlite.Connection]:
    """Check and open the configured database (migrated first if asked); always close it."""
    # The integrity check and closing on every failure live in storage.health,
    # shared with `branchbot run`: an open connection's thread kept a failed
    # command from ever exiting.
    db = await open_checked_database(settings.storage.database, migrated=migrated)
    try:
        yield db
    finally:
        await db.close()


def exclusive_use(database: str) -> contextlib.AbstractContextManager[object]:
    """Return the one-process lock for `database` (nothing to lock for :memory:).

    PostgreSQL is shared by design: several processes may use one server.
    """
    if database == ":memory:" or is_postgres_url(database):
        return contextlib.nullcontext()
    return DatabaseLock(database)


async def db_migrate(settings: Settings) -> int:
    """Apply pending migrations and print which (or that none were due)."""
    # Changing the schema under a running bot would break it: refuse while one runs.
    with exclusive_use(settings.storage.database):
        async with _database(settings, migrated=False) as db:
            applied = await migrate_checked(db, settings.storage.database)
            version = await current_version(db)
    if applied:
        print(_text(settings, "applied", versions=applied))
    else:
        print(_text(settings, "up_to_date", version=version))
    return 0


async def db_backup(settings: Settings, path: Path) -> int:
    """Copy the live database to `path` with SQLite's online backup; print the path."""
    source = settings.storage.database
    if is_postgres_url(source):
        print("branchbot: a PostgreSQL store is backed up with pg_dump", file=sys.stderr)
        return 1
    # Opening a missing file would create an empty database and "back up" nothing.
    if source != ":memory:" and not await asyncio.to_thread(Path(source).exists):
        print(f"branchbot: {_text(settings, 'no_database', path=source)}", file=sys.stderr)
        return 1
    async with _database(settings, migrated=False) as db:
        try:
            await backup_database(db, path)
        except sqlite3.Error as exc:
            print(f"branchbot: {path}: {exc}", file=sys.stderr)
            return 1
    print(_text(settings, "backup_done", path=path))
    return 0


async def db_copy(settings: Settings, source: Path, target: str) -> int:
    """Copy a SQLite file into an empty PostgreSQL database; print rows per table."""
    if not is_postgres_url(target):
        print(f"branchbot: {_text(settings, 'copy_target', target=target)}", file=sys.stderr)
        return 2
    if not await asyncio.to_thread(source.exists):
        print(f"branchbot: {_text(settings, 'no_database', path=source)}", file=sys.stderr)
        return 1
    # The file must not change under the copy: refuse while a bot runs on it.
    with exclusive_use(str(source)):
        sqlite_db = await open_checked_database(source, migrated=False)
        try:
            pg_db = await open_checked_database(target, migrated=False)
            try:
                counts = await copy_database(sqlite_db, pg_db)  # type: ignore[arg-type]
            except CopyRefused as refused:
                if refused.reason not in ("not_empty", "counts_differ"):
                    raise
                text = _text(settings, f"copy_{refused.reason}", **refused.details)
                print(f"branchbot: {text}", file=sys.stderr)
                return 2
            finally:
                await pg_db.close()
        finally:
            await sqlite_db.close()
    for table, rows in counts.items():
        print(_text(settings, "copy_table", table=table, rows=rows))
    print(_text(settings, "copy_done", tables=len(counts), rows=sum(counts.values())))
    return 0


async def org_import(settings: Settings, file: Path, *, clock: Clock | None = None) -> int:
    """Import units from a TOML or CSV file; on a bad line print it and import nothing."""
    now = int((clock or SystemClock()).now().timestamp())
    async with _database(settings, migrated=True) as db:
        try:
            specs = parse_org_file(file, known=await units_repo.unit_keys(db))
        except OrgImportError as exc:
            print(f"branchbot: {exc}", file=sys.stderr)
            return 1
        result = await units_repo.upsert_units(db, specs, now=now, actor="cli")
    print(_text(
        settings, "imported",
        created=len(result.created), updated=len(result.updated),
        unchanged=len(result.unchanged),
    ))
    return 0


async def org_check(settings: Settings) -> int:
    """Print each structure finding; return 0 when the tree is clean, 1 otherwise.

    Like a linter, a non-zero status lets a cron job or script notice findings.
    """
    async with _database(settings, migrated=True) as db:
        has_units = bool(await units_repo.unit_keys(db))
        findings = await load_structure_findings(db, settings.structure)
    if not has_units:
        print(_text(settings, "empty_tree"))
        return 0
    if not findings:
        print(_text(settings, "check_clean"))
        return 0
    for finding in findings:
        print(format_finding(finding, settings.general.default_language))
    print(_text(settings, "check_count", count=len(findings)))
    return 1


async def org_show(settings: Settings) -> int:
    """Print the organisation tree, one unit per line."""
    async with _database(settings, migrated=True) as db:
        units = await units_repo.list_units(db)
    if not units:
        print(_text(settings, "empty_tree"))
        return 0

    language = settings.general.default_language

    def label(unit: Unit) -> str:
        # The same wording as /org in the bot: kind in words, key to type.
        kind = t(language, f"kind.{unit.kind}")
        return t(language, "org.unit", name=unit.name, key=unit.key, kind=kind)

    for line in render_tree(units, label=label):
        print(line)
    return 0

