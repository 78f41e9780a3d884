"""Questionnaires in the back office: the catalogue of versions and the campaigns using them, a
preview exactly as residents see the form, and (admins only) uploading a new file or version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import accounts
from survey_app.accounts import StaffMember
from survey_app.i18n import N_, current_language, gettext
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Questionnaire, QuestionnaireError, localise
from survey_app.tables import Role
from survey_app.web.auth import requires
from survey_app.web.forms import condition_css, condition_hints

# The resident's form builds these from the questionnaire alone; reusing them keeps the preview exact.

# The upload form carries the file and the CSRF token besides the file's own limit.
UPLOAD_BODY_BYTES = versions.MAX_UPLOAD_BYTES + 64 * 1024


@dataclass(frozen=True)
class PreviewLink:
    """Stands in for a resident's link: the questionnaire's title and a placeholder unit."""

    questionnaire: Questionnaire
    site: str = ""
    device_check: bool = True  # a new campaign's default: the preview shows no "repeat answers count" notice
    invitation_only: bool = False

    def campaign_title(self, lang: str) -> str:
        return localise(self.questionnaire.title, lang)

    def campaign_purpose(self, lang: str) -> str:
        return ""

    def unit_display_name(self, lang: str) -> str:
        return gettext(N_("（参评单位名称）"))


class QuestionnaireController(Controller):
    path = "/staff/questionnaires"
    include_in_schema = False
    guards = [requires(Role.admin, Role.worker, Role.assessor)]

    @get("/", name="questionnaires:list")
    async def list_versions(self, request: Request[StaffMember, Any, Any]) -> Template:
        """Every bundled and uploaded version, with the campaigns (of the member's units) using it."""
        visible = await accounts.visible_unit_ids(request.user)
        return Template("staff/questionnaires.html", context={"versions": await versions.catalogue(visible)})

    @get("/{questionnaire:str}/{version:int}", name="questionnaires:preview")
    async def preview(
        self, questionnaire: FromPath[str], version: FromPath[int], unchanged: FromQuery[bool] = False
    ) -> Template:
        """The form exactly as a resident sees it, marked as a preview, with submitting disabled."""
        found = await versions.find(questionnaire, version)
        if found is None:
            raise NotFoundException()
        return Template("staff/questionnaire_preview.html", context=_preview_context(found, unchanged))

    @get("/upload", name="questionnaires:upload_form", guards=[requires(Role.admin)])
    async def upload_form(self) -> Template:
        return Template("staff/questionnaire_upload.html", context={"error": None})

    @post(
        "/upload", name="questionnaires:upload", guards=[requires(Role.admin)], request_max_body_size=UPLOAD_BODY_BYTES
    )
    async def upload(
        self,
        request: Request[StaffMember, Any, Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template | Redirect:
        """Validate and store an uploaded YAML file, then show its preview; or show every reason it was refused."""
        upload = data.get("file")
        content, filename = (await upload.read(), upload.filename) if isinstance(upload, UploadFile) else (b"", "")
        try:
            stored, created = await versions.upload(content, filename, request.user.username)
        except QuestionnaireError as exc:
            context = {"error": str(exc)}
            return Template(
                "staff/questionnaire_upload.html", context=context, status_code=HTTP_422_UNPROCESSABLE_ENTITY
            )
        suffix = "" if created else "?unchanged=true"
        return Redirect(path=f"/staff/questionnaires/{stored.slug}/{stored.version}{suffix}", status_code=303)


def _preview_context(q: Questionnaire, unchanged: bool) -> dict[str, Any]:
    """What `public/form.html` needs, for no campaign and no unit: no answers, errors or form token."""
    return {
        "link": PreviewLink(q),
        "q": q,
        "raw": {},
        "errors": {},
        "hints": condition_hints(q, current_language.get()),
        "condition_css": condition_css(q),
        "notice": None,
        "form_token": "",
        "form_token_field": "_preview",
        "unchanged": unchanged,
    }
