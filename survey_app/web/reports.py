"""Score report pages: one HTML page per campaign, and its CSV and JSON downloads."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from survey_app import accounts, results
from survey_app.accounts import StaffMember
from survey_app.i18n import N_, current_language
from survey_app.reporting import campaign_report, csv_writer, group_view, quality, unit_report
from survey_app.tables import Role
from survey_app.web.auth import requires
from survey_app.web.common import CSV, download, provide_report, provide_rule

# analysis.QUADRANTS in order, as shown on the unit page.
QUADRANT_LABELS = (N_("重点改进"), N_("继续保持"), N_("次要改进"), N_("过度投入"))


class ReportController(Controller):
    path = "/reports"
    include_in_schema = False
    guards = [requires(Role.admin, Role.assessor, Role.worker)]
    dependencies = {"report": Provide(provide_report), "rule": Provide(provide_rule)}

    @get("/{slug:str}", name="reports:campaign")
    async def show(self, report: NamedDependency[campaign_report.Report]) -> Template:
        """Per unit: overall and dimension scores with n, 满意率 and intervals; items on demand."""
        context = {"report": campaign_report.to_dict(report, current_language.get()), "rule": report.rule}
        return Template("reports/campaign.html", context=context)

    @get("/{slug:str}/dimensions", name="reports:dimensions")
    async def dimensions(
        self, report: NamedDependency[campaign_report.Report], sort: FromQuery[str] = "", order: FromQuery[str] = ""
    ) -> Template:
        """Units × dimensions: index, interval and a colour band per cell, sorted by the chosen column."""
        return Template("reports/dimensions.html", context={"view": group_view.build(report, sort, order)})

    @get("/{slug:str}/units/{unit:str}", name="reports:unit")
    async def unit(
        self,
        slug: FromPath[str],
        unit: FromPath[str],
        rule: NamedDependency[campaign_report.SampleRule],
        request: Request[StaffMember, Any, Any],
    ) -> Template:
        """One unit: scores with intervals, change since the previous period, IPA, distributions,
        response rate, channels, left-out responses and comments."""
        page = await results.unit_page_of(slug, unit, await accounts.visible_unit_ids(request.user), rule)
        if page is None:
            raise NotFoundException()
        return Template(
            "reports/unit.html",
            context={
                "page": page,
                "report": campaign_report.to_dict(page.report, current_language.get()),
                "flag_counts": unit_report.flag_counts(page.left_out),
                "quadrants": QUADRANT_LABELS,
            },
        )

    @get("/{slug:str}/quality", name="reports:quality")
    async def quality(
        self,
        slug: FromPath[str],
        rule: NamedDependency[campaign_report.SampleRule],
        request: Request[StaffMember, Any, Any],
    ) -> Template:
        """Per unit n against target, statuses, channels and careless-answer signals; per item
        don't-know and nonresponse; Cronbach's α per dimension."""
        page = await quality.build(slug, await accounts.visible_unit_ids(request.user), rule)
        if page is None:
            raise NotFoundException()
        return Template("reports/quality.html", context={"page": page})

    @get("/{slug:str}/scores.csv", name="reports:csv")
    async def download_csv(self, report: NamedDependency[campaign_report.Report]) -> Response[bytes]:
        content = (csv_writer.BOM + campaign_report.to_csv(report, current_language.get())).encode("utf-8")
        return download(content, CSV, f"{report.campaign_slug}-scores.csv")

    @get("/{slug:str}/scores.json", name="reports:json")
    async def download_json(self, report: NamedDependency[campaign_report.Report]) -> dict[str, Any]:
        return campaign_report.to_dict(report, current_language.get())
