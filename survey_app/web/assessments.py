"""Assessment pages: the list of periods, the admin's form for a new one, a period's league table
(printable), and the admin's close and correct buttons. Assessors and admins only; a member limited to a
subtree sees only its rows."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template

from survey_app import accounts, campaigns
from survey_app.accounts import StaffMember
from survey_app.assessment import periods, schemes
from survey_app.assessment.schemes import Scheme
from survey_app.i18n import N_, current_language
from survey_app.reporting import exports
from survey_app.tables import PeriodStatus, Role
from survey_app.web.auth import requires
from survey_app.web.common import CSV, XLSX, Said, confirmation, confirmed, download, pending_lines


async def provide_period(period: FromPath[str]) -> periods.Period:
    found = await periods.get(period)
    if found is None:
        raise NotFoundException()
    return found


class AssessmentController(Controller):
    path = "/assessments"
    include_in_schema = False
    guards = [requires(Role.admin, Role.assessor)]

    @get("/", name="assessments:list")
    async def list_periods(self, request: Request[StaffMember, Any, Any]) -> Template:
        """Every period with its status and snapshots; admins get the close button and the new-period link."""
        is_admin = request.user.role == Role.admin  # the rule of the close and new routes' guards
        context = {"periods": await periods.listing(), "may_close": is_admin, "may_create": is_admin}
        return Template("staff/assessments.html", context=context)

    @get("/new", name="assessments:new", guards=[requires(Role.admin)])
    async def new(self, scheme: FromQuery[str] = "") -> Template:
        """The form for a new period: the scheme first, then a campaign for each questionnaire it reads."""
        return await _new_page({"scheme": scheme}, None)

    @post("/new", name="assessments:create", guards=[requires(Role.admin)])
    async def create(
        self, request: Request[StaffMember, Any, Any], data: URLEncodedBody[dict[str, Any]]
    ) -> Template | Redirect:
        """Open the period and show its league table, or the form again with the reason and the values kept."""
        values = _texts(data)
        try:
            scheme = _chosen_scheme(values.get("scheme", ""))
            chosen = {q: values[f"campaign-{q}"] for q in scheme.questionnaire_slugs() if values.get(f"campaign-{q}")}
            period = await periods.create(
                values.get("slug", "").strip(),
                scheme,
                values.get("title", ""),
                title_en=values.get("title_en", ""),
                actor=request.user.username,
                campaigns_by_slug=chosen,
            )
        except periods.AssessmentError as exc:
            return await _new_page(values, exc)
        return Redirect(path=f"/assessments/{period.slug}", status_code=303)

    @get("/{period:str}", name="assessments:league", dependencies={"found": Provide(provide_period)})
    async def league(self, request: Request[StaffMember, Any, Any], found: NamedDependency[periods.Period]) -> Template:
        """The league tables with intervals, shrunken scores, rank intervals, grades and flags."""
        return await _league_page(request.user, found, None)

    @get("/{period:str}/league.csv", name="assessments:league_csv", dependencies={"found": Provide(provide_period)})
    async def league_csv(
        self, request: Request[StaffMember, Any, Any], found: NamedDependency[periods.Period]
    ) -> Response[bytes]:
        """The league tables as the page shows them, one row per unit, for the assessment office."""
        table = await _league_table(request.user, found)
        return download(exports.to_csv(table), CSV, f"{found.slug}-league.csv")

    @get("/{period:str}/league.xlsx", name="assessments:league_xlsx", dependencies={"found": Provide(provide_period)})
    async def league_xlsx(
        self, request: Request[StaffMember, Any, Any], found: NamedDependency[periods.Period]
    ) -> Response[bytes]:
        table = await _league_table(request.user, found)
        return download(exports.to_xlsx([("league", table)]), XLSX, f"{found.slug}-league.xlsx")

    @get(
        "/{period:str}/close",
        name="assessments:confirm_close",
        guards=[requires(Role.admin)],
        dependencies={"found": Provide(provide_period)},
    )
    async def confirm_close(self, found: NamedDependency[periods.Period]) -> Template | Redirect:
        """What sealing will do and what still waits (answers in review, appeals, open campaigns)."""
        if found.status != PeriodStatus.open:
            return Redirect(path=f"/assessments/{found.slug}", status_code=303)
        will = [
            Said(
                N_("按当前数据计算“%(title)s”的结果，封存为第 1 号快照：方案、所用答卷和结果一并保存，不能再改。"),
                {"title": found.display_title(current_language.get())},
            ),
            Said(N_("之后的复核、申诉和新答卷都不再改变封存的结果；如需更正，只能另建更正快照并写明原因。")),
        ]
        return confirmation(
            N_("封存考核结果"),
            will,
            pending_lines(await periods.pending(found)),
            action=f"/assessments/{found.slug}/close",
            back=f"/assessments/{found.slug}",
            button=N_("确认封存"),
        )

    @post(
        "/{period:str}/close",
        name="assessments:close",
        guards=[requires(Role.admin)],
        dependencies={"found": Provide(provide_period)},
    )
    async def close(
        self,
        request: Request[StaffMember, Any, Any],
        found: NamedDependency[periods.Period],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Seal the period (snapshot 1), once confirmed; without the confirmation, show what it would do."""
        if not confirmed(data):
            return Redirect(path=f"/assessments/{found.slug}/close", status_code=303)
        try:
            await periods.close(found, request.user.username)
        except periods.AssessmentError as exc:
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
        found: NamedDependency[periods.Period],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """A correcting snapshot, recomputed from the responses stored now, with the reason given, once
        confirmed; without the confirmation, show what it would do."""
        reason = str(data.get("reason", "")).strip()
        if reason and found.status == PeriodStatus.closed and not confirmed(data):
            return await _confirm_correction(found, reason)
        try:
            await periods.correct(found, request.user.username, str(data.get("reason", "")))
        except periods.AssessmentError as exc:
            return await _league_page(request.user, found, exc)
        return Redirect(path=f"/assessments/{found.slug}", status_code=303)


async def _confirm_correction(found: periods.Period, reason: str) -> Template:
    latest = await periods.latest_snapshot(found)
    will = [
        Said(
            N_("按现在存储的答卷重新计算“%(title)s”，封存为第 %(n)s 号快照，原因“%(reason)s”一并保存，不能再改。"),
            {
                "title": found.display_title(current_language.get()),
                "n": (latest.number if latest else 0) + 1,
                "reason": reason,
            },
        ),
        Said(N_("之前的快照都保留，仍可核验；考核结果以最新的快照为准。")),
    ]
    return confirmation(
        N_("更正考核结果"),
        will,
        pending_lines(await periods.pending(found)),
        action=f"/assessments/{found.slug}/correct",
        back=f"/assessments/{found.slug}",
        button=N_("确认更正"),
        fields={"reason": reason},
    )


# The case rates a scheme's `case_handling.measure` names, as the league and its appendix label them.
CASE_LABELS = {"callback_rate": N_("回访率"), "on_time_rate": N_("按时办结率"), "rectified_rate": N_("整改办结率")}
# The demographics a scheme may weight by (its `weighting.margins`), as the appendix names them.
MARGIN_NAMES = {"age_band": N_("年龄"), "sex": N_("性别"), "residence": N_("居住情况")}


async def _visible_league(member: StaffMember, period: periods.Period) -> tuple[dict[str, Any], Any]:
    """The period's league limited to the member's units, with its snapshot; 404 when no row is theirs."""
    result, snapshot = await periods.league(period)
    shown = periods.restrict(result, await periods.unit_codes(await accounts.visible_unit_ids(member)))
    if shown is None:
        raise NotFoundException()
    return shown, snapshot


async def _league_table(member: StaffMember, period: periods.Period) -> exports.Table:
    shown, _snapshot = await _visible_league(member, period)
    return exports.league_table(shown, [band.label for band in period.scheme.grades], current_language.get())


async def _league_page(member: StaffMember, period: periods.Period, error: Exception | None) -> Template:
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
        "margin_cells": await periods.margin_cells(period),
        "margin_names": MARGIN_NAMES,
    }
    return Template("reports/league.html", context=context, status_code=422 if error else 200)


def _texts(data: dict[str, Any]) -> dict[str, str]:
    """The form's single-valued text fields; a field sent twice or as a file is left out, so it reads as empty."""
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _chosen_scheme(slug: str) -> Scheme:
    scheme = schemes.bundled_schemes().get(slug)
    if scheme is None:
        raise periods.AssessmentError(N_("请选择考核方案。"))
    return scheme


async def _new_page(values: dict[str, str], error: periods.AssessmentError | None) -> Template:
    """The new-period form: the bundled schemes; with one chosen (or only one bundled), its questionnaires,
    each with the campaigns that use it."""
    bundled = schemes.bundled_schemes()
    scheme = bundled.get(values.get("scheme", ""))
    if scheme is None and len(bundled) == 1:
        scheme = next(iter(bundled.values()))
    slugs = scheme.questionnaire_slugs() if scheme else []
    context = {
        "schemes": list(bundled.values()),
        "scheme": scheme,
        "candidates": await campaigns.using_questionnaires(slugs),
        "values": values,
        "error": error,
    }
    return Template("staff/assessment_new.html", context=context, status_code=422 if error else 200)
