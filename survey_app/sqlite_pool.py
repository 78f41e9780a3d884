"""Piccolo's SQLite engine with its connections kept open while a worker runs.

Stock Piccolo opens a new SQLite connection, and with aiosqlite a new thread, for every query
outside a transaction and for every transaction: about 1 ms each on this project's 2-core machine,
as much as the query itself, on every resident's page view. While a worker runs (between
`open_pool()` and `close_pool()`, i.e. in the app's lifespan) connections are lent out and taken
back instead. Outside that window (the CLI, migrations) the engine behaves exactly like Piccolo's,
so no connection thread can outlive its event loop and keep the process from exiting.

Each statement is also one trip to the connection's thread instead of three or four. Piccolo runs
`PRAGMA foreign_keys = 1` before every statement, then the statement, then fetches its rows, then
(outside a transaction) commits, each a separate hand-over to the thread and back. Under load a
hand-over waits for the event loop's thread to let go of the GIL (up to the 5 ms switch interval),
and a write transaction holds the write lock across all of its hand-overs, so their number set how
many submissions a second a worker could save. The pragma is needless here: every connection
this engine hands out has had it since `get_connection` opened it (it is a per-connection setting),
and inside a transaction SQLite ignores it anyway. Connections are in autocommit mode
(`isolation_level=None`), so there is nothing to commit after a statement outside a transaction.

Inside `quick()` (see survey_app/db.py) statements skip the thread altogether: they run on the event
loop's own thread through a plain sqlite3 connection (`_InlineConnection`). That is for the few,
small, indexed statements of a resident's request: resolving the link and saving the answer. A
trip to the thread costs more CPU than such a statement (waking the thread, the future, waking
the loop again, the GIL twice), and a write transaction kept the write lock, which every worker
shares, while each of its statements waited for the loop to come round again; run inline, the
whole transaction runs in one go, for a fraction of a millisecond plus the commit's fsync. Inline
connections never wait for a lock (busy timeout 0): when another process holds the write lock
(only a process that does not take the lock file, such as a CLI command, can) or a read meets
SQLite's rare busy case, the statement or transaction moves to a thread connection and waits
there with the engine's busy timeout, as before, so the loop is never blocked by a lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

# Idle connections kept per worker; a burst may borrow more, which are closed when returned.
MAX_IDLE = 16


class _Lease:
    """A pooled connection as Piccolo sees it: `close()` gives it back instead of closing it."""

    def __init__(self, connection: Any, engine: PooledSQLiteEngine) -> None:
        self._connection, self._engine = connection, engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    @property
    def row_factory(self) -> Any:
        return self._connection.row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        self._connection.row_factory = value

    async def close(self) -> None:
        await self._engine._give_back(self._connection)


#: Set by `db.quick()`: statements (and transactions begun) meanwhile run on the loop's thread.
inline: ContextVar[bool] = ContextVar("minping_sqlite_inline", default=False)


def _is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY (any extended code): another connection holds a lock this statement needs."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class _InlineConnection:
    """A plain sqlite3 connection on the loop's thread, with the part of aiosqlite's interface Piccolo uses."""

    def __init__(self, connection: sqlite3.Connection, engine: PooledSQLiteEngine) -> None:
        self._connection, self._engine = connection, engine

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    @property
    def row_factory(self) -> Any:
        return self._connection.row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        self._connection.row_factory = value

    async def execute(self, sql: str, parameters: Any = None) -> None:
        self._connection.execute(sql, parameters or [])

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> list[Any]:
        return self._connection.execute(sql, parameters or []).fetchall()

    async def commit(self) -> None:
        self._connection.commit()

    async def rollback(self) -> None:
        self._connection.rollback()

    async def close(self) -> None:
        self._engine._give_back_inline(self._connection)


class _Transaction(SQLiteTransaction):
    """Piccolo's transaction, begun on an inline connection inside `quick()`."""

    __slots__ = ()

    async def get_connection(self) -> Any:
        engine: PooledSQLiteEngine = self.engine  # type: ignore[assignment]
        return engine._take_inline() if engine._inline_allowed() else await engine.get_connection()

    async def begin(self) -> None:
        try:
            await super().begin()
        except sqlite3.OperationalError as exc:
            if not (isinstance(self.connection, _InlineConnection) and _is_busy(exc)):
                raise
            # Another process holds the write lock: wait for it in a thread connection instead.
            await self.connection.close()
            self.connection = await self.engine.get_connection()
            await super().begin()


def keep_private(database: Path) -> None:
    """Make the database file readable by its owner only (600), creating it empty if need be.

    SQLite creates the file with the process's umask (usually 644: anyone on the machine could copy
    every answer), and gives its -wal and -shm files the database file's permissions; so the file is
    created here first, and an older one that others can read is tightened (with its -wal and -shm).
    """
    if str(database) == ":memory:":
        return
    os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)


class PooledSQLiteEngine(SQLiteEngine):
    __slots__ = ("_idle", "_idle_inline")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep_private(Path(self.path))
        self._idle: list[Any] | None = None  # None: not pooling, one connection per query as in Piccolo
        self._idle_inline: list[sqlite3.Connection] = []

    @property
    def pooling(self) -> bool:
        """Whether connections are kept (between `open_pool()` and `close_pool()`)."""
        return self._idle is not None

    def open_pool(self) -> None:
        self._idle = []

    async def close_pool(self) -> None:
        idle, self._idle = self._idle or [], None
        for connection in idle:
            await connection.close()
        inline_idle, self._idle_inline = self._idle_inline, []
        for plain in inline_idle:
            plain.close()

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return _Transaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    def _inline_allowed(self) -> bool:
        return self._idle is not None and inline.get()

    def _take_inline(self) -> _InlineConnection:
        if self._idle_inline:
            return _InlineConnection(self._idle_inline.pop(), self)
        plain = sqlite3.connect(**{**self.connection_kwargs, "timeout": 0})  # never wait on the loop's thread
        assert plain.isolation_level is None, "Piccolo's connections are in autocommit mode"
        plain.row_factory = dict_factory
        plain.execute("PRAGMA foreign_keys = 1")
        return _InlineConnection(plain, self)

    def _give_back_inline(self, connection: sqlite3.Connection) -> None:
        if self._idle is None or len(self._idle_inline) >= MAX_IDLE or connection.in_transaction:
            connection.close()
        else:
            self._idle_inline.append(connection)

    async def get_connection(self) -> Any:
        if self._idle is None:
            return await super().get_connection()
        connection = self._idle.pop() if self._idle else await super().get_connection()
        return _Lease(connection, self)

    async def _give_back(self, connection: Any) -> None:
        # A connection left inside a transaction (a failed COMMIT) must not be lent again.
        if self._idle is None or len(self._idle) >= MAX_IDLE or connection.in_transaction:
            await connection.close()
        else:
            self._idle.append(connection)

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        if self._idle is None:
            return await super()._run_in_new_connection(query, args, query_type, table)
        if inline.get() and not (query_type == "insert" and self.get_version_sync() < 3.35):
            plain = self._take_inline()  # autocommit: the statement is committed when it returns
            try:
                return plain._connection.execute(query, args or []).fetchall()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                # a lock held by another process: wait for it in a thread connection below
            finally:
                await plain.close()
        lease = await self.get_connection()
        try:
            result = await self._run_in_existing_connection(lease, query, args, query_type, table)
            if lease.in_transaction:  # not in autocommit mode after all: never leave a write pending
                await lease.commit()
            return result
        except BaseException:
            if lease.in_transaction:
                await lease.rollback()
            raise
        finally:
            await lease.close()

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        """One statement, executed and fetched in one trip to the connection's thread (see the module's docstring)."""
        if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING: Piccolo's own way
            return await super()._run_in_existing_connection(connection, query, args, query_type, table)
        connection.row_factory = dict_factory
        return list(await connection.execute_fetchall(query, args or []))
