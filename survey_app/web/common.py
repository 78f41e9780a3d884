"""What the controllers share: the public origin, the dependencies that resolve a link, a campaign or a
report in the member's scope, downloads, and the labels of case states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from litestar.status_codes import HTTP_403_FORBIDDEN, HTTP_410_GONE

from survey_app import accounts, campaigns, parsing, quarantine, results
from survey_app.accounts import StaffMember, UnitScope
from survey_app.assessment import rules
from survey_app.campaigns import CampaignInfo, LinkState, PublicLink
from survey_app.i18n import N_, gettext
from survey_app.reporting import campaign_report
from survey_app.settings import get_settings
from survey_app.tables import Channel, Role

STAFF = (Role.admin, Role.worker)


# 大字版 (large type, MIIT 适老化): chosen with /size/large or /size/standard, kept in this cookie.
TEXT_SIZE_COOKIE = "size"
LARGE = "large"
TEXT_SIZES = (LARGE, "standard")
_SIZE_NOW = "minping.text_size"  # set when this very request changed the size (a form's switch)


def large_type(request: Request[Any, Any, Any]) -> bool:
    """Whether this reader asked for the large-type pages (templates: `large_type(request)`)."""
    return (request.scope.get("state", {}).get(_SIZE_NOW) or request.cookies.get(TEXT_SIZE_COOKIE)) == LARGE


def use_text_size(request: Request[Any, Any, Any], size: str) -> None:
    """Show this request's page in `size` already (its cookie applies from the next request on)."""
    request.scope.setdefault("state", {})[_SIZE_NOW] = size


def base_url(request: Request[Any, Any, Any]) -> str:
    """The configured public origin, or the address this request reached."""
    return get_settings().public_base_url or str(request.base_url).rstrip("/")


def path_ids_in_range(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard on every route: an integer in the address beyond what an id column holds names nothing
    (404), and is never handed to a lookup (SQLite would raise OverflowError, PostgreSQL DataError)."""
    for value in connection.path_params.values():
        if isinstance(value, int) and parsing.row_id(value) is None:
            raise NotFoundException()


async def provide_link(token: FromPath[str]) -> PublicLink:
    link = await campaigns.find_link(token)
    if link is None:
        raise NotFoundException("unknown link")
    return link


STATE_STATUS = {
    LinkState.closed: HTTP_410_GONE,
    LinkState.revoked: HTTP_410_GONE,
    LinkState.paused: HTTP_403_FORBIDDEN,
    LinkState.not_yet_open: HTTP_403_FORBIDDEN,
}


@dataclass(frozen=True)
class CampaignScope:
    """A campaign as one member sees it: the units of it they may see, and whether they may run it."""

    campaign: CampaignInfo
    units: UnitScope
    may_run: bool  # change status: an admin, or a worker whose scope covers every unit of it

    @property
    def visible(self) -> frozenset[int] | None:
        """The ids of the member's units, None for all: what the domain's listings filter by."""
        return self.units.ids


async def provide_scope(slug: FromPath[str], request: Request[StaffMember, Any, Any]) -> CampaignScope:
    campaign = await campaigns.by_slug(slug)
    scope = await accounts.unit_scope(request.user)
    covered = set(await campaigns.unit_ids(campaign.id)) if campaign else set()
    if campaign is None or not scope.covers_any(covered):
        raise NotFoundException()
    may_run = request.user.role == Role.admin or (request.user.role == Role.worker and scope.covers_all(covered))
    return CampaignScope(campaign, scope, may_run)


async def provide_rule(slug: FromPath[str]) -> campaign_report.SampleRule:
    """The sample-size rule the campaign's pages score by and state: its scheme's, else Minping's."""
    return await rules.of_campaign(slug)


async def provide_report(
    slug: FromPath[str], request: Request[StaffMember, Any, Any], channel: FromQuery[str] = ""
) -> campaign_report.Report:
    """The campaign's report by its rule over the member's units, from all channels or those in
    `?channel=qr,paper`; 404 when the campaign has none of the member's units."""
    chosen = [c for c in channel.split(",") if c] or None
    if chosen and not set(chosen) <= {c.value for c in Channel}:
        raise ValidationException("unknown channel")
    try:
        report = await results.campaign_report_of(slug, chosen, rule=await provide_rule(slug))
    except campaign_report.ReportError as exc:
        raise NotFoundException(str(exc)) from exc
    visible = campaign_report.restrict(report, await accounts.visible_unit_ids(request.user))
    if visible is None:
        raise NotFoundException()
    return visible


# Irreversible steps (sealing, closing, revoking, excluding) post this field from their confirmation page;
# a post without it changes nothing and shows that page.
CONFIRM_FIELD = "_confirmed"


@dataclass(frozen=True)
class Said:
    """A sentence to show: a Chinese msgid with its %-parameters, translated in the template."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)


def confirmation(
    title: str,
    will: list[Said],
    pending: list[Said],
    *,
    action: str,
    back: str,
    button: str,
    fields: dict[str, str] | None = None,
) -> Template:
    """The page between a button and an irreversible step: what will happen, what is still pending,
    and one button that does it (posting `fields` and the confirmation) or a way back."""
    context = {
        "title": title,
        "will": will,
        "pending": pending,
        "action": action,
        "back": back,
        "button": button,
        "fields": {**(fields or {}), CONFIRM_FIELD: "yes"},
    }
    return Template("staff/confirm.html", context=context)


def confirmed(data: dict[str, Any]) -> bool:
    return data.get(CONFIRM_FIELD) == "yes"


def pending_lines(waiting: quarantine.Pending, *, campaigns: bool = True) -> list[Said]:
    """What still waits, as the confirmation page says it."""
    lines = []
    if waiting.quarantined:
        lines.append(Said(N_("%(n)s 份答卷仍在答卷复核中，尚未计入得分。"), {"n": waiting.quarantined}))
    if waiting.appeals:
        lines.append(Said(N_("%(n)s 件差评申诉尚未复核。"), {"n": waiting.appeals}))
    if campaigns:
        lines += [Said(N_("评议活动“%(title)s”仍在进行，还会收到答卷。"), {"title": t}) for t in waiting.open_campaigns]
    return lines


CSV = "text/csv"  # Litestar adds "; charset=utf-8" to text types itself
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_headers(filename: str) -> dict[str, str]:
    # Slugs are [a-z0-9-] by construction, so the name needs no quoting beyond the quotes.
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


def download(content: bytes, media_type: str, filename: str) -> Response[bytes]:
    return Response(content, media_type=media_type, headers=download_headers(filename))


CAMPAIGN_STATUS_LABELS = {"draft": N_("草稿"), "open": N_("进行中"), "closed": N_("已结束")}
# The 0–100 mappings a report names (analysis.IndexMapping.name), as readers say them.
MAPPING_LABELS = {"linear": N_("线性换算"), "points-100-20": N_("百分制（100/80/60/40/20）")}


def mapping_name(name: str) -> str:
    """A report's index mapping in the reader's language (templates: `mapping_name`); unknown ones as named."""
    return gettext(MAPPING_LABELS[name]) if name in MAPPING_LABELS else name


STATE_LABELS = {
    "new": N_("待回访"),
    "verified": N_("已回访核实"),
    "rectifying": N_("整改中"),
    "resolved": N_("已整改"),
    "explained": N_("已解释说明"),
    "excluded": N_("申诉成立，不计入"),
    "superseded": N_("居民已修改评价"),
}
