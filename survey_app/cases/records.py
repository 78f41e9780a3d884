"""Reading cases: the staff list and case page, and what a receipt code shows the resident.

Staff see answers as every staff page does (free text masked, times to the hour); the phone
number only the workers of the rated unit and of its street, never assessors or admins.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from survey_app import receipts, units
from survey_app.accounts import StaffMember
from survey_app.cases import workflow
from survey_app.cases.workdays import Deadline
from survey_app.db import referenced
from survey_app.i18n import pick
from survey_app.localtime import local_date
from survey_app.privacy import mask_text, to_hour
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import TEXT_LIMITS, Questionnaire, Text
from survey_app.tables import Campaign, CaseContact, CaseEvent, CaseState, RatingCase, Response, Role, Unit

LIST_LIMIT = 500  # newest first; the filters narrow it further


@dataclass(frozen=True)
class CaseRow:
    id: int
    unit_id: int
    unit_name: str
    unit_name_en: str
    campaign_title: str
    state: str
    trigger: str
    opened_at: datetime | None  # to the hour
    verify_by: date
    close_by: date
    due_estimated: bool
    late_callback: bool  # still waiting for the call-back after its deadline
    overdue: bool  # open after the close deadline
    appeal: str
    has_contact: bool

    def unit_display_name(self, lang: str) -> str:
        return pick(lang, self.unit_name, self.unit_name_en)


def _row(case: dict[str, Any], unit: dict[str, Any], title: str, has_contact: bool, now: datetime) -> CaseRow:
    is_open = case["state"] in workflow.OPEN_STATES
    return CaseRow(
        id=case["id"],
        unit_id=case["unit"],
        unit_name=unit["name"],
        unit_name_en=unit["name_en"],
        campaign_title=title,
        state=case["state"],
        trigger=case["trigger"],
        opened_at=to_hour(case["opened_at"]),
        verify_by=Deadline(case["verify_due"], case["due_estimated"]).last_day,
        close_by=Deadline(case["close_due"], case["due_estimated"]).last_day,
        due_estimated=case["due_estimated"],
        late_callback=case["state"] == CaseState.new and now >= case["verify_due"],
        overdue=is_open and now >= case["close_due"],
        appeal=case["appeal"],
        has_contact=has_contact,
    )


async def listing(
    visible: AbstractSet[int] | None, *, state: str = "", overdue: bool = False, now: datetime | None = None
) -> list[CaseRow]:
    """Cases of the units this member may see, newest first; `state` "open" means any open state."""
    now = now or datetime.now(UTC)
    query = RatingCase.select().order_by(RatingCase.id, ascending=False).limit(LIST_LIMIT)
    if visible is not None:
        query = query.where(RatingCase.unit.is_in(list(visible) or [-1]))
    if state == "open" or overdue:
        query = query.where(RatingCase.state.is_in(list(workflow.OPEN_STATES)))
    elif state in CaseState.__members__:
        query = query.where(RatingCase.state == state)
    if overdue:
        query = query.where(RatingCase.close_due <= now)
    rows = await query
    unit_rows = await Unit.select(Unit.id, Unit.name, Unit.name_en).where(
        Unit.id.is_in(list({r["unit"] for r in rows}) or [-1])
    )
    unit_by_id = {u["id"]: u for u in unit_rows}
    titles = {c["id"]: c["title"] for c in await Campaign.select(Campaign.id, Campaign.title)}
    with_contact = {
        c["rating_case"]
        for c in await CaseContact.select(CaseContact.rating_case).where(
            CaseContact.rating_case.is_in([r["id"] for r in rows] or [-1])
        )
    }
    return [_row(r, unit_by_id[r["unit"]], titles[r["campaign"]], r["id"] in with_contact, now) for r in rows]


async def units_with_cases(visible: AbstractSet[int] | None) -> list[int]:
    """The units (of those this member may see) that have any case, for the figures table."""
    query = RatingCase.select(RatingCase.unit).distinct()
    if visible is not None:
        query = query.where(RatingCase.unit.is_in(list(visible) or [-1]))
    return sorted(r["unit"] for r in await query)


@dataclass(frozen=True)
class Answer:
    question: Text
    answer: list[Text]  # one or more labels (localised by the template) or the masked text
    is_trigger: bool


@dataclass(frozen=True)
class CaseDetail:
    row: CaseRow
    case: dict[str, Any]
    receipt_hint: str  # the last 2 characters: enough to match a resident's call, not to look them up
    channel: str
    response_status: str
    answers: list[Answer]
    events: list[dict[str, Any]]
    phone: str | None  # only for those allowed to call back
    next_states: tuple[str, ...]


async def detail(
    user: StaffMember, case_id: int, visible: AbstractSet[int] | None, now: datetime | None = None
) -> CaseDetail | None:
    """One case with its rating, timeline and (for the unit's workers) the number; None outside the scope."""
    now = now or datetime.now(UTC)
    case = await workflow.get(case_id)
    if case is None or (visible is not None and case["unit"] not in visible):
        return None
    unit = referenced(
        await Unit.select(Unit.id, Unit.name, Unit.name_en, Unit.parent).where(Unit.id == case["unit"]).first(),
        "the case's unit",
    )
    campaign = referenced(
        await Campaign.select(Campaign.title, Campaign.questionnaire).where(Campaign.id == case["campaign"]).first(),
        "the case's campaign",
    )
    response = referenced(
        await Response.select(Response.answers, Response.channel, Response.status, Response.receipt)
        .where(Response.id == case["response"])
        .first()
        .output(load_json=True),
        "the case's response",
    )
    contact = await CaseContact.select(CaseContact.phone).where(CaseContact.rating_case == case_id).first()
    events = await CaseEvent.select().where(CaseEvent.rating_case == case_id).order_by(CaseEvent.id)
    for event in events:
        event["at"] = to_hour(event["at"]) if not event["actor"] else event["at"]  # residents' steps to the hour
    may_call = user.role == Role.worker and user.unit_id in (unit["id"], unit["parent"])
    questionnaire = await versions.get(campaign["questionnaire"])
    return CaseDetail(
        row=_row(case, unit, campaign["title"], contact is not None, now),
        case=case,
        receipt_hint=str(response["receipt"])[-2:],
        channel=response["channel"],
        response_status=response["status"],
        answers=_answers(questionnaire, response["answers"], case["trigger"]),
        events=events,
        phone=contact["phone"] if contact and may_call else None,
        next_states=tuple(s.value for s in workflow.TRANSITIONS.get(CaseState(case["state"]), ())),
    )


def _answers(q: Questionnaire, answers: dict[str, Any], trigger: str) -> list[Answer]:
    trigger_item = trigger.split("=", 1)[0]
    shown = []
    for item in q.items:
        if item.id not in answers:
            continue
        value = answers[item.id]
        text: list[Text]
        if item.type in TEXT_LIMITS:  # typed by the resident: phone and ID numbers masked
            text = [mask_text(str(value))]
        else:
            text = list(q.answer_labels(item, value))
        shown.append(Answer(item.text, text, item.id == trigger_item))
    return shown


@dataclass(frozen=True)
class ReceiptStatus:
    """What a receipt code shows: the rated unit, the case's state and the unit's reply; nothing about the resident."""

    unit_name: str
    unit_name_en: str
    state: str | None  # None: the rating opened no case
    reply: str
    replied_on: date | None
    close_by: date | None
    contact_left_on: date | None = None  # when the resident left a call-back number (never the number)

    def unit_display_name(self, lang: str) -> str:
        return pick(lang, self.unit_name, self.unit_name_en)


async def receipt_status(text: str) -> ReceiptStatus | None:
    """The status behind a receipt code, or None for an unknown code."""
    code = receipts.clean(text)
    if code is None:
        return None
    response = await Response.select(Response.id, Response.unit).where(Response.receipt == code).first()
    if response is None:
        return None
    unit = await units.by_ids([response["unit"]])
    name, name_en = unit[response["unit"]].name, unit[response["unit"]].name_en
    case = await workflow.case_of_response(response["id"])
    for _ in range(20):  # a revised rating: follow it to the case that carries on (bounded, just in case)
        if case is None or case["successor"] is None:
            break
        case = await workflow.get(case["successor"])
    if case is None:
        return ReceiptStatus(name, name_en, None, "", None, None)
    return ReceiptStatus(
        unit_name=name,
        unit_name_en=name_en,
        state=case["state"],
        # A reply goes to whoever holds the code: no phone or ID number may reach the page.
        reply=mask_text(case["reply"]),
        replied_on=local_date(case["replied_at"]) if case["replied_at"] else None,
        close_by=Deadline(case["close_due"], case["due_estimated"]).last_day,
        contact_left_on=local_date(case["contact_given_at"]) if case["contact_given_at"] else None,
    )


class CaseEventRecord(msgspec.Struct, frozen=True):
    """One step of a case's timeline; a resident's steps to the hour, staff steps with their actor."""

    kind: str
    at: datetime | None
    actor: str
    note: str


class CaseRecord(msgspec.Struct, frozen=True):
    """A case as another system (the 12345 hotline) sees it through the API; never the resident's number."""

    id: int
    campaign: str
    unit_code: str
    state: str
    trigger: str
    opened_hour: datetime | None
    verify_by: date
    close_by: date
    due_estimated: bool
    late_callback: bool
    overdue: bool
    appeal: str
    reply: str
    replied_at: datetime | None
    closed_at: datetime | None
    receipt_hint: str  # the last 2 characters, as on the case page
    next_states: list[str]
    events: list[CaseEventRecord] | None = None  # the timeline, on the single-case endpoint


async def case_records(
    ids: list[int], *, with_events: bool = False, now: datetime | None = None
) -> dict[int, CaseRecord]:
    """The API records of these cases as they stand now, by id (the caller checks the scope)."""
    now = now or datetime.now(UTC)
    cases = await RatingCase.select(
        *RatingCase.all_columns(),
        RatingCase.campaign.slug.as_alias("campaign_slug"),
        RatingCase.unit.code.as_alias("unit_code"),
        RatingCase.response.receipt.as_alias("receipt"),
    ).where(RatingCase.id.is_in(ids or [-1]))
    timelines: dict[int, list[CaseEventRecord]] = {}
    if with_events:
        for e in await CaseEvent.select().where(CaseEvent.rating_case.is_in(ids or [-1])).order_by(CaseEvent.id):
            at = e["at"] if e["actor"] else to_hour(e["at"])
            timelines.setdefault(e["rating_case"], []).append(CaseEventRecord(e["kind"], at, e["actor"], e["note"]))
    records = {}
    for c in cases:
        is_open = c["state"] in workflow.OPEN_STATES
        records[c["id"]] = CaseRecord(
            id=c["id"],
            campaign=c["campaign_slug"],
            unit_code=c["unit_code"],
            state=c["state"],
            trigger=c["trigger"],
            opened_hour=to_hour(c["opened_at"]),
            verify_by=Deadline(c["verify_due"], c["due_estimated"]).last_day,
            close_by=Deadline(c["close_due"], c["due_estimated"]).last_day,
            due_estimated=c["due_estimated"],
            late_callback=c["state"] == CaseState.new and now >= c["verify_due"],
            overdue=is_open and now >= c["close_due"],
            appeal=c["appeal"],
            reply=c["reply"],
            replied_at=c["replied_at"],
            closed_at=c["closed_at"],
            receipt_hint=str(c["receipt"])[-2:],
            next_states=[s.value for s in workflow.TRANSITIONS.get(CaseState(c["state"]), ())],
            events=timelines.get(c["id"], []) if with_events else None,
        )
    return records
