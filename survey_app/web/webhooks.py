"""The back office's webhooks page (admins of every unit only): addresses, their queues, dead letters, redelivery."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import units, webhooks
from survey_app.accounts import StaffMember
from survey_app.tables import Role
from survey_app.web.auth import requires, requires_full_scope


class WebhookController(Controller):
    path = "/staff/webhooks"
    include_in_schema = False
    guards = [requires(Role.admin), requires_full_scope]

    @get("/", name="webhooks:list")
    async def list_webhooks(self) -> Template:
        return await _page()

    @post("/", name="webhooks:create")
    async def create_webhook(
        self, request: Request[StaffMember, Any, Any], data: URLEncodedBody[dict[str, Any]]
    ) -> Template:
        """Create a webhook; the page shows its signing secret this once."""
        chosen = data.get("events", [])
        values = {k: str(data.get(k, "")) for k in ("name", "url", "unit_code")}
        events = [str(e) for e in (chosen if isinstance(chosen, list) else [chosen])]
        try:
            secret = await webhooks.create(
                values["name"],
                values["url"],
                events,
                actor=request.user.username,
                unit_code=values["unit_code"] or None,
            )
        except webhooks.WebhookError as exc:
            shown = {**values, "events": events}
            return await _page(values=shown, error=exc, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        return await _page(secret=secret, created=values["name"])

    @post("/{name:str}/{action:str}", name="webhooks:switch")
    async def switch(
        self, request: Request[StaffMember, Any, Any], name: FromPath[str], action: FromPath[str]
    ) -> Template | Redirect:
        """Pause or resume a webhook."""
        if action not in ("pause", "resume"):
            return await _page(status_code=404)
        try:
            await webhooks.set_active(name, action == "resume", actor=request.user.username)
        except webhooks.WebhookError as exc:
            return await _page(error=exc, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        return Redirect(path="/staff/webhooks", status_code=303)

    @post("/deliveries/{delivery_id:int}/redeliver", name="webhooks:redeliver")
    async def redeliver(
        self, request: Request[StaffMember, Any, Any], delivery_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            await webhooks.redeliver(delivery_id, actor=request.user.username)
        except webhooks.WebhookError as exc:
            return await _page(error=exc, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        return Redirect(path="/staff/webhooks", status_code=303)


async def _page(
    *,
    secret: str | None = None,
    created: str | None = None,
    values: dict[str, Any] | None = None,
    error: Any = None,
    status_code: int = 200,
) -> Template:
    context = {
        "hooks": await webhooks.listing(),
        "dead": await webhooks.dead_letters(),
        "units": await units.listing(),
        "events": webhooks.EVENTS,
        "secret": secret,
        "created": created,
        "values": values or {},
        "error": error,
    }
    return Template("staff/webhooks.html", context=context, status_code=status_code)
