"""Campaigns and their QR links: creating them and resolving a public token to what a resident sees."""

from __future__ import annotations

import secrets
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from piccolo.query.functions.aggregate import Count

from survey_app import audit, receipts
from survey_app.db import quick, writing
from survey_app.i18n import N_, Refusal, pick
from survey_app.tables import (
    Campaign,
    CampaignStatus,
    CampaignUnit,
    Link,
    QuestionnaireVersion,
    Response,
    ResponseStatus,
)

# 18 random bytes = 144 bits, 24 URL-safe characters: unguessable, and short enough for a small QR code.
TOKEN_BYTES = 18
# 32 random bytes: the key of the campaign's device hashes (survey_app/ballots.py).
FLAG_KEY_BYTES = 32


class LinkState(StrEnum):
    open = "open"
    not_yet_open = "not_yet_open"
    closed = "closed"
    revoked = "revoked"
    paused = "paused"


@dataclass(frozen=True)
class PublicLink:
    """Everything the resident's page needs about a link, its campaign and its unit."""

    link_id: int
    token: str
    site: str
    campaign_id: int
    campaign_slug: str
    title: str
    title_en: str
    purpose: str
    purpose_en: str
    questionnaire_id: int
    unit_id: int
    unit_name: str
    unit_name_en: str
    state: LinkState
    # One resident, one vote (survey_app/ballots.py); defaults so other callers can build a PublicLink.
    device_check: bool = False
    revision_minutes: int = 0
    invitation_only: bool = False
    link_hourly_limit: int | None = None
    campaign_hourly_limit: int | None = None
    flag_key: str = field(default="", repr=False)
    short_code: str = ""  # for typing from the poster (see `short_url`)
    closes_at: datetime | None = None

    def campaign_title(self, lang: str) -> str:
        return pick(lang, self.title, self.title_en)

    def campaign_purpose(self, lang: str) -> str:
        return pick(lang, self.purpose, self.purpose_en)

    def unit_display_name(self, lang: str) -> str:
        return pick(lang, self.unit_name, self.unit_name_en)


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    slug: str
    title: str
    status: str
    questionnaire_id: int
    opens_at: datetime | None = None
    closes_at: datetime | None = None


class CampaignError(Refusal):
    """A campaign change was refused."""


async def create(
    slug: str,
    questionnaire_id: int,
    title: str,
    unit_ids: list[int],
    *,
    title_en: str = "",
    purpose: str = "",
    purpose_en: str = "",
    status: CampaignStatus = CampaignStatus.draft,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    targets: dict[int, int] | None = None,
    device_check: bool = True,
    actor: str = "system",
) -> int:
    """Create a campaign covering `unit_ids`, with one link per unit; return its id.

    One device, one answer by default (`device_check`, with the table's revision window); a campaign that
    turns it off says so on its form."""
    if opens_at and closes_at and closes_at <= opens_at:
        raise CampaignError(N_("结束时间必须晚于开始时间。"))
    if not unit_ids:
        raise CampaignError(N_("请至少选择一个单位。"))
    async with writing():
        if await Campaign.exists().where(Campaign.slug == slug):
            raise CampaignError(N_("代码 %(slug)s 已被其他评议活动使用。"), slug=slug)
        campaign = Campaign(
            slug=slug,
            title=title,
            title_en=title_en,
            purpose=purpose,
            purpose_en=purpose_en,
            questionnaire=questionnaire_id,
            status=status,
            opens_at=opens_at,
            closes_at=closes_at,
            device_check=device_check,
            flag_key=new_flag_key(),
        )
        await campaign.save()
        targets = targets or {}
        await CampaignUnit.insert(
            *(CampaignUnit(campaign=campaign.id, unit=u, target=targets.get(u)) for u in unit_ids)
        )
        await Link.insert(*(new_link(campaign.id, u) for u in unit_ids))
        after = {
            "slug": slug,
            "title": title,
            "questionnaire": questionnaire_id,
            "status": str(status),
            "units": len(unit_ids),
            "opens_at": opens_at,
            "closes_at": closes_at,
            "device_check": device_check,
        }
        await audit.record(actor, "campaign.create", "campaign", campaign.id, after=after)
    return int(campaign.id)


def new_flag_key() -> str:
    """A fresh secret key for a campaign's device hashes."""
    return secrets.token_hex(FLAG_KEY_BYTES)


async def set_status(campaign_id: int, status: CampaignStatus, actor: str) -> None:
    """Open, close or reopen a campaign (audited).

    Closing replaces the campaign's flag key, and the old one is gone for good: the device hashes
    kept with its responses can then no longer be matched to any device, not even by the server,
    which would otherwise be able to recompute them from a cookie. Opening sets a key if there is
    none. A reopened campaign therefore does not recognise devices that answered before it closed.
    """
    async with writing():
        row = await Campaign.select(Campaign.status, Campaign.flag_key).where(Campaign.id == campaign_id).first()
        if row is None:
            raise LookupError(campaign_id)
        changes: dict = {Campaign.status: status}
        if status == CampaignStatus.closed or not row["flag_key"]:
            changes[Campaign.flag_key] = new_flag_key()
        await Campaign.update(changes).where(Campaign.id == campaign_id)
        before, after = {"status": row["status"]}, {"status": str(status)}
        await audit.record(actor, "campaign.status", "campaign", campaign_id, before=before, after=after)


def new_link(campaign_id: int, unit_id: int, site: str = "") -> Link:
    """A new, unsaved link with a fresh random token and short code."""
    return Link(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        short_code=receipts.new(),
        campaign=campaign_id,
        unit=unit_id,
        site=site,
    )


async def token_of_code(text: str) -> str | None:
    """The token of the link whose short code was typed (any case, spaces and dashes as printed), or None.
    Codes are a receipt's shape (receipts.py); two links drawing the same one (about one pair in
    1.7 million among 1,000 links) are refused by the unique index, never resolved to the wrong link."""
    code = receipts.clean(text.replace("-", ""))
    if code is None:
        return None
    row = await Link.select(Link.token).where(Link.short_code == code).first()
    return None if row is None else str(row["token"])


def short_url(base_url: str, code: str) -> str:
    """The address a poster prints for typing: the origin, /k/ and the code in two groups of four."""
    return f"{base_url.rstrip('/')}/k/{code[:4]}-{code[4:]}"


# The busiest query of all (every form view and submission). Written out once rather than built by
# Piccolo's query builder, which spent more time composing the joined select than the database ran it.
_FIND_LINK = """
SELECT link.id AS link_id, link.token, link.short_code, link.site, link.revoked_at, link.paused_at,
       campaign.id AS campaign_id, campaign.slug AS campaign_slug, campaign.title, campaign.title_en,
       campaign.purpose, campaign.purpose_en, campaign.status, campaign.opens_at, campaign.closes_at,
       campaign.questionnaire AS questionnaire_id,
       campaign.device_check, campaign.revision_minutes, campaign.invitation_only,
       campaign.link_hourly_limit, campaign.campaign_hourly_limit, campaign.flag_key,
       unit.id AS unit_id, unit.name AS unit_name, unit.name_en AS unit_name_en
FROM link JOIN campaign ON campaign.id = link.campaign JOIN unit ON unit.id = link.unit
WHERE link.token = {}
"""


async def find_link(token: str, now: datetime | None = None) -> PublicLink | None:
    """Resolve a public token; None when no such link exists."""
    if not 16 <= len(token) <= 64:  # cheap refusal of junk before touching the database
        return None
    with quick():
        rows = await Link.raw(_FIND_LINK, token)
    if not rows:
        return None
    row = rows[0]
    state = _state(row, now or datetime.now(UTC))
    for key in ("revoked_at", "paused_at", "status", "opens_at"):
        del row[key]
    row["short_code"] = row["short_code"] or ""
    row["device_check"], row["invitation_only"] = bool(row["device_check"]), bool(row["invitation_only"])
    return PublicLink(state=state, **row)


def _state(row: dict, now: datetime) -> LinkState:
    if row["revoked_at"] is not None:
        return LinkState.revoked
    if row["paused_at"] is not None:
        return LinkState.paused
    if row["status"] == CampaignStatus.closed or (row["closes_at"] and now >= row["closes_at"]):
        return LinkState.closed
    if row["status"] == CampaignStatus.draft or (row["opens_at"] and now < row["opens_at"]):
        return LinkState.not_yet_open
    return LinkState.open


def public_url(base_url: str, token: str) -> str:
    """The address printed into the QR code."""
    return f"{base_url.rstrip('/')}/q/{token}"


async def by_slug(slug: str) -> CampaignInfo | None:
    row = await Campaign.select(*_INFO_COLUMNS).where(Campaign.slug == slug).first()
    return None if row is None else _info(row)


async def all_campaigns() -> list[CampaignInfo]:
    rows = await Campaign.select(*_INFO_COLUMNS).order_by(Campaign.id)
    return [_info(r) for r in rows]


_INFO_COLUMNS = (
    Campaign.id,
    Campaign.slug,
    Campaign.title,
    Campaign.status,
    Campaign.questionnaire,
    Campaign.opens_at,
    Campaign.closes_at,
)


async def using_questionnaires(slugs: list[str]) -> dict[str, list[CampaignInfo]]:
    """For each questionnaire slug, the campaigns using any version of it, oldest first."""
    found: dict[str, list[CampaignInfo]] = {slug: [] for slug in slugs}
    if not slugs:
        return found
    rows = await (
        Campaign.select(*_INFO_COLUMNS, Campaign.questionnaire.slug.as_alias("questionnaire_slug"))
        .where(Campaign.questionnaire.slug.is_in(slugs))
        .order_by(Campaign.id)
    )
    for row in rows:
        found[row.pop("questionnaire_slug")].append(_info(row))
    return found


def _info(row: dict) -> CampaignInfo:
    return CampaignInfo(questionnaire_id=row.pop("questionnaire"), **row)


async def exist() -> bool:
    return bool(await Campaign.exists())


async def links(campaign_slug: str | None = None) -> list[dict]:
    """Active links as {token, site, campaign, unit_code, unit_name}, by campaign then unit code."""
    query = Link.select(
        Link.token,
        Link.site,
        Link.campaign.slug.as_alias("campaign"),
        Link.unit.code.as_alias("unit_code"),
        Link.unit.name.as_alias("unit_name"),
    ).where(Link.revoked_at.is_null())
    if campaign_slug is not None:
        query = query.where(Link.campaign.slug == campaign_slug)
    return await query.order_by(Link.campaign.id).order_by(Link.unit.code).order_by(Link.id)


async def unit_ids(campaign_id: int) -> list[int]:
    """The units a campaign covers, by code."""
    rows = await (
        CampaignUnit.select(CampaignUnit.unit.id.as_alias("id"))
        .where(CampaignUnit.campaign == campaign_id)
        .order_by(CampaignUnit.unit.code)
    )
    return [r["id"] for r in rows]


@dataclass(frozen=True)
class UnitProgress:
    unit_id: int
    code: str
    name: str
    target: int | None
    responses: int


@dataclass(frozen=True)
class CampaignProgress:
    campaign: CampaignInfo
    units: tuple[UnitProgress, ...]

    @property
    def responses(self) -> int:
        return sum(u.responses for u in self.units)


async def progress(visible: AbstractSet[int] | None) -> list[CampaignProgress]:
    """Every campaign with units in `visible` (None = all): completed responses per unit against target."""
    counts = {
        (r["campaign"], r["unit"]): r["count"]
        for r in await Response.select(Response.campaign, Response.unit, Count(Response.id).as_alias("count"))
        .where(Response.status != ResponseStatus.superseded)  # a revision replaces, it does not add
        .group_by(Response.campaign, Response.unit)
    }
    rows = await CampaignUnit.select(
        CampaignUnit.campaign,
        CampaignUnit.target,
        CampaignUnit.unit.id.as_alias("unit_id"),
        CampaignUnit.unit.code.as_alias("code"),
        CampaignUnit.unit.name.as_alias("name"),
    ).order_by(CampaignUnit.unit.code)
    per_campaign: dict[int, list[UnitProgress]] = {}
    for r in rows:
        if visible is None or r["unit_id"] in visible:
            responses = counts.get((r["campaign"], r["unit_id"]), 0)
            unit = UnitProgress(r["unit_id"], r["code"], r["name"], r["target"], responses)
            per_campaign.setdefault(r["campaign"], []).append(unit)
    return [CampaignProgress(c, tuple(per_campaign[c.id])) for c in await all_campaigns() if c.id in per_campaign]


@dataclass(frozen=True)
class QuestionnaireChoice:
    id: int
    slug: str
    version: int
    title: str


async def questionnaire_choices() -> list[QuestionnaireChoice]:
    """Stored questionnaire versions a campaign can use, newest version of each slug first."""
    rows = (
        await QuestionnaireVersion.select(
            QuestionnaireVersion.id, QuestionnaireVersion.slug, QuestionnaireVersion.version, QuestionnaireVersion.title
        )
        .order_by(QuestionnaireVersion.slug)
        .order_by(QuestionnaireVersion.version, ascending=False)
    )
    return [QuestionnaireChoice(**r) for r in rows]


async def target(campaign_id: int, unit_id: int) -> int | None:
    """The number of responses a campaign aims for in a unit (None: no target set)."""
    row = await (
        CampaignUnit.select(CampaignUnit.target)
        .where((CampaignUnit.campaign == campaign_id) & (CampaignUnit.unit == unit_id))
        .first()
    )
    return None if row is None else row["target"]


async def previous_for_unit(campaign_id: int, unit_id: int) -> CampaignInfo | None:
    """The most recent earlier campaign of the same questionnaire (any version) that covered the unit.

    Campaigns are ordered by when they open (their creation when no opening is set), then by id;
    "the previous period" is the one just before `campaign_id` in that order.
    """
    rows = await CampaignUnit.select(
        CampaignUnit.campaign.id.as_alias("id"),
        CampaignUnit.campaign.slug.as_alias("slug"),
        CampaignUnit.campaign.title.as_alias("title"),
        CampaignUnit.campaign.status.as_alias("status"),
        CampaignUnit.campaign._.questionnaire._.id.as_alias("questionnaire"),
        CampaignUnit.campaign._.questionnaire._.slug.as_alias("questionnaire_slug"),
        CampaignUnit.campaign.opens_at.as_alias("opens_at"),
        CampaignUnit.campaign.closes_at.as_alias("closes_at"),
        CampaignUnit.campaign.created_at.as_alias("created_at"),
    ).where(CampaignUnit.unit == unit_id)
    this = next((r for r in rows if r["id"] == campaign_id), None)
    if this is None:
        return None

    def when(row: dict) -> tuple[datetime, int]:
        return (row["opens_at"] or row["created_at"], row["id"])

    earlier = [r for r in rows if r["questionnaire_slug"] == this["questionnaire_slug"] and when(r) < when(this)]
    if not earlier:
        return None
    row = max(earlier, key=when)
    return _info({k: row[k] for k in ("id", "slug", "title", "status", "questionnaire", "opens_at", "closes_at")})


async def in_scope(visible: AbstractSet[int] | None) -> list[CampaignInfo]:
    """Campaigns covering at least one of the `visible` units (None = all), oldest first."""
    if visible is None:
        return await all_campaigns()
    rows = await CampaignUnit.select(CampaignUnit.campaign).where(
        CampaignUnit.unit.is_in(sorted(visible)) if visible else CampaignUnit.id.is_null()
    )
    covering = {r["campaign"] for r in rows}
    return [c for c in await all_campaigns() if c.id in covering]


async def visible_by_slug(slug: str, visible: AbstractSet[int] | None) -> CampaignInfo | None:
    """The campaign when it covers at least one of the `visible` units (None = all); else None (shown as 404)."""
    campaign = await by_slug(slug)
    if campaign is None or visible is None:
        return campaign
    return campaign if set(await unit_ids(campaign.id)) & visible else None
