"""Score report pages: one HTML page per campaign, and its CSV and JSON downloads."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response, Template

from survey_app import reports
from survey_app.i18n import current_language


async def _build(slug: str) -> reports.Report:
    try:
        return await reports.build(slug)
    except reports.ReportError as exc:
        raise NotFoundException(str(exc)) from exc


class ReportController(Controller):
    path = "/reports"
    include_in_schema = False

    @get("/{slug:str}", name="reports:campaign")
    async def show(self, slug: FromPath[str]) -> Template:
        """Per unit: overall and dimension scores with n, 满意率 and intervals; items on demand."""
        report = await _build(slug)
        return Template("reports/campaign.html", context={"report": reports.to_dict(report, current_language.get())})

    @get("/{slug:str}/scores.csv", name="reports:csv")
    async def download_csv(self, slug: FromPath[str]) -> Response[str]:
        report = await _build(slug)
        headers = {"Content-Disposition": f'attachment; filename="{report.campaign_slug}-scores.csv"'}
        # The BOM makes Excel open the UTF-8 file with Chinese intact.
        return Response(
            "\ufeff" + reports.to_csv(report, current_language.get()),
            media_type="text/csv; charset=utf-8",
            headers=headers,
        )

    @get("/{slug:str}/scores.json", name="reports:json")
    async def download_json(self, slug: FromPath[str]) -> dict[str, Any]:
        return reports.to_dict(await _build(slug), current_language.get())
