"""Paper sheets are issued, not typed: numbered paper questionnaires printed per unit, keyed at most once.

A member prints a batch of sheets for one unit of a campaign; each carries a printed number (1, 2, … per
campaign and unit: the issue order) and a serial of 8 random symbols and a check symbol. Only a serial
issued for the link's unit can be keyed as a paper response, and the sheet is claimed by one conditional
UPDATE in the transaction that saves it (`claim`), as invitation codes are. Serials are random, so sheets
nobody printed cannot be made up; the check symbol turns a mistyped serial into a clear message instead
of "not issued". Every batch is audited with who printed how many for which unit.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime

from survey_app import audit, receipts
from survey_app.db import writing
from survey_app.i18n import N_, Refusal
from survey_app.tables import CampaignUnit, Link, PaperSheet

ALPHABET = receipts.ALPHABET  # no 0/O, 1/I/L: read aloud and typed without confusion
BODY_LENGTH = 8  # 31⁸ ≈ 8.5 × 10¹¹: a made-up serial hits one of 10,000 issued sheets with odds 1e-8
MAX_BATCH = 500  # as invitation codes: a print run, not a plan


class SheetRefused(Refusal):
    """A serial that cannot be keyed for this unit; the keyed answers are kept and shown again."""


@dataclass(frozen=True)
class IssuedSheet:
    serial: str
    number: int
    used: bool

    @property
    def display(self) -> str:
        """The serial as printed: 4-4-check, easier to read out and to type."""
        return f"{self.serial[:4]}-{self.serial[4:8]}-{self.serial[8:]}"


@dataclass(frozen=True)
class SheetBatch:
    batch: str
    unit_id: int
    unit_code: str
    unit_name: str
    issued_by: str
    created_at: datetime
    first: int
    last: int
    used: int


@dataclass(frozen=True)
class SheetOwner:
    """Where an issued serial belongs."""

    campaign_id: int
    unit_id: int
    number: int
    used: bool


def check_symbol(body: str) -> str:
    """The check symbol of a serial's body: weights 1, 2, … modulo 31 (a prime), so any one wrong symbol
    and any swap of two neighbours changes it."""
    total = sum((n + 1) * ALPHABET.index(c) for n, c in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_serial() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_symbol(body)


def normalise(text: str) -> str:
    """A keyed serial as stored (NFKC, upper case, no spaces or dashes); raises SheetRefused when it cannot
    be one, saying whether it is malformed or mistyped (wrong check symbol)."""
    serial = re.sub(r"[\s\-－—_]+", "", unicodedata.normalize("NFKC", text)).upper()
    if not serial:
        raise SheetRefused(N_("请填写纸质问卷上印的编号。"))
    if len(serial) != BODY_LENGTH + 1 or not set(serial) <= set(ALPHABET):
        raise SheetRefused(N_("问卷编号是印在问卷上的 9 位字母和数字，例如 K7PM-Q2XR-5，请照抄。"))
    if check_symbol(serial[:BODY_LENGTH]) != serial[BODY_LENGTH]:
        raise SheetRefused(N_("问卷编号有误（校验位不符），请逐位核对后重新输入。"))
    return serial


async def issue(campaign_id: int, unit_id: int, count: int, actor: str) -> str:
    """Print `count` new sheets for a unit of a campaign, numbered on from the last; return the batch id.

    Audited with the actor, the unit and the numbers printed (not the serials: the trail is read widely).
    """
    if not 1 <= count <= MAX_BATCH:
        raise Refusal(N_("每批纸质问卷数量须在 1 到 %(max)s 之间。"), max=MAX_BATCH)
    batch = secrets.token_hex(6)
    try:
        async with writing():
            covered = await CampaignUnit.exists().where(
                (CampaignUnit.campaign == campaign_id) & (CampaignUnit.unit == unit_id)
            )
            if not covered:
                raise Refusal(N_("该评议活动不包括这个单位。"))
            last = await (
                PaperSheet.select(PaperSheet.number)
                .where((PaperSheet.campaign == campaign_id) & (PaperSheet.unit == unit_id))
                .order_by(PaperSheet.number, ascending=False)
                .first()
            )
            start = (last["number"] if last else 0) + 1
            await PaperSheet.insert(
                *(
                    PaperSheet(
                        serial=new_serial(),
                        campaign=campaign_id,
                        unit=unit_id,
                        number=start + n,
                        batch=batch,
                        issued_by=actor,
                    )
                    for n in range(count)
                )
            )
            after = {"unit": unit_id, "batch": batch, "count": count, "numbers": [start, start + count - 1]}
            await audit.record(actor, "paper.issue", "campaign", campaign_id, after=after)
    except Refusal:
        raise
    except Exception as exc:  # the (campaign, unit, number) index: someone printed for this unit just now
        raise Refusal(N_("刚才有人同时为这个单位打印了问卷，请再试一次。")) from exc
    return batch


async def batches(campaign_id: int, visible: AbstractSet[int] | None) -> list[SheetBatch]:
    """The campaign's print runs for units in `visible` (None = all), newest first, with how many were keyed."""
    rows = await (
        PaperSheet.select(
            PaperSheet.batch,
            PaperSheet.unit.id.as_alias("unit_id"),
            PaperSheet.unit.code.as_alias("unit_code"),
            PaperSheet.unit.name.as_alias("unit_name"),
            PaperSheet.issued_by,
            PaperSheet.created_at,
            PaperSheet.number,
            PaperSheet.used_at,
        )
        .where(PaperSheet.campaign == campaign_id)
        .order_by(PaperSheet.id)
    )
    found: dict[str, dict] = {}
    for r in rows:
        if visible is not None and r["unit_id"] not in visible:
            continue
        entry = found.setdefault(r["batch"], {**r, "first": r["number"], "last": r["number"], "used": 0})
        entry["last"] = max(entry["last"], r["number"])
        entry["used"] += r["used_at"] is not None
    return sorted(
        (SheetBatch(**{k: v for k, v in e.items() if k not in ("number", "used_at")}) for e in found.values()),
        key=lambda b: (b.created_at, b.first),
        reverse=True,
    )


async def batch_sheets(campaign_id: int, batch: str) -> tuple[int, list[IssuedSheet]] | None:
    """(unit id, sheets by number) of a print run, or None when the campaign has no such batch."""
    rows = await (
        PaperSheet.select(PaperSheet.serial, PaperSheet.unit, PaperSheet.number, PaperSheet.used_at)
        .where((PaperSheet.campaign == campaign_id) & (PaperSheet.batch == batch))
        .order_by(PaperSheet.number)
    )
    if not rows:
        return None
    return rows[0]["unit"], [IssuedSheet(r["serial"], r["number"], r["used_at"] is not None) for r in rows]


async def owner(serial: str) -> SheetOwner | None:
    """Where a (normalised) serial was issued, or None when nobody issued it."""
    row = await (
        PaperSheet.select(PaperSheet.campaign, PaperSheet.unit, PaperSheet.number, PaperSheet.used_at)
        .where(PaperSheet.serial == serial)
        .first()
    )
    if row is None:
        return None
    return SheetOwner(row["campaign"], row["unit"], row["number"], row["used_at"] is not None)


async def check_issued(serial: str, campaign_id: int, unit_id: int) -> None:
    """Refuse a serial this campaign never issued for this unit (a used one is for `claim` to judge)."""
    found = await owner(serial)
    if found is None or found.campaign_id != campaign_id:
        raise SheetRefused(N_("本次评议没有发放过编号为 %(sheet)s 的纸质问卷：只能录入发放过的问卷。"), sheet=serial)
    if found.unit_id != unit_id:
        raise SheetRefused(N_("编号为 %(sheet)s 的问卷是发给另一个单位的，请核对编号和单位。"), sheet=serial)


async def claim(serial: str, campaign_id: int, unit_id: int, response_id: int) -> None:
    """Spend an issued sheet on its response; call inside the transaction that saves the response.

    As `invitations.claim`: one conditional UPDATE decides, so of simultaneous keyings one claims it.
    :raise SheetRefused: not issued for this campaign and unit, or claimed already.
    """
    free = (
        (PaperSheet.serial == serial)
        & (PaperSheet.campaign == campaign_id)
        & (PaperSheet.unit == unit_id)
        & PaperSheet.used_at.is_null()
    )
    spent = await (
        PaperSheet.update({PaperSheet.used_at: datetime.now(UTC), PaperSheet.response: response_id})
        .where(free)
        .returning(PaperSheet.id)
    )
    if not spent:
        await check_issued(serial, campaign_id, unit_id)
        raise SheetRefused(N_("编号为 %(sheet)s 的问卷已经录入过。"), sheet=serial)


async def serial_numbers(response_ids: list[int]) -> dict[int, int]:
    """Printed number of the sheet each of these paper responses was keyed from (issue order), by response id."""
    if not response_ids:
        return {}
    rows = await PaperSheet.select(PaperSheet.response, PaperSheet.number).where(
        PaperSheet.response.is_in(response_ids)
    )
    return {r["response"]: r["number"] for r in rows}


async def entry_token(serial_text: str) -> str:
    """The token of a live link of the unit a serial was issued for: where it is keyed.

    :raise SheetRefused: when the serial is malformed, mistyped, never issued, or its unit has no live link.
    """
    serial = normalise(serial_text)
    found = await owner(serial)
    if found is None:
        raise SheetRefused(N_("没有发放过编号为 %(sheet)s 的纸质问卷，请核对编号。"), sheet=serial)
    row = await (
        Link.select(Link.token)
        .where((Link.campaign == found.campaign_id) & (Link.unit == found.unit_id) & Link.revoked_at.is_null())
        .order_by(Link.id)
        .first()
    )
    if row is None:
        raise SheetRefused(N_("这张问卷所属单位的二维码都已作废，无法录入。"))
    return str(row["token"])
