"""Staff accounts: creating them, checking passwords, and the units each may see.

Passwords are hashed with Argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane);
hashes made with weaker settings are upgraded at the next successful login.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from survey_app import audit, units
from survey_app.db import writing
from survey_app.i18n import N_, Refusal
from survey_app.tables import Role, StaffUser, Unit

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
# Verifying against this keeps a login for an unknown name as slow as one for a real name, so
# timing does not reveal which usernames exist.
_DUMMY_HASH = HASHER.hash("minping-no-such-user")


class AccountError(Refusal):
    """An account could not be created or changed."""


@dataclass(frozen=True)
class StaffMember:
    """The signed-in staff member, as guards and pages see them."""

    id: int
    username: str
    display_name: str
    role: Role
    unit_id: int | None  # root of their scope; None = every unit
    #: What the member signed in with: it changes when the password, the role or the scope does, and a
    #: session made with another one has ended (web/auth.py). Disabled accounts have no member at all.
    credential: str

    @property
    def sees_everything(self) -> bool:
        return self.unit_id is None


@dataclass(frozen=True)
class UnitScope:
    """The units a member may see and act on: their unit's subtree, or every unit (`ids` is None)."""

    ids: frozenset[int] | None

    def covers(self, unit_id: int | None) -> bool:
        """Whether the unit is in scope (no unit, None, is in the scope of those who see every unit only)."""
        return self.ids is None or unit_id in self.ids

    def covers_any(self, unit_ids: Iterable[int]) -> bool:
        return self.ids is None or not self.ids.isdisjoint(unit_ids)

    def covers_all(self, unit_ids: Iterable[int]) -> bool:
        return self.ids is None or self.ids.issuperset(unit_ids)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("密码至少需要 %(n)s 个字符。"), n=MIN_PASSWORD_LENGTH)
    if password.strip() != password or len(set(password)) < 4:
        raise AccountError(N_("密码太简单：不能以空格开头或结尾，且至少包含 4 个不同的字符。"))


async def create(
    username: str, role: Role, password: str, *, unit_code: str | None = None, display_name: str = "", actor: str
) -> int:
    """Create an account; a worker needs a unit, and admins see every unit."""
    if not USERNAME.match(username):
        raise AccountError(N_("用户名须为 2–64 个字母、数字、点、横线或下划线。"))
    _check_role(role, unit_code)
    check_password_strength(password)
    unit_id = await _unit_id(unit_code)
    async with writing():
        if await StaffUser.exists().where(StaffUser.username == username):
            raise AccountError(N_("用户名 %(name)s 已被使用。"), name=username)
        user = StaffUser(
            username=username,
            display_name=display_name,
            role=role,
            unit=unit_id,
            password_hash=HASHER.hash(password),
        )
        await user.save()
        after = {"username": username, "role": role.value, "unit": unit_code, "display_name": display_name}
        await audit.record(actor, "user.create", "user", user.id, after=after)
    return int(user.id)


async def authenticate(username: str, password: str) -> StaffMember | None:
    """The active account with this name and password, or None."""
    if not USERNAME.match(username):  # no such account can exist; and PostgreSQL refuses NUL in text
        _verify(_DUMMY_HASH, password)
        return None
    row = await StaffUser.select().where(StaffUser.username == username).first()
    if row is None or not row["active"]:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(row["password_hash"], password):
        return None
    if HASHER.check_needs_rehash(row["password_hash"]):
        await StaffUser.update({StaffUser.password_hash: HASHER.hash(password)}).where(StaffUser.id == row["id"])
    return _member(row)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def change_password(user: StaffMember, current: str, new: str) -> StaffMember:
    """Change one's own password after proving the current one; the member with the new credential
    (every session made with the old one has ended)."""
    if await authenticate(user.username, current) is None:
        raise AccountError(N_("当前密码不正确。"))
    if new == current:
        raise AccountError(N_("新密码不能与当前密码相同。"))
    check_password_strength(new)
    async with writing():
        await StaffUser.update(
            {StaffUser.password_hash: HASHER.hash(new), StaffUser.password_changed_at: datetime.now(UTC)}
        ).where(StaffUser.id == user.id)
        await audit.record(user.username, "user.password", "user", user.id)
    changed = await get(user.id)
    assert changed is not None  # it was active a moment ago, and only this account changed
    return changed


async def disable(username: str, *, actor: str) -> None:
    """Disable an account: it can no longer sign in, and its sessions end at once."""
    async with writing():
        row = await _row(username)
        await StaffUser.update({StaffUser.active: False}).where(StaffUser.id == row["id"])
        await audit.record(actor, "user.disable", "user", row["id"], before={"active": row["active"]})


async def change_role(username: str, role: Role, *, unit_code: str | None, actor: str) -> None:
    """Give an account another role or scope (the rules of `create`); its sessions end at once."""
    _check_role(role, unit_code)
    unit_id = await _unit_id(unit_code)
    async with writing():
        row = await _row(username)
        await StaffUser.update({StaffUser.role: role, StaffUser.unit: unit_id}).where(StaffUser.id == row["id"])
        before, after = {"role": row["role"], "unit": row["unit"]}, {"role": role.value, "unit": unit_id}
        await audit.record(actor, "user.role", "user", row["id"], before=before, after=after)


def _check_role(role: Role, unit_code: str | None) -> None:
    if role == Role.worker and unit_code is None:
        raise AccountError(N_("社区工作者账号需要指定所属单位（--unit）。"))
    if role == Role.admin and unit_code is not None:
        raise AccountError(N_("管理员可查看所有单位，不能指定单位。"))


async def _row(username: str) -> dict:
    row = await StaffUser.select().where(StaffUser.username == username).first() if USERNAME.match(username) else None
    if row is None:
        raise AccountError(N_("没有用户名为 %(name)s 的账号。"), name=username)
    return row


async def _unit_id(unit_code: str | None) -> int | None:
    if unit_code is None:
        return None
    row = await Unit.select(Unit.id).where(Unit.code == unit_code).first()
    if row is None:
        raise AccountError(N_("没有代码为 %(code)s 的单位。"), code=unit_code)
    return int(row["id"])


async def get(user_id: int) -> StaffMember | None:
    row = await StaffUser.select().where((StaffUser.id == user_id) & (StaffUser.active == True)).first()  # noqa: E712
    return None if row is None else _member(row)


def _member(row: dict) -> StaffMember:
    return StaffMember(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"] or row["username"],
        role=Role(row["role"]),
        unit_id=row["unit"],
        credential=f"{row['password_changed_at'].isoformat()}|{row['role']}|{row['unit']}",
    )


async def unit_scope(user: StaffMember) -> UnitScope:
    """The units this member may see: their unit's subtree, or every unit."""
    if user.unit_id is None:
        return UnitScope(None)
    return UnitScope(frozenset(await units.subtree_ids(user.unit_id)))


async def visible_unit_ids(user: StaffMember) -> frozenset[int] | None:
    """The ids of `unit_scope(user)`, None for every unit: what the domain's listings filter by."""
    return (await unit_scope(user)).ids
