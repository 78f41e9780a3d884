"""Paper sheets keyed twice: their comparison item by item, and the audited resolution of differences.

How sheets are stored and why one can never count twice: see `survey_app/entries.py`. A sheet's comparison
is seen by members whose scope covers its unit and by its two keyers; its differences are resolved only by
someone outside the unit's subtree (survey_app/duties.py), which also releases a held first keying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from survey_app import accounts, audit, duties, entries
from survey_app.accounts import StaffMember
from survey_app.db import writing
from survey_app.entries import EntryError
from survey_app.i18n import N_
from survey_app.privacy import mask_text
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import LABELLED_TYPES, Item, Questionnaire, Text
from survey_app.tables import KeyingState, Response, SecondKeying

FIRST, SECOND = "first", "second"  # the form's choice per differing item


@dataclass(frozen=True)
class Difference:
    """One item on which the two keyings of a sheet disagree; values as labels, empty = not answered."""

    item_id: str
    number: int
    text: Text
    first: tuple[Text, ...]
    second: tuple[Text, ...]


@dataclass(frozen=True)
class SheetCheck:
    """A sheet keyed twice, as its comparison page shows it."""

    id: int
    campaign_title: str
    unit_name: str
    link_token: str | None
    sheet: str
    state: KeyingState
    first_by: str
    second_by: str
    resolved_by: str | None
    differences: tuple[Difference, ...]


async def sheets_to_resolve(user: StaffMember) -> list[dict[str, Any]]:
    """Sheets whose two keyings differ and that this member may settle, oldest first: in their scope or
    keyed by them, and of a unit they are outside of."""
    visible = await accounts.visible_unit_ids(user)
    rows = await (
        SecondKeying.select(
            SecondKeying.id,
            SecondKeying.keyed_at,
            SecondKeying.entered_by.as_alias("second_id"),
            SecondKeying.response.entered_by.as_alias("first_id"),
            SecondKeying.response.sheet.as_alias("sheet"),
            SecondKeying.response.unit.as_alias("unit_id"),
            SecondKeying.response._.unit._.name.as_alias("unit_name"),
            SecondKeying.response._.campaign._.title.as_alias("campaign_title"),
        )
        .where(SecondKeying.state == KeyingState.differs)
        .order_by(SecondKeying.id)
    )
    return [r for r in rows if _may_see(user, visible, r) and not await duties.is_inside(user, r["unit_id"])]


def _may_see(user: StaffMember, visible: frozenset[int] | None, row: Mapping[str, Any]) -> bool:
    return visible is None or row["unit_id"] in visible or user.id in (row["first_id"], row["second_id"])


async def sheet_check(user: StaffMember, keying_id: int) -> SheetCheck | None:
    """A twice-keyed sheet with its differences; None when unknown or outside the member's scope."""
    row = await _keying(keying_id)
    visible = await accounts.visible_unit_ids(user)
    if row is None or not _may_see(user, visible, row):
        return None
    questionnaire = await versions.get(row["questionnaire_id"])
    differences = () if row["state"] == KeyingState.resolved else _differences(questionnaire, row)
    return SheetCheck(
        id=row["id"],
        campaign_title=row["campaign_title"],
        unit_name=row["unit_name"],
        link_token=row["link_token"],
        sheet=row["sheet"],
        state=KeyingState(row["state"]),
        first_by=row["first_by"],
        second_by=row["second_by"],
        resolved_by=row["resolved_by"],
        differences=differences,
    )


async def _keying(keying_id: int) -> dict[str, Any] | None:
    response = SecondKeying.response._
    return await (
        SecondKeying.select(
            SecondKeying.id,
            SecondKeying.state,
            SecondKeying.answers.as_alias("second"),
            SecondKeying.entered_by.as_alias("second_id"),
            SecondKeying.entered_by.username.as_alias("second_by"),
            SecondKeying.resolved_by.username.as_alias("resolved_by"),
            response.id.as_alias("response_id"),
            response.answers.as_alias("first"),
            response.sheet.as_alias("sheet"),
            response.unit.as_alias("unit_id"),
            response.unit._.name.as_alias("unit_name"),
            response.link._.token.as_alias("link_token"),
            response.entered_by.as_alias("first_id"),
            response.entered_by._.username.as_alias("first_by"),
            response.campaign._.title.as_alias("campaign_title"),
            response.campaign._.questionnaire.as_alias("questionnaire_id"),
        )
        .where(SecondKeying.id == keying_id)
        .output(load_json=True)
        .first()
    )


def _differences(q: Questionnaire, row: Mapping[str, Any]) -> tuple[Difference, ...]:
    first, second = row["first"], row["second"]
    changed = set(entries.differing(first, second))
    return tuple(
        Difference(
            item.id,
            n,
            item.text,
            answer_labels(q, item, first.get(item.id)),
            answer_labels(q, item, second.get(item.id)),
        )
        for n, item in enumerate(q.items, start=1)
        if item.id in changed
    )


def answer_labels(q: Questionnaire, item: Item, value: Any) -> tuple[Text, ...]:
    """An answer as staff see it: labels of levels and options; typed text and numbers with phone
    and ID-card numbers masked (survey_app/privacy.py)."""
    if value is None or item.type in LABELLED_TYPES:
        return q.answer_labels(item, value)
    return (mask_text(str(value)),)


async def resolve(user: StaffMember, keying_id: int, picks: Mapping[str, Any]) -> None:
    """Settle a sheet's differences: per differing item, keep the first keying's value or take the second's.

    :raise LookupError: when the sheet is unknown or outside the member's scope.
    :raise EntryError: when an item was not decided, the sheet was resolved already, or the member is staff
        of the sheet's unit or above it (the unit must not pick its own answers).
    """
    row = await _keying(keying_id)
    visible = await accounts.visible_unit_ids(user)
    if row is None or not _may_see(user, visible, row):
        raise LookupError(keying_id)
    if row["state"] != KeyingState.differs:
        raise EntryError(N_("这张问卷的不同之处已经处理过了。"))
    if await duties.is_inside(user, row["unit_id"]):
        raise EntryError(N_("这张问卷的不同之处须由被评单位及其上级单位以外的人员核对处理。"))
    first, second = row["first"], row["second"]
    changed = entries.differing(first, second)
    if any(str(picks.get(item_id, "")) not in (FIRST, SECOND) for item_id in changed):
        raise EntryError(N_("请为每一处不同选定正确的答案。"))
    taken = [item_id for item_id in changed if picks[item_id] == SECOND]
    answers = _shown_only(await versions.get(row["questionnaire_id"]), _merge(first, second, taken))
    before = {k: first.get(k) for k in changed}
    after = {k: answers.get(k) for k in changed}
    async with writing():
        claimed = await (
            SecondKeying.update(
                {
                    SecondKeying.state: KeyingState.resolved,
                    SecondKeying.resolved_by: user.id,
                    SecondKeying.resolved_at: datetime.now(UTC),
                }
            )
            .where((SecondKeying.id == keying_id) & (SecondKeying.state == KeyingState.differs))
            .returning(SecondKeying.id)
        )
        if not claimed:  # another worker resolved it between our read and this write
            raise EntryError(N_("这张问卷的不同之处已经处理过了。"))
        await Response.update({Response.answers: answers}).where(Response.id == row["response_id"])
        await audit.record(
            user.username,
            "response.paper_resolve",
            "response",
            row["response_id"],
            before={"sheet": row["sheet"], "answers": before},
            after={"sheet": row["sheet"], "answers": after, "taken_from_second": taken},
        )
        await duties.release(row["response_id"], user.username, "second keying resolved")


def _merge(first: Mapping[str, Any], second: Mapping[str, Any], taken: list[str]) -> dict[str, Any]:
    merged = dict(first)
    for item_id in taken:
        if item_id in second:
            merged[item_id] = second[item_id]
        else:
            merged.pop(item_id, None)
    return merged


def _shown_only(q: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Drop answers to items that the merged answers hide by their condition, as the form would."""
    kept: dict[str, Any] = {}
    for item in q.items:
        if item.id in answers and q.is_shown(item, kept):
            kept[item.id] = answers[item.id]
    return kept
