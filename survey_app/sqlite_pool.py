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
"""

from __future__ import annotations

from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, dict_factory

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


class PooledSQLiteEngine(SQLiteEngine):
    __slots__ = ("_idle",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list[Any] | None = None  # None: not pooling, one connection per query as in Piccolo

    def open_pool(self) -> None:
        self._idle = []

    async def close_pool(self) -> None:
        idle, self._idle = self._idle or [], None
        for connection in idle:
            await connection.close()

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
