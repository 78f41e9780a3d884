"""One resident, one vote, without accounts and without tracking people.

The layers a campaign can switch on, and how each holds under races:

- **Device check.** The form sets a signed, per-campaign cookie holding a random device id. A
  response keeps only `HMAC(campaign flag key, device id)`, never the cookie, an address or a user
  agent. The unique index `response_one_per_device` admits one live (not superseded) response per
  device hash, so a second answer from a device is refused by the database, even when two arrive
  at once. Within `revision_minutes` the device may revise once: in ONE transaction the old row becomes
  `superseded` and the new one, pointing at it through `replaces`, is inserted. Nothing is deleted.
  The flag key is replaced when the campaign closes (campaigns.set_status), after which the hashes
  cannot be matched to any device.
- **Invitation codes** (survey_app/invitations.py): spent in the transaction that saves the answer.
- **Hourly limits** per link and per campaign: counted in the database, inside the saving
  transaction (see `_check_hourly_limits` for why there and not in the rate-limit store).

Clearing cookies or switching browser defeats the device check; it stops honest double answers
and casual repeat voting, and the quarantine's signals and invitation codes cover the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.datastructures import Cookie
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_429_TOO_MANY_REQUESTS

from survey_app import audit, changes, counters, invitations, responses, signing
from survey_app.campaigns import PublicLink
from survey_app.cases import workflow
from survey_app.changes import Change, Kind
from survey_app.db import lock_row, writing
from survey_app.i18n import N_, Refusal, pick
from survey_app.responses import FormToken, Saved
from survey_app.tables import Campaign, CampaignStatus, Response, ResponseStatus

DEVICE_COOKIE_PREFIX = "minping_device_"
# Long enough to outlast any campaign; the cookie means nothing once the campaign's key is replaced.
DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 3600
DEVICE_ID_BYTES = 16
# 32 hex characters = 128 bits of the HMAC: collisions between devices are out of the question.
DEVICE_HASH_CHARS = 32
# A revision replaces only answers that still count, or wait in quarantine (the revision keeps the
# quarantine); an assessor's include/exclude decision is never undone by a resident.
REVISABLE = (ResponseStatus.counted, ResponseStatus.quarantined)
MAX_REVISION_MINUTES = 7 * 24 * 60
MAX_HOURLY_LIMIT = 100_000


class BallotRefused(Refusal):
    """An answer that this campaign's one-resident-one-vote rules turn away."""

    status_code = HTTP_409_CONFLICT


class TryLater(BallotRefused):
    status_code = HTTP_429_TOO_MANY_REQUESTS


@dataclass(frozen=True)
class PriorAnswer:
    """The live answer a device already gave in this campaign."""

    response_id: int
    receipt: str
    link_id: int | None
    link_token: str | None
    unit_name: str
    unit_name_en: str
    answers: dict[str, Any]
    status: str
    flags: list[str]
    revisable_until: datetime
    revised: bool  # it is itself a revision: one revision per answer keeps the window bounded

    def revisable(self, now: datetime | None = None) -> bool:
        return not self.revised and self.status in REVISABLE and (now or datetime.now(UTC)) < self.revisable_until

    def minutes_left(self, now: datetime | None = None) -> int:
        left = self.revisable_until - (now or datetime.now(UTC))
        return max(1, int(left.total_seconds() // 60) + 1)

    def unit_display_name(self, lang: str) -> str:
        return pick(lang, self.unit_name, self.unit_name_en)


class AlreadyAnswered(BallotRefused):
    """This device already has a live answer in the campaign; `prior` is it (None if it could not be read)."""

    def __init__(self, prior: PriorAnswer | None) -> None:
        super().__init__(N_("您已经回答过本次评议。"))
        self.prior = prior


class RevisionClosed(AlreadyAnswered):
    """The device asked to revise, but its answer can no longer be changed (window passed, or reviewed)."""


@dataclass(frozen=True)
class Device:
    """A device id, and the cookie to set when the request did not already carry a valid one."""

    id: str
    new: bool


def cookie_name(campaign_id: int) -> str:
    return f"{DEVICE_COOKIE_PREFIX}{campaign_id}"


def device_of(campaign_id: int, cookies: Mapping[str, str]) -> Device:
    """The device id the request's cookie carries, or a new one when it carries none (or a forged one)."""
    device_id, _, signature = cookies.get(cookie_name(campaign_id), "").partition(".")
    if device_id and signing.signed(signature, "device", campaign_id, device_id):
        return Device(device_id, new=False)
    return Device(secrets.token_urlsafe(DEVICE_ID_BYTES), new=True)


def device_cookie(campaign_id: int, device: Device, *, secure: bool) -> Cookie:
    """The signed device cookie: HttpOnly, SameSite=Lax, only sent to the resident pages."""
    return Cookie(
        key=cookie_name(campaign_id),
        value=f"{device.id}.{signing.signature('device', campaign_id, device.id)}",
        path="/q/",
        max_age=DEVICE_COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def device_hash(flag_key: str, device_id: str) -> str:
    """What a response keeps of its device: a keyed hash that only this campaign's current key reproduces."""
    return hmac.new(flag_key.encode(), device_id.encode(), hashlib.sha256).hexdigest()[:DEVICE_HASH_CHARS]


async def prior_answer(link: PublicLink, device: Device) -> PriorAnswer | None:
    """The device's live answer in the link's campaign, when the device check is on and there is one."""
    if not link.device_check or device.new or not link.flag_key:
        return None
    return await _live_answer(link, device_hash(link.flag_key, device.id))


async def _live_answer(link: PublicLink, hashed: str) -> PriorAnswer | None:
    live = (
        (Response.campaign == link.campaign_id)
        & (Response.device_hash == hashed)
        & (Response.status != ResponseStatus.superseded)
    )
    row = await (
        Response.select(
            Response.id,
            Response.receipt,
            Response.link,
            Response.link.token.as_alias("link_token"),
            Response.unit.name.as_alias("unit_name"),
            Response.unit.name_en.as_alias("unit_name_en"),
            Response.answers,
            Response.status,
            Response.flags,
            Response.submitted_at,
            Response.replaces,
        )
        .where(live)
        .first()
        .output(load_json=True)
    )
    if row is None:
        return None
    return PriorAnswer(
        response_id=row["id"],
        receipt=row["receipt"],
        link_id=row["link"],
        link_token=row["link_token"],
        unit_name=row["unit_name"],
        unit_name_en=row["unit_name_en"],
        answers=row["answers"],
        status=row["status"],
        flags=list(row["flags"] or []),
        revisable_until=row["submitted_at"] + timedelta(minutes=link.revision_minutes),
        revised=row["replaces"] is not None,
    )


async def cast(
    link: PublicLink,
    token: FormToken,
    answers: dict[str, Any],
    *,
    device: Device | None,
    revise: bool = False,
    invitation_code: str = "",
    lang: str = "zh",
    now: datetime | None = None,
) -> Saved:
    """Save a resident's answers under the campaign's rules; a resend of one submission gets its receipt again.

    :raise AlreadyAnswered: the device already answered (and did not ask to revise).
    :raise RevisionClosed: it asked to revise, but may not (any more).
    :raise invitations.InvitationRefused: invitation-only and the code does not admit this answer.
    :raise TryLater: an hourly limit of the link or campaign is reached.
    :raise responses.SubmissionConflict: the submission id was used with different answers.
    """
    now = now or datetime.now(UTC)
    hashed = device_hash(link.flag_key, device.id) if link.device_check and device and link.flag_key else None
    prior = await _live_answer(link, hashed) if hashed and revise else None
    if prior is not None and (prior.link_id != link.link_id or not prior.revisable(now)):
        raise RevisionClosed(prior)

    async def prepare(row: Response) -> None:
        if prior is not None:
            await _supersede(prior, row)
        else:
            await _check_hourly_limits(link, now)

    async def on_saved(row: Response) -> None:
        if prior is not None:  # the old answer's bad-rating case follows the revision, or closes
            await workflow.on_superseded(prior.response_id, row.id)
        elif link.invitation_only:  # a revision was admitted with its first answer
            await invitations.claim(invitation_code, link.campaign_id, link.unit_id, row.id, now)

    try:
        return await responses.record(
            campaign_id=link.campaign_id,
            unit_id=link.unit_id,
            link_id=link.link_id,
            token=token,
            answers=answers,
            lang=lang,
            now=now,
            device_hash=hashed,
            prepare=prepare,
            on_saved=on_saved,
        )
    except responses.DeviceTaken:
        raise AlreadyAnswered(await _live_answer(link, hashed or "")) from None
    except TryLater:
        counters.count_limited(link.link_id)
        raise


class _Superseded(Exception):
    """The answer to revise was replaced or reviewed meanwhile; the transaction rolls back."""


async def _supersede(prior: PriorAnswer, row: Response) -> None:
    """Mark the old answer superseded, only if it is still live and revisable, and chain the new one to it."""
    changed = await (
        Response.update({Response.status: ResponseStatus.superseded})
        .where((Response.id == prior.response_id) & Response.status.is_in(list(REVISABLE)))
        .returning(Response.id)
    )
    if not changed:  # a simultaneous revision won; record() reports the device's live answer
        raise _Superseded(prior.response_id)
    await changes.record(Kind.response, prior.response_id, Change.status)
    row.replaces = prior.response_id
    row.status = prior.status  # a quarantined answer stays in quarantine when revised
    row.flags = prior.flags  # type: ignore[assignment]  # Piccolo types JSON values as str | dict; a list is JSON too


async def _check_hourly_limits(link: PublicLink, now: datetime) -> None:
    """Refuse a new answer when the link or campaign accepted its hourly limit in the last 60 minutes.

    Counted in the database, inside the saving transaction, rather than in the rate-limit store:
    the limit is about *accepted* answers (refused or resent posts must not use it up), the count
    must be the same for every worker (the store's read-modify-write is not atomic across workers,
    Litestar #4700), and it must survive restarts. On PostgreSQL the campaign row is locked first,
    so the campaign's writers count one at a time and the limit is exact; SQLite's IMMEDIATE
    transactions already run one at a time. This costs a serialised write only for campaigns that
    set a limit. Revisions replace an answer and use no limit.
    """
    if link.link_hourly_limit is None and link.campaign_hourly_limit is None:
        return
    await lock_row(Campaign, link.campaign_id)
    since = now - timedelta(hours=1)
    new_answers = (Response.submitted_at > since) & Response.replaces.is_null()
    if link.link_hourly_limit is not None:
        n = await Response.count().where((Response.link == link.link_id) & new_answers)
        if n >= link.link_hourly_limit:
            raise TryLater(N_("此二维码这一小时收到的评价已达上限，请稍后再试。您的答案已保留。"))
    if link.campaign_hourly_limit is not None:
        n = await Response.count().where((Response.campaign == link.campaign_id) & new_answers)
        if n >= link.campaign_hourly_limit:
            raise TryLater(N_("本次评议这一小时收到的评价已达上限，请稍后再试。您的答案已保留。"))


@dataclass(frozen=True)
class BallotSettings:
    device_check: bool
    revision_minutes: int
    invitation_only: bool
    link_hourly_limit: int | None
    campaign_hourly_limit: int | None


_SETTING_COLUMNS = (
    Campaign.device_check,
    Campaign.revision_minutes,
    Campaign.invitation_only,
    Campaign.link_hourly_limit,
    Campaign.campaign_hourly_limit,
)


async def settings_of(campaign_id: int) -> BallotSettings:
    row = await Campaign.select(*_SETTING_COLUMNS).where(Campaign.id == campaign_id).first()
    if row is None:
        raise LookupError(campaign_id)
    return _settings(row)


def _settings(row: dict[str, Any]) -> BallotSettings:
    return BallotSettings(
        device_check=bool(row["device_check"]),
        revision_minutes=int(row["revision_minutes"]),
        invitation_only=bool(row["invitation_only"]),
        link_hourly_limit=row["link_hourly_limit"],
        campaign_hourly_limit=row["campaign_hourly_limit"],
    )


async def change_settings(campaign_id: int, new: BallotSettings, actor: str) -> None:
    """Switch the campaign's layers and limits (audited); only while it is a draft or open.

    :raise Refusal: a value out of range, or the campaign has closed.
    """
    if not 0 <= new.revision_minutes <= MAX_REVISION_MINUTES:
        raise Refusal(N_("修改期限须在 0 到 %(max)s 分钟之间。"), max=MAX_REVISION_MINUTES)
    for limit in (new.link_hourly_limit, new.campaign_hourly_limit):
        if limit is not None and not 1 <= limit <= MAX_HOURLY_LIMIT:
            raise Refusal(N_("每小时上限须在 1 到 %(max)s 之间，不限请留空。"), max=MAX_HOURLY_LIMIT)
    async with writing():
        row = await Campaign.select(Campaign.status, *_SETTING_COLUMNS).where(Campaign.id == campaign_id).first()
        if row is None:
            raise LookupError(campaign_id)
        if row["status"] == CampaignStatus.closed:
            raise Refusal(N_("评议已结束，不能再修改防重复设置。"))
        before = _settings(row)
        if before == new:
            return
        await Campaign.update(
            {
                Campaign.device_check: new.device_check,
                Campaign.revision_minutes: new.revision_minutes,
                Campaign.invitation_only: new.invitation_only,
                Campaign.link_hourly_limit: new.link_hourly_limit,
                Campaign.campaign_hourly_limit: new.campaign_hourly_limit,
            }
        ).where(Campaign.id == campaign_id)
        await audit.record(
            actor, "campaign.ballots", "campaign", campaign_id, before=before.__dict__, after=new.__dict__
        )
