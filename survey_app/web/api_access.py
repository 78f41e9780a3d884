"""Who is calling the JSON API: an `Authorization: Bearer` token, or else the staff session; and what they may do.

Tokens are for systems (survey_app/tokens.py): no login form, no CSRF token to scrape, no idle
timeout. A request with an `Authorization` header is judged by it alone: a bad, expired or revoked
token is a 401, whatever cookie comes with it. Without one, the staff session signs the request
in exactly as on the pages (`auth.retrieve_user`). Writes through the API take a token: the cookie
of a browser could be ridden by another site, which the API's JSON writes do not check for (they
are exempt from the pages' CSRF token), so a session may only read here.

Each token has its own limit a minute (`minute_limit`), counted in the `rate_limit` store (Redis
when configured, so the workers share it; approximate per worker otherwise).
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Empty

from survey_app import tokens
from survey_app.tokens import ApiClient
from survey_app.web import auth, stores

BAD_TOKEN = "the token is not valid, has expired or was revoked"
BAD_SCHEME = "send the token as `Authorization: Bearer <token>`"
WINDOW_S = 60
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_lock = anyio.Lock()


class ApiCredentials(AbstractAuthenticationMiddleware):
    """The API's sign-in: a Bearer token, or the staff session (see the module docstring)."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if header is None:
            session = connection.scope.get("session")
            user = await auth.retrieve_user(session if isinstance(session, dict) else {}, connection)
            if user is None:
                raise NotAuthorizedException(auth.NOT_SIGNED_IN)
            if connection.scope.get("method", "GET") not in SAFE_METHODS:
                raise PermissionDeniedException("writes through the API need a token (Authorization: Bearer)")
            return AuthenticationResult(user=user, auth=None)
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise NotAuthorizedException(BAD_SCHEME)
        client = await tokens.authenticate(credential.strip())
        if client is None:
            raise NotAuthorizedException(BAD_TOKEN)
        await _count(connection, client)
        if connection.cookies.get(auth.SESSION_COOKIE) in (None, "", "null"):
            # A system's requests leave nothing in the session store (a browser's session is left alone).
            connection.scope["session"] = Empty
        return AuthenticationResult(user=client, auth=client)


async def _count(connection: ASGIConnection[Any, Any, Any, Any], client: ApiClient) -> None:
    """One request of the token's minute; over its limit a 429 with Retry-After."""
    store = connection.app.stores.get(stores.RATE_LIMIT)
    now = int(time.time())
    window = now // WINDOW_S
    key = f"token:{client.token_id}:{window}"
    async with _lock:  # get-then-set must not interleave within the process
        value = await store.get(key)
        count = int(value) if value else 0
        if count < client.minute_limit:
            await store.set(key, str(count + 1), expires_in=WINDOW_S)
    if count >= client.minute_limit:
        wait = str((window + 1) * WINDOW_S - now)
        raise TooManyRequestsException(
            f"more than {client.minute_limit} requests a minute with this token",
            headers={"Retry-After": wait, "RateLimit-Limit": str(client.minute_limit), "RateLimit-Remaining": "0"},
        )


def may_read(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard on the API: a token without the read permission may only make its writes."""
    user = connection.user
    if isinstance(user, ApiClient) and not user.can_read and connection.scope.get("method", "GET") in SAFE_METHODS:
        raise PermissionDeniedException("this token may not read")


def may_write(name: str) -> Any:
    """A guard: only a token granted this named write (survey_app/tokens.py `WRITES`) may use the route."""
    assert name in tokens.WRITES, name

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.user
        if not isinstance(user, ApiClient) or name not in user.writes:
            raise PermissionDeniedException(f"this token may not {name}")

    guard.__name__ = f"may_write_{name.replace('.', '_')}"
    return guard


_known: dict[tuple[BaseRouteHandler, frozenset[str]], frozenset[str]] = {}


def known_parameters(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard on the API: a query parameter the route does not take is a 400, never silently ignored
    (a client sending `since=` must not believe it pulled only new records)."""
    path_params = frozenset(connection.path_params)
    handler = connection.route_handler  # the route's own (guards are handed a copy)
    key = (handler, path_params)
    if key not in _known:
        model = handler.create_kwargs_model(path_parameters=dict.fromkeys(path_params))
        _known[key] = frozenset(p.field_alias for p in model.expected_query_params)
    unknown = sorted(set(connection.query_params) - _known[key])
    if unknown:
        taken = ", ".join(sorted(_known[key])) or "none"
        raise ValidationException(f"unknown query parameter: {', '.join(unknown)} (this endpoint takes: {taken})")
