"""The flood guard on residents' posts and receipt lookups: a counter per client address and minute.

It is deliberately generous. Residents behind one carrier-grade NAT share an address, and a
community hall's Wi-Fi puts a whole meeting behind one, so a tight per-address limit would lock
honest residents out of each other's way; that is what the campaigns' own hourly limits per link
and per campaign are for (survey_app/ballots.py). This guard only stops a single machine from
hammering the server. Its store is `rate_limit` (survey_app/web/stores.py: Redis when MINPING_REDIS_URL is set, so all
workers share the counts; per process in memory otherwise, which makes the bound N× with N workers).
Behind a reverse proxy, serve with `minping serve --forwarded-allow-ips <proxy>`, or every
resident shares the proxy's address (and no client is believed about its own address).

Over the limit the guard answers before the body is read, where the answers cannot be shown again.
So a handler that shows a resident's form declares `opt=SHOWS_FORM_AGAIN`: an over-limit post to it
is not counted and reaches the handler marked (`refusal(request)`), and the handler shows the form
again with the answers and the 429, saving nothing. Any other over-limit post gets the 429 raised
as usual; both carry Retry-After.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS
from litestar.types import ASGIApp, Receive, Scope, Send

from survey_app.i18n import N_, Refusal
from survey_app.web import stores

STORE = stores.RATE_LIMIT
WINDOW_S = 60
_RESIDENT_PATH = "/q/"
# A route handler's opt: over the limit, its post is handed on marked instead of refused here. Such a
# handler must check `refusal(request)` before it saves or counts anything.
_OPT = "flood_guard_shows_form_again"
SHOWS_FORM_AGAIN = {_OPT: True}
_MARK = "minping_flood_refusal"
TOO_FAST = N_("提交太频繁，请稍后再试：等一分钟再提交即可，您填写的答案已保留。")
# Receipt lookups (/r?code=…) per address and minute. The code is the only key to a case's state, so
# guessing is what this stops: a resident looks up a code or two, and a whole NAT rarely 30 a minute.
LOOKUPS_PER_MINUTE = 30
_RECEIPT_PATH = "/r"
TOO_MANY_LOOKUPS = N_("查询太频繁，请一分钟后再试。")


class TooFast(Refusal):
    """What a resident sees over the flood limit; `headers` (RateLimit-*, Retry-After) go on the 429."""

    status_code = HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, headers: dict[str, str], message: str = TOO_FAST) -> None:
        super().__init__(message)
        self.headers = headers


class FloodGuard:
    """Middleware: at most `posts_per_minute` resident POSTs per client address in a fixed minute.

    The default (settings.resident_posts_per_minute, MINPING_RESIDENT_POSTS_PER_MINUTE) is 300: a
    person answers in one to two minutes, so that is 150 residents submitting at once behind one
    NAT, with a resend each. A load test from one machine raises it.

    It counts as Litestar's RateLimitMiddleware did (a window opens with an address's first post and
    lasts a minute; the post over the limit gets 429 with Retry-After), but every other request
    passes after two comparisons: Litestar's built a Request and called the check in a worker
    thread for every request, pages included, and kept a timestamp per post, decoded and encoded
    again on each post, so its cost grew with the limit (a raised limit under load cost
    milliseconds a post). Here the store keeps one counter per address.
    """

    def __init__(self, posts_per_minute: int, store: str = STORE) -> None:
        self.posts_per_minute, self.store = posts_per_minute, store

    def __call__(self, app: ASGIApp) -> ASGIApp:
        lock = anyio.Lock()  # get-then-set must not interleave within the process

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            counted = self._counted(scope) if scope["type"] == ScopeType.HTTP else None
            if counted is not None:
                kind, limit, message = counted
                store = scope["litestar_app"].stores.get(self.store)
                client = scope.get("client")
                key = f"{kind}::{client[0] if client else '-'}"
                async with lock:
                    now = int(time.time())
                    count, reset = _read(await store.get(key), now)
                    over = count >= limit
                    if not over:
                        await store.set(key, f"{count + 1} {reset}", expires_in=max(1, reset - now))
                if over:
                    wait = str(max(1, reset - now))
                    headers = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": "0"}
                    headers |= {"RateLimit-Reset": wait, "Retry-After": wait}
                    if not scope["route_handler"].opt.get(_OPT):
                        raise TooManyRequestsException(headers=headers)
                    scope.setdefault("state", {})[_MARK] = TooFast(headers, message)
            await app(scope, receive, send)

        return middleware

    def _counted(self, scope: Scope) -> tuple[str, int, str] | None:
        """(counter, limit a minute, message over it) for a resident's post or a receipt lookup; None
        for anything else, which passes untouched."""
        method = scope.get("method")
        if method == "POST" and scope["path"].startswith(_RESIDENT_PATH):
            return "flood", self.posts_per_minute, TOO_FAST
        if method == "GET" and scope["path"] == _RECEIPT_PATH and b"code=" in scope["query_string"]:
            return "lookup", LOOKUPS_PER_MINUTE, TOO_MANY_LOOKUPS
        return None


def _read(value: bytes | None, now: int) -> tuple[int, int]:
    """(posts counted, end of the window) from a stored value; a fresh window when none or it ended."""
    if value:
        count, _, reset = value.decode().partition(" ")
        if count.isdigit() and reset.isdigit() and int(reset) > now:
            return int(count), int(reset)
    return 0, now + WINDOW_S


def refusal(request: Request[Any, Any, Any]) -> TooFast | None:
    """The flood guard's refusal of this post, which its handler must show with the answers (saving nothing)."""
    return request.scope.get("state", {}).get(_MARK)


def resident_flood_guard(posts_per_minute: int) -> FloodGuard:
    """Limit residents' POSTs and receipt lookups per client address; every other request passes untouched."""
    return FloodGuard(posts_per_minute)
