"""A worker's background jobs: a coroutine run every few seconds while the worker runs.

Some jobs concern the worker alone (flushing its in-memory link counts, sweeping its in-memory
stores) and run in every worker. Others work on the shared database (the fraud-flag pass) and
need running once per interval for the whole service, however many workers and nodes serve it:
those are started `across_nodes`. At each tick a worker claims the job's run of this interval with
one conditional UPDATE of its `periodic_run` row (started less than nine tenths of an interval ago:
someone else has it), so of all the workers whose timers fire in one interval exactly one runs it;
while it runs it holds a lease, so a run longer than the interval is not started again beside
itself: a PostgreSQL advisory lock on a connection of its own (released by PostgreSQL if the node
dies), or on SQLite, whose workers share one host, a lock file beside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from piccolo.engine.postgres import PostgresEngine

from survey_app.db import engine, writing
from survey_app.settings import get_settings
from survey_app.tables import PeriodicRun

log = logging.getLogger(__name__)

CLAIM_SHARE = 0.9  # a timer firing a little early (or a clock a little off) still finds the last run old enough
NODE = f"{socket.gethostname()}:{os.getpid()}"


@contextlib.asynccontextmanager
async def every(
    seconds: float, job: Callable[[], Awaitable[object]], what: str, *, across_nodes: str | None = None
) -> AsyncIterator[None]:
    """Run `job` every `seconds` (0 = never) until the block ends; with `across_nodes` (the job's name),
    once per interval over every worker and node on the database.

    A failed run is logged and the next one still comes: a passing database hiccup must not stop
    the flushing of counters or the fraud-flag passes for the rest of the worker's life.
    """

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                if across_nodes is None:
                    await job()
                else:
                    await run_once_across_nodes(across_nodes, seconds, job)
            except Exception:
                log.exception("%s failed", what)

    task = asyncio.create_task(loop()) if seconds > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def run_once_across_nodes(name: str, seconds: float, job: Callable[[], Awaitable[object]]) -> bool:
    """Run `job` if no worker started `name` in the last interval and none is running it; say whether it ran."""
    async with _lease(name) as held:
        if not held or not await _claim(name, seconds):
            return False
        await job()
        return True


async def _claim(name: str, seconds: float) -> bool:
    now = datetime.now(UTC)
    async with writing():
        await PeriodicRun.insert(PeriodicRun(name=name, started_at=None)).on_conflict(
            target=PeriodicRun.name, action="DO NOTHING"
        )
        due = (PeriodicRun.started_at.is_null()) | (
            PeriodicRun.started_at <= now - timedelta(seconds=seconds * CLAIM_SHARE)
        )
        claimed = await (
            PeriodicRun.update(
                {PeriodicRun.started_at: now, PeriodicRun.node: NODE, PeriodicRun.runs: PeriodicRun.runs + 1}
            )
            .where((PeriodicRun.name == name) & due)
            .returning(PeriodicRun.id)
        )
    return bool(claimed)


@contextlib.asynccontextmanager
async def _lease(name: str) -> AsyncIterator[bool]:
    """Hold the job's lease while the block runs, if no one else holds it (yields whether we do)."""
    db = engine()
    key = zlib.crc32(f"minping.periodic.{name}".encode())  # a stable 32-bit number per job
    if isinstance(db, PostgresEngine):
        # Session-level, on a connection of the run's own, unlocked before it goes back to the pool.
        pool = db.pool
        connection = await (pool.acquire() if pool is not None else db.get_new_connection())
        try:
            held = bool(await connection.fetchval("SELECT pg_try_advisory_lock($1)", key))
            try:
                yield held
            finally:
                if held:
                    await connection.execute("SELECT pg_advisory_unlock($1)", key)
        finally:
            await (pool.release(connection) if pool is not None else connection.close())
        return
    path = get_settings().sqlite_path.with_suffix(f".{name}.lease")
    with open(path, "a") as lock:  # closing the file releases the lock
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held
