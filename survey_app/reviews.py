"""Quarantine review: assessors include or exclude flagged responses, with a reason, audited.

Only assessors and admins decide (a unit's own workers must not be able to drop its bad
ratings, threat T5); objects outside the member's unit subtree are unknown to them (404). A
decision can be taken again with a new reason, each time audited with the state before and
after; a response is never deleted. What a reviewer sees of a response goes through
`survey_app/privacy.py`: the hour, not the minute, and free text with numbers masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from survey_app import accounts, audit, changes, sheets
from survey_app.accounts import StaffMember
from survey_app.cases import workflow
from survey_app.changes import Change, Kind
from survey_app.db import writing
from survey_app.i18n import N_, Refusal
from survey_app.privacy import to_hour
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Text
from survey_app.tables import Response, ResponseStatus

DECISIONS = {"include": ResponseStatus.included, "exclude": ResponseStatus.excluded}
REVIEWABLE = (ResponseStatus.quarantined, ResponseStatus.included, ResponseStatus.excluded)
REVIEWED = (ResponseStatus.included, ResponseStatus.excluded)
MAX_REASON = 500
LIST_LIMIT = 500  # a page longer than this is not read; the campaign filter narrows it


class ReviewError(Refusal):
    """A review decision was refused."""


CONFLICT = N_("另一位复核人刚刚处理了这份答卷，请查看后再决定。")


@dataclass(frozen=True)
class Answer:
    number: int
    text: Text
    values: tuple[Text, ...]


@dataclass(frozen=True)
class Flagged:
    """A quarantined or reviewed response as a reviewer sees it."""

    id: int
    campaign_slug: str
    campaign_title: str
    unit_code: str
    unit_name: str
    channel: str
    status: str
    flags: tuple[str, ...]
    submitted_hour: datetime | None  # to the hour only
    duration_s: int | None
    reviewed_by: str
    reviewed_at: datetime | None
    review_reason: str
    answers: tuple[Answer, ...] = ()


_COLUMNS = (
    Response.id,
    Response.status,
    Response.flags,
    Response.channel,
    Response.submitted_at,
    Response.duration_s,
    Response.reviewed_by,
    Response.reviewed_at,
    Response.review_reason,
    Response.unit.as_alias("unit_id"),
    Response.unit.code.as_alias("unit_code"),
    Response.unit.name.as_alias("unit_name"),
    Response.campaign.slug.as_alias("campaign_slug"),
    Response.campaign.title.as_alias("campaign_title"),
    Response.campaign.questionnaire.as_alias("questionnaire_id"),
)


async def listing(user: StaffMember, reviewed: bool = False, campaign: str = "") -> list[Flagged]:
    """Quarantined responses (or reviewed ones) of the member's units, by campaign, oldest first."""
    statuses = [s.value for s in (REVIEWED if reviewed else (ResponseStatus.quarantined,))]
    query = Response.select(*_COLUMNS).where(Response.status.is_in(statuses))
    if campaign:
        query = query.where(Response.campaign.slug == campaign)
    rows = await query.order_by(Response.campaign).order_by(Response.id).output(load_json=True)
    visible = await accounts.visible_unit_ids(user)
    return [_flagged(r) for r in rows if visible is None or r["unit_id"] in visible][:LIST_LIMIT]


async def detail(user: StaffMember, response_id: int) -> Flagged | None:
    """A reviewable response with its answers; None when unknown, never flagged, or outside the member's scope."""
    row = await _row(user, response_id)
    if row is None:
        return None
    q = await versions.get(row["questionnaire_id"])
    answers = (await Response.select(Response.answers).where(Response.id == response_id).output(load_json=True))[0]
    given = answers["answers"]
    shown = tuple(
        Answer(n, item.text, sheets.answer_labels(q, item, given[item.id]))
        for n, item in enumerate(q.items, start=1)
        if item.id in given
    )
    return _flagged(row, shown)


async def _row(user: StaffMember, response_id: int) -> dict[str, Any] | None:
    row = await (
        Response.select(*_COLUMNS)
        .where((Response.id == response_id) & Response.status.is_in([s.value for s in REVIEWABLE]))
        .output(load_json=True)
        .first()
    )
    visible = await accounts.visible_unit_ids(user)
    if row is None or (visible is not None and row["unit_id"] not in visible):
        return None
    return row


def _flagged(row: dict[str, Any], answers: tuple[Answer, ...] = ()) -> Flagged:
    return Flagged(
        id=row["id"],
        campaign_slug=row["campaign_slug"],
        campaign_title=row["campaign_title"],
        unit_code=row["unit_code"],
        unit_name=row["unit_name"],
        channel=row["channel"],
        status=row["status"],
        flags=tuple(row["flags"] or ()),
        submitted_hour=to_hour(row["submitted_at"]),
        duration_s=None if row["duration_s"] is None else round(row["duration_s"]),
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
        review_reason=row["review_reason"],
        answers=answers,
    )


async def decide(user: StaffMember, response_id: int, decision: str, reason: str) -> ResponseStatus:
    """Include or exclude a flagged response (again, if decided before), with a reason; audited.

    :raise LookupError: when the response is not reviewable by this member (shown as 404).
    :raise ReviewError: when the decision or the reason is missing or too long.
    """
    reason = reason.strip()
    if decision not in DECISIONS:
        raise ReviewError(N_("请选择“保留计分”或“排除”。"))
    if not reason:
        raise ReviewError(N_("请写明理由：复核结论要经得起查验。"))
    if len(reason) > MAX_REASON:
        raise ReviewError(N_("理由最多 %(limit)s 个字。"), limit=MAX_REASON)
    status = DECISIONS[decision]
    async with writing():
        row = await _row(user, response_id)
        if row is None:
            raise LookupError(response_id)
        before = {k: row[k] for k in ("status", "reviewed_by", "review_reason")}
        after = {"status": status.value, "reviewed_by": user.username, "review_reason": reason}
        changed = await (
            Response.update(
                {
                    Response.status: status,
                    Response.reviewed_by: user.username,
                    Response.reviewed_at: datetime.now(UTC),
                    Response.review_reason: reason,
                }
            )
            .where((Response.id == response_id) & (Response.status == row["status"]))
            .returning(Response.id)
        )
        if not changed:  # another reviewer decided between our read and this write
            raise ReviewError(CONFLICT)
        await changes.record(Kind.response, response_id, Change.status)
        await audit.record(user.username, "response.review", "response", response_id, before=before, after=after)
        if status == ResponseStatus.excluded:
            # An excluded rating no longer asks its unit for a fix; its case closes (a later
            # inclusion does not reopen it: the call-back number is already deleted).
            await workflow.on_excluded(response_id, user.username, reason)
    return status
