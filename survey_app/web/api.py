"""The read-only JSON API under /api/v1/: campaigns, units, scores per unit and raw responses, paged.

It uses the staff session and the same guards as the pages: a request without a signed-in member
answers 401, an object outside the member's unit subtree 404, and every error is a JSON body
(`ApiError`), never an HTML page. Records are the typed shapes of `exports.py`, so the OpenAPI
schema at /api/v1/schema/openapi.json describes exactly what is returned. Paging: `limit` and
`offset`, with `total` and a `next` link (null on the last page).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import msgspec
from litestar import Request, Router, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, Parameter
from litestar.response import Response
from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_500_INTERNAL_SERVER_ERROR

from survey_app import accounts, campaigns, units
from survey_app.accounts import StaffMember
from survey_app.i18n import current_language
from survey_app.questionnaires import versions
from survey_app.reporting import campaign_report, exports
from survey_app.reporting.exports import ResponseRecord, UnitScores
from survey_app.tables import Role
from survey_app.web import api_access, auth
from survey_app.web.auth import requires
from survey_app.web.common import provide_report
from survey_app.web.pages import client_went_away, error_page

PREFIX = "/api/v1"
SCHEMA_PATH = f"{PREFIX}/schema"  # the schema itself: {SCHEMA_PATH}/openapi.json
MAX_LIMIT = 500
# Far beyond any real table, and small enough for every database's OFFSET.
MAX_OFFSET = 2**31 - 1
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Records per page (1–500).")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="Records to skip.")]
Lang = Annotated[
    Literal["zh", "en"] | None,
    Parameter(description="Language of names and labels; default: the `lang` cookie, else Chinese."),
]


class ApiError(msgspec.Struct, frozen=True):
    """Every error: the HTTP status and a message saying what was wrong."""

    status: int
    error: str


class QuestionnaireOut(msgspec.Struct, frozen=True):
    slug: str
    version: int


class CampaignOut(msgspec.Struct, frozen=True):
    slug: str
    title: str
    status: str
    questionnaire: QuestionnaireOut
    opens_at: datetime | None
    closes_at: datetime | None


class UnitOut(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: str
    parent_code: str | None
    population: int | None


class CampaignPage(msgspec.Struct, frozen=True):
    total: int
    limit: int
    offset: int
    next: str | None
    items: list[CampaignOut]


class UnitPage(msgspec.Struct, frozen=True):
    total: int
    limit: int
    offset: int
    next: str | None
    items: list[UnitOut]


class ScorePage(msgspec.Struct, frozen=True):
    """A page of units of the campaign's score sheet, with the sheet's method fields (see docs/exports.md)."""

    total: int
    limit: int
    offset: int
    next: str | None
    campaign: str
    questionnaire: exports.QuestionnaireRef
    index_mapping: str
    confidence: float
    min_n: int
    small_n: int
    channels: list[str] | None
    items: list[UnitScores]


class ResponsePage(msgspec.Struct, frozen=True):
    total: int
    limit: int
    offset: int
    next: str | None
    items: list[ResponseRecord]


ERRORS = {
    400: ResponseSpec(ApiError, generate_examples=False, description="A parameter is invalid."),
    401: ResponseSpec(ApiError, generate_examples=False, description="Not signed in, or no valid token."),
    403: ResponseSpec(ApiError, generate_examples=False, description="The token may not do this."),
    404: ResponseSpec(ApiError, generate_examples=False, description="No such object in the member's units."),
    429: ResponseSpec(ApiError, generate_examples=False, description="The token's limit a minute is used up."),
}


CHANNEL_LIST = "(qr|interviewer|paper|import)"
Channels = Annotated[
    str,
    Parameter(
        pattern=f"^({CHANNEL_LIST}(,{CHANNEL_LIST})*)?$",
        description="Score only responses of these channels, comma-separated (default: all).",
    ),
]


async def provide_scored_report(
    slug: FromPath[str], request: Request[StaffMember, Any, Any], channel: Channels = ""
) -> campaign_report.Report:
    """The report page's report (same scope and channel rules), with `channel` described in the schema."""
    return await provide_report(slug, request, channel)


def _next(request: Request[Any, Any, Any], total: int, limit: int, offset: int) -> str | None:
    if offset + limit >= total:
        return None
    query = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}
    return f"{request.url.path}?{urlencode({**query, 'limit': limit, 'offset': offset + limit})}"


def pick_lang(lang: str | None) -> str:
    return lang or current_language.get()


@get("/campaigns", name="api:campaigns", responses=ERRORS)
async def list_campaigns(
    request: Request[StaffMember, Any, Any], limit: Limit = 100, offset: Offset = 0
) -> CampaignPage:
    """Campaigns covering at least one of the member's units, oldest first."""
    found = await campaigns.in_scope(await accounts.visible_unit_ids(request.user))
    items = []
    for c in found[offset : offset + limit]:
        q = await versions.get(c.questionnaire_id)
        version = QuestionnaireOut(q.slug, q.version)
        items.append(CampaignOut(c.slug, c.title, c.status, version, c.opens_at, c.closes_at))
    return CampaignPage(len(found), limit, offset, _next(request, len(found), limit, offset), items)


@get("/units", name="api:units", responses=ERRORS)
async def list_units(
    request: Request[StaffMember, Any, Any], limit: Limit = 100, offset: Offset = 0, lang: Lang = None
) -> UnitPage:
    """The member's units in tree order (a parent before its children)."""
    found = await units.listing(await accounts.visible_unit_ids(request.user))
    shown = pick_lang(lang)
    items = [
        UnitOut(u.code, u.display_name(shown), u.kind, u.parent_code, u.population)
        for u in found[offset : offset + limit]
    ]
    return UnitPage(len(found), limit, offset, _next(request, len(found), limit, offset), items)


@get(
    "/campaigns/{slug:str}/scores",
    name="api:scores",
    responses=ERRORS,
    dependencies={"report": Provide(provide_scored_report)},
)
async def campaign_scores(
    request: Request[StaffMember, Any, Any],
    report: NamedDependency[campaign_report.Report],
    limit: Limit = 100,
    offset: Offset = 0,
    lang: Lang = None,
) -> ScorePage:
    """Scores per unit of the member's units: overall, dimensions and items, each with n and interval.

    `channel` (e.g. `qr,paper`) scores only responses of those channels, as on the report page."""
    sheet = await exports.score_sheet(report, pick_lang(lang))
    total = len(sheet.units)
    return ScorePage(
        total=total,
        limit=limit,
        offset=offset,
        next=_next(request, total, limit, offset),
        campaign=sheet.campaign,
        questionnaire=sheet.questionnaire,
        index_mapping=sheet.index_mapping,
        confidence=sheet.confidence,
        min_n=sheet.min_n,
        small_n=sheet.small_n,
        channels=sheet.channels,
        items=sheet.units[offset : offset + limit],
    )


@get(
    "/campaigns/{slug:str}/responses",
    name="api:responses",
    responses=ERRORS,
    guards=[requires(Role.admin, Role.assessor)],  # raw rows: never the rated unit's staff (as the export)
)
async def campaign_responses(
    request: Request[StaffMember, Any, Any],
    slug: FromPath[str],
    limit: Limit = 100,
    offset: Offset = 0,
    lang: Lang = None,
) -> ResponsePage:
    """Responses in the member's units, oldest first, as the raw-response export shows them (assessors and
    admins only: workers, the rated units' own staff, read scores)."""
    visible = await accounts.visible_unit_ids(request.user)
    campaign = await campaigns.visible_by_slug(slug, visible)
    if campaign is None:
        raise NotFoundException("no such campaign among your units")
    questionnaire = await versions.get(campaign.questionnaire_id)
    total = await exports.count_responses(campaign.id, visible)
    items = await exports.response_records(
        campaign.id, questionnaire, visible, pick_lang(lang), offset=offset, limit=limit
    )
    return ResponsePage(total, limit, offset, _next(request, total, limit, offset), items)


def api_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ApiError]:
    """Any error of the API as a JSON body; unexpected ones are logged and answered 500 without details."""
    if client_went_away(exc):
        return error_page(request, exc)  # type: ignore[return-value]
    headers = dict(getattr(exc, "headers", None) or {})  # Retry-After of a 429
    if isinstance(exc, NotAuthorizedException):
        status, message = HTTP_401_UNAUTHORIZED, auth.NOT_SIGNED_IN
        if exc.detail in (api_access.BAD_TOKEN, api_access.BAD_SCHEME):
            message = exc.detail
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, HTTPException) and exc.status_code < HTTP_500_INTERNAL_SERVER_ERROR:
        status, message = exc.status_code, exc.detail
        if isinstance(exc.extra, list):  # validation: which parameter, and what is wrong with it
            message += ": " + "; ".join(f"{e.get('key', '')}: {e.get('message', '')}" for e in exc.extra)
    else:
        status, message = getattr(exc, "status_code", HTTP_500_INTERNAL_SERVER_ERROR), "internal error"
        request.logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return Response(ApiError(status, message), status_code=status, headers=headers)


def router() -> Router:
    """The API's routes, guarded like the staff pages, with JSON errors."""
    from survey_app.web import api_feeds  # it builds on this module's shapes and parameters

    return Router(
        PREFIX,
        route_handlers=[list_campaigns, list_units, campaign_scores, campaign_responses, *api_feeds.ROUTES],
        guards=[requires(Role.admin, Role.assessor, Role.worker), api_access.may_read, api_access.known_parameters],
        middleware=[DefineMiddleware(api_access.ApiCredentials)],
        # Writes take a token, which a forged cross-site request cannot carry (web/api_access.py).
        opt={"exclude_from_csrf": True},
        exception_handlers={NotAuthorizedException: api_error, HTTPException: api_error, Exception: api_error},
        tags=["minping"],
    )
