"""The resident's pages under /q/<token>: the form, the thank-you page, the QR images and the poster."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_409_CONFLICT,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from survey_app import ballots, campaigns, counters, invitations, qrcodes, receipts, responses
from survey_app.campaigns import LinkState, PublicLink
from survey_app.cases import workflow
from survey_app.i18n import N_, current_language
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Questionnaire
from survey_app.responses import FieldError
from survey_app.web import flood_guard
from survey_app.web.common import STATE_STATUS, base_url, provide_link
from survey_app.web.forms import BLANK_FORMS, FORM_TOKEN_FIELD, INVITATION_FIELD, REVISE_FIELD, form_context
from survey_app.web.pages import switched_preferences

# Images are immutable for a token; a day of caching spares weak networks and the server.
IMAGE_CACHE = {"Cache-Control": "public, max-age=86400"}


async def browser_form_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Browsers post the form urlencoded and percent-encode every byte above 0x7F. JSON, multipart or
    text bodies are not from the form (415); raw non-ASCII bytes come from a client whose charset is
    unknown, and Litestar would read them as Latin-1 and store mojibake, so they are refused (400)."""
    media_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise ClientException(status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE)
    if not (await cast(Request[Any, Any, Any], connection).body()).isascii():  # the body is read once, kept
        raise ClientException(status_code=HTTP_400_BAD_REQUEST)


class PublicController(Controller):
    path = "/q/{token:str}"
    include_in_schema = False
    dependencies = {"link": Provide(provide_link)}

    @get("/", name="public:form")
    async def show_form(
        self,
        request: Request[Any, Any, Any],
        link: NamedDependency[PublicLink],
        code: FromQuery[str] = "",
        revise: FromQuery[str] = "",
    ) -> Template | Response[str]:
        """Show the questionnaire, or why it cannot be answered now, or the device's earlier answer."""
        if link.state != LinkState.open:
            return _state_page(link)
        counters.count_scan(link.link_id)
        device = ballots.device_of(link.campaign_id, request.cookies)
        prior = await ballots.prior_answer(link, device)
        revising = prior is not None and bool(revise) and prior.link_id == link.link_id and prior.revisable()
        page: Template | Response[str]
        if prior is not None and not revising:
            page = _answered_page(link, prior)
        elif prior is None and not code and request.scope.get("user") is None:
            page = BLANK_FORMS.page(request, link, await versions.get(link.questionnaire_id))
        else:
            questionnaire = await versions.get(link.questionnaire_id)
            posted = responses.form_fields(questionnaire, prior.answers) if prior else {INVITATION_FIELD: code}
            page = _form_page(link, questionnaire, posted, errors={}, revising=revising)
        return _with_device_cookie(page, request, link, device)

    @post("/", name="public:submit", guards=[browser_form_only], opt=flood_guard.SHOWS_FORM_AGAIN)
    async def submit(
        self, request: Request[Any, Any, Any], link: NamedDependency[PublicLink], data: URLEncodedBody[dict[str, Any]]
    ) -> Template | Redirect:
        """Save the answers and show the receipt, or show the form again with messages and the answers kept."""
        if link.state != LinkState.open:
            return _state_page(link)
        questionnaire = await versions.get(link.questionnaire_id)
        token = responses.read_form_token(link.token, str(data.get(FORM_TOKEN_FIELD, "")))
        revising = data.get(REVISE_FIELD) == "1"
        if (too_fast := flood_guard.refusal(request)) is not None:  # the flood guard: nothing saved, nothing counted
            form_token = data[FORM_TOKEN_FIELD] if token else None
            page = _refused_page(link, questionnaire, data, too_fast, form_token=form_token, revising=revising)
            page.headers.update(too_fast.headers)
            return page
        if switched := switched_preferences(request, data):  # the language or size switch: show, do not save
            form_token = data[FORM_TOKEN_FIELD] if token else None
            page = _form_page(link, questionnaire, data, {}, form_token=form_token, revising=revising)
            page.status_code = 200
            page.cookies.extend(switched)
            return page
        counters.count_start(link.link_id)
        answers, errors = responses.parse_answers(questionnaire, data)
        if token is None:
            notice = FieldError(N_("页面已过期，您的答案已保留，请检查后再次提交。"))
            return _form_page(link, questionnaire, data, errors, notice=notice, revising=revising)
        if errors:
            return _form_page(link, questionnaire, data, errors, form_token=data[FORM_TOKEN_FIELD], revising=revising)
        device = ballots.device_of(link.campaign_id, request.cookies)
        try:
            saved = await ballots.cast(
                link,
                token,
                answers,
                device=device,
                revise=revising,
                invitation_code=str(data.get(INVITATION_FIELD, "")),
                lang=current_language.get(),
            )
        except responses.SubmissionConflict:
            context = {"link": link, "state": "conflict"}
            return Template("public/status.html", context=context, status_code=HTTP_409_CONFLICT)
        except ballots.AlreadyAnswered as exc:
            return _answered_page(link, exc.prior, status_code=exc.status_code)
        except (ballots.BallotRefused, invitations.InvitationRefused) as exc:
            return _refused_page(link, questionnaire, data, exc, form_token=data[FORM_TOKEN_FIELD], revising=revising)
        # The call-back token travels only to this resident's thank-you page (receipts.callback_token).
        thanks = f"/q/{link.token}/thanks?r={saved.receipt}&t={receipts.callback_token(saved.receipt)}"
        redirect = Redirect(path=thanks, status_code=303)
        return _with_device_cookie(redirect, request, link, device)

    @get("/thanks", name="public:thanks")
    async def thanks(
        self, link: NamedDependency[PublicLink], r: FromQuery[str] = "", t: FromQuery[str] = ""
    ) -> Template:
        """Thank the resident and show their receipt code; after a bad rating, with the page's call-back token,
        offer to leave a number."""
        if not await responses.receipt_exists(link.campaign_id, r):
            raise NotFoundException("unknown receipt")
        callback = await workflow.callback_state(link.campaign_id, r)  # 差评闭环: after a bad rating, offer a call-back
        token = t if receipts.callback_token_valid(r, t) else None
        return Template(
            "public/thanks.html", context={"link": link, "receipt": r, "callback": callback, "callback_token": token}
        )

    @get("/qr.svg", name="public:qr_svg")
    async def qr_svg(
        self, link: NamedDependency[PublicLink], request: Request[Any, Any, Any]
    ) -> Response[bytes] | Template:
        if link.state == LinkState.revoked:  # a revoked code is not handed out again
            return _state_page(link)
        url = campaigns.public_url(base_url(request), link.token)
        return Response(qrcodes.svg(url), media_type="image/svg+xml", headers=IMAGE_CACHE)

    @get("/qr.png", name="public:qr_png")
    async def qr_png(
        self, link: NamedDependency[PublicLink], request: Request[Any, Any, Any]
    ) -> Response[bytes] | Template:
        if link.state == LinkState.revoked:
            return _state_page(link)
        url = campaigns.public_url(base_url(request), link.token)
        return Response(qrcodes.png(url), media_type="image/png", headers=IMAGE_CACHE)

    @get("/poster", name="public:poster")
    async def poster(self, link: NamedDependency[PublicLink], request: Request[Any, Any, Any]) -> Template:
        """An A4 poster to print: title, unit, instructions, the QR code and the address spelled out."""
        if link.state == LinkState.revoked:
            return _state_page(link)
        base = base_url(request)
        url = campaigns.public_url(base, link.token)
        typed = campaigns.short_url(base, link.short_code) if link.short_code else url
        context = {"link": link, "url": url, "typed_url": typed, "qr_svg": qrcodes.svg(url).decode()}
        return Template("public/poster.html", context=context)


def _form_page(
    link: PublicLink,
    questionnaire: Questionnaire,
    posted: dict[str, Any],
    errors: dict[str, FieldError],
    *,
    form_token: str | None = None,
    notice: FieldError | None = None,
    revising: bool = False,
) -> Template:
    context = form_context(link, questionnaire, posted, errors, form_token=form_token, notice=notice)
    context["revising"] = revising
    status = HTTP_422_UNPROCESSABLE_ENTITY if errors or notice else 200
    return Template("public/form.html", context=context, status_code=status)


def _refused_page(
    link: PublicLink,
    questionnaire: Questionnaire,
    posted: dict[str, Any],
    refusal: ballots.BallotRefused | invitations.InvitationRefused | flood_guard.TooFast,
    *,
    form_token: str | None,
    revising: bool,
) -> Template:
    """The form again with the answers as sent and why they were not saved, under the refusal's status."""
    notice = FieldError(refusal.message, refusal.params)
    page = _form_page(link, questionnaire, posted, {}, form_token=form_token, notice=notice, revising=revising)
    page.status_code = refusal.status_code
    return page


def _answered_page(link: PublicLink, prior: ballots.PriorAnswer | None, status_code: int = 200) -> Template:
    """ "You have already answered": the receipt, and whether (and where) the answer may still be revised."""
    return Template("public/answered.html", context={"link": link, "prior": prior}, status_code=status_code)


_T = TypeVar("_T", bound=Response[Any])


def _with_device_cookie(response: _T, request: Request[Any, Any, Any], link: PublicLink, device: ballots.Device) -> _T:
    """Give the device its signed cookie when the campaign checks devices and it has none yet."""
    if link.device_check and device.new:
        secure = request.url.scheme == "https"
        response.cookies.append(ballots.device_cookie(link.campaign_id, device, secure=secure))
    return response


def _state_page(link: PublicLink) -> Template:
    context = {"link": link, "state": link.state.value}
    return Template("public/status.html", context=context, status_code=STATE_STATUS[link.state])
