"""The resident's side of the bad-rating loop: leaving a number for the call-back, and following a
case with the receipt code.

A number is left only from the thank-you page of the submission, which carries the call-back token
minted with the receipt (survey_app/receipts.py); the receipt alone does not suffice.

The receipt code is the only key: 8 characters of a 31-symbol alphabet (31⁸ ≈ 8.5 × 10¹¹ codes).
With a million receipts issued, a guess hits one with probability ≈ 1.2 × 10⁻⁶, and a hit shows a
unit's name, a case state and the unit's reply (phone and ID numbers masked): never the answers,
the time of the rating or anything the resident left.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import receipts, responses
from survey_app.campaigns import PublicLink
from survey_app.cases import records, workflow
from survey_app.cases.workflow import CaseError
from survey_app.i18n import Refusal
from survey_app.web import flood_guard
from survey_app.web.common import STATE_LABELS, provide_link


class CallbackController(Controller):
    path = "/q/{token:str}/callback"
    include_in_schema = False
    dependencies = {"link": Provide(provide_link)}

    @post("/", name="public:callback", opt=flood_guard.SHOWS_FORM_AGAIN)
    async def leave_number(
        self,
        request: Request[Any, Any, Any],
        link: NamedDependency[PublicLink],
        data: URLEncodedBody[dict[str, Any]],
        r: FromQuery[str] = "",
    ) -> Template | Redirect:
        """Keep the number the resident left for the call-back, or show the thank-you page with what to fix."""
        if not await responses.receipt_exists(link.campaign_id, r):
            raise NotFoundException("unknown receipt")
        phone, token = str(data.get("phone", "")), str(data.get("t", ""))
        if (too_fast := flood_guard.refusal(request)) is not None:  # the flood guard: the number is not kept
            page = await _thanks_again(link, r, token, phone, too_fast, too_fast.status_code)
            page.headers.update(too_fast.headers)
            return page
        try:
            await workflow.leave_contact(link.campaign_id, r, phone, token)
        except CaseError as exc:
            return await _thanks_again(link, r, token, phone, exc, HTTP_422_UNPROCESSABLE_ENTITY)
        return Redirect(path=f"/q/{link.token}/thanks?r={r}&t={token}", status_code=303)


async def _thanks_again(
    link: PublicLink, receipt: str, token: str, phone: str, error: Refusal, status_code: int
) -> Template:
    """The thank-you page with the number as typed and why it was not kept."""
    callback = await workflow.callback_state(link.campaign_id, receipt)
    valid = token if receipts.callback_token_valid(receipt, token) else None
    context = {"link": link, "receipt": receipt, "callback": callback, "phone_error": error, "phone": phone}
    return Template("public/thanks.html", context=context | {"callback_token": valid}, status_code=status_code)


@get("/r", name="public:receipt", include_in_schema=False, opt=flood_guard.SHOWS_FORM_AGAIN)
async def receipt_status(request: Request[Any, Any, Any], code: FromQuery[str] = "") -> Template:
    """Type a receipt code, see the case's state and the unit's reply; over the lookups allowed a
    minute (flood_guard), the page again with the code as typed and when to try again."""
    context: dict[str, Any] = {"code": code.strip()[:20], "status": None, "unknown": False, "refusal": None}
    context["state_labels"] = STATE_LABELS
    if (too_fast := flood_guard.refusal(request)) is not None:
        page = Template(
            "public/receipt.html", context=context | {"refusal": too_fast}, status_code=too_fast.status_code
        )
        page.headers.update(too_fast.headers)
        return page
    status = await records.receipt_status(code) if code.strip() else None
    unknown = bool(code.strip()) and status is None
    context |= {"status": status, "unknown": unknown}
    return Template("public/receipt.html", context=context, status_code=HTTP_404_NOT_FOUND if unknown else 200)
