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
from survey_app.i18n import N_
from survey_app.quarantine import FLAG_NAMES, FLAG_TEXT
from survey_app.tables import Role
from survey_app.web.auth import requires
from survey_app.web.common import Said, confirmation, confirmed

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
        """Include or exclude it with a reason (audited), or show the page again with what is missing.
        Excluding takes a bad rating out of a score, so it is done from its confirmation page."""
        decision, reason = str(data.get("decision", "")), str(data.get("reason", ""))
        if decision == "exclude" and reason.strip() and not confirmed(data):
            return await _confirm_exclusion(request.user, response_id, reason)
        try:
            await reviews.decide(request.user, response_id, str(data.get("decision", "")), str(data.get("reason", "")))
        except LookupError as exc:
            raise NotFoundException() from exc
        except reviews.ReviewError as exc:
            conflict = exc.message == reviews.CONFLICT
            status = HTTP_409_CONFLICT if conflict else HTTP_422_UNPROCESSABLE_ENTITY
            return await _page(request.user, response_id, error=exc, reason=str(data.get("reason", "")), status=status)
        return Redirect(path="/staff/quarantine", status_code=303)


async def _confirm_exclusion(user: StaffMember, response_id: int, reason: str) -> Template:
    response = await reviews.detail(user, response_id)
    if response is None:
        raise NotFoundException()
    will = [
        Said(
            N_("答卷 #%(id)s 不计入“%(unit)s”的得分，也不计入考核。"), {"id": response_id, "unit": response.unit_name}
        ),
        Said(N_("理由“%(reason)s”和您的名字记入操作记录；之后可以重新复核。"), {"reason": reason.strip()}),
    ]
    return confirmation(
        N_("排除这份答卷"),
        will,
        [],
        action=f"/staff/quarantine/{response_id}",
        back=f"/staff/quarantine/{response_id}",
        button=N_("确认排除"),
        fields={"decision": "exclude", "reason": reason},
    )


async def _page(
    user: StaffMember, response_id: int, *, error: Any = None, reason: str = "", status: int = 200
) -> Template:
    response = await reviews.detail(user, response_id)
    if response is None:
        raise NotFoundException()
    context = {"r": response, "error": error, "reason": reason} | _FLAGS
    return Template("staff/quarantine_response.html", context=context, status_code=status)
