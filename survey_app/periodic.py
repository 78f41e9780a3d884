"""A worker's background jobs: a coroutine run every few seconds while the worker runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def every(seconds: float, job: Callable[[], Awaitable[object]], what: str) -> AsyncIterator[None]:
    """Run `job` every `seconds` (0 = never) until the block ends.

    A failed run is logged and the next one still comes: a passing database hiccup must not stop
    the flushing of counters or the fraud-flag passes for the rest of the worker's life.
    """

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
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
