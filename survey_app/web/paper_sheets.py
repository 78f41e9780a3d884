"""Paper sheets in the back office: print a numbered run of sheets for a unit, and print their labels again."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from survey_app import paper_sheets, parsing, qrcodes, units
from survey_app.i18n import N_, Refusal
from survey_app.web.auth import requires
from survey_app.web.common import STAFF, CampaignScope, provide_scope
from survey_app.web.invitations import SLIPS_PER_PAGE, refused_page


class PaperSheetController(Controller):
    path = "/staff/campaigns/{slug:str}/paper"
    include_in_schema = False
    guards = [requires(*STAFF)]
    dependencies = {"campaign_scope": Provide(provide_scope)}

    @post("/", name="paper:issue")
    async def issue(
        self,
        request: Request[Any, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Issue a numbered run of paper sheets for one of the member's units (audited), then show its labels."""
        slug = campaign_scope.campaign.slug
        unit_id, count = parsing.row_id(data.get("unit")), parsing.integer(data.get("count"))
        if unit_id is not None and not campaign_scope.units.covers(unit_id):
            raise NotFoundException()
        try:
            if unit_id is None:
                raise Refusal(N_("请选择单位。"))
            batch = await paper_sheets.issue(campaign_scope.campaign.id, unit_id, count or 0, request.user.username)
        except Refusal as exc:
            return refused_page(campaign_scope, exc, N_("纸质问卷"))
        return Redirect(path=f"/staff/campaigns/{slug}/paper/{batch}", status_code=303)

    @get("/{print_run:str}", name="paper:labels")
    async def labels(self, campaign_scope: NamedDependency[CampaignScope], print_run: FromPath[str]) -> Template:
        """The run as A4 pages of labels, one per paper questionnaire: number, serial with its check symbol, QR."""
        found = await paper_sheets.batch_sheets(campaign_scope.campaign.id, print_run)
        if found is None or not campaign_scope.units.covers(found[0]):
            raise NotFoundException()
        unit_id, sheets = found
        unit = (await units.by_ids([unit_id]))[unit_id]
        cards = [{"sheet": s, "qr_svg": qrcodes.svg(s.serial).decode()} for s in sheets]
        pages = [cards[i : i + SLIPS_PER_PAGE] for i in range(0, len(cards), SLIPS_PER_PAGE)]
        context = {"c": campaign_scope.campaign, "unit_name": unit.name, "pages": pages}
        return Template("staff/paper_labels.html", context=context)
