"""Invitation codes in the back office: issue a batch for a unit, print its sheet of slips."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import campaigns, invitations, links, parsing, qrcodes
from survey_app.i18n import N_, Refusal
from survey_app.web.auth import requires
from survey_app.web.common import STAFF, CampaignScope, base_url, provide_scope

# Ten slips (2 × 5) fill an A4 page with room for a QR code a phone reads at arm's length.
SLIPS_PER_PAGE = 10


class InvitationController(Controller):
    path = "/staff/campaigns/{slug:str}/invitations"
    include_in_schema = False
    guards = [requires(*STAFF)]
    dependencies = {"campaign_scope": Provide(provide_scope)}

    @post("/", name="invitations:create")
    async def create(
        self,
        request: Request[Any, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Issue a batch of one-time codes for one of the member's units, then show its sheet."""
        slug = campaign_scope.campaign.slug
        unit_id, count = parsing.row_id(data.get("unit")), parsing.integer(data.get("count"))
        if unit_id is not None and not campaign_scope.units.covers(unit_id):
            raise NotFoundException()
        try:
            if unit_id is None:
                raise Refusal(N_("请选择单位。"))
            batch = await invitations.create_batch(
                campaign_scope.campaign.id, unit_id, count or 0, request.user.username
            )
        except Refusal as exc:
            return refused_page(campaign_scope, exc)
        return Redirect(path=f"/staff/campaigns/{slug}/invitations/{batch}", status_code=303)

    @get("/{batch:str}", name="invitations:sheet")
    async def sheet(
        self,
        request: Request[Any, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        batch: FromPath[str],
    ) -> Template:
        """The batch as A4 pages of slips to cut: each with its code and a QR code that carries it."""
        found = await invitations.batch_slips(campaign_scope.campaign.id, batch)
        if found is None or not campaign_scope.units.covers(found[0]):
            raise NotFoundException()
        unit_id, slips = found
        link = next(
            (
                r
                for r in await links.for_campaign(campaign_scope.campaign.id, None)
                if r.unit_id == unit_id and not r.revoked
            ),
            None,
        )
        if link is None:
            return refused_page(campaign_scope, Refusal(N_("这个单位没有可用的二维码，请先生成一个。")))
        url = campaigns.public_url(base_url(request), link.token)
        cards = [
            {"slip": s, "url": f"{url}?code={s.code}", "qr_svg": qrcodes.svg(f"{url}?code={s.code}").decode()}
            for s in slips
        ]
        pages = [cards[i : i + SLIPS_PER_PAGE] for i in range(0, len(cards), SLIPS_PER_PAGE)]
        context = {
            "c": campaign_scope.campaign,
            "unit_name": link.unit_name,
            "url": url,
            "pages": pages,
            "batch": batch,
        }
        return Template("staff/invitation_sheet.html", context=context)


def refused_page(campaign_scope: CampaignScope, error: Refusal, heading: str = N_("邀请码")) -> Template:
    """Why a batch (of invitation codes, or of paper sheets: `heading`) was not issued."""
    context = {"c": campaign_scope.campaign, "error": error, "heading": heading}
    return Template("staff/invitations_refused.html", context=context, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
