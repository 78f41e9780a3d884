"""The resident's pages under /q/<token>: the form, the thank-you page, the QR images and the poster."""

from __future__ import annotations

import re
import secrets
from typing import Any, TypeVar, cast

from jinja2 import Environment
from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.exceptions import ClientException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
    HTTP_409_CONFLICT,
    HTTP_410_GONE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
)
from markupsafe import Markup

from survey_app import (
    ballots,
    campaigns,
    cases,
    counters,
    invitations,
    qrcodes,
    questionnaires,
    ratelimits,
    responses,
    security,
)
from survey_app.campaigns import LinkState, PublicLink
from survey_app.i18n import N_, current_language
from survey_app.questionnaire_format import Item, LocalText, Questionnaire, localise
from survey_app.responses import FieldError
from survey_app.settings import get_settings

FORM_TOKEN_FIELD = "_form"
# Underscored like the form token: questionnaire item ids cannot start with "_".
INVITATION_FIELD = "_invite"
REVISE_FIELD = "_revise"
STATE_STATUS = {
    LinkState.closed: HTTP_410_GONE,
    LinkState.revoked: HTTP_410_GONE,
    LinkState.not_yet_open: HTTP_403_FORBIDDEN,
}
# Images are immutable for a token; a day of caching spares weak networks and the server.
IMAGE_CACHE = {"Cache-Control": "public, max-age=86400"}


async def provide_link(token: FromPath[str]) -> PublicLink:
    link = await campaigns.find_link(token)
    if link is None:
        raise NotFoundException("unknown link")
    return link


def base_url(request: Request[Any, Any, Any]) -> str:
    """The configured public origin, or the address this request reached."""
    return get_settings().public_base_url or str(request.base_url).rstrip("/")


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
            page = BLANK_FORMS.page(request, link, await questionnaires.get(link.questionnaire_id))
        else:
            questionnaire = await questionnaires.get(link.questionnaire_id)
            posted = responses.form_fields(questionnaire, prior.answers) if prior else {INVITATION_FIELD: code}
            page = _form_page(link, questionnaire, posted, errors={}, revising=revising)
        return _with_device_cookie(page, request, link, device)

    @post("/", name="public:submit", guards=[browser_form_only], opt=ratelimits.SHOWS_FORM_AGAIN)
    async def submit(
        self, request: Request[Any, Any, Any], link: NamedDependency[PublicLink], data: URLEncodedBody[dict[str, Any]]
    ) -> Template | Redirect:
        """Save the answers and show the receipt, or show the form again with messages and the answers kept."""
        if link.state != LinkState.open:
            return _state_page(link)
        questionnaire = await questionnaires.get(link.questionnaire_id)
        token = responses.read_form_token(link.token, str(data.get(FORM_TOKEN_FIELD, "")))
        revising = data.get(REVISE_FIELD) == "1"
        if (too_fast := ratelimits.refusal(request)) is not None:  # the flood guard: nothing saved, nothing counted
            form_token = data[FORM_TOKEN_FIELD] if token else None
            page = _refused_page(link, questionnaire, data, too_fast, form_token=form_token, revising=revising)
            page.headers.update(too_fast.headers)
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
        redirect = Redirect(path=f"/q/{link.token}/thanks?r={saved.receipt}", status_code=303)
        return _with_device_cookie(redirect, request, link, device)

    @get("/thanks", name="public:thanks")
    async def thanks(self, link: NamedDependency[PublicLink], r: FromQuery[str] = "") -> Template:
        """Thank the resident and show their receipt code."""
        if not await responses.receipt_exists(link.campaign_id, r):
            raise NotFoundException("unknown receipt")
        callback = await cases.callback_state(link.campaign_id, r)  # 差评闭环: after a bad rating, offer a call-back
        return Template("public/thanks.html", context={"link": link, "receipt": r, "callback": callback})

    @get("/qr.svg", name="public:qr_svg")
    async def qr_svg(self, link: NamedDependency[PublicLink], request: Request[Any, Any, Any]) -> Response[bytes]:
        url = campaigns.public_url(base_url(request), link.token)
        return Response(qrcodes.svg(url), media_type="image/svg+xml", headers=IMAGE_CACHE)

    @get("/qr.png", name="public:qr_png")
    async def qr_png(self, link: NamedDependency[PublicLink], request: Request[Any, Any, Any]) -> Response[bytes]:
        url = campaigns.public_url(base_url(request), link.token)
        return Response(qrcodes.png(url), media_type="image/png", headers=IMAGE_CACHE)

    @get("/poster", name="public:poster")
    async def poster(self, link: NamedDependency[PublicLink], request: Request[Any, Any, Any]) -> Template:
        """An A4 poster to print: title, unit, instructions, the QR code and the address spelled out."""
        if link.state == LinkState.revoked:
            return _state_page(link)
        url = campaigns.public_url(base_url(request), link.token)
        return Template("public/poster.html", context={"link": link, "url": url, "qr_svg": qrcodes.svg(url).decode()})


class BlankForms:
    """Blank form pages, each rendered once per worker and filled in per request.

    A blank form (no earlier answer, no invitation code typed in) is what every resident scanning a
    code gets, and it is the same for everyone who opens the same address in the same language but
    for two values: the signed form token and the CSP nonce. So it is rendered once, with a marker
    in place of each, split at the markers, and each request joins the pieces with its own token
    and nonce (both of characters that need no escaping). The key holds everything else the page
    depends on: the link as resolved for this request (so a renamed unit or a changed campaign is a
    new key), the language, the address and the questionnaire (kept in the entry, so its `id()`
    cannot be reused meanwhile). Stored questionnaire versions and templates do not change while a
    worker runs; with templates reloading (debug), nothing is kept.
    """

    TEMPLATE = "public/form.html"
    MAX_PAGES = 1024

    def __init__(self) -> None:
        self._pages: dict[tuple[Any, ...], tuple[Questionnaire, list[str]]] = {}
        self._token, self._nonce = f"minpingformtoken{secrets.token_hex(8)}", f"minpingnonce{secrets.token_hex(8)}"
        self._markers = re.compile(f"({self._token}|{self._nonce})")

    def page(self, request: Request[Any, Any, Any], link: PublicLink, questionnaire: Questionnaire) -> Response[str]:
        path = request.scope.get("root_path", "") + request.scope["path"]
        key = (link, current_language.get(), path, id(questionnaire))
        entry = self._pages.get(key)
        if entry is None or entry[0] is not questionnaire:
            parts = self._markers.split(self._render(request, link, questionnaire))
            if request.app.template_engine.engine.auto_reload:  # type: ignore[union-attr]
                entry = (questionnaire, parts)
            else:
                if len(self._pages) >= self.MAX_PAGES:
                    self._pages.clear()
                entry = self._pages[key] = (questionnaire, parts)
        fill = {self._token: responses.mint_form_token(link.token), self._nonce: security.current_nonce.get()}
        return Response("".join([fill.get(part, part) for part in entry[1]]), media_type=MediaType.HTML)

    def _render(self, request: Request[Any, Any, Any], link: PublicLink, questionnaire: Questionnaire) -> str:
        """The page as `_form_page` would render it, with the markers for the token and the nonce."""
        context = form_context(link, questionnaire, {INVITATION_FIELD: ""}, {}, form_token=self._token)
        context["revising"] = False
        template = Template(self.TEMPLATE, context=context)
        nonce = security.current_nonce.set(self._nonce)
        try:
            jinja = request.app.template_engine.get_template(self.TEMPLATE)  # type: ignore[union-attr]
            return str(jinja.render(**template.create_template_context(request)))
        finally:
            security.current_nonce.reset(nonce)


BLANK_FORMS = BlankForms()


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
    refusal: ballots.BallotRefused | invitations.InvitationRefused | ratelimits.TooFast,
    *,
    form_token: str | None,
    revising: bool,
) -> Template:
    """The form again with the answers as sent and why they were not saved, under the refusal's status."""
    notice = FieldError(refusal.message, refusal.params)
    page = _form_page(link, questionnaire, posted, {}, form_token=form_token, notice=notice, revising=revising)
    page.status_code = refusal.status_code
    return page


def form_context(
    link: PublicLink,
    questionnaire: Questionnaire,
    posted: dict[str, Any],
    errors: dict[str, FieldError],
    *,
    form_token: str | None = None,
    notice: FieldError | None = None,
) -> dict[str, Any]:
    """What `public/form.html` needs; staff entry pages extend that template with the same context."""
    return {
        "link": link,
        "q": questionnaire,
        "raw": {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in posted.items()},
        "errors": errors,
        "hints": condition_hints(questionnaire, current_language.get()),
        "condition_css": condition_css(questionnaire),
        "notice": notice,
        "form_token": form_token or responses.mint_form_token(link.token),
        "form_token_field": FORM_TOKEN_FIELD,
        # The invitation code field, when the campaign asks for one (kept as typed, or from ?code=).
        "invitation": str(posted.get(INVITATION_FIELD, "")) if link.invitation_only else None,
        "invitation_field": INVITATION_FIELD,
        "revising": False,
        "revise_field": REVISE_FIELD,
    }


class QuestionList:
    """The template global `question_list(q, raw, errors, hints)`: the form's questions as HTML.

    The questions are most of the work of rendering a form (a few hundred macro calls and escapes),
    and a blank one (no answers, no errors), which is what every resident scanning a code gets,
    depends only on the questionnaire and the language: `hints` is always `condition_hints(q, lang)`.
    So a blank form's questions are rendered once per questionnaire and language in each process
    and reused; forms with answers or errors are rendered each time. Stored questionnaire versions
    never change (survey_app/questionnaires.py). An entry keeps its questionnaire object, so the
    `id()` it is filed under cannot be reused by another object while it is there. With templates
    reloading (debug), nothing is kept.
    """

    TEMPLATE = "public/_question_list.html"
    MAX_QUESTIONNAIRES = 64

    def __init__(self, env: Environment) -> None:
        self.env = env
        self._blank: dict[int, tuple[Questionnaire, dict[str, Markup]]] = {}

    def __call__(
        self, q: Questionnaire, raw: dict[str, list[str]], errors: dict[str, FieldError], hints: dict[str, Any]
    ) -> Markup:
        if errors or self.env.auto_reload or any(item.id in raw for item in q.items):
            return self._render(q, raw, errors, hints)
        entry = self._blank.get(id(q))
        if entry is None:
            if len(self._blank) >= self.MAX_QUESTIONNAIRES:
                self._blank.clear()
            entry = self._blank[id(q)] = (q, {})
        lang = current_language.get()
        html = entry[1].get(lang)
        if html is None:
            html = entry[1][lang] = self._render(q, {}, {}, hints)
        return html

    def _render(self, q: Questionnaire, raw: dict[str, list[str]], errors: dict[str, FieldError], hints: Any) -> Markup:
        return Markup(self.env.get_template(self.TEMPLATE).render(q=q, raw=raw, errors=errors, hints=hints))


def condition_hints(q: Questionnaire, lang: str) -> dict[str, tuple[int, str]]:
    """For each conditional item: the number of the item it depends on, and the answers that show it."""
    number = {item.id: n for n, item in enumerate(q.items, start=1)}
    hints = {}
    for item in q.items:
        if item.show_if is None:
            continue
        target = q.item(item.show_if.item)
        labels = _answer_labels(q, target)
        shown = "”/“".join(localise(labels[v], lang) for v in item.show_if.values if v in labels)
        hints[item.id] = (number[target.id], shown)
    return hints


def _answer_labels(q: Questionnaire, item: Item) -> dict[Any, Any]:
    if item.type == "rating":
        return {level.value: level.label for level in q.scales[item.scale or ""].levels}
    if item.type == "yesno":
        return {True: LocalText(zh="是", en="Yes"), False: LocalText(zh="否", en="No")}
    return {o.value: o.label for o in item.options or []}


def condition_css(q: Questionnaire) -> Markup:
    """CSS that hides a conditional item until its condition holds, with no JavaScript.

    Browsers without `:has()` ignore the rule and show the item with its hint, which still works.
    Names and values are safe to write unquoted by construction: ids and option values are limited
    to [A-Za-z0-9_-] by the questionnaire format, and level values are integers.
    """
    rules = []
    for item in q.items:
        if item.show_if is None:
            continue
        choices = ",".join(
            f'[name="{item.show_if.item}"][value="{_form_value(v)}"]:checked' for v in item.show_if.values
        )
        rules.append(f"form:not(:has({choices})) #q-{item.id}{{display:none}}")
    return Markup("\n".join(rules))


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _answered_page(link: PublicLink, prior: ballots.PriorAnswer | None, status_code: int = 200) -> Template:
    """ "You have already answered": the receipt, and whether (and where) the answer may still be revised."""
    return Template("public/answered.html", context={"link": link, "prior": prior}, status_code=status_code)


_T = TypeVar("_T", Template, Redirect, Response[str])


def _with_device_cookie(response: _T, request: Request[Any, Any, Any], link: PublicLink, device: ballots.Device) -> _T:
    """Give the device its signed cookie when the campaign checks devices and it has none yet."""
    if link.device_check and device.new:
        secure = request.url.scheme == "https"
        response.cookies.append(ballots.device_cookie(link.campaign_id, device, secure=secure))
    return response


def _state_page(link: PublicLink) -> Template:
    context = {"link": link, "state": link.state.value}
    return Template("public/status.html", context=context, status_code=STATE_STATUS[link.state])
