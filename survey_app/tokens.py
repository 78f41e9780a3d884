"""API tokens for other systems (a 12345 hotline, a city data platform): created by an admin, shown once.

A token reads `mp_<prefix>_<secret>`: the prefix finds its row, and the row keeps only an HMAC-SHA256
of the whole token under the deployment's secret key (a stolen database alone neither reveals nor
lets anyone test tokens; changing the secret key invalidates every token). A token carries a scope
like a staff member's: a unit subtree (or every unit), reading or not, and named writes (`WRITES`).
It expires (at most `MAX_DAYS` after creation) and can be revoked; both are audited, and so is
every write a token makes (its actor is `token:<name>`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from survey_app import audit
from survey_app.accounts import StaffMember
from survey_app.db import writing
from survey_app.i18n import N_, Refusal
from survey_app.settings import get_settings
from survey_app.tables import ApiToken, Role, Unit

# What a token may be allowed to change, by name: the call-back result (a case moved on, as on the
# case page) and the reply shown to the resident.
WRITES = {"cases.callback": N_("记录回访结果（推进案件）"), "cases.reply": N_("答复居民")}
MAX_DAYS = 366
DEFAULT_DAYS = 90
DEFAULT_MINUTE_LIMIT = 120
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
TOKEN = re.compile(r"^mp_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")
ACTOR_PREFIX = "token:"
# last_used_at is written at most this often per token: a busy client must not write on every request.
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(Refusal):
    """A token could not be created or revoked."""


@dataclass(frozen=True)
class ApiClient(StaffMember):
    """A request made with a token: a member of its scope whose writes are limited to `writes`.

    It is a `StaffMember` so that every domain function's scope rules apply unchanged; its role is
    worker when it may write (the role that moves cases on the staff pages), assessor otherwise.
    """

    token_id: int = 0
    can_read: bool = True
    writes: frozenset[str] = field(default_factory=frozenset)
    minute_limit: int = DEFAULT_MINUTE_LIMIT


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    unit_code: str | None
    can_read: bool
    writes: list[str]
    minute_limit: int
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= (now or datetime.now(UTC)) else "active"


def _keyed_hash(token: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


async def create(
    name: str,
    *,
    actor: str,
    unit_code: str | None = None,
    can_read: bool = True,
    writes: list[str] | tuple[str, ...] = (),
    days: int = DEFAULT_DAYS,
    minute_limit: int = DEFAULT_MINUTE_LIMIT,
) -> str:
    """Create a token and return it: the only time it is seen in full. Audited.

    :raise TokenError: for a bad name, unknown unit or write, an empty scope or a bad lifetime or limit.
    """
    name = name.strip()
    if not NAME.match(name):
        raise TokenError(N_("名称须为 2–64 个小写字母、数字、点、横线或下划线，以字母或数字开头。"))
    unknown = sorted(set(writes) - WRITES.keys())
    if unknown:
        raise TokenError(N_("没有这种写权限：%(names)s。"), names=", ".join(unknown))
    if not can_read and not writes:
        raise TokenError(N_("令牌至少需要读取权限或一项写权限。"))
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(N_("有效期须为 1–%(max)s 天。"), max=MAX_DAYS)
    if not 1 <= minute_limit <= 6000:
        raise TokenError(N_("每分钟请求上限须为 1–6000。"))
    unit_id = None
    if unit_code:
        unit = await Unit.select(Unit.id).where(Unit.code == unit_code).first()
        if unit is None:
            raise TokenError(N_("没有代码为 %(code)s 的单位。"), code=unit_code)
        unit_id = unit["id"]
    prefix = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(12))
    token = f"mp_{prefix}_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    async with writing():
        if await ApiToken.exists().where(ApiToken.name == name):
            raise TokenError(N_("名称 %(name)s 已被使用。"), name=name)
        row = ApiToken(
            name=name,
            prefix=prefix,
            secret_hash=_keyed_hash(token),
            unit=unit_id,
            can_read=can_read,
            writes=sorted(set(writes)),
            minute_limit=minute_limit,
            created_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        await row.save()
        after = {
            "name": name,
            "prefix": prefix,
            "unit": unit_code or None,
            "read": can_read,
            "writes": sorted(set(writes)),
            "expires_at": row.expires_at.isoformat(),
            "minute_limit": minute_limit,
        }
        await audit.record(actor, "token.create", "token", row.id, after=after)
    return token


async def listing() -> list[TokenInfo]:
    """Every token, newest first (revoked and expired ones too: they stay on record)."""
    rows = (
        await ApiToken.select(*ApiToken.all_columns(exclude=[ApiToken.secret_hash]), ApiToken.unit.code)
        .order_by(ApiToken.id, ascending=False)
        .output(load_json=True)
    )
    return [_info(r) for r in rows]


def _info(row: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        unit_code=row.get("unit.code"),
        can_read=row["can_read"],
        writes=list(row["writes"]),
        minute_limit=row["minute_limit"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


async def revoke(name: str, *, actor: str) -> None:
    """Revoke a token at once, by its name or prefix; audited.

    :raise TokenError: when there is no such token or it was revoked already.
    """
    async with writing():
        row = (
            await ApiToken.select(ApiToken.id, ApiToken.name, ApiToken.revoked_at)
            .where((ApiToken.name == name) | (ApiToken.prefix == name))
            .first()
        )
        if row is None:
            raise TokenError(N_("没有名为 %(name)s 的令牌。"), name=name)
        if row["revoked_at"] is not None:
            raise TokenError(N_("令牌 %(name)s 已经吊销。"), name=row["name"])
        await ApiToken.update({ApiToken.revoked_at: datetime.now(UTC), ApiToken.revoked_by: actor}).where(
            ApiToken.id == row["id"]
        )
        await audit.record(actor, "token.revoke", "token", row["id"], after={"name": row["name"]})


async def authenticate(token: str, now: datetime | None = None) -> ApiClient | None:
    """The client of a live token (not revoked, not expired, matching its keyed hash), or None."""
    matched = TOKEN.match(token)
    if matched is None:
        return None
    row = await ApiToken.select().where(ApiToken.prefix == matched.group(1)).output(load_json=True).first()
    if row is None or not hmac.compare_digest(row["secret_hash"], _keyed_hash(token)):
        return None
    now = now or datetime.now(UTC)
    if row["revoked_at"] is not None or row["expires_at"] <= now:
        return None
    if row["last_used_at"] is None or now - row["last_used_at"] >= TOUCH_EVERY:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    writes = frozenset(row["writes"]) & WRITES.keys()
    return ApiClient(
        id=0,  # no staff account: nothing a token does is attributed to a member's id
        username=ACTOR_PREFIX + row["name"],
        display_name=row["name"],
        role=Role.worker if writes else Role.assessor,
        unit_id=row["unit"],
        credential="",  # a token has no session that a credential change must end: revoking it does
        token_id=row["id"],
        can_read=row["can_read"],
        writes=writes,
        minute_limit=row["minute_limit"],
    )
