"""Scan, start and limited counts per link, for workers' progress pages.

A database write on every form view would put the busiest public page behind the write lock, so
each worker process counts in memory and adds its counts to the links every few seconds. The
figures are approximate by design (a crash loses the last few seconds); answers never go this way.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator

from survey_app import periodic
from survey_app.db import quick, writing
from survey_app.tables import Link

FLUSH_EVERY_S = 5.0

_scans: Counter[int] = Counter()
_starts: Counter[int] = Counter()
_limited: Counter[int] = Counter()


def count_scan(link_id: int) -> None:
    _scans[link_id] += 1


def count_start(link_id: int) -> None:
    _starts[link_id] += 1


def count_limited(link_id: int) -> None:
    """An answer turned away by an hourly limit (survey_app/ballots.py), so the link's owners see it happened."""
    _limited[link_id] += 1


async def flush() -> None:
    """Add the counts gathered so far to the links (additive, so every worker can flush)."""
    scans, starts, limited = dict(_scans), dict(_starts), dict(_limited)
    _scans.clear()
    _starts.clear()
    _limited.clear()
    if not scans and not starts and not limited:
        return
    with quick():  # one indexed UPDATE per link, while every worker's submissions wait for the write lock
        async with writing():
            for link_id in scans.keys() | starts.keys() | limited.keys():
                await Link.update(
                    {
                        Link.scans: Link.scans + scans.get(link_id, 0),
                        Link.starts: Link.starts + starts.get(link_id, 0),
                        Link.limited: Link.limited + limited.get(link_id, 0),
                    }
                ).where(Link.id == link_id)


@contextlib.asynccontextmanager
async def lifespan(_app: object) -> AsyncIterator[None]:
    """Flush periodically while the worker runs, and once more when it stops."""
    try:
        async with periodic.every(FLUSH_EVERY_S, flush, "flushing link counts"):
            yield
    finally:
        await flush()
