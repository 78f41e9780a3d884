"""The database engine's lifecycle: migrations, connection pool, and write transactions.

SQLite rules (see docs/operations.md): WAL journal, a 30 s busy timeout, and every transaction that
may write starts IMMEDIATE, because a DEFERRED transaction that reads and then writes fails at once
with "database is locked" whatever the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.columns import Column
from piccolo.columns.column_types import JSON, JSONB
from piccolo.columns.defaults.base import Default
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table
from piccolo.utils.encoding import dump_json
from piccolo.utils.sql_values import convert_to_sql_value

from survey_app import sqlite_pool
from survey_app.piccolo_app import APP_CONFIG
from survey_app.settings import get_settings
from survey_app.sqlite_pool import PooledSQLiteEngine

# Any constant works; it only has to be the same in every process that migrates this database.
_MIGRATION_LOCK_KEY = 0x4D494E50  # "MINP"
POOL_MAX_SIZE = 10


async def _nothing_to_reset(_connection: object) -> None:
    """asyncpg's pool runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
    connection it takes back unless told otherwise: a round trip to PostgreSQL after every query
    outside a transaction and every transaction, two or three a resident's submission. Minping changes
    no session state (no SET, no session-level advisory lock (migrations take a transaction-level
    one), no LISTEN, no cursor kept past its transaction), so there is nothing to reset. asyncpg
    still rolls back a transaction left open before this runs."""


POOL_OPTIONS: dict[str, Any] = {"min_size": 1, "max_size": POOL_MAX_SIZE, "reset": _nothing_to_reset}


_engine: PostgresEngine | SQLiteEngine | None = None


def engine() -> PostgresEngine | SQLiteEngine:
    """The configured engine (found once: Piccolo's finder imports the configuration on every call)."""
    global _engine
    if _engine is None:
        found = engine_finder()
        assert isinstance(found, PostgresEngine | SQLiteEngine), f"unsupported engine {found!r}"
        _engine = found
    return _engine


@contextlib.asynccontextmanager
async def writing() -> AsyncIterator[Any]:
    """A transaction for work that may write: IMMEDIATE on SQLite, plain on PostgreSQL.

    On SQLite the transactions of one process also queue on an asyncio lock before BEGIN IMMEDIATE.
    SQLite admits one writer at a time anyway, but a writer that finds the database taken waits in
    SQLite's busy handler, which sleeps with growing back-off (up to 100 ms a turn) instead of
    queueing: with dozens of concurrent submissions some waited seconds while the lock sat free,
    and the unluckiest would reach the busy timeout and fail with "database is locked". Between
    worker processes the same goes for a lock file beside the database (`_between_processes`): the
    kernel wakes the waiting process the moment the other lets go, where the busy handler had it
    sleep, so with two workers one of them kept the database most of the time and the other's
    submissions waited up to a second. SQLite's own lock still decides: the file lock only spares
    the busy handler, and a process that does not take it (a CLI command) is merely waited for.
    """
    db = engine()
    if isinstance(db, PostgresEngine):
        async with db.transaction() as transaction:
            yield transaction
    elif db.current_transaction.get() is not None:
        # Nested: Piccolo reuses the outer transaction, whose caller already holds the lock.
        async with db.transaction(transaction_type=TransactionType.immediate) as transaction:
            yield transaction
    else:
        async with (
            _process_write_lock(),
            _between_processes(),
            db.transaction(transaction_type=TransactionType.immediate) as transaction,
        ):
            yield transaction


@contextlib.contextmanager
def quick() -> Iterator[None]:
    """Mark the statements of this block (and a transaction begun in it) as few, small and indexed.

    On SQLite, while a worker serves requests, they then run on the event loop's thread instead of
    each being handed to a connection thread and back (survey_app/sqlite_pool.py says why that
    matters); a statement that would have to wait for a lock is still handed over. Only for the
    resident's hot path: a long statement here would hold up every request of the worker.
    PostgreSQL: no effect.
    """
    token = sqlite_pool.inline.set(True)
    try:
        yield
    finally:
        sqlite_pool.inline.reset(token)


def referenced(row: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """A row its referrer's foreign key guarantees (ON DELETE RESTRICT); its absence means a broken database.

    :raise LookupError: naming `what`, rather than a TypeError on indexing None further on.
    """
    if row is None:
        raise LookupError(f"{what} is missing although a foreign key references it")
    return row


async def lock_row(table: type[Table], row_id: int) -> None:
    """Inside `writing()`: hold one row until the transaction ends, so writers that start from it queue.

    PostgreSQL takes SELECT … FOR UPDATE; SQLite needs nothing, its IMMEDIATE transactions already
    admit one writer at a time.
    """
    if isinstance(engine(), PostgresEngine):
        await table.raw(f"SELECT id FROM {table._meta.tablename} WHERE id = {{}} FOR UPDATE", row_id)


async def insert_row(row: Table) -> None:
    """Insert a new row and set its id: what `row.save()` does for a new row, on the hot path.

    Piccolo's insert builds the statement anew for every row through its query builder, which on a
    submission cost more than the database's own work (over 100 µs a row, three rows for a bad
    rating). Here each table's INSERT … RETURNING is written once, and values are converted as
    Piccolo converts them (JSON columns dumped with Piccolo's encoder, enums to their values).
    """
    table = type(row)
    if _no_returning():
        await row.save()
        return
    statement, columns, key = _insert_statement(table)
    inserted = await table.raw(statement, *(_sql_value(getattr(row, name), json, c) for name, json, c in columns))
    setattr(row, key, inserted[0][key])
    row._exists_in_db = True


async def insert(table: type[Table], values: dict[str, Any]) -> int:
    """Insert a row from {column name: value}, other columns at their defaults; return its id.

    `insert_row` without building the Table instance first, which costs as much again (Piccolo
    works out every column's value and default through its column objects): for rows the caller
    does not need as an object.
    """
    statement, columns, key = _insert_statement(table)
    unknown = values.keys() - {name for name, _, _ in columns}
    if unknown:
        raise ValueError(f"{table._meta.tablename} has no column {sorted(unknown)}")
    if _no_returning():
        row = table(**values)
        await row.save()
        return int(getattr(row, key))
    args = []
    for name, json, column in columns:
        if name in values:
            value = values[name]
        else:  # as Table.__init__ fills it in
            value = column.get_default_value()
            if isinstance(value, Default):
                value = value.python()
        args.append(_sql_value(value, json, column))
    inserted = await table.raw(statement, *args)
    return int(inserted[0][key])


def _no_returning() -> bool:
    return sqlite3.sqlite_version_info < (3, 35) and isinstance(engine(), SQLiteEngine)


_Columns = list[tuple[str, bool, Column]]  # name, is JSON, column
_inserts: dict[type[Table], tuple[str, _Columns, str]] = {}


def _insert_statement(table: type[Table]) -> tuple[str, _Columns, str]:
    """The table's INSERT, its columns and the primary key's name, worked out once per table."""
    if table not in _inserts:
        key = table._meta.primary_key
        columns = [c for c in table._meta.columns if c is not key]
        names = ", ".join(f'"{c._meta.db_column_name}"' for c in columns)
        values = ", ".join("{}" for _ in columns)
        returning = f'"{key._meta.db_column_name}" AS "{key._meta.name}"'
        statement = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({values}) RETURNING {returning}'
        described = [(c._meta.name, isinstance(c, JSON | JSONB), c) for c in columns]
        _inserts[table] = (statement, described, key._meta.name)
    return _inserts[table]


_PLAIN = frozenset((str, int, float, bool, datetime, type(None)))


def _sql_value(value: Any, json: bool, column: Column) -> Any:
    if json:
        return value if value is None or isinstance(value, str) else dump_json(value)
    if type(value) in _PLAIN:
        return value
    return convert_to_sql_value(value, column)  # enums, rows as foreign keys, lists


# One lock per event loop: an asyncio.Lock is bound to the loop that first waits on it, and the CLI
# runs several loops one after another in one process.
_write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _process_write_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _write_locks.get(loop)
    if lock is None:
        lock = _write_locks[loop] = asyncio.Lock()
    return lock


@contextlib.asynccontextmanager
async def _between_processes() -> AsyncIterator[None]:
    """Hold the SQLite database's write-lock file (flock) while the block runs.

    Each holder opens its own descriptor, so the lock is released by closing it, whatever happens:
    when the waiting coroutine is cancelled, the thread that waits for the lock keeps the
    descriptor and closes it once it has the lock. A killed process's locks go with it.
    """
    fd = os.open(get_settings().sqlite_path.with_suffix(".write-lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except BaseException:
            waiting.add_done_callback(lambda _: os.close(fd))
            raise
    except BaseException:
        os.close(fd)
        raise
    try:
        yield
    finally:
        os.close(fd)


async def migrate() -> None:
    """Apply pending migrations once, even when several workers or commands start together.

    :raise RuntimeError: when a migration fails.
    """
    db = engine()
    if isinstance(db, PostgresEngine):
        async with db.transaction():
            # Transaction-scoped advisory lock: released at commit; the others then find nothing to do.
            await db.run_ddl(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
            result = await _quiet_forwards()
    else:
        await db.run_ddl("PRAGMA journal_mode=WAL")
        lock_path = get_settings().sqlite_path.with_suffix(".migrate-lock")
        with os.fdopen(os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as lock:
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            result = await _quiet_forwards()
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")


class NotMigrated(RuntimeError):
    """The database is behind the code: a read-only command refuses rather than migrating it."""


async def require_migrated() -> None:
    """For commands that only read: refuse, saying what to run, when migrations are pending.

    :raise NotMigrated: when the database is empty or behind the code.
    """
    manager = BaseMigrationManager()
    known = manager.get_migration_ids(manager.get_migration_modules(str(APP_CONFIG.migrations_folder_path)))
    ran = (
        set(await Migration.get_migrations_which_ran(APP_CONFIG.app_name)) if await Migration.table_exists() else set()
    )
    if missing := [m for m in known if m not in ran]:
        raise NotMigrated(f"the database is not up to date ({len(missing)} migrations pending): run `minping migrate`")


async def _quiet_forwards() -> Any:
    # Piccolo prints progress with emoji to stdout; the CLI reports one line of its own instead.
    with contextlib.redirect_stdout(None):
        return await run_forwards(app_name="all")


@contextlib.asynccontextmanager
async def lifespan(_app: object) -> AsyncIterator[None]:
    """Per worker: open the connection pool (and set SQLite's journal mode) and close it at exit."""
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(**POOL_OPTIONS)
    else:
        await db.run_ddl("PRAGMA journal_mode=WAL")
        if isinstance(db, PooledSQLiteEngine):
            db.open_pool()
    try:
        yield
    finally:
        if isinstance(db, PostgresEngine):
            await db.close_connection_pool()
        elif isinstance(db, PooledSQLiteEngine):
            await db.close_pool()
