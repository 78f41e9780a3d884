"""Security headers on every response, and the per-response nonce that lets our inline styles pass
a strict Content-Security-Policy (no scripts at all, no third-party anything)."""

from __future__ import annotations

import ipaddress
import secrets
from contextvars import ContextVar

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_400_BAD_REQUEST
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from survey_app.settings import get_settings

current_nonce: ContextVar[str] = ContextVar("current_nonce", default="")
HSTS_MAX_AGE_S = 15_768_000  # six months, OWASP ASVS 14.4.5


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    https = (get_settings().public_base_url or "").startswith("https://")

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        token = current_nonce.set(nonce)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["Content-Security-Policy"] = (
                    f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
                    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
                )
                headers["Referrer-Policy"] = "no-referrer"  # QR tokens are in URLs: never leak them
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                if "cache-control" not in headers:
                    # Forms carry a fresh submission token and staff pages carry private data.
                    headers["Cache-Control"] = "no-store"
                if https:
                    headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_S}; includeSubDomains"
            await send(message)

        try:
            await app(scope, receive, send_with_headers)
        finally:
            current_nonce.reset(token)

    return middleware


def refuse_nul_middleware(app: ASGIApp) -> ASGIApp:
    """400 for a NUL character in the path or query: it means nothing in any of our addresses, and
    PostgreSQL cannot hold it in text, so a lookup with it would fail as a server error."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and ("\x00" in scope["path"] or b"%00" in scope["query_string"]):
            raise ClientException(status_code=HTTP_400_BAD_REQUEST, detail="NUL in the address")
        await app(scope, receive, send)

    return middleware


def allowed_hosts_middleware(app: ASGIApp) -> ASGIApp:
    """400 for a Host that is not ours, when no public origin is configured.

    Without `MINPING_PUBLIC_BASE_URL` the origin in QR codes, posters and links is the address the
    request reached (web/common.py: base_url); a request with `Host: evil.example` would print that
    into a poster or a publicly cached qr.png. So then only loopback names and `MINPING_ALLOWED_HOSTS`
    are served. With a public origin configured, every address printed is that one, whatever the Host.
    """
    settings = get_settings()
    if settings.public_base_url:
        return app
    allowed = frozenset(settings.allowed_hosts)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            host = next((value for name, value in scope["headers"] if name == b"host"), None)
            if host is not None and not _served(host, allowed):
                raise ClientException(status_code=HTTP_400_BAD_REQUEST, detail="unknown host")
        await app(scope, receive, send)

    return middleware


def _served(header: bytes, allowed: frozenset[str]) -> bool:
    """Whether the Host header (name or address, with or without a port) is loopback or allowed."""
    host = header.decode("latin-1").strip().lower()
    if host.startswith("["):  # [::1]:8000
        name = host[1 : host.find("]")] if "]" in host else ""
    else:
        name = host.rpartition(":")[0] if ":" in host else host
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost") or name in allowed:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
