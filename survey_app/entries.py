"""Staff entry of responses: interviews keyed as a resident answers, and paper sheets keyed twice.

Only sheets issued for the link's unit can be keyed (`survey_app/paper_sheets.py`): the serial printed
on the sheet is checked, and the sheet claimed in the transaction that saves its first keying.
A paper sheet counts once. Its first keying is saved as the response (channel `paper`, `sheet` =
the serial printed on it); the unique index (campaign, sheet) on response makes a second response
for the same sheet impossible, whatever races. When another worker keys the same sheet, the
insert fails on that index and the keying is stored in `second_keying` instead (unique per
response, so a sheet is keyed at most twice) and compared item by item. Until a worker resolves
the differences the first keying counts (unless it is held, below); a resolution rewrites only the
differing items of the response, and is audited with their values before and after (`survey_app/sheets.py`). Staff never
edit responses otherwise.

Separation of duties (`survey_app/duties.py`): an entry by staff of the rated unit's own subtree is held
(or refused, as the campaign says), and the second keying of a sheet must come from someone outside that
subtree; when it matches, or its outside keyer resolves the differences, a held first keying counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survey_app import accounts, audit, campaigns, duties, paper_sheets, receipts, responses
from survey_app.accounts import StaffMember
from survey_app.campaigns import LinkState, PublicLink
from survey_app.db import referenced, writing
from survey_app.i18n import N_, Refusal
from survey_app.questionnaires.format import Questionnaire
from survey_app.responses import FieldError, FormToken, Saved
from survey_app.tables import CampaignStatus, Channel, KeyingState, Link, Response, SecondKeying

# Paper sheets collected during the period are often keyed after it closes; interviews happen live.
ENTRY_STATES = {Channel.interviewer: {LinkState.open}, Channel.paper: {LinkState.open, LinkState.closed}}


class EntryError(Refusal):
    """An interview or paper entry was refused."""


@dataclass(frozen=True)
class PaperForm:
    """A posted paper form, checked: the sheet number and the answers as keyed."""

    sheet: str
    sheet_error: str | None
    answers: dict[str, Any]
    errors: dict[str, FieldError]

    @property
    def ok(self) -> bool:
        return self.sheet_error is None and not self.errors


@dataclass(frozen=True)
class PaperOutcome:
    receipt: str | None  # set when this keying became the sheet's response
    keying_id: int | None  # set when it was the second keying


async def entry_link(user: StaffMember, token: str, channel: Channel) -> PublicLink | None:
    """The link, when its unit is in the member's scope; None otherwise (shown as 404).

    Paper sheets may be keyed by any worker or admin: keying sheets of other streets is how a sheet gets
    its outside keyer, and only serials issued for the link's unit are taken anyway."""
    link = await campaigns.find_link(token)
    if channel == Channel.paper:
        return link
    visible = await accounts.visible_unit_ids(user)
    if link is None or (visible is not None and link.unit_id not in visible):
        return None
    return link


def accepts(link: PublicLink, channel: Channel) -> bool:
    """Whether the link takes entries of this channel now."""
    return link.state in ENTRY_STATES[channel]


def parse_paper(questionnaire: Questionnaire, form: Mapping[str, Any], sheet_field: str) -> PaperForm:
    """Check a keyed paper form. An unanswered required item is not an error: the sheet is what it is."""
    answers, errors = responses.parse_answers(questionnaire, form)
    errors = {item_id: e for item_id, e in errors.items() if _posted(form.get(item_id))}
    sheet, sheet_error = str(form.get(sheet_field, "")), None
    try:
        sheet = paper_sheets.normalise(sheet)
    except Refusal as exc:
        sheet_error = exc.message
    return PaperForm(sheet, sheet_error, answers, errors)


def _posted(raw: Any) -> bool:
    values = raw if isinstance(raw, list) else [raw]
    return any(str(v).strip() for v in values if v is not None)


async def record_interview(
    user: StaffMember, link: PublicLink, token: FormToken, answers: dict[str, Any], lang: str
) -> Saved:
    """Save answers given to an interviewer (channel `interviewer`, tagged with the worker; audited);
    held when the worker is staff of the rated unit's own subtree.

    :raise EntryError: when the campaign refuses entries by the rated unit's own staff.
    """
    held = await _held_by(user, link)

    async def audited(row: Response) -> None:
        after = {"campaign": link.campaign_slug, "unit": link.unit_id, "link": link.link_id, "receipt": row.receipt}
        await audit.record(user.username, "response.interview", "response", row.id, after=after | {"held": bool(held)})

    return await responses.record(
        campaign_id=link.campaign_id,
        unit_id=link.unit_id,
        link_id=link.link_id,
        token=token,
        answers=answers,
        channel=Channel.interviewer,
        lang=lang,
        entered_by=user.id,
        held_by=held,
        on_saved=audited,
    )


async def _held_by(user: StaffMember, link: PublicLink) -> list[str]:
    try:
        return await duties.entry_flags(user, link.campaign_id, link.unit_id)
    except duties.DutyRefused as refused:
        raise EntryError(refused.message, **refused.params) from refused


async def key_paper(user: StaffMember, link: PublicLink, token: FormToken, form: PaperForm) -> PaperOutcome:
    """Save a keyed sheet: its response if it is new, else its second keying, compared with the first.

    :raise EntryError: when the sheet was not issued for this unit, this member keyed it before, it was
        keyed twice already, or it was first keyed for another unit.
    """

    held = await _held_by(user, link)

    async def claimed_and_audited(row: Response) -> None:
        await paper_sheets.claim(form.sheet, link.campaign_id, link.unit_id, row.id)
        after = {"campaign": link.campaign_slug, "unit": link.unit_id, "sheet": form.sheet, "receipt": row.receipt}
        await audit.record(user.username, "response.paper", "response", row.id, after=after | {"held": bool(held)})

    try:
        await paper_sheets.check_issued(form.sheet, link.campaign_id, link.unit_id)
        saved = await responses.record(
            campaign_id=link.campaign_id,
            unit_id=link.unit_id,
            link_id=link.link_id,
            token=token,
            answers=form.answers,
            channel=Channel.paper,
            entered_by=user.id,
            sheet=form.sheet,
            held_by=held,
            on_saved=claimed_and_audited,
        )
    except responses.SheetTaken as taken:
        return PaperOutcome(None, await _key_again(user, link, taken.response_id, form, inside=bool(held)))
    except paper_sheets.SheetRefused as refused:
        raise EntryError(refused.message, **refused.params) from refused
    return PaperOutcome(saved.receipt, None)


async def _key_again(user: StaffMember, link: PublicLink, response_id: int, form: PaperForm, *, inside: bool) -> int:
    first = referenced(
        await Response.select(Response.entered_by, Response.answers)
        .where(Response.id == response_id)
        .output(load_json=True)
        .first(),
        "the sheet's first keying",
    )
    if first["entered_by"] == user.id:
        raise EntryError(N_("您已录入过编号为 %(sheet)s 的问卷。第二遍须由另一位工作人员录入。"), sheet=form.sheet)
    if inside:
        message = N_("编号为 %(sheet)s 的问卷已录入过一遍，第二遍须由被评单位及其上级单位以外的人员录入。")
        raise EntryError(message, sheet=form.sheet)
    changed = differing(first["answers"], form.answers)
    state = KeyingState.differs if changed else KeyingState.matched
    keying = SecondKeying(response=response_id, entered_by=user.id, answers=form.answers, state=state)
    try:
        async with writing():
            await keying.save()
            after = {"sheet": form.sheet, "state": str(state), "differing_items": changed}
            await audit.record(user.username, "response.paper_second", "response", response_id, after=after)
            if state == KeyingState.matched:  # an outsider read the same sheet: a held first keying counts
                await duties.release(response_id, user.username, "second keying matched")
    except Exception as exc:  # the unique response column: someone keyed it a second time already
        other = await SecondKeying.select(SecondKeying.entered_by).where(SecondKeying.response == response_id).first()
        if other is None:
            raise exc
        if other["entered_by"] == user.id:
            raise EntryError(
                N_("您已录入过编号为 %(sheet)s 的问卷。第二遍须由另一位工作人员录入。"), sheet=form.sheet
            ) from exc
        raise EntryError(N_("编号为 %(sheet)s 的问卷已经录入过两遍。"), sheet=form.sheet) from exc
    return int(keying.id)


def differing(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    # Compare types too: a yes/no True must never equal a rating 1.
    return sorted(k for k in first.keys() | second.keys() if _typed(first.get(k)) != _typed(second.get(k)))


def _typed(value: Any) -> tuple[str, Any]:
    return type(value).__name__, value


async def saved_entry(user: StaffMember, link: PublicLink, reference: str) -> str | None:
    """What the "saved" line names (the sheet's serial, or the receipt's last two characters: staff never see
    a full receipt), if `reference` (receipts.staff_reference) is one of this member's latest entries here."""
    if not reference:
        return None
    rows = await (
        Response.select(Response.sheet, Response.receipt)
        .where((Response.link == link.link_id) & (Response.entered_by == user.id))
        .order_by(Response.id, ascending=False)
        .limit(20)
    )
    row = next((r for r in rows if receipts.staff_reference(r["receipt"]) == reference), None)
    return None if row is None else (row["sheet"] or receipts.hint(row["receipt"]))


async def entry_links(user: StaffMember) -> list[dict[str, Any]]:
    """Links of running or closed campaigns in the member's scope, by campaign then unit code."""
    visible = await accounts.visible_unit_ids(user)
    rows = await (
        Link.select(
            Link.token,
            Link.site,
            Link.unit.id.as_alias("unit_id"),
            Link.unit.code.as_alias("unit_code"),
            Link.unit.name.as_alias("unit_name"),
            Link.campaign.title.as_alias("campaign_title"),
            Link.campaign.status.as_alias("status"),
        )
        .where(Link.revoked_at.is_null() & (Link.campaign.status != CampaignStatus.draft))
        .order_by(Link.campaign.id)
        .order_by(Link.unit.code)
        .order_by(Link.id)
    )
    return [r for r in rows if visible is None or r["unit_id"] in visible]
