"""The back office home: campaigns in the member's scope with live progress, units whose scores are
falling (early warning), and the audit trail."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

import analysis.monitoring
from survey_app import accounts, audit, campaigns
from survey_app.accounts import StaffMember
from survey_app.assessment import rules
from survey_app.reporting import campaign_report, early_warning
from survey_app.tables import Role
from survey_app.web.auth import requires, requires_full_scope


class StaffController(Controller):
    path = "/staff"
    include_in_schema = False
    guards = [requires(Role.admin, Role.worker, Role.assessor)]

    @get("/", name="staff:home")
    async def home(self, request: Request[StaffMember, Any, Any]) -> Template:
        """Campaigns covering the member's units: responses per unit against target, units at risk."""
        visible = await accounts.visible_unit_ids(request.user)
        progress = await campaigns.progress(visible)
        scoring = await rules.of_campaigns([p.campaign.slug for p in progress])  # the league's rule, named
        watched = await early_warning.trends(visible)
        return Template("staff/home.html", context={"progress": progress, "rules": scoring, "watched": watched})

    @get("/early-warning", name="staff:early_warning")
    async def early_warning(self, request: Request[StaffMember, Any, Any]) -> Template:
        """Each unit's overall score month by month, with the funnel and EWMA signals: the weekly summary."""
        watched = await early_warning.trends(await accounts.visible_unit_ids(request.user))
        chart = {"lam": analysis.monitoring.EWMA_LAMBDA, "L": analysis.monitoring.EWMA_L}
        baseline = analysis.monitoring.EWMA_BASELINE
        context = {"watched": watched, "min_n": campaign_report.DEFAULT_RULE.min_n, "baseline": baseline}
        return Template("staff/early_warning.html", context=context | chart)

    @get("/audit", name="staff:audit", guards=[requires(Role.admin, Role.assessor), requires_full_scope])
    async def audit_trail(self) -> Template:
        """The newest audit entries and whether the whole chain verifies."""
        return Template("staff/audit.html", context={"entries": await audit.recent(), "check": await audit.verify()})
