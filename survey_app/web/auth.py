"""Staff sign-in: server-side sessions, login throttling, and the guards that declare who may do what.

Sessions live in a Litestar store (Redis when `MINPING_REDIS_URL` is set, so every worker sees the
same sessions; memory otherwise). The session id is replaced at login (no fixation), a session ends
after 30 minutes idle or 12 hours in all (OWASP ASVS 3.3.2), and logout deletes it server-side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template
from litestar.security.session_auth import SessionAuth
from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_429_TOO_MANY_REQUESTS
from litestar.stores.base import Store
from litestar.types import Empty, Message

from survey_app import accounts
from survey_app.accounts import StaffMember
from survey_app.i18n import N_, Refusal
from survey_app.settings import get_settings
from survey_app.tables import Role
from survey_app.web import stores

IDLE_TIMEOUT_S = 30 * 60
ABSOLUTE_TIMEOUT_S = 12 * 3600
# Failed logins allowed per window before sign-in pauses (see `LoginThrottle`). Per account and
# address it stops password guessing; per address it is higher, because a whole office or mobile
# carrier can share one address.
THROTTLE_WINDOW_S = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_ADDRESS = 50
# Resident pages never need a session: storing one per QR scan would flood the store.
# The API's OpenAPI schema describes shapes, never data; /r is the resident's receipt lookup.
PUBLIC_PATHS = ["^/q/", "^/k(/|$)", "^/lang/", "^/size/", "^/favicon.ico$", "^/$", "^/r$", "^/api/v1/schema"]
API_PATH = "/api/"
SESSION_COOKIE = "minping_session"
NOT_SIGNED_IN = "sign in first (staff session)"
_NEW_SESSION_ID = "minping.new_session_id"
_ROTATE = "_rotate"
_CREDENTIAL = "credential"


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's backend keeps whatever session id the cookie carries; this one issues a new id
    when the session asks for it (at login), and deletes the old one."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        new_id: str | None = connection.scope.get("state", {}).get(_NEW_SESSION_ID)
        return new_id or super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        if scope_session is not Empty and isinstance(scope_session, dict) and scope_session.pop(_ROTATE, False):
            old = connection.cookies.get(self.config.key)
            if old and old != "null":
                await self.delete(old, store=self.config.get_store_from_app(connection.scope["app"]))
            connection.scope.setdefault("state", {})[_NEW_SESSION_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


async def retrieve_user(session: dict[str, Any], connection: ASGIConnection[Any, Any, Any, Any]) -> StaffMember | None:
    """The member of a live session; an expired session, or one made with a credential that has
    changed since (password, role, scope) or of a disabled account, is emptied so it ends server-side."""
    now = time.time()
    user_id, login_at, seen = session.get("uid"), session.get("login_at", 0), session.get("seen", 0)
    if user_id is None or now - seen > IDLE_TIMEOUT_S or now - login_at > ABSOLUTE_TIMEOUT_S:
        session.clear()
        return None
    member = await accounts.get(user_id)
    if member is None or session.get(_CREDENTIAL) != member.credential:
        session.clear()
        return None
    session["seen"] = now
    return member


def session_auth() -> SessionAuth[StaffMember, ServerSideSessionBackend]:
    settings = get_settings()
    config = RotatingSessionConfig(
        key=SESSION_COOKIE,
        max_age=ABSOLUTE_TIMEOUT_S,
        secure=(settings.public_base_url or "").startswith("https://"),
        httponly=True,
        samesite="lax",
        store=stores.SESSIONS,
        exclude=PUBLIC_PATHS,
    )
    return SessionAuth[StaffMember, ServerSideSessionBackend](
        retrieve_user_handler=retrieve_user,
        session_backend_config=config,
        # The API signs its requests in itself: a Bearer token, or this session (web/api_access.py).
        exclude=[*PUBLIC_PATHS, "^/login$", f"^{API_PATH}"],
    )


def _member(connection: ASGIConnection[Any, Any, Any, Any]) -> StaffMember | None:
    """The signed-in member, if any. `connection.user` raises when the session middleware did not run,
    which it does not for OPTIONS; so the scope is read instead."""
    user = connection.scope.get("user")
    return user if isinstance(user, StaffMember) else None


def _asks_for_methods(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    # OPTIONS runs no handler and reads no data: Litestar answers it with the route's methods, as on
    # public routes. Without a session it cannot be told apart from a member's, so it is not guarded.
    return connection.scope.get("method") == "OPTIONS"


def requires(*roles: Role) -> Any:
    """A guard: only these roles may use the route (others get 404, so nothing is revealed)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        member = _member(connection)
        if not _asks_for_methods(connection) and (member is None or member.role not in roles):
            raise NotFoundException()

    guard.__name__ = f"requires_{'_'.join(roles)}"
    return guard


def requires_full_scope(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for city-wide pages (e.g. the audit trail): members limited to a subtree get 404."""
    member = _member(connection)
    if not _asks_for_methods(connection) and (member is None or not member.sees_everything):
        raise NotFoundException()


@dataclass(frozen=True)
class LoginThrottle:
    """Failed sign-ins counted per address, per account from that address, and per account.

    An address pauses after MAX_FAILURES_PER_ADDRESS failures, whichever accounts it tried; an account
    pauses for an address after MAX_FAILURES_PER_ACCOUNT failures from it. An account that failed that
    often in all (guessed at from many addresses) pauses only for the addresses that failed for it: a
    flood from elsewhere never locks out its owner, and a botnet gets one guess per address and window.
    The address is the socket's, or the one a trusted proxy reports (`minping serve --forwarded-allow-ips`).
    """

    store: Store

    async def paused(self, username: str, address: str) -> bool:
        account, here, anywhere = [await self._failures(key) for key in self._keys(username, address)]
        if anywhere >= MAX_FAILURES_PER_ADDRESS or here >= MAX_FAILURES_PER_ACCOUNT:
            return True
        return here > 0 and account >= MAX_FAILURES_PER_ACCOUNT

    async def failed(self, username: str, address: str) -> None:
        # Not atomic across workers; the bound is approximate, which is enough to stop guessing.
        for key in self._keys(username, address):
            await self.store.set(key, str(await self._failures(key) + 1), expires_in=THROTTLE_WINDOW_S)

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str, str]:
        account = username.lower()
        return f"account:{account}", f"account:{account}|address:{address}", f"address:{address}"

    async def _failures(self, key: str) -> int:
        value = await self.store.get(key)
        return int(value) if value else 0  # written by `failed` alone


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/staff/"


class AuthController(Controller):
    include_in_schema = False

    @get("/login", name="auth:login")
    async def login_page(self, next: FromQuery[str] = "/staff/") -> Template:
        return Template("staff/login.html", context={"next": _safe_next(next), "error": None})

    @post("/login", name="auth:login_submit")
    async def login(self, request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, Any]]) -> Template | Redirect:
        """Sign in, or say why not without revealing whether the username exists."""
        username, password = str(data.get("username", "")).strip(), str(data.get("password", ""))
        target = _safe_next(str(data.get("next", "/staff/")))
        throttle = LoginThrottle(request.app.stores.get(stores.THROTTLE))
        address = request.client.host if request.client else "-"
        if await throttle.paused(username, address):
            return _login_page(target, N_("登录失败次数过多，请 15 分钟后再试。"), HTTP_429_TOO_MANY_REQUESTS)
        user = await accounts.authenticate(username, password)
        if user is None:
            await throttle.failed(username, address)
            return _login_page(target, N_("用户名或密码不正确。"), HTTP_401_UNAUTHORIZED)
        now = time.time()
        request.set_session({"uid": user.id, "login_at": now, "seen": now, _CREDENTIAL: user.credential, _ROTATE: True})
        return Redirect(path=target, status_code=303)

    @post("/logout", name="auth:logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect(path="/login", status_code=303)

    @get("/staff/password", name="auth:password")
    async def password_page(self) -> Template:
        return Template("staff/password.html", context={"error": None, "done": False})

    @post("/staff/password", name="auth:password_submit")
    async def change_password(
        self, request: Request[StaffMember, Any, Any], data: URLEncodedBody[dict[str, Any]]
    ) -> Template:
        try:
            changed = await accounts.change_password(
                request.user, str(data.get("current", "")), str(data.get("new", ""))
            )
        except accounts.AccountError as exc:
            return Template("staff/password.html", context={"error": exc, "done": False}, status_code=422)
        # Every other session of the account has ended; this one carries on, with a new id.
        request.set_session({**request.session, _CREDENTIAL: changed.credential, _ROTATE: True})
        return Template("staff/password.html", context={"error": None, "done": True})


def _login_page(target: str, error: str, status: int) -> Template:
    context = {"next": target, "error": Refusal(error)}
    return Template("staff/login.html", context=context, status_code=status)


def to_login(request: Request[Any, Any, Any], _: Exception) -> Redirect | Response[dict[str, Any]]:
    """A page that needs a signed-in member sends the visitor to the login page, then back; the JSON
    API answers 401 with a JSON body instead (the shape of `api.ApiError`)."""
    if request.url.path.startswith(API_PATH):
        return Response({"status": 401, "error": NOT_SIGNED_IN}, status_code=HTTP_401_UNAUTHORIZED)
    return Redirect(path=f"/login?next={request.url.path}", status_code=303)
