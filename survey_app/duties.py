"""Separation of duties for staff-entered answers: the assessed do not confirm their own answers.

A member is *inside* a unit when the unit is in their scope (their unit or below it): the unit's own
workers and those of its street office or district. An interview or paper sheet entered by someone inside
the rated unit does not count on their word alone. The campaign chooses (`campaign.inside_entry`):

* ``hold`` (the default): the answer is saved in quarantine with the flag ``inside_entry``, so it counts
  in no score, until a person outside the subtree confirms it: an assessor or admin including it on the
  quarantine page, or, for a paper sheet, a second keying by someone outside that matches the first
  (or whose differences that outsider resolves), which releases it here (`release`);
* ``refuse``: it is not taken at all.

Admins and city-wide members are outside every unit. The second keying of a paper sheet must come from
outside the unit's subtree whoever keyed it first (`survey_app/entries.py`).
"""

from __future__ import annotations

from survey_app import audit, units
from survey_app.accounts import StaffMember
from survey_app.db import writing
from survey_app.i18n import N_, Refusal
from survey_app.tables import Campaign, InsideEntry, Response, ResponseStatus

INSIDE_FLAG = "inside_entry"


class DutyRefused(Refusal):
    """An entry the rated unit's own staff may not make."""


async def is_inside(user: StaffMember, unit_id: int) -> bool:
    """Whether the member is staff of the unit's own subtree (their unit is the unit or above it)."""
    if user.unit_id is None:  # admins and city-wide assessors: the campaign office, outside every unit
        return False
    return unit_id in await units.subtree_ids(user.unit_id)


async def rule_of(campaign_id: int) -> InsideEntry:
    row = await Campaign.select(Campaign.inside_entry).where(Campaign.id == campaign_id).first()
    return InsideEntry(row["inside_entry"]) if row else InsideEntry.hold


async def entry_flags(user: StaffMember, campaign_id: int, unit_id: int) -> list[str]:
    """The flags a new staff entry starts with: ``[INSIDE_FLAG]`` (held) when the member is inside the unit,
    none when it counts at once.

    :raise DutyRefused: when the member is inside and the campaign refuses such entries.
    """
    if not await is_inside(user, unit_id):
        return []
    if await rule_of(campaign_id) == InsideEntry.refuse:
        raise DutyRefused(
            N_("本次评议不接受被评单位及其上级单位工作人员录入的答卷，请由其他街道的工作人员或创建办录入。")
        )
    return [INSIDE_FLAG]


async def set_rule(campaign_id: int, rule: InsideEntry, actor: str) -> None:
    """Choose what happens to inside entries from now on (audited); entries already held stay held."""
    async with writing():
        before = await rule_of(campaign_id)
        await Campaign.update({Campaign.inside_entry: rule}).where(Campaign.id == campaign_id)
        await audit.record(
            actor,
            "campaign.inside_entry",
            "campaign",
            campaign_id,
            before={"inside_entry": str(before)},
            after={"inside_entry": str(rule)},
        )


async def release(response_id: int, actor: str, why: str) -> bool:
    """Count a held entry that someone outside its unit's subtree confirmed (audited); False when it was not
    held for that reason alone (a response flagged by a fraud signal waits for an assessor)."""
    async with writing():
        row = await (
            Response.select(Response.status, Response.flags)
            .where(Response.id == response_id)
            .output(load_json=True)
            .first()
        )
        held = row is not None and row["status"] == ResponseStatus.quarantined and row["flags"] == [INSIDE_FLAG]
        if not held:
            return False
        await Response.update({Response.status: ResponseStatus.counted, Response.flags: []}).where(
            (Response.id == response_id) & (Response.status == ResponseStatus.quarantined)
        )
        await audit.record(
            actor,
            "response.release",
            "response",
            response_id,
            before={"status": str(ResponseStatus.quarantined), "flags": [INSIDE_FLAG]},
            after={"status": str(ResponseStatus.counted), "confirmed_by": actor, "why": why},
        )
    return True
