"""Quarantine review pages: flagged responses of the member's units, and include / exclude decisions.

Assessors and admins only: workers get 404, so a unit's own staff can neither see which of its
answers are suspect nor drop its bad ratings (segregation of duties; see survey_app/reviews.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import reviews
from survey_app.accounts import StaffMember
from survey_app.quarantine import FLAG_NAMES, FLAG_TEXT
from survey_app.tables import Role
from survey_app.web.auth import requires

_FLAGS = {"flag_names": FLAG_NAMES, "flag_text": FLAG_TEXT}


class ReviewController(Controller):
    path = "/staff/quarantine"
    include_in_schema = False
    guards = [requires(Role.admin, Role.assessor)]

    @get("/", name="reviews:index")
    async def index(
        self, request: Request[StaffMember, Any, Any], show: FromQuery[str] = "", campaign: FromQuery[str] = ""
    ) -> Template:
        """Quarantined responses awaiting a decision, or (`?show=reviewed`) those decided already."""
        reviewed = show == "reviewed"
        rows = await reviews.listing(request.user, reviewed, campaign)
        context = {"rows": rows, "reviewed": reviewed, "campaign": campaign} | _FLAGS
        return Template("staff/quarantine.html", context=context)

    @get("/{response_id:int}", name="reviews:show")
    async def show(self, request: Request[StaffMember, Any, Any], response_id: FromPath[int]) -> Template:
        """One flagged response: why it was flagged, its answers, and the decision form."""
        return await _page(request.user, response_id)

    @post("/{response_id:int}", name="reviews:decide")
    async def decide(
        self,
        request: Request[StaffMember, Any, Any],
        response_id: FromPath[int],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Include or exclude it with a reason (audited), or show the page again with what is missing."""
        try:
            await reviews.decide(request.user, response_id, str(data.get("decision", "")), str(data.get("reason", "")))
        except LookupError as exc:
            raise NotFoundException() from exc
        except reviews.ReviewError as exc:
            conflict = exc.message == reviews.CONFLICT
            status = HTTP_409_CONFLICT if conflict else HTTP_422_UNPROCESSABLE_ENTITY
            return await _page(request.user, response_id, error=exc, reason=str(data.get("reason", "")), status=status)
        return Redirect(path="/staff/quarantine", status_code=303)


async def _page(
    user: StaffMember, response_id: int, *, error: Any = None, reason: str = "", status: int = 200
) -> Template:
    response = await reviews.detail(user, response_id)
    if response is None:
        raise NotFoundException()
    context = {"r": response, "error": error, "reason": reason} | _FLAGS
    return Template("staff/quarantine_response.html", context=context, status_code=status)
