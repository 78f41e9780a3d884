"""Staff sign-in: Argon2id, session rotation, timeouts, throttling, logout, password change, CSRF."""

from __future__ import annotations

import time

import pytest
from litestar.stores.memory import MemoryStore

from survey_app import accounts
from survey_app.tables import Role, StaffUser
from survey_app.web import auth
from tests.conftest import PASSWORD, csrf_token


def test_passwords_are_stored_as_argon2id_at_owasp_cost(run, staff, world):
    staff.create("li", Role.admin)

    async def stored() -> str:
        return (await StaffUser.select(StaffUser.password_hash).first())["password_hash"]

    assert run(stored).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_login_rotates_the_session_id_and_logout_ends_it(client, staff, world):
    staff.create("li", Role.admin)
    client.cookies.set("minping_session", "a" * 64, domain="testserver.local")  # planted by an attacker
    assert staff.login("li").headers["location"] == "/staff/"
    session = client.cookies.get("minping_session")
    assert session and session != "a" * 64
    assert client.get("/staff/").status_code == 200
    client.post("/logout", headers={"x-csrftoken": client.cookies.get("minping_csrf")})
    client.cookies.clear()
    client.cookies.set("minping_session", session, domain="testserver.local")  # replaying the old cookie fails
    r = client.get("/staff/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/staff"


def test_wrong_password_and_unknown_user_get_the_same_answer(client, staff, world):
    staff.create("li", Role.admin)
    wrong, unknown = staff.login("li", "wrong password"), staff.login("nobody", "wrong password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.text and "用户名或密码不正确" in unknown.text


def test_repeated_failures_pause_sign_in_for_that_account(client, staff, world):
    staff.create("li", Role.admin)
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert staff.login("li", "wrong password").status_code == 401
    paused = staff.login("li")  # even the right password waits now
    assert paused.status_code == 429 and "15 分钟" in paused.text
    staff.create("zhang", Role.admin)
    assert staff.login("zhang").status_code == 303  # other accounts behind the same address still work


@pytest.mark.parametrize(("idle", "age"), [(auth.IDLE_TIMEOUT_S + 1, 60), (10, auth.ABSOLUTE_TIMEOUT_S + 1)])
def test_sessions_end_after_idle_and_absolute_timeouts(run, staff, world, idle, age):
    user_id = staff.create("li", Role.admin)
    now = time.time()
    session = {"uid": user_id, "login_at": now - age, "seen": now - idle}
    assert run(auth.retrieve_user, session, None) is None
    assert session == {}
    credential = run(accounts.get, user_id).credential
    fresh = {"uid": user_id, "login_at": now - 60, "seen": now - 10, "credential": credential}
    assert run(auth.retrieve_user, fresh, None).username == "li"
    assert run(auth.retrieve_user, {**fresh, "credential": "older"}, None) is None


def test_forms_need_the_csrf_token(client, staff, world):
    staff.as_role(Role.admin)
    data = {"current": PASSWORD, "new": "another long password"}
    refused = client.post("/staff/password", data=data)
    assert refused.status_code == 403 and "表单已过期，未能提交" in refused.text and "没有访问权限" not in refused.text
    page = client.get("/staff/password")
    r = client.post("/staff/password", data={**data, "_csrf_token": csrf_token(page.text)})
    assert r.status_code == 200 and "密码已修改" in r.text
    client.cookies.clear()
    assert staff.login("admin-all", "another long password").status_code == 303


def test_password_change_refuses_a_wrong_current_password(client, staff, world):
    staff.as_role(Role.worker, "331102-01")
    page = client.get("/staff/password")
    r = client.post("/staff/password", data={"_csrf_token": csrf_token(page.text), "current": "nope", "new": "x" * 12})
    assert r.status_code == 422 and "当前密码不正确" in r.text


@pytest.mark.parametrize(
    ("username", "role", "unit", "message"),
    [
        ("w", Role.worker, "331102-01", "用户名须为 2–64 个字母、数字、点、横线或下划线。"),
        ("wang", Role.worker, None, "社区工作者账号需要指定所属单位（--unit）。"),
        ("wang", Role.admin, "331102-01", "管理员可查看所有单位，不能指定单位。"),
        ("wang", Role.worker, "999", "没有代码为 999 的单位。"),
    ],
)
def test_account_rules(run, world, username, role, unit, message):
    with pytest.raises(accounts.AccountError) as caught:
        run(accounts.create, username, role, PASSWORD, unit_code=unit, actor="test")
    assert str(caught.value) == message


def test_user_create_command_reads_the_password_from_standard_input(cli, world):
    args = ("user", "create", "zhao", "--role", "worker", "--unit", "331102-01")
    result = cli(*args, input="a long enough password\n")
    assert result.returncode == 0 and result.stdout == "created worker zhao for unit 331102-01\n"
    again = cli(*args, input="a long enough password\n")
    assert again.returncode == 1 and again.stderr == "Error: 用户名 zhao 已被使用。\n"


def test_a_flood_from_one_address_does_not_lock_the_account_out_elsewhere(run):
    """Issue 12: anyone who knew a username could lock its owner out for 15 minutes."""
    throttle = auth.LoginThrottle(MemoryStore())
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        run(throttle.failed, "Li", "203.0.113.9")
    assert run(throttle.paused, "li", "203.0.113.9")  # the guessing address waits
    assert not run(throttle.paused, "li", "198.51.100.7")  # the owner's office still signs in
    assert not run(throttle.paused, "zhang", "203.0.113.9")  # other accounts from there are not paused yet


def test_an_account_guessed_at_from_many_addresses_gives_each_address_one_try(run):
    throttle = auth.LoginThrottle(MemoryStore())
    for n in range(auth.MAX_FAILURES_PER_ACCOUNT):
        run(throttle.failed, "li", f"203.0.113.{n}")
    assert all(run(throttle.paused, "li", f"203.0.113.{n}") for n in range(auth.MAX_FAILURES_PER_ACCOUNT))
    assert not run(throttle.paused, "li", "198.51.100.7")  # an address that never failed may still try


def test_an_address_failing_for_many_accounts_is_paused_for_all(run):
    throttle = auth.LoginThrottle(MemoryStore())
    for n in range(auth.MAX_FAILURES_PER_ADDRESS):
        run(throttle.failed, f"user{n}", "203.0.113.9")
    assert run(throttle.paused, "someone-else", "203.0.113.9")
    assert not run(throttle.paused, "someone-else", "198.51.100.7")


def _two_sessions(client, staff, username: str) -> tuple[str, str]:
    """Sign in twice (two browsers); the client holds the second session."""
    assert staff.login(username).status_code == 303
    first = client.cookies.get("minping_session")
    client.cookies.clear()
    assert staff.login(username).status_code == 303
    return first, client.cookies.get("minping_session")


def _signed_in_with(client, session: str) -> bool:
    client.cookies.set("minping_session", session, domain="testserver.local")
    return client.get("/staff/", follow_redirects=False).status_code == 200


def test_a_password_change_ends_every_other_session_of_the_account(client, staff, world):
    """Issue 12: sessions survived a password change, so a stolen session outlived the remedy."""
    staff.create("li", Role.worker, "331102-01")
    staff.create("zhang", Role.worker, "331102-01")
    other, this = _two_sessions(client, staff, "li")
    page = client.get("/staff/password")
    new = {"_csrf_token": csrf_token(page.text), "current": PASSWORD, "new": "another long password"}
    changed = client.post("/staff/password", data=new)
    assert changed.status_code == 200
    this = client.cookies.get("minping_session")  # rotated, still signed in
    client.cookies.clear()
    assert staff.login("zhang").status_code == 303
    bystander = client.cookies.get("minping_session")
    assert not _signed_in_with(client, other)
    assert _signed_in_with(client, this) and _signed_in_with(client, bystander)


@pytest.mark.parametrize("change", ["disable", "role"])
def test_disabling_or_changing_the_role_ends_the_accounts_sessions(cli, client, staff, world, change):
    staff.create("li", Role.worker, "331102-01")
    first, second = _two_sessions(client, staff, "li")
    args = ("user", "disable", "li") if change == "disable" else ("user", "role", "li", "--role", "assessor")
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert not _signed_in_with(client, first) and not _signed_in_with(client, second)
    client.cookies.clear()
    assert (staff.login("li").status_code == 303) is (change == "role")  # a disabled account cannot sign in


def test_role_commands_refuse_unknown_accounts_and_broken_rules(cli, world):
    assert cli("user", "disable", "nobody").stderr == "Error: 没有用户名为 nobody 的账号。\n"
    cli("user", "create", "li", "--role", "worker", "--unit", "331102-01", input="a long enough password\n")
    result = cli("user", "role", "li", "--role", "worker")
    assert result.returncode == 1 and "需要指定所属单位" in result.stderr
