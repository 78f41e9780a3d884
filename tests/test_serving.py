"""`minping serve` as documented (docs/operations.md): it starts and answers on the suite's database,
with its stores in memory or in Redis; with Redis, two servers on one database are one service to
their users: a session made on one is valid on the other, and sign-in failures and the flood guard's
counts add up across them. Without Redis each keeps its own, which is why several workers need it.

The suite runs on SQLite and on PostgreSQL (.ci/run), so every combination is started once per run pair.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from survey_app import periodic
from survey_app.settings import get_settings
from survey_app.tables import PeriodicRun, Role
from tests.conftest import PASSWORD, Staff
from tests.servers import Server, serving

pytestmark = pytest.mark.slow

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def server_env(redis: str | None, **settings: str) -> dict[str, str]:
    """The suite's own environment (secret key, no flag pass) on the suite's database (already migrated)."""
    env = {k: v for k, v in os.environ.items() if k != "MINPING_REDIS_URL"}
    env["MINPING_DATABASE_URL"] = get_settings().database_url
    return env | ({"MINPING_REDIS_URL": redis} if redis else {}) | settings


@pytest.fixture
def two_servers(tmp_path: Path, portal: object) -> Iterator[Callable[..., tuple[Server, Server]]]:
    """Start two servers on one database (each with its own data folder, as two nodes would have)."""
    with ExitStack() as stack:

        def start(env: dict[str, str]) -> tuple[Server, Server]:
            first = stack.enter_context(serving(tmp_path / "a", env))
            second = stack.enter_context(serving(tmp_path / "b", env))
            return first, second

        yield start


def sign_in(http: httpx.Client, server: Server, username: str, password: str = PASSWORD) -> httpx.Response:
    page = http.get(f"{server.url}/login")
    token = CSRF.search(page.text)
    assert token, page.text
    data = {"_csrf_token": token[1], "username": username, "password": password}
    return http.post(f"{server.url}/login", data=data)


@pytest.mark.parametrize("stores", ["memory", "redis"])
def test_serve_with_two_workers_starts_and_answers(stores: str, tmp_path: Path, portal: object, request: Any) -> None:
    redis = request.getfixturevalue("redis_url") if stores == "redis" else None
    with serving(tmp_path, server_env(redis), "--workers", "2") as server:
        assert httpx.get(server.url + "/").status_code == 200
        assert httpx.get(server.url + "/login").status_code == 200
        assert httpx.get(server.url + "/q/no-such-link").status_code == 404
        assert "Traceback" not in server.log_text()


def test_with_redis_a_session_made_on_one_server_is_valid_on_the_other(
    two_servers: Callable[..., tuple[Server, Server]], redis_url: str, staff: Staff, world: Any
) -> None:
    staff.create("sheng", Role.worker, "331102-01")
    first, second = two_servers(server_env(redis_url))
    with httpx.Client() as http:  # cookies are per host, not per port: both servers get them
        assert sign_in(http, first, "sheng").status_code == 303
        assert http.get(f"{second.url}/staff/").status_code == 200
        token = CSRF.search(http.get(f"{second.url}/staff/").text)
        assert token and http.post(f"{second.url}/logout", data={"_csrf_token": token[1]}).status_code == 303
        assert http.get(f"{first.url}/staff/").status_code == 303  # ended on the first server too


def test_without_redis_each_server_knows_only_its_own_sessions(
    two_servers: Callable[..., tuple[Server, Server]], staff: Staff, world: Any
) -> None:
    staff.create("sheng", Role.worker, "331102-01")
    first, second = two_servers(server_env(None))
    with httpx.Client() as http:
        assert sign_in(http, first, "sheng").status_code == 303
        assert http.get(f"{first.url}/staff/").status_code == 200
        assert http.get(f"{second.url}/staff/").headers["location"].startswith("/login")


def test_with_redis_sign_in_failures_and_flood_counts_add_up_across_servers(
    two_servers: Callable[..., tuple[Server, Server]], redis_url: str, staff: Staff, world: Any
) -> None:
    staff.create("sheng", Role.worker, "331102-01")
    first, second = two_servers(server_env(redis_url, MINPING_RESIDENT_POSTS_PER_MINUTE="4"))
    with httpx.Client() as http:
        for n in range(10):  # the account's failures, split between the servers
            assert sign_in(http, (first, second)[n % 2], "sheng", "wrong password!").status_code == 401
        assert sign_in(http, first, "sheng").status_code == 429  # paused everywhere, the right password too
    form = f"/q/{world.token_a}"
    statuses = [httpx.post((first, second)[n % 2].url + form, data={"x": "1"}).status_code for n in range(6)]
    assert statuses[4:] == [429, 429] and 429 not in statuses[:4], statuses


def _flood_statuses(server: Server, form: str, forwarded: list[str]) -> list[int]:
    return [
        httpx.post(server.url + form, data={"x": "1"}, headers={"X-Forwarded-For": address}).status_code
        for address in forwarded
    ]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_forwarded_addresses_count_only_from_the_proxies_named(tmp_path: Path, world: Any, how: str) -> None:
    """Issue 12: `serve` believed X-Forwarded-For from anyone, so a client chose the address the flood
    guard and the login throttle count. Now only a proxy named by --forwarded-allow-ips (or
    MINPING_FORWARDED_ALLOW_IPS) is believed; by default the socket's address is the client's."""
    form, addresses = f"/q/{world.token_a}", ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    env = server_env(None, MINPING_RESIDENT_POSTS_PER_MINUTE="2")
    env.pop("MINPING_FORWARDED_ALLOW_IPS", None)
    with serving(tmp_path / "plain", env) as server:  # nobody is a proxy: the third post is over the limit
        assert _flood_statuses(server, form, addresses)[2] == 429
    if how == "environment":
        env, args = env | {"MINPING_FORWARDED_ALLOW_IPS": "127.0.0.1"}, ()
    else:
        args = ("--forwarded-allow-ips", "127.0.0.1/32")
    with serving(tmp_path / "proxied", env, *args) as server:  # each forwarded address counts alone
        assert 429 not in _flood_statuses(server, form, addresses)
        assert _flood_statuses(server, form, addresses[:1] * 3)[2] == 429
        assert "client addresses from the proxies 127.0.0.1" in server.log_text()


def test_two_nodes_run_the_flag_pass_once_per_interval(
    tmp_path: Path, redis_url: str, run: Callable[..., Any], world: Any
) -> None:
    """Two servers of two workers each on one database and one Redis, every worker's flag pass due each
    second: the pass runs about once a second for the whole service, where four workers passing on their
    own would make about four (survey_app/periodic.py)."""
    env = server_env(redis_url, MINPING_FLAG_INTERVAL="1")
    with (
        serving(tmp_path / "a", env, "--workers", "2") as first,
        serving(tmp_path / "b", env, "--workers", "2") as second,
    ):
        run(lambda: PeriodicRun.update({PeriodicRun.runs: 0}, force=True))  # count from when all four are up
        started = time.monotonic()
        time.sleep(6)
        row = run(lambda: PeriodicRun.select().where(PeriodicRun.name == "flag-pass").first())
        elapsed = time.monotonic() - started
        assert httpx.get(first.url + "/").status_code == httpx.get(second.url + "/").status_code == 200
    assert row is not None
    assert 2 <= row["runs"] <= elapsed / periodic.CLAIM_SHARE + 1, (row, elapsed)
    assert "Traceback" not in first.log_text() + second.log_text()
