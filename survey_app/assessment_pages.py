"""Assessment pages: the list of periods, a period's league table (printable), and the admin's close and
correct buttons. Assessors and admins only; a member limited to a subtree sees only its rows."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Response, Template

from survey_app import accounts, assessments, exports
from survey_app.accounts import StaffMember
from survey_app.auth import requires
from survey_app.export_pages import CSV, XLSX, download
from survey_app.i18n import N_, current_language
from survey_app.tables import PeriodStatus, Role


async def provide_period(period: FromPath[str]) -> assessments.Period:
    found = await assessments.get(period)
    if found is None:
        raise NotFoundException()
    return found


class AssessmentController(Controller):
    path = "/assessments"
    include_in_schema = False
    guards = [requires(Role.admin, Role.assessor)]

    @get("/", name="assessments:list")
    async def list_periods(self, request: Request[StaffMember, Any, Any]) -> Template:
        """Every period with its status and snapshots; admins get the close button."""
        context = {"periods": await assessments.listing(), "may_close": request.user.role == Role.admin}
        return Template("staff/assessments.html", context=context)

    @get("/{period:str}", name="assessments:league", dependencies={"found": Provide(provide_period)})
    async def league(
        self, request: Request[StaffMember, Any, Any], found: NamedDependency[assessments.Period]
    ) -> Template:
        """The league tables with intervals, shrunken scores, rank intervals, grades and flags."""
        return await _league_page(request.user, found, None)

    @get("/{period:str}/league.csv", name="assessments:league_csv", dependencies={"found": Provide(provide_period)})
    async def league_csv(
        self, request: Request[StaffMember, Any, Any], found: NamedDependency[assessments.Period]
    ) -> Response[bytes]:
        """The league tables as the page shows them, one row per unit, for the assessment office."""
        table = await _league_table(request.user, found)
        return download(exports.to_csv(table), CSV, f"{found.slug}-league.csv")

    @get("/{period:str}/league.xlsx", name="assessments:league_xlsx", dependencies={"found": Provide(provide_period)})
    async def league_xlsx(
        self, request: Request[StaffMember, Any, Any], found: NamedDependency[assessments.Period]
    ) -> Response[bytes]:
        table = await _league_table(request.user, found)
        return download(exports.to_xlsx([("league", table)]), XLSX, f"{found.slug}-league.xlsx")

    @post(
        "/{period:str}/close",
        name="assessments:close",
        guards=[requires(Role.admin)],
        dependencies={"found": Provide(provide_period)},
    )
    async def close(
        self, request: Request[StaffMember, Any, Any], found: NamedDependency[assessments.Period]
    ) -> Template | Redirect:
        """Seal the period (snapshot 1)."""
        try:
            await assessments.close(found, request.user.username)
        except assessments.AssessmentError as exc:
            return await _league_page(request.user, found, exc)
        return Redirect(path=f"/assessments/{found.slug}", status_code=303)

    @post(
        "/{period:str}/correct",
        name="assessments:correct",
        guards=[requires(Role.admin)],
        dependencies={"found": Provide(provide_period)},
    )
    async def correct(
        self,
        request: Request[StaffMember, Any, Any],
        found: NamedDependency[assessments.Period],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """A correcting snapshot, recomputed from the responses stored now, with the reason given."""
        try:
            await assessments.correct(found, request.user.username, str(data.get("reason", "")))
        except assessments.AssessmentError as exc:
            return await _league_page(request.user, found, exc)
        return Redirect(path=f"/assessments/{found.slug}", status_code=303)


# The case rates a scheme's `case_handling.measure` names, as the league and its appendix label them.
CASE_LABELS = {"callback_rate": N_("回访率"), "on_time_rate": N_("按时办结率"), "rectified_rate": N_("整改办结率")}
# The demographics a scheme may weight by (its `weighting.margins`), as the appendix names them.
MARGIN_NAMES = {"age_band": N_("年龄"), "sex": N_("性别"), "residence": N_("居住情况")}


async def _visible_league(member: StaffMember, period: assessments.Period) -> tuple[dict[str, Any], Any]:
    """The period's league limited to the member's units, with its snapshot; 404 when no row is theirs."""
    result, snapshot = await assessments.league(period)
    shown = assessments.restrict(result, await assessments.unit_codes(await accounts.visible_unit_ids(member)))
    if shown is None:
        raise NotFoundException()
    return shown, snapshot


async def _league_table(member: StaffMember, period: assessments.Period) -> exports.Table:
    shown, _snapshot = await _visible_league(member, period)
    return exports.league_table(shown, [band.label for band in period.scheme.grades], current_language.get())


async def _league_page(member: StaffMember, period: assessments.Period, error: Exception | None) -> Template:
    shown, snapshot = await _visible_league(member, period)
    context = {
        "period": period,
        "scheme": period.scheme,
        "result": shown,
        "snapshot": snapshot,
        "is_open": period.status == PeriodStatus.open,
        "may_close": member.role == Role.admin,
        "error": error,
        "case_labels": CASE_LABELS,
        "margin_cells": await assessments.margin_cells(period),
        "margin_names": MARGIN_NAMES,
    }
    return Template("reports/league.html", context=context, status_code=422 if error else 200)
