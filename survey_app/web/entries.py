"""Staff entry pages: interviews in the resident's form, paper sheets keyed twice, and their differences."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import entries, paper_sheets, receipts, responses, sheets
from survey_app.accounts import StaffMember
from survey_app.campaigns import PublicLink
from survey_app.i18n import N_, Refusal, current_language
from survey_app.questionnaires import versions
from survey_app.responses import FieldError
from survey_app.tables import Channel, KeyingState, Role
from survey_app.web.auth import requires
from survey_app.web.common import STATE_STATUS
from survey_app.web.forms import FORM_TOKEN_FIELD, form_context

SHEET_FIELD = "_sheet"  # item ids cannot start with "_", so this never collides with an answer
EXPIRED = FieldError(N_("页面已过期，您的答案已保留，请检查后再次提交。"))


async def _link(request: Request[StaffMember, Any, Any], token: str, channel: Channel) -> PublicLink:
    link = await entries.entry_link(request.user, token, channel)
    if link is None:
        raise NotFoundException()
    return link


async def provide_interview_link(token: FromPath[str], request: Request[StaffMember, Any, Any]) -> PublicLink:
    return await _link(request, token, Channel.interviewer)


async def provide_paper_link(token: FromPath[str], request: Request[StaffMember, Any, Any]) -> PublicLink:
    return await _link(request, token, Channel.paper)


class EntryController(Controller):
    path = "/staff"
    include_in_schema = False
    guards = [requires(Role.admin, Role.worker)]

    @get("/entries", name="entries:index")
    async def list_entries(self, request: Request[StaffMember, Any, Any]) -> Template:
        """Links to interview or key paper for, and sheets whose two keyings differ."""
        links = await entries.entry_links(request.user)
        pending = await sheets.sheets_to_resolve(request.user)
        return Template("staff/entries.html", context={"links": links, "pending": pending})

    @post("/entries/serial", name="entries:by_serial")
    async def key_by_serial(self, data: URLEncodedBody[dict[str, Any]]) -> Template | Redirect:
        """Open the paper entry form of the unit a typed serial was issued for (any street's sheets)."""
        serial = str(data.get("serial", ""))
        try:
            token = await paper_sheets.entry_token(serial)
        except Refusal as exc:
            return Template(
                "staff/entries_serial.html",
                context={"error": exc, "serial": serial},
                status_code=HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return Redirect(path=f"/staff/links/{token}/paper?sheet={paper_sheets.normalise(serial)}", status_code=303)

    @get(
        "/links/{token:str}/interview", name="entries:interview", dependencies={"link": Provide(provide_interview_link)}
    )
    async def show_interview(
        self, request: Request[StaffMember, Any, Any], link: NamedDependency[PublicLink], saved: FromQuery[str] = ""
    ) -> Template:
        """The resident's form under an interview banner; after a save, its receipt."""
        return await _entry_page(Channel.interviewer, link, last=await entries.saved_entry(request.user, link, saved))

    @post(
        "/links/{token:str}/interview",
        name="entries:interview_submit",
        dependencies={"link": Provide(provide_interview_link)},
    )
    async def submit_interview(
        self,
        request: Request[StaffMember, Any, Any],
        link: NamedDependency[PublicLink],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Save the interview (channel `interviewer`) and open a fresh form, or show the form again."""
        if not entries.accepts(link, Channel.interviewer):
            return await _entry_page(Channel.interviewer, link)
        answers, errors = responses.parse_answers(await versions.get(link.questionnaire_id), data)
        token = responses.read_form_token(link.token, str(data.get(FORM_TOKEN_FIELD, "")))
        if token is None or errors:
            return await _entry_page(
                Channel.interviewer, link, data, errors, notice=None if token else EXPIRED, keep=data
            )
        try:
            saved = await entries.record_interview(request.user, link, token, answers, current_language.get())
        except responses.SubmissionConflict:
            return await _entry_page(Channel.interviewer, link, data, notice=EXPIRED)
        except entries.EntryError as refused:  # the campaign refuses entries by the unit's own staff
            return await _entry_page(Channel.interviewer, link, data, notice=refused, status=HTTP_409_CONFLICT)
        saved_ref = receipts.staff_reference(saved.receipt)
        return Redirect(path=f"/staff/links/{link.token}/interview?saved={saved_ref}", status_code=303)

    @get("/links/{token:str}/paper", name="entries:paper", dependencies={"link": Provide(provide_paper_link)})
    async def show_paper(
        self,
        request: Request[StaffMember, Any, Any],
        link: NamedDependency[PublicLink],
        saved: FromQuery[str] = "",
        sheet: FromQuery[str] = "",
    ) -> Template:
        """The resident's form with a field for the sheet's serial (filled in when opened from a serial);
        after a save, which sheet it was."""
        last = await entries.saved_entry(request.user, link, saved)
        return await _entry_page(Channel.paper, link, last=last, sheet=sheet[:40])

    @post("/links/{token:str}/paper", name="entries:paper_submit", dependencies={"link": Provide(provide_paper_link)})
    async def submit_paper(
        self,
        request: Request[StaffMember, Any, Any],
        link: NamedDependency[PublicLink],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Save a keyed sheet; a second keying by another worker goes to its comparison page."""
        if not entries.accepts(link, Channel.paper):
            return await _entry_page(Channel.paper, link)
        form = entries.parse_paper(await versions.get(link.questionnaire_id), data, SHEET_FIELD)
        token = responses.read_form_token(link.token, str(data.get(FORM_TOKEN_FIELD, "")))
        if token is None or not form.ok:
            return await _entry_page(
                Channel.paper, link, data, form.errors, form, None if token else EXPIRED, keep=data
            )
        try:
            outcome = await entries.key_paper(request.user, link, token, form)
        except (entries.EntryError, responses.SubmissionConflict) as exc:
            notice = exc if isinstance(exc, entries.EntryError) else EXPIRED
            return await _entry_page(Channel.paper, link, data, {}, form, notice, HTTP_409_CONFLICT)
        if outcome.keying_id is not None:
            return Redirect(path=f"/staff/sheets/{outcome.keying_id}", status_code=303)
        saved_ref = receipts.staff_reference(outcome.receipt or "")
        return Redirect(path=f"/staff/links/{link.token}/paper?saved={saved_ref}", status_code=303)

    @get("/sheets/{sheet_id:int}", name="entries:sheet")
    async def show_sheet(self, request: Request[StaffMember, Any, Any], sheet_id: FromPath[int]) -> Template:
        """Both keyings of a sheet, item by item where they differ, with a choice per item."""
        return _sheet_page(await sheets.sheet_check(request.user, sheet_id))

    @post("/sheets/{sheet_id:int}", name="entries:resolve")
    async def resolve_sheet(
        self, request: Request[StaffMember, Any, Any], sheet_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
    ) -> Template | Redirect:
        """Keep, per differing item, the value the paper shows (audited)."""
        try:
            await sheets.resolve(request.user, sheet_id, data)
        except LookupError as exc:
            raise NotFoundException() from exc
        except entries.EntryError as exc:
            check = await sheets.sheet_check(request.user, sheet_id)
            undecided = check is not None and check.state == KeyingState.differs
            return _sheet_page(
                check, error=exc, status=HTTP_422_UNPROCESSABLE_ENTITY if undecided else HTTP_409_CONFLICT
            )
        return Redirect(path=f"/staff/sheets/{sheet_id}", status_code=303)


async def _entry_page(
    channel: Channel,
    link: PublicLink,
    posted: dict[str, Any] | None = None,
    errors: dict[str, FieldError] | None = None,
    paper: entries.PaperForm | None = None,
    notice: Any = None,
    status: int | None = None,
    *,
    last: str | None = None,
    keep: dict[str, Any] | None = None,
    sheet: str = "",
) -> Template:
    """The resident's form (public/form.html) extended for staff; the link's state page when closed to entry."""
    if not entries.accepts(link, channel):
        closed = {"link": link, "state": link.state.value}
        return Template("public/status.html", context=closed, status_code=STATE_STATUS[link.state])
    questionnaire = await versions.get(link.questionnaire_id)
    # A form shown again keeps its valid token, so sending it twice still saves one response.
    token = str(keep.get(FORM_TOKEN_FIELD, "")) if keep and notice is None else None
    context = form_context(link, questionnaire, posted or {}, errors or {}, form_token=token or None, notice=notice)
    context |= {"last": last, "sheet_field": SHEET_FIELD, "sheet": paper.sheet if paper else sheet, "sheet_error": None}
    if paper is not None:
        context["sheet_error"] = paper.sheet_error
    invalid = bool(errors or notice or (paper and paper.sheet_error))
    code = status or (HTTP_422_UNPROCESSABLE_ENTITY if invalid else 200)
    return Template(f"staff/{channel.value}.html", context=context, status_code=code)


def _sheet_page(check: sheets.SheetCheck | None, *, error: Any = None, status: int = 200) -> Template:
    if check is None:
        raise NotFoundException()
    return Template("staff/sheet.html", context={"check": check, "error": error}, status_code=status)
