"""Staff pages of the bad-rating loop: the case list with figures, a case page, and appeals to decide.

Everyone signed in reads the cases of the units they may see; workers (and admins) move them on,
reply and appeal; assessors (and admins) decide appeals. A case outside a member's scope is 404.
Closing a case and deciding an appeal cannot be undone: both are done from their confirmation page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import accounts, localtime, units
from survey_app.accounts import StaffMember
from survey_app.cases import appeals, records, workflow
from survey_app.cases.figures import figures_of
from survey_app.cases.records import CaseDetail
from survey_app.cases.workflow import CaseError
from survey_app.i18n import N_, Refusal, current_language, gettext
from survey_app.tables import Role
from survey_app.web.auth import requires
from survey_app.web.common import STATE_LABELS, Said, confirmation, confirmed

APPEAL_LABELS = {
    "pending": N_("申诉待复核"),
    "upheld": N_("申诉成立"),
    "rejected": N_("申诉驳回"),
    "lapsed": N_("申诉失效"),
}
EVENT_LABELS = {
    **STATE_LABELS,
    "opened": N_("收到差评，立案"),
    "contact": N_("居民留下回访电话"),
    "reply": N_("答复居民"),
    "appeal": N_("提出申诉"),
    "upheld": N_("申诉成立"),
    "rejected": N_("申诉驳回"),
    "continues": N_("续接修改前评价的案件"),
    "redated": N_("按官方放假安排重算期限（原为估算）"),
}
CLOSING = {s.value for s in workflow.CLOSED_STATES}  # moves that end a case for good
OUTCOMES = ("uphold", "reject")
NUMBER_DELETED = Said(N_("居民留下的回访电话随即删除（它只为回访而留）。"))  # when a case with one closes
FIGURES_DAYS = 365  # the case list's figures cover cases opened in the last year unless asked otherwise


async def provide_case(case_id: FromPath[int], request: Request[StaffMember, Any, Any]) -> CaseDetail:
    found = await records.detail(request.user, case_id, await accounts.visible_unit_ids(request.user))
    if found is None:
        raise NotFoundException()
    return found


def _labels() -> dict[str, Any]:
    return {"state_labels": STATE_LABELS, "appeal_labels": APPEAL_LABELS, "kinds": appeals.KINDS}


def _day(text: str, default: date) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return default


class CaseController(Controller):
    path = "/staff"
    include_in_schema = False
    guards = [requires(Role.admin, Role.worker, Role.assessor)]

    @get("/cases", name="cases:list")
    async def list_cases(
        self,
        request: Request[StaffMember, Any, Any],
        show: FromQuery[str] = "",
        overdue: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
    ) -> Template:
        """Cases of the member's units (filter by state, overdue), with each unit's case figures for a period."""
        visible = await accounts.visible_unit_ids(request.user)
        rows = await records.listing(visible, state=show, overdue=bool(overdue))
        today = localtime.today()
        first, last = _day(start, today - timedelta(days=FIGURES_DAYS)), _day(end, today)
        unit_ids = await records.units_with_cases(visible)
        period = (localtime.start_of(first), localtime.start_of(last + timedelta(days=1)))
        figures = await figures_of(unit_ids, *period)
        context = {
            "rows": rows,
            "show": show,
            "overdue": bool(overdue),
            "figures": figures,
            "unit_names": await units.by_ids(unit_ids),
            "start": first,
            "end": last,
            **_labels(),
        }
        return Template("staff/cases.html", context=context)

    @get("/cases/{case_id:int}", name="cases:show", dependencies={"case": Provide(provide_case)})
    async def show_case(self, case: NamedDependency[CaseDetail]) -> Template:
        """A case: the rating, deadlines, timeline, the number (for the unit's workers) and the actions."""
        return _case_page(case)

    @post(
        "/cases/{case_id:int}/state",
        name="cases:move",
        guards=[requires(Role.admin, Role.worker)],
        dependencies={"case": Provide(provide_case)},
    )
    async def move_case(
        self,
        request: Request[StaffMember, Any, Any],
        case: NamedDependency[CaseDetail],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Move the case on; closing it is done from its confirmation page."""
        to, note = str(data.get("to", "")), str(data.get("note", ""))
        if to in CLOSING and not confirmed(data):
            try:
                return _confirm_closing(case, to, workflow.checked_move(case.row.state, to, note))
            except CaseError as exc:
                return _case_page(case, exc, HTTP_422_UNPROCESSABLE_ENTITY)
        return await _act(case, workflow.move(request.user, case.row.id, to, note))

    @post(
        "/cases/{case_id:int}/reply",
        name="cases:reply",
        guards=[requires(Role.admin, Role.worker)],
        dependencies={"case": Provide(provide_case)},
    )
    async def reply(
        self,
        request: Request[StaffMember, Any, Any],
        case: NamedDependency[CaseDetail],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        return await _act(case, workflow.reply(request.user, case.row.id, str(data.get("reply", ""))))

    @post(
        "/cases/{case_id:int}/appeal",
        name="cases:appeal",
        guards=[requires(Role.admin, Role.worker)],
        dependencies={"case": Provide(provide_case)},
    )
    async def appeal(
        self,
        request: Request[StaffMember, Any, Any],
        case: NamedDependency[CaseDetail],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        kind, reason = str(data.get("kind", "")), str(data.get("reason", ""))
        return await _act(case, appeals.file(request.user, case.row.id, kind, reason))

    @post(
        "/cases/{case_id:int}/decision",
        name="cases:decide",
        guards=[requires(Role.admin, Role.assessor)],
        dependencies={"case": Provide(provide_case)},
    )
    async def decide(
        self,
        request: Request[StaffMember, Any, Any],
        case: NamedDependency[CaseDetail],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Uphold or reject the appeal from its confirmation page; without the confirmation, show it."""
        outcome, reason = str(data.get("outcome", "")), str(data.get("reason", ""))
        try:
            if outcome not in OUTCOMES:
                raise CaseError(N_("请选择申诉成立或驳回申诉。"))
            reason = appeals.checked_decision(request.user, case.case, reason)
        except CaseError as exc:
            return _case_page(case, exc, HTTP_422_UNPROCESSABLE_ENTITY)
        if not confirmed(data):
            return _confirm_decision(case, outcome, reason)
        return await _act(case, appeals.decide(request.user, case.row.id, outcome == "uphold", reason))

    @get("/appeals", name="cases:appeals", guards=[requires(Role.admin, Role.assessor)])
    async def list_appeals(self, request: Request[StaffMember, Any, Any]) -> Template:
        """Appeals waiting for a decision on the member's units."""
        pending = await appeals.pending(await accounts.visible_unit_ids(request.user))
        names = await units.by_ids(sorted({p.unit_id for p in pending}))
        return Template("staff/appeals.html", context={"pending": pending, "unit_names": names, **_labels()})


async def _act(case: CaseDetail, action: Any) -> Template | Redirect:
    try:
        await action
    except CaseError as exc:
        return _case_page(case, exc, HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(path=f"/staff/cases/{case.row.id}", status_code=303)


def _confirm_closing(case: CaseDetail, to: str, note: str) -> Template:
    """What closing the case does (for good, the number deleted) and what is still missing."""
    row = case.row
    unit = row.unit_display_name(current_language.get())
    will = [
        Said(
            N_("案件 #%(id)s（%(unit)s）以“%(state)s”办结，之后不能再改回办理中。"),
            {"id": row.id, "unit": unit, "state": gettext(STATE_LABELS[to])},
        ),
        Said(N_("说明“%(note)s”和您的名字记入案件时间线和操作记录。"), {"note": note}),
    ]
    if row.has_contact:
        will.append(NUMBER_DELETED)
    pending = []
    if row.state == "new":
        pending.append(Said(N_("还没有回访居民核实情况。")))
    if not case.case["reply"]:
        pending.append(Said(N_("还没有答复居民：居民凭回执编号查询时看不到答复。")))
    if row.appeal == "pending":
        pending.append(Said(N_("申诉尚未复核。")))
    return confirmation(
        N_("办结这个案件"),
        will,
        pending,
        action=f"/staff/cases/{row.id}/state",
        back=f"/staff/cases/{row.id}",
        button=N_("确认办结"),
        fields={"to": to, "note": note},
    )


def _confirm_decision(case: CaseDetail, outcome: str, reason: str) -> Template:
    """What upholding (the rating leaves the score, the case closes) or rejecting (final) does."""
    row = case.row
    if outcome == "uphold":
        unit = row.unit_display_name(current_language.get())
        will = [
            Said(
                N_("申诉成立：答卷 #%(id)s 不计入“%(unit)s”的得分，也不计入考核；案件以“申诉成立，不计入”办结。"),
                {"id": case.case["response"], "unit": unit},
            )
        ]
        if row.has_contact:
            will.append(NUMBER_DELETED)
    else:
        will = [Said(N_("驳回申诉：这条差评照常计分，案件继续办理；这个案件不能再申诉。"))]
    will.append(
        Said(N_("复核意见“%(reason)s”和您的名字记入案件时间线和操作记录；复核结果不能更改。"), {"reason": reason})
    )
    return confirmation(
        N_("复核申诉"),
        will,
        [],
        action=f"/staff/cases/{row.id}/decision",
        back=f"/staff/cases/{row.id}",
        button=N_("确认申诉成立") if outcome == "uphold" else N_("确认驳回申诉"),
        fields={"outcome": outcome, "reason": reason},
    )


def _case_page(case: CaseDetail, error: Refusal | None = None, status: int = 200) -> Template:
    context = {"c": case, "error": error, "event_labels": EVENT_LABELS, "now": datetime.now(UTC), **_labels()}
    return Template("staff/case.html", context=context, status_code=status)
