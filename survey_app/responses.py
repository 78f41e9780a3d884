"""Residents' responses: the form token, checking posted answers, and saving them exactly once.

What an answer stores, by item type: rating → the level's value (int) or "dk"; choice → the option
value; multi → a list of option values in questionnaire order; yesno → true/false; text and
longtext → the trimmed string; number → int or float. Unanswered items are absent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from piccolo.query.methods.objects import Objects

from survey_app import changes, parsing, receipts, signing
from survey_app.cases import workflow
from survey_app.changes import Change, Kind
from survey_app.db import insert_row, quick, writing
from survey_app.i18n import N_
from survey_app.questionnaires.format import DONT_KNOW, TEXT_LIMITS, Item, Questionnaire
from survey_app.tables import Channel, Response, ResponseStatus

# A form older than this is still accepted (answers are never thrown away), but no duration is kept.
MAX_PLAUSIBLE_DURATION_S = 24 * 3600


@dataclass(frozen=True)
class FieldError:
    """A message (a Chinese msgid, translated when shown) with its %-format parameters."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FormToken:
    submission_id: str
    issued_at: float


@dataclass(frozen=True)
class Saved:
    receipt: str
    created: bool  # False when the same submission had already been saved


class SubmissionConflict(ValueError):
    """The submission id was already used with different answers."""


class DeviceTaken(ValueError):
    """The campaign already holds a live response from this device (see survey_app/ballots.py)."""


class SheetTaken(ValueError):
    """A response of this campaign already holds this paper sheet number."""

    def __init__(self, sheet: str, response_id: int) -> None:
        super().__init__(sheet)
        self.sheet, self.response_id = sheet, response_id


def mint_form_token(link_token: str, now: float | None = None) -> str:
    """A token for a freshly rendered form: submission id, issue time, and a signature binding both to the link."""
    submission_id = uuid.uuid4().hex
    issued = int(now if now is not None else time.time())
    return f"{submission_id}.{issued}.{signing.signature('form', link_token, submission_id, issued)}"


def read_form_token(link_token: str, value: str) -> FormToken | None:
    """The token's content, or None when it is missing, malformed or signed for another link."""
    parts = value.split(".")
    if len(parts) != 3 or len(parts[0]) != 32:
        return None
    submission_id, issued, given = parts[0], parsing.integer(parts[1]), parts[2]
    if issued is None or not signing.signed(given, "form", link_token, submission_id, issued):
        return None
    return FormToken(submission_id, float(issued))


def parse_answers(
    questionnaire: Questionnaire, form: Mapping[str, str | list[str]]
) -> tuple[dict[str, Any], dict[str, FieldError]]:
    """Check posted form fields against the questionnaire.

    :return: (answers, errors by item id); answers hold every valid answer even when there are
        errors, so the form can be shown again with them.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, FieldError] = {}
    for item in questionnaire.items:
        if not questionnaire.is_shown(item, answers):
            continue  # hidden by its condition: whatever was posted for it is not an answer
        raw = form.get(item.id)
        values = [v.strip() for v in (raw if isinstance(raw, list) else [raw] if raw else [])]
        values = [v for v in values if v]
        if not values:
            if item.required:
                errors[item.id] = FieldError(N_("请回答此题。"))
            continue
        if len(values) > 1 and item.type != "multi":  # the form sends one; which would be meant?
            errors[item.id] = FieldError(N_("此题只能有一个答案。"))
            continue
        value, error = _parse_one(item, questionnaire, values)
        if error is not None:
            errors[item.id] = error
        else:
            answers[item.id] = value
    return answers, errors


def _parse_one(item: Item, q: Questionnaire, values: list[str]) -> tuple[Any, FieldError | None]:
    if item.type == "multi":
        allowed = [o.value for o in item.options or []]
        if any(v not in allowed for v in values):
            return None, FieldError(N_("请从列出的选项中选择。"))
        return [v for v in allowed if v in values], None
    value = values[0]
    if item.type == "rating":
        if item.dont_know and value == DONT_KNOW:
            return DONT_KNOW, None
        levels = {str(level.value): level.value for level in q.scales[item.scale or ""].levels}
        if value not in levels:
            return None, FieldError(N_("请从列出的选项中选择。"))
        return levels[value], None
    if item.type == "choice":
        if value not in {o.value for o in item.options or []}:
            return None, FieldError(N_("请从列出的选项中选择。"))
        return value, None
    if item.type == "yesno":
        if value not in ("yes", "no"):
            return None, FieldError(N_("请选择“是”或“否”。"))
        return value == "yes", None
    if item.type == "number":
        return _parse_number(item, value)
    value = _clean_text(value)
    limit = TEXT_LIMITS[item.type]
    if len(value) > limit:
        return None, FieldError(
            N_("最多 %(limit)s 个字，现在是 %(length)s 个字。"), {"limit": limit, "length": len(value)}
        )
    return value, None


# C0 control characters other than tab and newline carry no meaning in an answer, and PostgreSQL
# cannot store NUL in JSON text at all.
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10))


def _clean_text(value: str) -> str:
    return value.replace("\r\n", "\n").translate(_CONTROL).strip()


def _parse_number(item: Item, value: str) -> tuple[Any, FieldError | None]:
    try:
        # float() reads full-width digits (１２) too, which Chinese input methods often produce.
        number = float(value.replace("，", "").replace(",", ""))
    except ValueError:
        return None, FieldError(N_("请填写一个数字。"))
    if number != number or number in (float("inf"), float("-inf")):
        return None, FieldError(N_("请填写一个数字。"))
    if item.min is not None and number < item.min:
        return None, FieldError(N_("不能小于 %(min)s。"), {"min": _plain(item.min)})
    if item.max is not None and number > item.max:
        return None, FieldError(N_("不能大于 %(max)s。"), {"max": _plain(item.max)})
    return _plain(number), None


def _plain(number: float) -> int | float:
    return int(number) if number.is_integer() else number


async def record(
    *,
    campaign_id: int,
    unit_id: int,
    link_id: int | None,
    token: FormToken,
    answers: dict[str, Any],
    channel: Channel = Channel.qr,
    lang: str = "zh",
    now: datetime | None = None,
    entered_by: int | None = None,
    sheet: str | None = None,
    device_hash: str | None = None,
    held_by: list[str] | None = None,
    prepare: Callable[[Response], Awaitable[None]] | None = None,
    on_saved: Callable[[Response], Awaitable[None]] | None = None,
    open_case: bool = True,
) -> Saved:
    """Save a response once; a resend of the same submission gets the same receipt.

    The unique (campaign, submission_id) constraint decides, not a prior check, so two racing
    copies of one submission cannot both be saved; likewise (campaign, sheet) for paper sheets and
    (campaign, device_hash) among live responses for devices. `prepare` runs in the transaction
    before the row is inserted (a revision supersedes its predecessor there, hourly limits count
    there) and `on_saved` after it (staff entries audit there, an invitation is spent there); an
    exception from either rolls the whole transaction back. `open_case=False` (history imported
    from another system) saves a bad rating without opening its case. `held_by` (flag codes, e.g. a
    staff entry waiting for confirmation, survey_app/duties.py) saves it in quarantine instead of counted.

    :raise SubmissionConflict: when the submission id was used with different answers.
    :raise SheetTaken: when another response already holds this paper sheet.
    :raise DeviceTaken: when this device already has a live response in the campaign.
    """
    now = now or datetime.now(UTC)
    duration = now.timestamp() - token.issued_at
    plausible = 0 <= duration <= MAX_PLAUSIBLE_DURATION_S
    row = Response(
        submission_id=token.submission_id,
        receipt=receipts.new(),
        campaign=campaign_id,
        unit=unit_id,
        link=link_id,
        answers=answers,
        channel=channel,
        lang=lang,
        started_at=datetime.fromtimestamp(token.issued_at, UTC) if plausible else None,
        submitted_at=now,
        duration_s=round(duration, 1) if plausible else None,
        entered_by=entered_by,
        sheet=sheet,
        device_hash=device_hash,
        status=ResponseStatus.quarantined if held_by else ResponseStatus.counted,
        flags=list(held_by or []),
    )
    try:
        with quick():  # a handful of indexed statements (survey_app/db.py)
            async with writing():
                if prepare is not None:
                    await prepare(row)
                await insert_row(row)
                await changes.record(Kind.response, int(row.id), Change.created)
                if open_case:  # 差评闭环: a bad rating opens its case with it, or neither is saved
                    await workflow.open_for_response(row, answers)
                if on_saved is not None:
                    await on_saved(row)
        return Saved(receipt=str(row.receipt), created=True)
    except Exception as exc:  # the engines raise different unique-violation types
        existing = await _existing(campaign_id, token.submission_id).first()
        if existing is None:
            if sheet is not None and (holder := await _sheet_holder(campaign_id, sheet)) is not None:
                raise SheetTaken(sheet, holder) from exc
            if device_hash is not None and await _device_has_live_response(campaign_id, device_hash):
                raise DeviceTaken(device_hash) from exc
            raise exc
    if existing.answers != answers:
        raise SubmissionConflict(token.submission_id)
    return Saved(receipt=str(existing.receipt), created=False)


def _existing(campaign_id: int, submission_id: str) -> Objects:
    return (
        Response.objects()
        .where((Response.campaign == campaign_id) & (Response.submission_id == submission_id))
        .output(load_json=True)
    )


async def _sheet_holder(campaign_id: int, sheet: str) -> int | None:
    taken = (Response.campaign == campaign_id) & (Response.sheet == sheet)
    row = await Response.select(Response.id).where(taken).first()
    return None if row is None else int(row["id"])


async def _device_has_live_response(campaign_id: int, device_hash: str) -> bool:
    live = (
        (Response.campaign == campaign_id)
        & (Response.device_hash == device_hash)
        & (Response.status != ResponseStatus.superseded)
    )
    return bool(await Response.exists().where(live))


def form_fields(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """Stored answers as the form fields that would post them: the inverse of `parse_answers`."""
    fields: dict[str, str | list[str]] = {}
    for item in questionnaire.items:
        if item.id not in answers:
            continue
        value = answers[item.id]
        if isinstance(value, list):
            fields[item.id] = [str(v) for v in value]
        elif isinstance(value, bool):
            fields[item.id] = "yes" if value else "no"
        else:
            fields[item.id] = str(value)
    return fields


async def receipt_exists(campaign_id: int, receipt: str) -> bool:
    """Whether `receipt` belongs to a response of this campaign."""
    if not receipts.is_receipt(receipt):
        return False
    return bool(await Response.exists().where((Response.campaign == campaign_id) & (Response.receipt == receipt)))
