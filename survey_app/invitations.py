"""Invitation codes: one-time codes printed for door-to-door visits or a closed panel.

Staff issue a batch of codes for one unit of a campaign and print them on a sheet of slips. A
campaign with `invitation_only` accepts an answer only with an unused code of its own unit, and the
code is spent by one conditional UPDATE in the transaction that saves the answer (`claim`), so two
residents racing with one code cannot both be counted: the database row decides, not a prior check.
"""

from __future__ import annotations

import secrets
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import audit, receipts
from survey_app.db import writing
from survey_app.i18n import N_, Refusal
from survey_app.tables import CampaignUnit, Invitation

# The receipts' alphabet (no 0/O, 1/I/L): 31 symbols, 10 of them = 49 bits. With ten thousand live
# codes, a guess hits one with probability 1e-11; at the resident flood guard's pace (survey_app/web/
# flood_guard.py) a guesser needs millions of years for an even chance.
CODE_ALPHABET = receipts.ALPHABET
CODE_LENGTH = 10
# One printed sheet holds a round of door-to-door visits; more is a mistake, not a plan.
MAX_BATCH = 500


class InvitationRefused(Refusal):
    """A code that cannot admit this answer; the resident's answers are kept and shown again."""

    status_code = HTTP_422_UNPROCESSABLE_ENTITY


class InvitationUsed(InvitationRefused):
    status_code = HTTP_409_CONFLICT


@dataclass(frozen=True)
class BatchRow:
    batch: str
    unit_id: int
    unit_code: str
    unit_name: str
    created_at: datetime
    total: int
    used: int


@dataclass(frozen=True)
class Slip:
    code: str
    used: bool

    @property
    def display(self) -> str:
        """The code in two groups of five, easier to read out and to type."""
        return f"{self.code[:5]}-{self.code[5:]}"


def normalise(text: str) -> str:
    """What a resident typed, as a code: upper case, without spaces or dashes."""
    return "".join(c for c in text.upper() if c not in " -\u3000\t")


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def create_batch(campaign_id: int, unit_id: int, count: int, actor: str) -> str:
    """Issue `count` fresh codes for a unit of a campaign (audited, without the codes); return the batch id.

    A collision with an existing code (odds about 1e-10 for a full batch) fails the unique index
    and the whole batch, which the member can simply issue again.
    """
    if not 1 <= count <= MAX_BATCH:
        raise Refusal(N_("每批邀请码数量须在 1 到 %(max)s 之间。"), max=MAX_BATCH)
    batch = secrets.token_hex(6)
    async with writing():
        covered = await CampaignUnit.exists().where(
            (CampaignUnit.campaign == campaign_id) & (CampaignUnit.unit == unit_id)
        )
        if not covered:
            raise Refusal(N_("该评议活动不包括这个单位。"))
        await Invitation.insert(
            *(Invitation(code=_new_code(), campaign=campaign_id, unit=unit_id, batch=batch) for _ in range(count))
        )
        after = {"campaign": campaign_id, "unit": unit_id, "batch": batch, "count": count}
        await audit.record(actor, "invitation.batch", "campaign", campaign_id, after=after)
    return batch


async def batches(campaign_id: int, visible: AbstractSet[int] | None) -> list[BatchRow]:
    """The campaign's batches for units in `visible` (None = all), newest first, with how many codes were used."""
    rows = await (
        Invitation.select(
            Invitation.batch,
            Invitation.unit.id.as_alias("unit_id"),
            Invitation.unit.code.as_alias("unit_code"),
            Invitation.unit.name.as_alias("unit_name"),
            Invitation.created_at,
            Invitation.used_at,
        )
        .where(Invitation.campaign == campaign_id)
        .order_by(Invitation.id)
    )
    found: dict[str, dict] = {}
    for r in rows:
        if visible is not None and r["unit_id"] not in visible:
            continue
        entry = found.setdefault(r["batch"], {**r, "total": 0, "used": 0})
        entry["total"] += 1
        entry["used"] += r["used_at"] is not None
    return sorted(
        (BatchRow(**{k: v for k, v in e.items() if k != "used_at"}) for e in found.values()),
        key=lambda b: b.created_at,
        reverse=True,
    )


async def batch_slips(campaign_id: int, batch: str) -> tuple[int, list[Slip]] | None:
    """(unit id, slips in issue order) of a batch, or None when the campaign has no such batch."""
    rows = await (
        Invitation.select(Invitation.code, Invitation.unit, Invitation.used_at)
        .where((Invitation.campaign == campaign_id) & (Invitation.batch == batch))
        .order_by(Invitation.id)
    )
    if not rows:
        return None
    return rows[0]["unit"], [Slip(r["code"], r["used_at"] is not None) for r in rows]


async def claim(code_text: str, campaign_id: int, unit_id: int, response_id: int, now: datetime | None = None) -> None:
    """Spend a code on a response; call inside the transaction that saves the response.

    The UPDATE only matches an unused code of this campaign and unit, and PostgreSQL re-checks that
    condition after waiting for a competing transaction's row lock (SQLite runs writers one at a
    time), so of any number of simultaneous claims exactly one changes a row. Only when none changed
    is the code read again, to say why; the caller's transaction then rolls back.

    :raise InvitationRefused: no such code, another campaign's or unit's code, or a used code.
    """
    code = normalise(code_text)
    if not code:
        raise InvitationRefused(N_("本次评议凭邀请码填写，请输入邀请卡上的邀请码。"))
    free = (
        (Invitation.code == code)
        & (Invitation.campaign == campaign_id)
        & (Invitation.unit == unit_id)
        & Invitation.used_at.is_null()
    )
    spent = await (
        Invitation.update({Invitation.used_at: now or datetime.now(UTC), Invitation.response: response_id})
        .where(free)
        .returning(Invitation.id)
    )
    if not spent:
        await _refuse(code, campaign_id, unit_id)


async def _refuse(code: str, campaign_id: int, unit_id: int) -> None:
    row = (
        await Invitation.select(Invitation.campaign, Invitation.unit, Invitation.batch)
        .where(Invitation.code == code)
        .first()
    )
    if row is None:
        raise InvitationRefused(N_("邀请码不正确，请核对邀请卡上的邀请码后重新输入。"))
    if row["campaign"] != campaign_id:
        raise InvitationRefused(N_("这个邀请码不属于本次评议。"))
    if row["unit"] != unit_id:
        raise InvitationRefused(N_("这个邀请码属于另一个单位，请扫描邀请卡上的二维码填写。"))
    # Used. Whose answer it admitted is never said: that would tie a receipt to whoever holds the card.
    unused_in_batch = await Invitation.exists().where(
        (Invitation.campaign == campaign_id) & (Invitation.batch == row["batch"]) & Invitation.used_at.is_null()
    )
    if not unused_in_batch:
        raise InvitationUsed(N_("这一批邀请码已经全部使用。如需参加，请联系发放邀请卡的工作人员。"))
    raise InvitationUsed(N_("这个邀请码已经使用过，每个邀请码只能使用一次。"))
