"""The API's change feeds, cases and codebook (docs/api.md).

A feed pages through the change sequence (survey_app/changes.py) by an opaque `cursor`: a client
stores the `cursor` of each page and asks with it for the next, and so sees every insert and every
status change of the collection exactly once, in order, each with the status it had then and the
object as it stands now. An empty page keeps the cursor; `more` says whether to ask again at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import accounts, campaigns, changes, units
from survey_app.accounts import StaffMember
from survey_app.campaigns import CampaignInfo
from survey_app.cases import records, workflow
from survey_app.cases.records import CaseRecord
from survey_app.changes import Event, Kind, Position
from survey_app.i18n import translations
from survey_app.questionnaires import versions
from survey_app.reporting import campaign_report, codebook, exports
from survey_app.reporting.codebook import Codebook
from survey_app.reporting.exports import ResponseRecord, UnitScores
from survey_app.tables import Role
from survey_app.web.api import ERRORS, ApiError, Lang, Limit, UnitOut, pick_lang, provide_scored_report
from survey_app.web.api_access import may_write
from survey_app.web.auth import requires

SERIAL_MAX = 2**31 - 1  # the largest id a Piccolo Serial column holds on PostgreSQL
WRITE_ERRORS = {
    **ERRORS,
    403: ResponseSpec(ApiError, generate_examples=False, description="Writes need a token with this permission."),
    422: ResponseSpec(
        ApiError, generate_examples=False, description="Refused by the case's rules (which, in `error`)."
    ),
}
Cursor = Annotated[
    str,
    Parameter(
        pattern=f"^({changes.CURSOR.pattern})?$",
        description="The `cursor` of the previous page, as given; empty (or absent) for the start of the sequence.",
    ),
]


class ResponseChange(msgspec.Struct, frozen=True):
    at: datetime
    change: str  # created | status
    status: str  # the response's status after this change
    response: ResponseRecord  # as it stands now


class ResponseFeed(msgspec.Struct, frozen=True):
    cursor: str
    more: bool
    items: list[ResponseChange]


class CaseChange(msgspec.Struct, frozen=True):
    at: datetime
    change: str  # created | status | updated (reply, appeal, deadlines)
    state: str  # the case's state after this change
    case: CaseRecord  # as it stands now


class CaseFeed(msgspec.Struct, frozen=True):
    cursor: str
    more: bool
    items: list[CaseChange]


class UnitChange(msgspec.Struct, frozen=True):
    at: datetime
    change: str  # created | updated
    unit: UnitOut


class UnitFeed(msgspec.Struct, frozen=True):
    cursor: str
    more: bool
    items: list[UnitChange]


class ScoreFeed(msgspec.Struct, frozen=True):
    """Units whose score may have changed since the cursor (a response of theirs came in or changed status),
    with their scores now; a unit appears once a page."""

    cursor: str
    more: bool
    items: list[UnitScores]


class CallbackIn(msgspec.Struct, frozen=True):
    to: str  # verified | rectifying | resolved | explained, as the case's `next_states` allow
    note: str


class ReplyIn(msgspec.Struct, frozen=True):
    text: str


def _position(cursor: str) -> Position:
    try:
        return Position.decode(cursor)
    except changes.BadCursor:  # the parameter's pattern refuses these first
        raise ValidationException("cursor: not a cursor this server handed out") from None


def _next(events: list[Event], position: Position, limit: int) -> tuple[str, bool]:
    last = events[-1].position if events else position
    return last.encode(), len(events) >= limit


async def _campaign(request: Request[StaffMember, Any, Any], slug: str) -> CampaignInfo:
    campaign = await campaigns.visible_by_slug(slug, await accounts.visible_unit_ids(request.user))
    if campaign is None:
        raise NotFoundException("no such campaign among your units")
    return campaign


@get(
    "/campaigns/{slug:str}/responses/changes",
    name="api:response_changes",
    responses=ERRORS,
    guards=[requires(Role.admin, Role.assessor)],  # raw rows: never the rated unit's staff (as /responses)
)
async def response_changes(
    request: Request[StaffMember, Any, Any],
    slug: FromPath[str],
    cursor: Cursor = "",
    limit: Limit = 100,
    lang: Lang = None,
) -> ResponseFeed:
    """Every new response and every status change (quarantined, included, excluded, superseded) in order."""
    campaign = await _campaign(request, slug)
    position = _position(cursor)
    visible = await accounts.visible_unit_ids(request.user)
    events = await changes.after(Kind.response, position, limit, visible=visible, campaign_id=campaign.id)
    q = await versions.get(campaign.questionnaire_id)
    now = await exports.response_records_by_id(campaign.id, q, [e.object_id for e in events], pick_lang(lang))
    items = [ResponseChange(e.at, e.change, e.status, now[e.object_id]) for e in events]
    return ResponseFeed(*_next(events, position, limit), items)


@get(
    "/campaigns/{slug:str}/scores/changes",
    name="api:score_changes",
    responses=ERRORS,
    dependencies={"report": Provide(provide_scored_report)},
)
async def score_changes(
    request: Request[StaffMember, Any, Any],
    report: NamedDependency[campaign_report.Report],
    slug: FromPath[str],
    cursor: Cursor = "",
    limit: Limit = 100,
    lang: Lang = None,
) -> ScoreFeed:
    """The scores now of the units whose responses changed after the cursor (`limit` counts changes)."""
    campaign = await _campaign(request, slug)
    position = _position(cursor)
    visible = await accounts.visible_unit_ids(request.user)
    events = await changes.after(Kind.response, position, limit, visible=visible, campaign_id=campaign.id)
    touched = {e.unit_id for e in events}
    sheet = await exports.score_sheet(report, pick_lang(lang))
    codes = {u.id: u.code for u in await units.listing(visible) if u.id in touched}
    items = [s for s in sheet.units if s.code in codes.values()]
    return ScoreFeed(*_next(events, position, limit), items)


@get("/units/changes", name="api:unit_changes", responses=ERRORS)
async def unit_changes(
    request: Request[StaffMember, Any, Any], cursor: Cursor = "", limit: Limit = 100, lang: Lang = None
) -> UnitFeed:
    """Every unit added and every change of a unit's names, kind, parent or population, in order."""
    position = _position(cursor)
    visible = await accounts.visible_unit_ids(request.user)
    events = await changes.after(Kind.unit, position, limit, visible=visible)
    shown = pick_lang(lang)
    by_id = {u.id: u for u in await units.listing(visible)}
    items = [
        UnitChange(e.at, e.change, UnitOut(u.code, u.display_name(shown), u.kind, u.parent_code, u.population))
        for e in events
        if (u := by_id.get(e.object_id)) is not None
    ]
    return UnitFeed(*_next(events, position, limit), items)


@get("/cases/changes", name="api:case_changes", responses=ERRORS)
async def case_changes(request: Request[StaffMember, Any, Any], cursor: Cursor = "", limit: Limit = 100) -> CaseFeed:
    """Every case opened and every step (state, reply, appeal, deadlines) of the cases of your units, in order."""
    position = _position(cursor)
    events = await changes.after(Kind.case, position, limit, visible=await accounts.visible_unit_ids(request.user))
    now = await records.case_records([e.object_id for e in events])
    items = [CaseChange(e.at, e.change, e.status, now[e.object_id]) for e in events]
    return CaseFeed(*_next(events, position, limit), items)


async def provide_case_record(case_id: FromPath[int], request: Request[StaffMember, Any, Any]) -> CaseRecord:
    """The case with its timeline, when it belongs to one of the caller's units (else 404)."""
    if not 0 < case_id <= SERIAL_MAX:  # beyond the id column (4 bytes on PostgreSQL): no such case
        raise NotFoundException("no such case among your units")
    visible = await accounts.visible_unit_ids(request.user)
    case = await workflow.get(case_id)
    if case is None or (visible is not None and case["unit"] not in visible):
        raise NotFoundException("no such case among your units")
    return (await records.case_records([case_id], with_events=True))[case_id]


@get("/cases/{case_id:int}", name="api:case", responses=ERRORS, dependencies={"case": Provide(provide_case_record)})
async def show_case(case: NamedDependency[CaseRecord]) -> CaseRecord:
    """One case: state, deadlines, reply, appeal, the states it may move to, and its timeline."""
    return case


@post(
    "/cases/{case_id:int}/callback",
    name="api:case_callback",
    responses=WRITE_ERRORS,
    guards=[may_write("cases.callback")],
    dependencies={"case": Provide(provide_case_record)},
    status_code=200,
)
async def record_callback(
    request: Request[StaffMember, Any, Any], case: NamedDependency[CaseRecord], data: JSONBody[CallbackIn]
) -> CaseRecord:
    """Record the call-back result: move the case on (as on the case page: the same states, a note); audited."""
    await _act(workflow.move(request.user, case.id, data.to, data.note))
    return (await records.case_records([case.id], with_events=True))[case.id]


@post(
    "/cases/{case_id:int}/reply",
    name="api:case_reply",
    responses=WRITE_ERRORS,
    guards=[may_write("cases.reply")],
    dependencies={"case": Provide(provide_case_record)},
    status_code=200,
)
async def record_reply(
    request: Request[StaffMember, Any, Any], case: NamedDependency[CaseRecord], data: JSONBody[ReplyIn]
) -> CaseRecord:
    """Set the reply the resident reads with the receipt code; audited."""
    await _act(workflow.reply(request.user, case.id, data.text))
    return (await records.case_records([case.id], with_events=True))[case.id]


async def _act(action: Any) -> None:
    try:
        await action
    except workflow.CaseError as exc:
        message = translations(pick_lang(None)).gettext(exc.message)
        detail = message % exc.params if exc.params else message
        raise HTTPException(detail=detail, status_code=HTTP_422_UNPROCESSABLE_ENTITY) from None


@get("/campaigns/{slug:str}/codebook", name="api:codebook", responses=ERRORS)
async def campaign_codebook(request: Request[StaffMember, Any, Any], slug: FromPath[str]) -> Codebook:
    """Every item of the campaign's questionnaire with its codes and labels (Chinese and English)."""
    campaign = await _campaign(request, slug)
    return codebook.build(await versions.get(campaign.questionnaire_id))


ROUTES = [
    response_changes,
    score_changes,
    unit_changes,
    case_changes,
    show_case,
    record_callback,
    record_reply,
    campaign_codebook,
]
