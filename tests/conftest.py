"""Test set-up: the environment is fixed before survey_app is imported (settings are read once).

The suite runs against SQLite by default and against PostgreSQL when MINPING_TEST_DATABASE_URL
names a database (`.ci/run` creates a fresh one). Database work and the app share one event loop,
the session's blocking portal, because an asyncpg pool belongs to the loop that opened it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

DATA_DIR = tempfile.mkdtemp(prefix="minping-test-")
os.environ["MINPING_DATA_DIR"] = DATA_DIR
os.environ["MINPING_SECRET_KEY"] = "test-secret-key"
os.environ["MINPING_FLAG_INTERVAL"] = "0"  # no background flag pass changing a test's responses
os.environ["MINPING_ALLOWED_HOSTS"] = "testserver.local"  # the test client's host (real servers use 127.0.0.1)
os.environ["MINPING_WEBHOOK_INTERVAL"] = "0"  # webhooks are pumped by the tests that want them
for name in ("MINPING_PUBLIC_BASE_URL", "MINPING_REDIS_URL", "MINPING_DATABASE_URL", "MINPING_HOLIDAYS_FILE"):
    os.environ.pop(name, None)


def _worker_database(url: str, worker: str) -> str:
    """A fresh database of its own for this pytest-xdist worker, next to the one named in `url`."""
    import asyncio

    import asyncpg

    server, name = url.rsplit("/", 1)
    own = f"{name}_{worker}"

    async def create() -> None:
        connection = await asyncpg.connect(f"{server}/postgres")
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{own}"')
            await connection.execute(f'CREATE DATABASE "{own}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return f"{server}/{own}"


_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # with -n, each worker has databases of its own
if os.environ.get("MINPING_TEST_DATABASE_URL"):
    _url = os.environ["MINPING_TEST_DATABASE_URL"]
    os.environ["MINPING_DATABASE_URL"] = _worker_database(_url, _WORKER) if _WORKER else _url


def _worker_redis(url: str) -> str:
    """The Redis database of MINPING_TEST_REDIS_URL, numbered on by the xdist worker's index (gw1: N + 1)."""
    server, _, number = url.rstrip("/").rpartition("/")
    index = int(_WORKER.removeprefix("gw")) if _WORKER else 0
    return f"{server}/{int(number or 0) + index}"


# A Redis database the suite may flush (each worker its own), or None; with MINPING_TEST_REDIS_STORES=1
# the app's sessions, sign-in failures and flood counts live there for the whole run (.ci/run's Redis pass).
REDIS_URL = _worker_redis(os.environ["MINPING_TEST_REDIS_URL"]) if os.environ.get("MINPING_TEST_REDIS_URL") else None
if REDIS_URL and os.environ.get("MINPING_TEST_REDIS_STORES") == "1":
    os.environ["MINPING_REDIS_URL"] = REDIS_URL

from anyio.from_thread import BlockingPortal, start_blocking_portal  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from litestar.testing import TestClient  # noqa: E402
from piccolo.engine.postgres import PostgresEngine  # noqa: E402

from survey_app import accounts, campaigns, counters, db, demo, units  # noqa: E402
from survey_app.app import create_app  # noqa: E402
from survey_app.cli import main  # noqa: E402
from survey_app.questionnaires import versions  # noqa: E402
from survey_app.settings import get_settings  # noqa: E402
from survey_app.sqlite_pool import PooledSQLiteEngine  # noqa: E402
from survey_app.tables import (  # noqa: E402
    CampaignStatus,
    Link,
    Response,
    Role,
    UnitKind,
)
from survey_app.web import stores  # noqa: E402
from tests import rows  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def pytest_report_header() -> str:
    settings = get_settings()
    engine = "PostgreSQL" if settings.is_postgres else "SQLite"
    stores = f"Redis ({settings.redis_url})" if settings.redis_url else "memory"
    return f"minping database: {engine} ({re.sub(r'//[^@/]*@', '//', settings.database_url)}); stores: {stores}"


@pytest.fixture
def redis_url() -> str:
    """A Redis database of the suite's own, emptied (MINPING_TEST_REDIS_URL; .ci/run always sets one)."""
    if REDIS_URL is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI needs MINPING_TEST_REDIS_URL (.ci/run sets it)")
        pytest.skip("no Redis configured for the tests: set MINPING_TEST_REDIS_URL=redis://127.0.0.1:6379/<n>")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


MINPING = Path(sys.executable).parent / "minping"


@contextlib.contextmanager
def _own_connections(portal: BlockingPortal) -> Iterator[None]:
    """While a command runs in this process on a loop of its own, the app's pool (which belongs to the
    session's loop) is closed, so the command opens connections as it does when run by itself."""
    engine = db.engine()
    reopen: Callable[[], object] = lambda: None  # noqa: E731
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        portal.call(engine.close_connection_pool)
        reopen = functools.partial(portal.call, functools.partial(engine.start_connection_pool, **db.POOL_OPTIONS))
    elif isinstance(engine, PooledSQLiteEngine) and engine.pooling:
        portal.call(engine.close_pool)
        reopen = engine.open_pool
    try:
        yield
    finally:
        reopen()


@pytest.fixture
def cli(run: Callable[..., Any], portal: BlockingPortal) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `minping` against the test database, as a user would: in this process through click's runner,
    or, given an `env` to change, as a process of its own (settings and calendars are read once per process)."""

    def invoke(*args: str, env: dict[str, str] | None = None, input: str = "") -> subprocess.CompletedProcess[str]:
        if env:
            return subprocess.run(
                [str(MINPING), *args],
                env={**os.environ, **env},
                input=input,
                capture_output=True,
                text=True,
                timeout=120,
            )
        with _own_connections(portal):
            result = CliRunner().invoke(main, list(args), input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback here, where the installed command prints one line
        return subprocess.CompletedProcess(["minping", *args], result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as portal:
        portal.call(db.migrate)
        yield portal


@pytest.fixture(scope="session")
def app_client(portal: BlockingPortal) -> Iterator[TestClient]:
    client = TestClient(create_app(), base_url="http://testserver.local")
    client.blocking_portal = portal  # run the app on the session's loop (see module docstring)
    with client:
        yield client


@pytest.fixture
def run(portal: BlockingPortal) -> Callable[..., Any]:
    """Call an async function on the app's loop: `run(campaigns.find_link, token)`."""
    portal.call(counters.flush)  # scans counted by an earlier test must not land on a reused link id
    portal.call(rows.delete_all)
    versions.forget_cached()  # ids are reused once rows are deleted
    return lambda fn, *args, **kwargs: portal.call(functools.partial(fn, *args, **kwargs))


@pytest.fixture
def client(app_client: TestClient, portal: BlockingPortal, run: Callable[..., Any]) -> TestClient:
    app_client.cookies.clear()
    for store in stores.NAMES:  # sign-ins and failures of earlier tests are forgotten
        portal.call(app_client.app.stores.get(store).delete_all)
    return app_client


class World:
    """A small city: a district, a street, two communities and an open window-rating campaign."""

    def __init__(self, run: Callable[..., Any]) -> None:
        self.run = run
        run(units.create, "331102", "莲都区", UnitKind.district, name_en="Liandu District")
        run(units.create, "331102-01", "万象街道", UnitKind.street, parent_code="331102")
        self.unit_a = run(units.create, "331102-01-001", "大洋社区", UnitKind.community, parent_code="331102-01")
        self.unit_b = run(units.create, "331102-01-002", "中山社区", UnitKind.community, parent_code="331102-01")
        self.questionnaire_ids = run(versions.register_bundled)
        self.campaign_id = self.campaign("window-rating")
        self.token_a, self.token_b = self.tokens(self.campaign_id)

    def campaign(
        self,
        questionnaire: str,
        *,
        slug: str | None = None,
        status: CampaignStatus = CampaignStatus.open,
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
        device_check: bool = False,
    ) -> int:
        # Off unless asked for: the suite's one test client plays many residents (tests/test_ballots.py turns
        # it on; new campaigns get it by default, tests/test_duties.py checks that).
        now = datetime.now(UTC)
        return self.run(
            campaigns.create,
            slug or f"{questionnaire}-test",
            self.questionnaire_ids[questionnaire],
            "窗口服务评价",
            [self.unit_a, self.unit_b],
            title_en="Window rating",
            purpose="请为窗口服务打分。",
            status=status,
            opens_at=opens_at or now - timedelta(days=1),
            closes_at=closes_at or now + timedelta(days=30),
            device_check=device_check,
        )

    def tokens(self, campaign_id: int) -> list[str]:
        async def fetch() -> list[str]:
            rows = await Link.select(Link.token).where(Link.campaign == campaign_id).order_by(Link.unit)
            return [r["token"] for r in rows]

        return self.run(fetch)

    def responses(self) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            return await Response.select().order_by(Response.id).output(load_json=True)

        return self.run(fetch)


@pytest.fixture
def world(run: Callable[..., Any]) -> World:
    return World(run)


_demo: dict[str, Any] = {}


@pytest.fixture
def demo_city(run: Callable[..., Any]) -> dict[str, int]:
    """The demo city (survey_app/demo.py, default seed) in an otherwise empty database: responses per campaign.

    Built once per session and put back from its rows for every later test that asks for it.
    """
    if not _demo:
        _demo["counts"] = run(demo.build)
        _demo["rows"] = run(rows.take)
    else:
        run(rows.restore, _demo["rows"])
    return dict(_demo["counts"])


PASSWORD = "correct horse battery"


def csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match[1]


class Staff:
    """Accounts and sign-in through the real login form (the flaskr `AuthActions` pattern)."""

    def __init__(self, run: Callable[..., Any], client: TestClient) -> None:
        self.run, self.client = run, client

    def create(self, username: str, role: Role, unit_code: str | None = None) -> int:
        return self.run(accounts.create, username, role, PASSWORD, unit_code=unit_code, actor="test")

    def login(self, username: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/login")
        data = {"_csrf_token": csrf_token(page.text), "username": username, "password": password}
        return self.client.post("/login", data=data, follow_redirects=False)

    def as_role(self, role: Role, unit_code: str | None = None) -> None:
        """Create an account with this role and sign in as it."""
        self.create(f"{role.value}-{unit_code or 'all'}", role, unit_code)
        assert self.login(f"{role.value}-{unit_code or 'all'}").status_code == 303


@pytest.fixture
def staff(run: Callable[..., Any], client: TestClient) -> Staff:
    return Staff(run, client)
