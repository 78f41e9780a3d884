"""The flood guard on residents' posts: Litestar's rate limiter, per client address.

It is deliberately generous. Residents behind one carrier-grade NAT share an address, and a
community hall's Wi-Fi puts a whole meeting behind one, so a tight per-address limit would lock
honest residents out of each other's way; that is what the campaigns' own hourly limits per link
and per campaign are for (survey_app/ballots.py). This guard only stops a single machine from
hammering the server. Its store is `rate_limit` (Redis when MINPING_REDIS_URL is set, so all
workers share the counts; per process in memory otherwise, which makes the bound N× with N workers).
Behind a reverse proxy, serve with uvicorn's --proxy-headers and --forwarded-allow-ips, or every
resident shares the proxy's address.

Over the limit, Litestar raises a bare 429 before the body is read, and an exception handler (sync
in Litestar 2) could not read the answers or load the form. So a handler that shows a resident's form
declares `opt=SHOWS_FORM_AGAIN`: an over-limit post to it is not counted and reaches the handler
marked (`refusal(request)`), and the handler shows the form again with the answers and the 429,
saving nothing. Any other over-limit post gets the 429 raised as usual; both carry Retry-After.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS
from litestar.stores.memory import MemoryStore
from litestar.types import Receive, Scope, Send

from survey_app import periodic
from survey_app.i18n import N_, Refusal

# A route handler's opt: over the limit, its post is handed on marked instead of refused here. Such a
# handler must check `refusal(request)` before it saves or counts anything.
_OPT = "flood_guard_shows_form_again"
SHOWS_FORM_AGAIN = {_OPT: True}
_MARK = "minping_flood_refusal"
TOO_FAST = N_("提交太频繁，请稍后再试：等一分钟再提交即可，您填写的答案已保留。")


class TooFast(Refusal):
    """What a resident sees over the flood limit; `headers` (RateLimit-*, Retry-After) go on the 429."""

    status_code = HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(TOO_FAST)
        self.headers = headers


def _is_resident_post(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST" and request.url.path.startswith("/q/")


class FloodGuardMiddleware(RateLimitMiddleware):
    """Litestar's rate limiter (same store, key and counting), with Retry-After on the 429 and
    over-limit posts to a SHOWS_FORM_AGAIN handler handed on marked rather than refused."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        if not await self.should_check_request(request=request):
            await self.app(scope, receive, send)
            return
        key = self.cache_key_from_request(request)
        store = self.config.get_store_from_app(app)
        async with self._lock:
            cache_object = await self.retrieve_cached_history(key, store)
            over = len(cache_object.history) >= self.max_requests
            if not over:
                await self.set_cached_history(key=key, cache_object=cache_object, store=store)
        if not over:
            await self.app(scope, receive, self.create_send_wrapper(send=send, cache_object=cache_object))
            return
        headers = self.create_response_headers(cache_object=cache_object)
        headers["Retry-After"] = str(max(1, int(headers[self.config.rate_limit_reset_header_key])))
        if not scope["route_handler"].opt.get(_OPT):
            raise TooManyRequestsException(headers=headers)
        scope.setdefault("state", {})[_MARK] = TooFast(headers)
        await self.app(scope, receive, send)


def refusal(request: Request[Any, Any, Any]) -> TooFast | None:
    """The flood guard's refusal of this post, which its handler must show with the answers (saving nothing)."""
    return request.scope.get("state", {}).get(_MARK)


def resident_flood_guard(posts_per_minute: int) -> RateLimitConfig:
    """Limit residents' POSTs per client address; every other request passes untouched.

    The default (settings.resident_posts_per_minute, MINPING_RESIDENT_POSTS_PER_MINUTE) is 300: a
    person answers in one to two minutes, so that is 150 residents submitting at once behind one
    NAT, with a resend each. A load test from one machine raises it."""
    return RateLimitConfig(
        rate_limit=("minute", posts_per_minute),
        check_throttle_handler=_is_resident_post,
        middleware_class=FloodGuardMiddleware,
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
