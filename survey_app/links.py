"""QR links seen from the back office: listing them with their progress, adding, pausing, resuming and
revoking them (a revoked link never takes answers again; a paused one does once resumed)."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime

from piccolo.query.functions.aggregate import Count

from survey_app import audit
from survey_app.campaigns import CampaignError, new_link
from survey_app.db import writing
from survey_app.i18n import N_
from survey_app.tables import CampaignUnit, Link, Response, ResponseStatus


@dataclass(frozen=True)
class LinkRow:
    id: int
    token: str
    site: str
    short_code: str
    unit_id: int
    unit_code: str
    unit_name: str
    revoked: bool
    paused: bool
    scans: int
    starts: int
    completed: int
    limited: int = 0  # answers turned away by an hourly limit (survey_app/ballots.py)


async def for_campaign(campaign_id: int, visible: AbstractSet[int] | None) -> list[LinkRow]:
    """The campaign's links for units in `visible` (None = all), by unit code, with their counts."""
    completed = {
        r["link"]: r["n"]
        for r in await Response.select(Response.link, Count(Response.id).as_alias("n"))
        .where((Response.campaign == campaign_id) & (Response.status != ResponseStatus.superseded))
        .group_by(Response.link)
    }
    rows = await (
        Link.select(
            Link.id,
            Link.token,
            Link.short_code,
            Link.site,
            Link.revoked_at,
            Link.paused_at,
            Link.scans,
            Link.starts,
            Link.limited,
            Link.unit.id.as_alias("unit_id"),
            Link.unit.code.as_alias("unit_code"),
            Link.unit.name.as_alias("unit_name"),
        )
        .where(Link.campaign == campaign_id)
        .order_by(Link.unit.code)
        .order_by(Link.id)
    )
    return [
        LinkRow(
            id=r["id"],
            token=r["token"],
            short_code=r["short_code"] or "",
            site=r["site"],
            unit_id=r["unit_id"],
            unit_code=r["unit_code"],
            unit_name=r["unit_name"],
            revoked=r["revoked_at"] is not None,
            paused=r["paused_at"] is not None,
            scans=r["scans"],
            starts=r["starts"],
            completed=completed.get(r["id"], 0),
            limited=r["limited"],
        )
        for r in rows
        if visible is None or r["unit_id"] in visible
    ]


async def owner(token: str) -> tuple[int, int] | None:
    """(campaign id, unit id) of a link, for scope checks; None if there is no such link."""
    row = await Link.select(Link.campaign, Link.unit).where(Link.token == token).first()
    return None if row is None else (row["campaign"], row["unit"])


async def add(campaign_id: int, unit_id: int, site: str, actor: str) -> str:
    """Issue another link for a unit (a second poster site, or a replacement); return its token."""
    site = site.strip()[:100]
    async with writing():
        covered = await CampaignUnit.exists().where(
            (CampaignUnit.campaign == campaign_id) & (CampaignUnit.unit == unit_id)
        )
        if not covered:
            raise CampaignError(N_("该评议活动不包括这个单位。"))
        link = new_link(campaign_id, unit_id, site)
        await link.save()
        after = {"campaign": campaign_id, "unit": unit_id, "site": site}
        await audit.record(actor, "link.create", "link", link.id, after=after)
    return str(link.token)


async def pause(token: str, actor: str, paused: bool) -> None:
    """Stop a link taking answers for now (`paused`), or let it take them again; audited, and undone by
    the other. A revoked link stays revoked."""
    async with writing():
        row = await Link.select(Link.id, Link.revoked_at, Link.paused_at).where(Link.token == token).first()
        if row is None or row["revoked_at"] is not None or (row["paused_at"] is not None) == paused:
            return
        now = datetime.now(UTC) if paused else None
        await Link.update({Link.paused_at: now}).where(Link.id == row["id"])
        action = "link.pause" if paused else "link.resume"
        await audit.record(
            actor, action, "link", row["id"], before={"paused_at": row["paused_at"]}, after={"paused_at": now}
        )


async def revoke(token: str, actor: str) -> None:
    """Stop a link from accepting answers (its poster was torn down or misused); answers already given stay."""
    async with writing():
        row = await Link.select(Link.id, Link.revoked_at).where(Link.token == token).first()
        if row is None or row["revoked_at"] is not None:
            return
        now = datetime.now(UTC)
        await Link.update({Link.revoked_at: now}).where(Link.id == row["id"])
        await audit.record(
            actor, "link.revoke", "link", row["id"], before={"revoked_at": None}, after={"revoked_at": now}
        )
