"""Appeal and review (申诉复核): a unit asks to exclude a mistaken or malicious bad rating; an
assessor (or an admin) decides.

A case has at most one appeal: rejected is final. The one who appealed can never decide it (an
admin may do both jobs, but not on the same case). An upheld appeal sets the response's status to
`excluded` with review_reason "申诉成立: …" and closes the case; nothing is deleted, and every
step is audited with the values before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from survey_app import audit, changes
from survey_app.accounts import StaffMember
from survey_app.cases import workflow
from survey_app.cases.workflow import CaseError
from survey_app.changes import Change, Kind
from survey_app.db import referenced, writing
from survey_app.i18n import N_
from survey_app.tables import CaseState, RatingCase, Response, ResponseStatus, Role

KINDS = {"mistaken": N_("误评"), "malicious": N_("恶意差评")}
UPHELD_PREFIX = "申诉成立: "


async def file(user: StaffMember, case_id: int, kind: str, reason: str) -> None:
    """Appeal an open case as a mistaken or malicious rating, with a reason; audited."""
    reason = workflow.check_note(reason)
    if kind not in KINDS:
        raise CaseError(N_("请选择申诉类型。"))
    async with writing():
        case = await workflow.get(case_id)
        if case is None or case["state"] not in workflow.OPEN_STATES:
            raise CaseError(N_("只能对未办结的案件申诉。"))
        if case["appeal"]:
            raise CaseError(N_("这个案件已经申诉过。"))
        now = datetime.now(UTC)
        await RatingCase.update(
            {
                RatingCase.appeal: "pending",
                RatingCase.appeal_kind: kind,
                RatingCase.appeal_reason: reason,
                RatingCase.appealed_by: user.username,
                RatingCase.appealed_at: now,
            }
        ).where(RatingCase.id == case_id)
        await workflow.add_event(case_id, user.username, "appeal", reason, now)
        await changes.record(Kind.case, case_id, Change.updated)
        after = {"appeal": "pending", "kind": kind, "reason": reason}
        await audit.record(user.username, "case.appeal", "case", case_id, before={"appeal": ""}, after=after)


def checked_decision(user: StaffMember, case: Mapping[str, Any] | None, reason: str) -> str:
    """The reason as `decide` saves it, or the refusal `decide` would give: what its confirmation page
    asks first. A decision is final either way."""
    if user.role not in (Role.assessor, Role.admin):
        raise CaseError(N_("只有考核人员可以复核申诉。"))
    reason = workflow.check_note(reason)
    if case is None or case["appeal"] != "pending":
        raise CaseError(N_("这个案件没有待复核的申诉。"))
    if case["appealed_by"] == user.username:
        raise CaseError(N_("不能复核自己提出的申诉。"))
    return reason


async def decide(user: StaffMember, case_id: int, uphold: bool, reason: str) -> None:
    """Uphold or reject a pending appeal with a reason; upheld excludes the rating. Audited."""
    async with writing():
        case = await workflow.get(case_id)
        reason = checked_decision(user, case, reason)
        assert case is not None
        now = datetime.now(UTC)
        outcome = "upheld" if uphold else "rejected"
        await RatingCase.update(
            {
                RatingCase.appeal: outcome,
                RatingCase.appeal_decision: reason,
                RatingCase.decided_by: user.username,
                RatingCase.decided_at: now,
            }
        ).where(RatingCase.id == case_id)
        await workflow.add_event(case_id, user.username, outcome, reason, now)
        if not uphold:  # an upheld appeal records the case's closing below
            await changes.record(Kind.case, case_id, Change.updated)
        await audit.record(
            user.username,
            "case.decide",
            "case",
            case_id,
            before={"appeal": "pending"},
            after={"appeal": outcome, "reason": reason},
        )
        if uphold:
            await _exclude_rating(user, case, reason, now)


async def _exclude_rating(user: StaffMember, case: dict[str, Any], reason: str, now: datetime) -> None:
    response = referenced(
        await Response.select(Response.status).where(Response.id == case["response"]).first(), "the case's response"
    )
    review = UPHELD_PREFIX + reason
    await Response.update(
        {
            Response.status: ResponseStatus.excluded,
            Response.reviewed_by: user.username,
            Response.reviewed_at: now,
            Response.review_reason: review,
        }
    ).where(Response.id == case["response"])
    await changes.record(Kind.response, case["response"], Change.status)
    await audit.record(
        user.username,
        "response.exclude",
        "response",
        case["response"],
        before={"status": response["status"]},
        after={"status": ResponseStatus.excluded.value, "review_reason": review},
    )
    if case["state"] in workflow.OPEN_STATES:
        await workflow.close_by_system(case["id"], CaseState.excluded, user.username, reason)
    else:  # resolved or explained meanwhile: the rating is out all the same, so is its case
        await RatingCase.update({RatingCase.state: CaseState.excluded}).where(RatingCase.id == case["id"])
        await changes.record(Kind.case, case["id"], Change.status)


@dataclass(frozen=True)
class PendingAppeal:
    case_id: int
    unit_id: int
    kind: str
    reason: str
    appealed_by: str
    appealed_at: datetime
    trigger: str


async def pending(visible: AbstractSet[int] | None) -> list[PendingAppeal]:
    """Appeals waiting for a decision on the units this member may see, oldest first."""
    query = RatingCase.select(
        RatingCase.id,
        RatingCase.unit,
        RatingCase.appeal_kind,
        RatingCase.appeal_reason,
        RatingCase.appealed_by,
        RatingCase.appealed_at,
        RatingCase.trigger,
    ).where(RatingCase.appeal == "pending")
    if visible is not None:
        query = query.where(RatingCase.unit.is_in(list(visible) or [-1]))
    rows = await query.order_by(RatingCase.appealed_at)
    return [
        PendingAppeal(
            r["id"], r["unit"], r["appeal_kind"], r["appeal_reason"], r["appealed_by"], r["appealed_at"], r["trigger"]
        )
        for r in rows
    ]
