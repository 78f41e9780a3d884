"""The flood guard on residents' posts: Litestar's rate limiter, per client address.

It is deliberately generous. Residents behind one carrier-grade NAT share an address, and a
community hall's Wi-Fi puts a whole meeting behind one, so a tight per-address limit would lock
honest residents out of each other's way; that is what the campaigns' own hourly limits per link
and per campaign are for (survey_app/ballots.py). This guard only stops a single machine from
hammering the server. Its store is `rate_limit` (Redis when MINPING_REDIS_URL is set, so all
workers share the counts; per process in memory otherwise, which makes the bound N× with N workers).
Behind a reverse proxy, serve with uvicorn's --proxy-headers and --forwarded-allow-ips, or every
resident shares the proxy's address.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.memory import MemoryStore

from survey_app import periodic


def _is_resident_post(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST" and request.url.path.startswith("/q/")


def resident_flood_guard(posts_per_minute: int) -> RateLimitConfig:
    """Limit residents' POSTs per client address; every other request passes untouched.

    The default (settings.resident_posts_per_minute, MINPING_RESIDENT_POSTS_PER_MINUTE) is 300: a
    person answers in one to two minutes, so that is 150 residents submitting at once behind one
    NAT, with a resend each. A load test from one machine raises it."""
    return RateLimitConfig(
        rate_limit=("minute", posts_per_minute),
        check_throttle_handler=_is_resident_post,
        store="rate_limit",
    )


# MemoryStore drops an expired entry only when it is read again (Litestar #5085): without a sweep,
# every address that ever posted would stay in memory for the life of the worker.
SWEEP_EVERY_S = 600.0


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Sweep expired entries out of an in-memory rate-limit store while the worker runs (Redis expires its own)."""
    store = app.stores.get("rate_limit")
    sweep_every = SWEEP_EVERY_S if isinstance(store, MemoryStore) else 0
    async with periodic.every(sweep_every, store.delete_expired, "sweeping the rate-limit store"):
        yield
