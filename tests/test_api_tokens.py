"""API tokens: created by an admin (CLI and back office), shown once, stored as a keyed hash, scoped,
expiring, revocable, audited and limited per minute; `Authorization: Bearer` beside the staff session."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

import pytest
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from survey_app import audit, tokens
from survey_app.tables import ApiToken, AuditEntry, Role
from tests.conftest import csrf_token
from tests.test_exports import answer

CAMPAIGN = "/api/v1/campaigns/window-rating-test/responses"
CASES = "/api/v1/cases/changes"  # what a writing token (the hotline's) reads: it is not shown raw rows


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def answered(run, world):
    answer(run, world, world.unit_a, {"overall": 5})
    answer(run, world, world.unit_b, {"overall": 4})
    return world


def test_a_token_reads_its_subtree_without_a_session(client, run, answered):
    token = run(tokens.create, "hotline-12345", actor="admin", unit_code="331102-01-002")
    assert re.fullmatch(r"mp_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}", token)
    page = client.get(CAMPAIGN, headers=bearer(token))
    assert page.status_code == 200
    assert [r["unit_code"] for r in page.json()["items"]] == ["331102-01-002"]
    assert [u["code"] for u in client.get("/api/v1/units", headers=bearer(token)).json()["items"]] == ["331102-01-002"]
    assert page.cookies.get("minping_session") in (None, "null")  # no session is made for a token
    assert run(stored_sessions, client.app.stores.get("sessions")) == 0


async def stored_sessions(store: Store) -> int:
    """How many sessions the store holds (its entries: the client fixture empties it before each test)."""
    if isinstance(store, MemoryStore):
        return len(store._store)  # noqa: SLF001
    assert isinstance(store, RedisStore)
    return len(await store._redis.keys(f"{store.namespace}:*"))  # noqa: SLF001


def test_only_a_keyed_hash_is_stored(run, world):
    token = run(tokens.create, "data-platform", actor="admin")

    async def stored() -> list[dict]:
        return await ApiToken.select().output(load_json=True)

    [row] = run(stored)
    assert token not in str(row) and token.split("_")[2] not in str(row)
    assert row["secret_hash"] == hmac.new(b"test-secret-key", token.encode(), hashlib.sha256).hexdigest()
    assert row["secret_hash"] != hashlib.sha256(token.encode()).hexdigest()
    assert row["prefix"] == token.split("_")[1]


def test_bad_expired_and_revoked_tokens_are_401(client, run, answered):
    token = run(tokens.create, "short-lived", actor="admin", days=1)
    assert client.get(CAMPAIGN, headers=bearer(token)).status_code == 200
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for headers in (bearer(tampered), bearer("mp_nonsense"), {"Authorization": f"Basic {token}"}, bearer("")):
        response = client.get(CAMPAIGN, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["status"] == 401
    assert run(tokens.authenticate, token, datetime.now(UTC) + timedelta(days=1, seconds=1)) is None
    run(tokens.revoke, "short-lived", actor="admin")
    refused = client.get(CAMPAIGN, headers=bearer(token))
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]


def test_a_bad_token_is_refused_even_with_a_valid_session(client, staff, answered):
    staff.as_role(Role.admin)
    assert client.get(CAMPAIGN).status_code == 200  # the session alone still works
    assert client.get(CAMPAIGN, headers=bearer("mp_AAAAAAAAAAAA_" + "x" * 43)).status_code == 401


def test_a_write_only_token_cannot_read(client, run, answered):
    token = run(tokens.create, "writer", actor="admin", can_read=False, writes=["cases.reply"])
    response = client.get(CAMPAIGN, headers=bearer(token))
    assert response.status_code == 403 and response.json()["error"] == "this token may not read"


def test_creation_is_refused_clearly(run, world):
    cases = [
        ({"name": "Bad Name"}, "名称"),
        ({"name": "ok-name", "writes": ["responses.delete"]}, "responses.delete"),
        ({"name": "ok-name", "can_read": False}, "至少"),
        ({"name": "ok-name", "days": 0}, "有效期"),
        ({"name": "ok-name", "unit_code": "nowhere"}, "nowhere"),
    ]
    for kwargs, words in cases:
        name = kwargs.pop("name")
        with pytest.raises(tokens.TokenError) as refused:
            run(tokens.create, name, actor="admin", **kwargs)
        assert words in str(refused.value), kwargs
    run(tokens.create, "twice", actor="admin")
    with pytest.raises(tokens.TokenError):
        run(tokens.create, "twice", actor="admin")


def test_each_token_has_its_own_limit_a_minute(client, run, answered):
    busy = run(tokens.create, "busy", actor="admin", minute_limit=3)
    calm = run(tokens.create, "calm", actor="admin", minute_limit=3)
    statuses = [client.get("/api/v1/units", headers=bearer(busy)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/units", headers=bearer(busy))
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.get("/api/v1/units", headers=bearer(calm)).status_code == 200


def test_creation_and_revocation_are_audited(run, world):
    run(tokens.create, "audited", actor="admin", writes=["cases.callback"])
    run(tokens.revoke, "audited", actor="chief")

    async def entries() -> list[dict]:
        return await AuditEntry.select(AuditEntry.actor, AuditEntry.action).order_by(AuditEntry.id)

    assert [(e["actor"], e["action"]) for e in run(entries)][-2:] == [
        ("admin", "token.create"),
        ("chief", "token.revoke"),
    ]
    assert run(audit.verify).ok
    with pytest.raises(tokens.TokenError):
        run(tokens.revoke, "audited", actor="chief")


def test_the_cli_creates_lists_and_revokes(cli, client, answered):
    created = cli("token", "create", "cli-token", "--unit", "331102-01-001", "--write", "cases.reply", "--days", "30")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert client.get(CASES, headers=bearer(token)).status_code == 200
    assert client.get(CAMPAIGN, headers=bearer(token)).status_code == 404
    listed = cli("token", "list")
    assert "cli-token" in listed.stdout and "331102-01-001" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout
    assert cli("token", "revoke", "cli-token").returncode == 0
    assert "revoked" in cli("token", "list").stdout
    refused = cli("token", "create", "x")
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1


def test_the_back_office_page_shows_a_token_once(client, staff, run, answered):
    staff.as_role(Role.admin)
    page = client.get("/staff/tokens/")
    assert page.status_code == 200
    form = {
        "_csrf_token": csrf_token(page.text),
        "name": "hotline",
        "unit_code": "331102-01",
        "read": "yes",
        "writes": ["cases.callback", "cases.reply"],
        "days": "90",
        "per_minute": "60",
    }
    created = client.post("/staff/tokens/", data=form)
    assert created.status_code == 200
    token = re.search(r"<code translate=\"no\">(mp_[^<]+)</code>", created.text)[1]
    assert client.get(CASES, headers=bearer(token)).status_code == 200
    again = client.get("/staff/tokens/")
    assert token not in again.text and "hotline" in again.text
    bad = client.post("/staff/tokens/", data={**form, "_csrf_token": csrf_token(again.text), "days": "9999"})
    assert bad.status_code == 422 and 'value="hotline"' in bad.text
    revoke = client.post("/staff/tokens/hotline/revoke", data={"_csrf_token": csrf_token(again.text)})
    assert revoke.status_code == 200  # followed to the list
    assert client.get(CAMPAIGN, headers=bearer(token)).status_code == 401


def test_only_city_wide_admins_manage_tokens(client, staff, answered):
    staff.as_role(Role.assessor)
    assert client.get("/staff/tokens/").status_code == 404
