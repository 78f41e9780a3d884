"""Site-wide pages: the home page, the language switch, and error pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import HTTPException, InternalServerException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from survey_app.i18n import LANG_COOKIE, LANGUAGES

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


@get("/", name="home", include_in_schema=False)
async def home() -> Template:
    """Tell a resident how to take part, and staff where to sign in."""
    return Template("home.html")


@get("/lang/{code:str}", name="language", include_in_schema=False)
async def switch_language(code: FromPath[str], next: FromQuery[str] = "/") -> Redirect:
    """Remember the chosen language in a cookie and go back to the page the switch was on."""
    # Only same-site paths: "//evil.example" or "https://…" would make this an open redirect.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = Redirect(path=target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=LANG_COOKIE_MAX_AGE, samesite="lax", httponly=True)
    return response


# Litestar raises this 500 when the client hangs up while its body is read (a resident losing signal
# mid-upload). Nothing failed on our side, so it is not logged or counted as a server error.
CLIENT_GONE = "client disconnected prematurely"
CLIENT_CLOSED_REQUEST = 499  # nginx's status for it; the client never sees the answer anyway


def client_went_away(exc: Exception) -> bool:
    return isinstance(exc, InternalServerException) and exc.detail == CLIENT_GONE


# Litestar's CSRF middleware refuses a staff form post with this detail: the form's token is missing or
# does not match the browser's cookie (e.g. the form was opened before the cookie expired or was cleared).
CSRF_FAILED = "CSRF token verification failed"


def form_expired(exc: Exception) -> bool:
    return isinstance(exc, PermissionDeniedException) and exc.detail == CSRF_FAILED


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Template | Response[str]:
    """Render any error as a friendly page in the visitor's language, with the right status."""
    if client_went_away(exc):
        request.logger.info("client went away on %s %s", request.method, request.url.path)
        return Response("", status_code=CLIENT_CLOSED_REQUEST)
    status = exc.status_code if isinstance(exc, HTTPException) else HTTP_500_INTERNAL_SERVER_ERROR
    if status >= 500:
        request.logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    headers = (exc.headers or {}) if isinstance(exc, HTTPException) else {}  # e.g. Retry-After on a 429, Allow on a 405
    context = {"status": status, "form_expired": form_expired(exc)}
    return Template("error.html", context=context, status_code=status, headers=headers)
