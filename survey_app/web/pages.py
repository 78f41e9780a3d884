"""Site-wide pages: the home page, typing a poster's code, the language and size switches, and error pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, InternalServerException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_204_NO_CONTENT, HTTP_404_NOT_FOUND, HTTP_500_INTERNAL_SERVER_ERROR

from survey_app import campaigns
from survey_app.i18n import LANG_COOKIE, LANGUAGES, current_language
from survey_app.web.common import TEXT_SIZE_COOKIE, TEXT_SIZES, use_text_size

PREFERENCE_MAX_AGE = 365 * 24 * 3600  # the language and the text size are remembered for a year
# The fields a form's switches post (base.html, `answers_form`): field → (cookie, allowed values).
PREFERENCE_FIELDS = {"_lang": (LANG_COOKIE, LANGUAGES), "_size": (TEXT_SIZE_COOKIE, TEXT_SIZES)}


@get("/", name="home", include_in_schema=False)
async def home() -> Template:
    """Tell a resident how to take part, and staff where to sign in."""
    return Template("home.html")


@get("/k", name="type_code", include_in_schema=False)
async def type_code(code: FromQuery[str] = "") -> Template | Redirect:
    """Where a resident types the code printed under a poster's QR code: on to its form, or the
    field again saying the code was not found."""
    token = await campaigns.token_of_code(code) if code else None
    if token is not None:
        return Redirect(path=f"/q/{token}", status_code=303)
    status = HTTP_404_NOT_FOUND if code else 200
    return Template("public/code.html", context={"code": code[:20]}, status_code=status)


@get("/k/{code:str}", name="short_code", include_in_schema=False)
async def short_code(code: FromPath[str]) -> Redirect:
    """The short address a poster prints for typing (`/k/ABCD-EFGH`): the same form as its QR code."""
    token = await campaigns.token_of_code(code)
    if token is None:
        return Redirect(path="/k", query_params={"code": code[:20]}, status_code=303)
    return Redirect(path=f"/q/{token}", status_code=303)


@get("/favicon.ico", name="favicon", include_in_schema=False)
async def favicon() -> Response[bytes]:
    """No icon, said in 0 bytes and cached for a week: browsers ask for it on a first visit, and a
    404 page would double what a resident on a weak signal downloads."""
    return Response(b"", status_code=HTTP_204_NO_CONTENT, headers={"Cache-Control": "public, max-age=604800"})


@get("/lang/{code:str}", name="language", include_in_schema=False)
async def switch_language(code: FromPath[str], next: FromQuery[str] = "/") -> Redirect:
    """Remember the chosen language in a cookie and go back to the page the switch was on."""
    return _remember(LANG_COOKIE, code if code in LANGUAGES else None, next)


@get("/size/{size:str}", name="text_size", include_in_schema=False)
async def switch_text_size(size: FromPath[str], next: FromQuery[str] = "/") -> Redirect:
    """大字版: remember large (or standard) type in a cookie and go back; works without JavaScript."""
    return _remember(TEXT_SIZE_COOKIE, size if size in TEXT_SIZES else None, next)


def _remember(cookie: str, value: str | None, next: str) -> Redirect:
    """Go back to `next` (a path on this site), keeping `value` in `cookie` when it is a known one."""
    # Only same-site paths: "//evil.example" or "https://…" would make this an open redirect.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = Redirect(path=target, status_code=303)
    if value is not None:
        response.set_cookie(cookie, value, max_age=PREFERENCE_MAX_AGE, samesite="lax", httponly=True)
    return response


def switched_preferences(request: Request[Any, Any, Any], data: dict[str, Any]) -> list[Cookie]:
    """The language or text size a form's switch posted, applied to this request's page; the cookies
    that keep them. Empty when the post was not a switch (then it is the form's own submission)."""
    cookies = []
    for field, (cookie, allowed) in PREFERENCE_FIELDS.items():
        value = data.get(field)
        if value in allowed:
            if field == "_lang":
                current_language.set(value)
            else:
                use_text_size(request, value)
            cookies.append(Cookie(key=cookie, value=value, max_age=PREFERENCE_MAX_AGE, samesite="lax", httponly=True))
    return cookies


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
