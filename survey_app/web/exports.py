"""Downloads for staff: a campaign's raw responses (CSV, XLSX, SPSS, Stata) and its scores per unit (CSV, XLSX, JSON).

The columns are documented in docs/exports.md. A member sees the responses and scores of the units
in their subtree only; a campaign without any of them answers 404.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Set
from typing import Any

import anyio
from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response, Stream

from survey_app import accounts, campaigns
from survey_app.accounts import StaffMember
from survey_app.i18n import current_language
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Questionnaire
from survey_app.reporting import campaign_report, exports, statfiles
from survey_app.tables import Role
from survey_app.web.auth import requires
from survey_app.web.common import CSV, XLSX, download, download_headers, provide_report

# Responses per page of a streamed CSV: a worker holds one page, however many answers the campaign has.
CSV_PAGE = 2_000


async def _campaign(slug: str, user: StaffMember) -> tuple[int, Questionnaire, Set[int] | None]:
    visible = await accounts.visible_unit_ids(user)
    campaign = await campaigns.visible_by_slug(slug, visible)
    if campaign is None:
        raise NotFoundException()
    return campaign.id, await versions.get(campaign.questionnaire_id), visible


async def _responses(slug: str, user: StaffMember) -> tuple[Questionnaire, exports.Table]:
    campaign_id, questionnaire, visible = await _campaign(slug, user)
    records = await exports.response_records(campaign_id, questionnaire, visible, current_language.get())
    return questionnaire, exports.response_table(questionnaire, records)


async def _statfile(fmt: str, slug: str, user: StaffMember) -> Response[bytes]:
    campaign_id, questionnaire, visible = await _campaign(slug, user)
    records = await exports.response_records(campaign_id, questionnaire, visible, current_language.get())
    write = functools.partial(statfiles.to_bytes, fmt, questionnaire, records, current_language.get())
    content = await anyio.to_thread.run_sync(write)  # pandas and pyreadstat: not on the event loop
    return download(content, "application/octet-stream", f"{slug}-responses.{fmt}")


async def csv_pages(
    campaign_id: int, questionnaire: Questionnaire, visible: Set[int] | None, lang: str
) -> AsyncIterator[bytes]:
    """The bytes of `to_csv(response_table(...))` of every response, `CSV_PAGE` responses at a time (the
    byte-order mark and header come with the first)."""
    first = True
    async for page in exports.response_record_pages(campaign_id, questionnaire, visible, lang, CSV_PAGE):
        chunk = exports.to_csv(exports.response_table(questionnaire, page))
        yield chunk if first else chunk.split(b"\r\n", 1)[1]  # the header once
        first = False
    if first:  # no responses: the header alone
        yield exports.to_csv(exports.response_table(questionnaire, []))


class ResponseExportController(Controller):
    path = "/staff/campaigns/{slug:str}"
    include_in_schema = False
    # Raw rows (age band, sex, housing, submission hour, comment) identify people in a small community:
    # assessors and admins only; the rated unit's staff read aggregates (reports, unit pages).
    guards = [requires(Role.admin, Role.assessor)]

    @get("/responses.csv", name="exports:responses_csv")
    async def responses_csv(self, slug: FromPath[str], request: Request[StaffMember, Any, Any]) -> Stream:
        """One row per response of the member's units, answers as codes and labels; streamed a page at a
        time, so it starts at once and a million rows take no more memory than a few thousand."""
        campaign_id, questionnaire, visible = await _campaign(slug, request.user)
        pages = csv_pages(campaign_id, questionnaire, visible, current_language.get())
        return Stream(pages, media_type=CSV, headers=download_headers(f"{slug}-responses.csv"))

    @get("/responses.xlsx", name="exports:responses_xlsx")
    async def responses_xlsx(self, slug: FromPath[str], request: Request[StaffMember, Any, Any]) -> Response[bytes]:
        """The same rows as the CSV, plus a sheet saying which question each column holds."""
        questionnaire, table = await _responses(slug, request.user)
        questions = exports.question_table(questionnaire, current_language.get())
        content = exports.to_xlsx([("responses", table), ("columns", questions)])
        return download(content, XLSX, f"{slug}-responses.xlsx")

    @get("/responses.sav", name="exports:responses_sav")
    async def responses_sav(self, slug: FromPath[str], request: Request[StaffMember, Any, Any]) -> Response[bytes]:
        """SPSS: variable and value labels, "don't know" user-missing (docs/exports.md)."""
        return await _statfile("sav", slug, request.user)

    @get("/responses.dta", name="exports:responses_dta")
    async def responses_dta(self, slug: FromPath[str], request: Request[StaffMember, Any, Any]) -> Response[bytes]:
        """Stata 15+: variable and value labels, "don't know" as .a (docs/exports.md)."""
        return await _statfile("dta", slug, request.user)


class ScoreExportController(Controller):
    path = "/reports/{slug:str}"
    include_in_schema = False
    guards = [requires(Role.admin, Role.assessor, Role.worker)]
    dependencies = {"report": Provide(provide_report)}

    @get("/units.csv", name="exports:scores_csv")
    async def scores_csv(self, report: NamedDependency[campaign_report.Report]) -> Response[bytes]:
        """One row per unit: overall score with n and interval, then every dimension and item."""
        sheet = await exports.score_sheet(report, current_language.get())
        return download(exports.to_csv(exports.score_table(sheet)), CSV, f"{report.campaign_slug}-units.csv")

    @get("/units.xlsx", name="exports:scores_xlsx")
    async def scores_xlsx(self, report: NamedDependency[campaign_report.Report]) -> Response[bytes]:
        lang = current_language.get()
        sheet = await exports.score_sheet(report, lang)
        content = exports.to_xlsx([("scores", exports.score_table(sheet)), ("about", exports.score_about(sheet, lang))])
        return download(content, XLSX, f"{report.campaign_slug}-units.xlsx")

    @get("/units.json", name="exports:scores_json")
    async def scores_json(self, report: NamedDependency[campaign_report.Report]) -> Response[bytes]:
        sheet = await exports.score_sheet(report, current_language.get())
        return download(exports.encode_json(sheet), "application/json", f"{report.campaign_slug}-units.json")
