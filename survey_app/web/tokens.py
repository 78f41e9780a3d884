"""The back office's API tokens page (admins of every unit only): list, create (shown once), revoke."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import tokens, units
from survey_app.accounts import StaffMember
from survey_app.i18n import N_
from survey_app.tables import Role
from survey_app.web.auth import requires, requires_full_scope

STATES = {"active": N_("有效"), "expired": N_("已过期"), "revoked": N_("已吊销")}


class TokenController(Controller):
    path = "/staff/tokens"
    include_in_schema = False
    guards = [requires(Role.admin), requires_full_scope]

    @get("/", name="tokens:list")
    async def list_tokens(self) -> Template:
        return await _page()

    @post("/", name="tokens:create")
    async def create_token(
        self, request: Request[StaffMember, Any, Any], data: URLEncodedBody[dict[str, Any]]
    ) -> Template:
        """Create a token; the page shows it this once."""
        values = {k: data.get(k, "") for k in ("name", "unit_code", "read", "days", "per_minute")}
        chosen = data.get("writes", [])
        values["writes"] = chosen if isinstance(chosen, list) else [chosen]
        try:
            created = await tokens.create(
                str(values["name"]),
                actor=request.user.username,
                unit_code=str(values["unit_code"]) or None,
                can_read=values["read"] == "yes",
                writes=[str(w) for w in values["writes"]],
                days=_number(values["days"]),
                minute_limit=_number(values["per_minute"]),
            )
        except tokens.TokenError as exc:
            return await _page(values=values, error=exc, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        return await _page(created=created)

    @post("/{name:str}/revoke", name="tokens:revoke")
    async def revoke_token(self, request: Request[StaffMember, Any, Any], name: FromPath[str]) -> Template | Redirect:
        try:
            await tokens.revoke(name, actor=request.user.username)
        except tokens.TokenError as exc:
            return await _page(error=exc, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        return Redirect(path="/staff/tokens", status_code=303)


def _number(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0  # refused by tokens.create with the field's range


async def _page(
    *, created: str | None = None, values: dict[str, Any] | None = None, error: Any = None, status_code: int = 200
) -> Template:
    context = {
        "tokens": await tokens.listing(),
        "units": await units.listing(),
        "writes": tokens.WRITES,
        "states": STATES,
        "created": created,
        "values": values or {},
        "error": error,
        "max_days": tokens.MAX_DAYS,
        "default_days": tokens.DEFAULT_DAYS,
        "default_limit": tokens.DEFAULT_MINUTE_LIMIT,
    }
    return Template("staff/tokens.html", context=context, status_code=status_code)
