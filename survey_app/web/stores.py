"""The key-value stores of the web layer: staff sessions, sign-in failures and the flood guard's counts.

With `MINPING_REDIS_URL` set they live in Redis, so every worker (and every node) sees the same
sessions and counts, and Redis expires entries by itself. Otherwise each worker keeps them in
memory, and Litestar's MemoryStore drops an expired entry only when it is read again (Litestar
#5085): without a sweep, every address that ever posted would stay in memory for the life of the
worker, so the lifespan sweeps them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from survey_app import periodic
from survey_app.settings import get_settings

SESSIONS, THROTTLE, RATE_LIMIT = "sessions", "throttle", "rate_limit"
NAMES = (SESSIONS, THROTTLE, RATE_LIMIT)
SWEEP_EVERY_S = 600.0


def make_store(namespace: str) -> Store:
    """A key-value store shared by all workers when Redis is configured, else one in this worker's memory."""
    redis_url = get_settings().redis_url
    if redis_url:
        return RedisStore.with_client(redis_url, namespace=f"minping:{namespace}")
    return MemoryStore()


def make_stores() -> dict[str, Store]:
    """Every store the app uses, by name."""
    return {name: make_store(name) for name in NAMES}


async def _sweep(app: Litestar) -> None:
    for name in NAMES:
        store = app.stores.get(name)
        if isinstance(store, MemoryStore):
            await store.delete_expired()


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Sweep expired entries out of the in-memory stores while the worker runs (Redis expires its own)."""
    in_memory = any(isinstance(app.stores.get(name), MemoryStore) for name in NAMES)
    async with periodic.every(SWEEP_EVERY_S if in_memory else 0, lambda: _sweep(app), "sweeping the stores"):
        yield
