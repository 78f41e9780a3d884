"""Backing up and restoring the database: SQLite's online backup API, PostgreSQL's pg_dump/pg_restore.

A backup is one file: a consistent copy of a SQLite database (taken while the server runs: the
backup API copies a snapshot page by page and starts again if a writer changes it meanwhile), or
a pg_dump archive in its custom format. A restore puts the file's data in the configured database;
a database that already holds Minping's tables is only replaced when asked (`replace=True`).
The secret key (MINPING_SECRET_KEY, or `secret_key` in the data folder) is not in the database:
keep it with the backups, or API tokens and signed links stop working after a restore elsewhere.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from pathlib import Path

from piccolo.apps.migrations.tables import Migration

from survey_app.settings import Settings, get_settings

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why in one line."""


async def backup(target: Path, settings: Settings | None = None) -> str:
    """Write a backup of the configured database to `target` (which must not exist); say what was written."""
    settings = settings or get_settings()
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name")
    if settings.is_postgres:
        await asyncio.to_thread(
            _run, ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", settings.database_url]
        )
        return f"PostgreSQL archive (pg_dump custom format) {target}"
    await asyncio.to_thread(_sqlite_copy, settings.sqlite_path, target)
    return f"SQLite database {target}"


async def restore(source: Path, *, replace: bool = False, settings: Settings | None = None) -> str:
    """Restore the configured database from a backup file; refuse to overwrite data unless `replace`."""
    settings = settings or get_settings()
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    with source.open("rb") as f:
        header = f.read(len(SQLITE_HEADER))
    expected = PG_DUMP_HEADER if settings.is_postgres else SQLITE_HEADER
    if not header.startswith(expected):
        kind = "a pg_dump archive" if settings.is_postgres else "a SQLite database"
        raise BackupError(f"{source} is not {kind}, which the configured database needs")
    if not replace and await _has_data():
        raise BackupError("the configured database already holds Minping's data; pass --replace to overwrite it")
    if settings.is_postgres:
        command = ["pg_restore", "--no-owner", "--no-privileges", "--clean", "--if-exists", "--exit-on-error"]
        await asyncio.to_thread(
            _run, [*command, "--single-transaction", f"--dbname={settings.database_url}", str(source)]
        )
    else:
        await asyncio.to_thread(_sqlite_copy, source, settings.sqlite_path)
    return f"restored {source}"


async def _has_data() -> bool:
    return bool(await Migration.table_exists()) and bool(await Migration.count())


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with the backup API, then check the copy's integrity."""
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            if (check := dst.execute("PRAGMA integrity_check").fetchone()[0]) != "ok":
                raise BackupError(f"the copy in {target} fails its integrity check: {check}")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source} to {target}: {exc}") from exc
    finally:
        src.close()


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools are needed)")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{command[0]} failed: {lines[-1] if lines else f'exit status {done.returncode}'}")
