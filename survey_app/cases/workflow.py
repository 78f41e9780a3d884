"""The bad-rating loop (差评闭环): a bad rating opens a case for its unit, which calls back, fixes or
explains, against working-day deadlines; the resident follows it with the receipt code.

States and who moves them (workers of the unit's subtree, or an admin), each with a note:

    new ──> verified (called back) ──> rectifying ──> resolved | explained
     └──────────┴── may skip ahead ──────┴──────────> resolved | explained

Closing (resolved, explained, excluded by an upheld appeal, superseded by a revision) deletes the
phone number the resident left. A response opens at most one case (unique index on
`rating_case.response`); `open_for_response` runs in the transaction that saves the response, and
`open_missing` is the idempotent pass that catches any bad rating without a case (e.g. saved
before this feature). Appeals are in `survey_app/cases/appeals.py`; the figures in `figures.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from piccolo.columns import Column

from survey_app import audit, phones, receipts
from survey_app.accounts import StaffMember
from survey_app.cases.workdays import Deadline, add_working_days
from survey_app.changes import Change, Kind
from survey_app.changes import record as record_change
from survey_app.changes import record_many as record_many_changes
from survey_app.db import insert, writing
from survey_app.i18n import N_, Refusal
from survey_app.questionnaires import versions
from survey_app.tables import CaseContact, CaseEvent, CaseState, RatingCase, Response, ResponseStatus

# Deadlines, in working days after the day the rating came in (official calendar, survey_app/cases/workdays.py).
# 好差评 practice: call the resident back at once; fix or explain within 5 working days (Dezhou's
# rule; Sichuan allows 15). Changing them changes the deadlines of cases opened from then on only.
VERIFY_WORKING_DAYS = 1
CLOSE_WORKING_DAYS = 5

OPEN_STATES = (CaseState.new, CaseState.verified, CaseState.rectifying)
CLOSED_STATES = (CaseState.resolved, CaseState.explained, CaseState.excluded, CaseState.superseded)
# What staff may move a case to, by its state. excluded and superseded are reached only through
# an upheld appeal or a revision.
TRANSITIONS: dict[CaseState, tuple[CaseState, ...]] = {
    CaseState.new: (CaseState.verified, CaseState.rectifying, CaseState.resolved, CaseState.explained),
    CaseState.verified: (CaseState.rectifying, CaseState.resolved, CaseState.explained),
    CaseState.rectifying: (CaseState.resolved, CaseState.explained),
}
MAX_NOTE = 2000


class CaseError(Refusal):
    """A case action was refused."""


async def open_for_response(row: Response, answers: Mapping[str, Any]) -> int | None:
    """Open a case when a just-saved response (with these answers) is a bad rating; call inside the
    transaction that saved it."""
    questionnaire = await versions.of_campaign(int(_id(row.campaign)))
    trigger = questionnaire.bad_rating_rule().trigger(answers)
    if trigger is None:
        return None
    return await _open(int(row.id), int(_id(row.campaign)), int(_id(row.unit)), trigger, row.submitted_at)


# Cases opened per transaction by open_missing: few transactions, yet a SQLite writer never holds the
# write lock (which every resident's answer waits for) for long. 23 parameters a row: 11,500 a batch,
# below the 32,766 of SQLite (3.32 and later) and asyncpg.
OPEN_BATCH = 500


async def open_missing() -> int:
    """Open the case of every bad rating that has none (superseded and excluded responses aside); return how many.

    The cases and their "opened" events are inserted OPEN_BATCH at a time, one transaction each. A
    case that another process opens meanwhile (a second sweep) is left to it: the unique index on
    the response decides (ON CONFLICT DO NOTHING), so nothing is lost or doubled and nothing fails.
    """
    have = {r["response"] for r in await RatingCase.select(RatingCase.response)}
    rows = await (
        Response.select(Response.id, Response.campaign, Response.unit, Response.answers, Response.submitted_at)
        .where(Response.status.not_in([ResponseStatus.superseded, ResponseStatus.excluded]))
        .order_by(Response.id)
        .output(load_json=True)
    )
    missing: list[RatingCase] = []
    rules: dict[int, Any] = {}
    for row in rows:
        if row["id"] in have:
            continue
        if row["campaign"] not in rules:
            rules[row["campaign"]] = (await versions.of_campaign(row["campaign"])).bad_rating_rule()
        trigger = rules[row["campaign"]].trigger(row["answers"])
        if trigger is not None:
            missing.append(_new_case(row["id"], row["campaign"], row["unit"], trigger, row["submitted_at"]))
    opened = 0
    for start in range(0, len(missing), OPEN_BATCH):
        opened += await _open_batch(missing[start : start + OPEN_BATCH])
    return opened


async def _open_batch(batch: list[RatingCase]) -> int:
    """Insert cases not opened yet, each with its "opened" event, in one transaction; return how many."""
    by_response = {_id(case.response): case for case in batch}
    async with writing():
        inserted = await (
            RatingCase.insert(*batch)
            .on_conflict(target=RatingCase.response, action="DO NOTHING")
            .returning(RatingCase.id, RatingCase.response)
        )
        opened = [(r["id"], by_response[r["response"]]) for r in sorted(inserted, key=lambda r: r["id"])]
        if opened:
            await record_many_changes(Kind.case, [i for i, _ in opened], Change.created)
            await CaseEvent.insert(
                *(CaseEvent(rating_case=i, at=c.opened_at, actor="", kind="opened", note=c.trigger) for i, c in opened)
            )
    return len(opened)


def _case_values(response_id: int, campaign_id: int, unit_id: int, trigger: str, at: datetime) -> dict[str, Any]:
    """A new case's columns, its deadlines counted in working days from the day the rating came in."""
    verify, close = add_working_days(at, VERIFY_WORKING_DAYS), add_working_days(at, CLOSE_WORKING_DAYS)
    return {
        "response": response_id,
        "campaign": campaign_id,
        "unit": unit_id,
        "trigger": trigger,
        "opened_at": at,
        "verify_due": verify.at,
        "close_due": close.at,
        "due_estimated": verify.estimated or close.estimated,
    }


def _new_case(response_id: int, campaign_id: int, unit_id: int, trigger: str, at: datetime) -> RatingCase:
    return RatingCase(**_case_values(response_id, campaign_id, unit_id, trigger, at))


async def _open(response_id: int, campaign_id: int, unit_id: int, trigger: str, at: datetime) -> int:
    async with writing():
        case_id = await insert(RatingCase, _case_values(response_id, campaign_id, unit_id, trigger, at))
        await record_change(Kind.case, case_id, Change.created)
        await add_event(case_id, "", "opened", trigger, at)
    return case_id


def _id(value: Any) -> Any:
    return getattr(value, "id", value)


async def add_event(case_id: int, actor: str, kind: str, note: str = "", at: datetime | None = None) -> None:
    values = {"rating_case": case_id, "at": at or datetime.now(UTC), "actor": actor, "kind": kind, "note": note}
    await insert(CaseEvent, values)


async def case_of_response(response_id: int) -> dict[str, Any] | None:
    return await RatingCase.select().where(RatingCase.response == response_id).first()


async def get(case_id: int) -> dict[str, Any] | None:
    return await RatingCase.select().where(RatingCase.id == case_id).first()


def check_note(note: str) -> str:
    note = note.strip()
    if not note:
        raise CaseError(N_("请填写说明。"))
    if len(note) > MAX_NOTE:
        raise CaseError(N_("说明最多 %(limit)s 个字。"), limit=MAX_NOTE)
    return note


def checked_move(state: str, to: str, note: str) -> str:
    """The note as `move` saves it, or the refusal `move` would give: what a confirmation page asks first."""
    note = check_note(note)
    if to not in [s.value for s in TRANSITIONS.get(CaseState(state), ())]:
        raise CaseError(N_("案件当前状态下不能进行这一步。"))
    return note


async def move(user: StaffMember, case_id: int, to: str, note: str) -> None:
    """Move a case on (call-back done, rectifying, resolved or explained), with a note; audited.
    Closing it (resolved, explained) cannot be undone and deletes the number left for the call-back."""
    async with writing():
        case = await get(case_id)
        if case is None:
            raise CaseError(N_("没有这个案件。"))
        state = CaseState(case["state"])
        note = checked_move(state, to, note)
        now = datetime.now(UTC)
        changes: dict[Any, Any] = {RatingCase.state: to}
        if to == CaseState.verified:
            changes[RatingCase.verified_at] = now
        if to in CLOSED_STATES:
            changes[RatingCase.closed_at] = now
            await _forget_contact(case_id)
        await RatingCase.update(changes).where(RatingCase.id == case_id)
        await record_change(Kind.case, case_id, Change.status)
        await add_event(case_id, user.username, to, note, now)
        await audit.record(
            user.username,
            "case.state",
            "case",
            case_id,
            before={"state": state.value},
            after={"state": to, "note": note},
        )


async def reply(user: StaffMember, case_id: int, text: str) -> None:
    """Set the unit's reply to the resident (shown with the receipt code); audited."""
    text = check_note(text)
    async with writing():
        case = await get(case_id)
        if case is None:
            raise CaseError(N_("没有这个案件。"))
        now = datetime.now(UTC)
        await RatingCase.update({RatingCase.reply: text, RatingCase.replied_at: now}).where(RatingCase.id == case_id)
        await record_change(Kind.case, case_id, Change.updated)
        await add_event(case_id, user.username, "reply", text, now)
        await audit.record(
            user.username, "case.reply", "case", case_id, before={"reply": case["reply"]}, after={"reply": text}
        )


async def close_by_system(case_id: int, state: CaseState, actor: str, note: str) -> None:
    """Close an open case as excluded or superseded (inside the caller's transaction)."""
    now = datetime.now(UTC)
    await RatingCase.update({RatingCase.state: state, RatingCase.closed_at: now}).where(RatingCase.id == case_id)
    await record_change(Kind.case, case_id, Change.status)
    await _forget_contact(case_id)
    await add_event(case_id, actor, state.value, note, now)


async def _forget_contact(case_id: int) -> None:
    # The number served the call-back only; a closed case has no use for it (PIPL: keep the minimum).
    await CaseContact.delete().where(CaseContact.rating_case == case_id)


async def on_superseded(old_response_id: int, new_response_id: int, actor: str = "") -> None:
    """The resident revised a rating: its open case must not stay open.

    When the revision is a bad rating too, its case (opened when it was saved) carries on from the
    old one: same opening time and deadlines (a revision does not buy time), state, call-back,
    reply and the number left for the call-back. Otherwise the old case closes as superseded. A
    pending appeal about the old rating lapses.
    """
    async with writing():
        old = await case_of_response(old_response_id)
        if old is None or old["state"] not in OPEN_STATES:
            return
        new = await case_of_response(new_response_id)
        if old["appeal"] == "pending":
            await RatingCase.update({RatingCase.appeal: "lapsed"}).where(RatingCase.id == old["id"])
        if new is not None:
            carried = ("state", "opened_at", "verify_due", "close_due", "due_estimated", "contact_given_at")
            changes: dict[Column | str, Any] = {RatingCase._meta.get_column_by_name(c): old[c] for c in carried}
            changes |= {RatingCase.verified_at: old["verified_at"]}
            if old["reply"] and not new["reply"]:
                changes |= {RatingCase.reply: old["reply"], RatingCase.replied_at: old["replied_at"]}
            await RatingCase.update(changes).where(RatingCase.id == new["id"])
            await record_change(Kind.case, new["id"], Change.status)  # it takes the old case's state
            if not await CaseContact.exists().where(CaseContact.rating_case == new["id"]):
                await CaseContact.update({CaseContact.rating_case: new["id"]}).where(
                    CaseContact.rating_case == old["id"]
                )
            await RatingCase.update({RatingCase.successor: new["id"]}).where(RatingCase.id == old["id"])
            await add_event(new["id"], actor, "continues", f"#{old['id']}")
        await close_by_system(old["id"], CaseState.superseded, actor, f"#{new['id']}" if new else "")


async def on_excluded(response_id: int, actor: str, reason: str) -> None:
    """A response was excluded (e.g. by quarantine review): its open case closes as excluded."""
    async with writing():
        case = await case_of_response(response_id)
        if case is not None and case["state"] in OPEN_STATES:
            await close_by_system(case["id"], CaseState.excluded, actor, reason)


def normalise_phone(text: str) -> str:
    """A mainland mobile or landline number as stored (landline as 0578-2123456); raises CaseError."""
    phone = phones.normalise(text)
    if phone is not None:
        return phone
    raise CaseError(N_("请填写正确的手机号码（11 位）或带区号的固定电话，例如 0578-2123456。"))


async def leave_contact(campaign_id: int, receipt: str, phone_text: str, token: str) -> None:
    """Store the number a resident left for the call-back, apart from the answers; raises CaseError.

    Only with the thank-you page's `token` (receipts.callback_token, minted with the receipt and valid two
    hours): a receipt alone, which staff may have seen, cannot redirect a unit's call-backs. Allowed while the
    case is open; within the token's life a second number replaces the first (a typo can be corrected).
    """
    if not receipts.callback_token_valid(receipt, token):
        raise CaseError(
            N_("回访电话只能在提交评价后两小时内、在感谢页面上留下或修改。如需回访，请拨打单位公布的电话。")
        )
    phone = normalise_phone(phone_text)
    async with writing():
        case = await open_case_for_receipt(campaign_id, receipt)
        if case is None:
            raise CaseError(N_("这条评价没有待处理的问题，无需留下电话。"))
        updated = await (
            CaseContact.update({CaseContact.phone: phone})
            .where(CaseContact.rating_case == case["id"])
            .returning(CaseContact.id)
        )
        if not updated:
            await CaseContact.insert(CaseContact(rating_case=case["id"], phone=phone))
        if case["contact_given_at"] is None:
            await RatingCase.update({RatingCase.contact_given_at: datetime.now(UTC)}).where(RatingCase.id == case["id"])
        await add_event(case["id"], "", "contact")


async def open_case_for_receipt(campaign_id: int, receipt: str) -> dict[str, Any] | None:
    row = await (
        RatingCase.select(*RatingCase.all_columns())
        .where(RatingCase.response.receipt == receipt)
        .where(RatingCase.campaign == campaign_id)
        .where(RatingCase.state.is_in(list(OPEN_STATES)))
        .first()
    )
    return row


async def callback_state(campaign_id: int, receipt: str) -> str | None:
    """For the thank-you page: "offer" a call-back, say a number is already "left", or None (no open case)."""
    case = await open_case_for_receipt(campaign_id, receipt)
    if case is None:
        return None
    return "left" if case["contact_given_at"] else "offer"


async def redate_estimated(actor: str) -> list[int]:
    """Recompute the deadlines of open cases that were estimated (their year was not on the calendar yet),
    now that the calendar may know it; each change is on the case's timeline and audited. Returns the ids.

    Only open cases: a closed case was judged against the deadline it had. A sealed assessment period
    that counted a changed case no longer verifies (its data changed); a correction re-seals it.
    """
    rows = await RatingCase.select(
        RatingCase.id, RatingCase.opened_at, RatingCase.verify_due, RatingCase.close_due
    ).where((RatingCase.due_estimated == True) & RatingCase.state.is_in(list(OPEN_STATES)))  # noqa: E712
    changed = []
    async with writing():
        for row in rows:
            verify = add_working_days(row["opened_at"], VERIFY_WORKING_DAYS)
            close = add_working_days(row["opened_at"], CLOSE_WORKING_DAYS)
            estimated = verify.estimated or close.estimated
            if (verify.at, close.at) == (row["verify_due"], row["close_due"]) and estimated:
                continue  # the calendar still does not know the year
            before = {"verify_due": row["verify_due"].isoformat(), "close_due": row["close_due"].isoformat()}
            after = {"verify_due": verify.at.isoformat(), "close_due": close.at.isoformat(), "estimated": estimated}
            await RatingCase.update(
                {RatingCase.verify_due: verify.at, RatingCase.close_due: close.at, RatingCase.due_estimated: estimated}
            ).where(RatingCase.id == row["id"])
            await record_change(Kind.case, row["id"], Change.updated)
            note = f"{Deadline(row['close_due'], True).last_day} → {close.last_day}"
            await add_event(row["id"], actor, "redated", note)
            await audit.record(actor, "case.redate", "case", row["id"], before=before, after=after)
            changed.append(row["id"])
    return changed
