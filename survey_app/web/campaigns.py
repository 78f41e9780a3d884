"""Campaigns in the back office: create one for a subtree, open and close it, manage its QR links,
print its posters and download its QR images."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from analysis.sampling import sample_size_for_proportion
from survey_app import (
    accounts,
    ballots,
    campaigns,
    duties,
    invitations,
    links,
    localtime,
    paper_sheets,
    parsing,
    qrcodes,
    quarantine,
    units,
)
from survey_app.accounts import StaffMember
from survey_app.campaigns import CampaignError
from survey_app.i18n import N_, Refusal
from survey_app.tables import CampaignStatus, InsideEntry, Role, UnitKind
from survey_app.web.auth import requires
from survey_app.web.common import (
    STAFF,
    CampaignScope,
    Said,
    base_url,
    confirmation,
    confirmed,
    pending_lines,
    provide_scope,
)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
DEFAULT_TARGET = 60


class CampaignController(Controller):
    path = "/staff/campaigns"
    include_in_schema = False
    guards = [requires(Role.admin, Role.worker, Role.assessor)]
    dependencies = {"campaign_scope": Provide(provide_scope)}

    @get("/new", name="campaigns:new", guards=[requires(*STAFF)])
    async def new(self, request: Request[StaffMember, Any, Any]) -> Template:
        return await _form_page(request.user, {}, None)

    @post("/new", name="campaigns:create", guards=[requires(*STAFF)])
    async def create(
        self, request: Request[StaffMember, Any, Any], data: URLEncodedBody[dict[str, Any]]
    ) -> Template | Redirect:
        """Create a campaign for the chosen units, or show the form again with the reason."""
        try:
            slug = await _create_from_form(request.user, data)
        except CampaignError as exc:
            return await _form_page(request.user, data, exc)
        return Redirect(path=f"/staff/campaigns/{slug}", status_code=303)

    @get("/{slug:str}", name="campaigns:show")
    async def show(
        self, request: Request[StaffMember, Any, Any], campaign_scope: NamedDependency[CampaignScope]
    ) -> Template:
        """Status, period, and every link of the member's units with scans, starts and completed answers."""
        return await _campaign_page(request.user, campaign_scope)

    @post("/{slug:str}/ballots", name="campaigns:ballots", guards=[requires(*STAFF)])
    async def change_ballots(
        self,
        request: Request[StaffMember, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Switch the device check and invitation codes, set the revision window and hourly limits (audited)."""
        if not campaign_scope.may_run:
            raise NotFoundException()
        try:
            await ballots.change_settings(campaign_scope.campaign.id, _ballot_settings(data), request.user.username)
        except Refusal as exc:
            return await _campaign_page(request.user, campaign_scope, error=exc)
        return Redirect(path=f"/staff/campaigns/{campaign_scope.campaign.slug}", status_code=303)

    @post("/{slug:str}/duties", name="campaigns:duties", guards=[requires(*STAFF)])
    async def change_duties(
        self,
        request: Request[StaffMember, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Redirect:
        """Hold or refuse answers entered by the rated unit's own staff (audited); both keep them out of scores."""
        if not campaign_scope.may_run:
            raise NotFoundException()
        rule = str(data.get("inside_entry", ""))
        if rule not in {r.value for r in InsideEntry}:
            raise ValidationException("unknown rule")
        await duties.set_rule(campaign_scope.campaign.id, InsideEntry(rule), request.user.username)
        return Redirect(path=f"/staff/campaigns/{campaign_scope.campaign.slug}", status_code=303)

    @post("/{slug:str}/status", name="campaigns:status", guards=[requires(*STAFF)])
    async def set_status(
        self,
        request: Request[StaffMember, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Redirect:
        status = data.get("status")
        if not campaign_scope.may_run:
            raise NotFoundException()
        if status not in {s.value for s in CampaignStatus}:
            raise ValidationException("unknown status")
        if status == CampaignStatus.closed and not confirmed(data):
            return Redirect(path=f"/staff/campaigns/{campaign_scope.campaign.slug}/close", status_code=303)
        await campaigns.set_status(campaign_scope.campaign.id, CampaignStatus(status), request.user.username)
        return Redirect(path=f"/staff/campaigns/{campaign_scope.campaign.slug}", status_code=303)

    @get("/{slug:str}/close", name="campaigns:confirm_close", guards=[requires(*STAFF)])
    async def confirm_close(self, campaign_scope: NamedDependency[CampaignScope]) -> Template:
        """What ending the campaign does, and what still waits in it."""
        c = campaign_scope.campaign
        if not campaign_scope.may_run:
            raise NotFoundException()
        will = [
            Said(N_("“%(title)s”的所有二维码不再接收评价，居民扫码会看到“本次评议已结束”。"), {"title": c.title}),
            Said(N_("已收到的答卷都保留；需要时可以在评议活动页面重新开始。")),
        ]
        return confirmation(
            N_("结束评议"),
            will,
            pending_lines(await quarantine.pending([c.id]), campaigns=False),
            action=f"/staff/campaigns/{c.slug}/status",
            back=f"/staff/campaigns/{c.slug}",
            button=N_("确认结束评议"),
            fields={"status": CampaignStatus.closed.value},
        )

    @post("/{slug:str}/links", name="campaigns:add_link", guards=[requires(*STAFF)])
    async def add_link(
        self,
        request: Request[StaffMember, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Redirect:
        """Issue a link for one unit, e.g. for a second poster site."""
        unit_id = parsing.row_id(data.get("unit"))
        if unit_id is None:
            raise ValidationException("choose a unit")
        if not campaign_scope.units.covers(unit_id):
            raise NotFoundException()
        await links.add(campaign_scope.campaign.id, unit_id, str(data.get("site", "")), request.user.username)
        return Redirect(path=f"/staff/campaigns/{campaign_scope.campaign.slug}", status_code=303)

    @post("/{slug:str}/links/{token:str}/pause", name="campaigns:pause_link", guards=[requires(*STAFF)])
    async def pause_link(
        self,
        request: Request[StaffMember, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        token: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Redirect:
        """Pause a link (its poster taken down for a while), or resume it: audited, and undone by the other."""
        await _own_link(campaign_scope, token)
        if data.get("paused") not in ("1", "0"):
            raise ValidationException("paused must be 1 or 0")
        await links.pause(token, request.user.username, paused=data["paused"] == "1")
        return Redirect(path=f"/staff/campaigns/{campaign_scope.campaign.slug}", status_code=303)

    @get("/{slug:str}/links/{token:str}/revoke", name="campaigns:confirm_revoke", guards=[requires(*STAFF)])
    async def confirm_revoke(self, campaign_scope: NamedDependency[CampaignScope], token: FromPath[str]) -> Template:
        """What revoking a link for good does, and that pausing is the way to stop it for a while."""
        row = await _own_link(campaign_scope, token)
        slug = campaign_scope.campaign.slug
        will = [
            Said(
                N_("“%(unit)s”%(site)s的二维码永久停用：扫码显示“此二维码已停用”，不能恢复。"),
                {"unit": row.unit_name, "site": f"（{row.site}）" if row.site else ""},
            ),
            Said(N_("它已收到的 %(n)s 份答卷保留。"), {"n": row.completed}),
            Said(N_("如只是暂时撤下海报，请返回并选择“暂停”，之后可以恢复。")),
        ]
        return confirmation(
            N_("永久停用二维码"),
            will,
            [],
            action=f"/staff/campaigns/{slug}/links/{token}/revoke",
            back=f"/staff/campaigns/{slug}",
            button=N_("确认永久停用"),
        )

    @post("/{slug:str}/links/{token:str}/revoke", name="campaigns:revoke_link", guards=[requires(*STAFF)])
    async def revoke_link(
        self,
        request: Request[StaffMember, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        token: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Redirect:
        """Revoke a link for good, once confirmed; without the confirmation, show what it would do."""
        await _own_link(campaign_scope, token)
        slug = campaign_scope.campaign.slug
        if not confirmed(data):
            return Redirect(path=f"/staff/campaigns/{slug}/links/{token}/revoke", status_code=303)
        await links.revoke(token, request.user.username)
        return Redirect(path=f"/staff/campaigns/{slug}", status_code=303)

    @get("/{slug:str}/posters", name="campaigns:posters")
    async def posters(
        self,
        request: Request[StaffMember, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        unit: FromQuery[str] = "",
    ) -> Template:
        """One A4 poster per active link (of `unit`'s subtree if given), ready for print-to-PDF."""
        base = base_url(request)
        sheets = [
            {
                "link": link,
                "url": campaigns.public_url(base, link.token),
                "typed_url": campaigns.short_url(base, link.short_code)
                if link.short_code
                else campaigns.public_url(base, link.token),
                "qr_svg": qrcodes.svg(campaigns.public_url(base, link.token)).decode(),
            }
            for link in await _active_links(campaign_scope, unit)
        ]
        return Template("staff/posters.html", context={"c": campaign_scope.campaign, "sheets": sheets})

    @get("/{slug:str}/qr.zip", name="campaigns:qr_zip")
    async def qr_zip(
        self,
        request: Request[StaffMember, Any, Any],
        campaign_scope: NamedDependency[CampaignScope],
        unit: FromQuery[str] = "",
    ) -> Response[bytes]:
        """SVG and PNG of every active link (of `unit`'s subtree if given), named by unit code and site."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for link in await _active_links(campaign_scope, unit):
                url = campaigns.public_url(base_url(request), link.token)
                name = f"{link.unit_code}-{_file_safe(link.site) or link.token[:6]}"
                archive.writestr(f"{name}.svg", qrcodes.svg(url))
                archive.writestr(f"{name}.png", qrcodes.png(url))
        headers = {"Content-Disposition": f'attachment; filename="{campaign_scope.campaign.slug}-qr.zip"'}
        return Response(buffer.getvalue(), media_type="application/zip", headers=headers)


async def _own_link(scope: CampaignScope, token: str) -> links.LinkRow:
    """The campaign's link `token` if the member may change it; 404 otherwise."""
    rows = await links.for_campaign(scope.campaign.id, scope.visible)
    row = next((r for r in rows if r.token == token), None)
    if row is None:
        raise NotFoundException()
    return row


async def _campaign_page(user: StaffMember, scope: CampaignScope, error: Refusal | None = None) -> Template:
    rows = await links.for_campaign(scope.campaign.id, scope.visible)
    context = {
        "c": scope.campaign,
        "may_run": scope.may_run,
        "links": rows,
        "may_edit": user.role in STAFF,
        "link_units": sorted({(r.unit_id, r.unit_name, r.unit_code) for r in rows}, key=lambda u: u[2]),
        "poster_roots": await units.listing(scope.visible),
        "one_day": timedelta(days=1),
        "ballots": await ballots.settings_of(scope.campaign.id),
        "inside_entry": await duties.rule_of(scope.campaign.id),
        "batches": await invitations.batches(scope.campaign.id, scope.visible) if user.role in STAFF else [],
        "max_batch": invitations.MAX_BATCH,
        "paper_batches": await paper_sheets.batches(scope.campaign.id, scope.visible) if user.role in STAFF else [],
        "max_paper": paper_sheets.MAX_BATCH,
        "error": error,
    }
    return Template("staff/campaign.html", context=context, status_code=HTTP_422_UNPROCESSABLE_ENTITY if error else 200)


def _ballot_settings(data: dict[str, Any]) -> ballots.BallotSettings:
    """The settings form as settings; a number that is not one is refused with a message."""
    values: dict[str, int | None] = {}
    for name in ("revision_minutes", "link_hourly_limit", "campaign_hourly_limit"):
        text = str(data.get(name, "")).strip()
        values[name] = parsing.integer(text) if text else None
        if text and values[name] is None:
            raise Refusal(N_("请填写整数。"))
    return ballots.BallotSettings(
        device_check=data.get("device_check") == "on",
        revision_minutes=values["revision_minutes"] or 0,
        invitation_only=data.get("invitation_only") == "on",
        link_hourly_limit=values["link_hourly_limit"],
        campaign_hourly_limit=values["campaign_hourly_limit"],
    )


async def _active_links(campaign_scope: CampaignScope, unit_code: str) -> list[links.LinkRow]:
    """The campaign's active links the member may see, limited to `unit_code`'s subtree if given."""
    rows = await links.for_campaign(campaign_scope.campaign.id, campaign_scope.visible)
    if unit_code:
        root = await units.by_code(unit_code)
        if root is None:
            raise NotFoundException()
        inside = await units.subtree_ids(root.id)
        rows = [r for r in rows if r.unit_id in inside]
    return [r for r in rows if not r.revoked]


def _file_safe(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text).strip("_")


async def _form_page(user: StaffMember, values: dict[str, Any], error: CampaignError | None) -> Template:
    visible = await accounts.visible_unit_ids(user)
    context = {
        "values": values,
        "error": error,
        "questionnaires": await campaigns.questionnaire_choices(),
        "roots": await units.listing(visible),
        "kinds": [k.value for k in UnitKind],
    }
    return Template(
        "staff/campaign_new.html", context=context, status_code=HTTP_422_UNPROCESSABLE_ENTITY if error else 200
    )


async def _create_from_form(user: StaffMember, data: dict[str, Any]) -> str:
    """Check the form and create the campaign; raise CampaignError with the reason otherwise."""
    slug, title = str(data.get("slug", "")).strip(), str(data.get("title", "")).strip()
    if not SLUG.match(slug):
        raise CampaignError(N_("代码须为 2–63 个小写字母、数字或横线，例如 community-2026-q1。"))
    if not title:
        raise CampaignError(N_("请填写评议活动名称。"))
    questionnaire_id, root = parsing.row_id(data.get("questionnaire")), parsing.row_id(data.get("root"))
    if questionnaire_id is None or questionnaire_id not in {q.id for q in await campaigns.questionnaire_choices()}:
        raise CampaignError(N_("请选择问卷。"))
    opens, closes = _date(data.get("opens")), _date(data.get("closes"))
    if opens is None or closes is None:
        raise CampaignError(N_("请填写开始和结束日期。"))
    scope = await accounts.unit_scope(user)
    if root is None or not scope.covers(root):
        raise CampaignError(N_("请选择单位。"))
    kind = str(data.get("kind", "")) or None
    chosen = [u for u in await units.descendants(root, kind) if scope.covers(u.id)]
    return await _create(user, slug, title, questionnaire_id, chosen, opens, closes, data)


async def _create(
    user: StaffMember,
    slug: str,
    title: str,
    questionnaire_id: int,
    chosen: list[Any],
    opens: date,
    closes: date,
    data: dict[str, Any],
) -> str:
    margin = _percent(data.get("margin"))
    fixed = parsing.integer(data.get("target")) or DEFAULT_TARGET
    targets = {
        u.id: sample_size_for_proportion(margin, u.population) if margin and u.population else fixed for u in chosen
    }
    await campaigns.create(
        slug,
        questionnaire_id,
        title,
        [u.id for u in chosen],
        title_en=str(data.get("title_en", "")).strip(),
        purpose=str(data.get("purpose", "")).strip(),
        purpose_en=str(data.get("purpose_en", "")).strip(),
        status=CampaignStatus.draft,
        opens_at=localtime.start_of(opens),  # dates typed are the city's: 00:00 on the first day
        closes_at=localtime.start_of(closes + timedelta(days=1)),  # to 24:00 on the last
        targets=targets,
        actor=user.username,
    )
    return slug


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _percent(value: Any) -> float | None:
    """A margin of error typed as percentage points (e.g. "5" for ±5 %), as a proportion."""
    try:
        margin = float(str(value)) / 100
    except ValueError:
        return None
    return margin if 0 < margin < 1 else None
