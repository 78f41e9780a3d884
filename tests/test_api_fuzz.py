"""Schemathesis fuzzes every /api/v1/ operation from the app's own OpenAPI schema, as a signed-in
admin and as an anonymous visitor: no 5xx, and every response conforms to the schema.

Requests go in-process through the suite's TestClient (the app runs on the session's loop, which
an asyncpg pool requires; see conftest), and each response is checked with schemathesis' checks.
Generation is derandomized and bounded, so the test is deterministic and takes seconds.
"""

from __future__ import annotations

import json

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.serialization import encode_json
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import ignored_auth

from survey_app.app import create_app
from survey_app.tables import Role
from tests.test_exports import answer

# As served at /api/v1/schema/openapi.json (Litestar's encoder turns example objects into JSON).
schema = schemathesis.openapi.from_dict(json.loads(encode_json(create_app().openapi_schema.to_schema())))
REAL_SLUG = "window-rating-test"
MAX_EXAMPLES = 40


@pytest.fixture
def answered(run, world):
    for overall in (5, 4, 4, 3, 5, 4, 2, 5, 4, 4, 3):
        answer(run, world, world.unit_a, {"overall": overall, "reasons": ["wait"], "comment": "=1+1 13912345678"})
    answer(run, world, world.unit_b, {"overall": 1})
    return world


def test_the_schema_covers_every_api_route(client):
    served = client.get("/api/v1/schema/openapi.json").json()
    assert served == schema.raw_schema
    assert len(list(schema.get_all_operations())) == 12


@pytest.fixture
def session_cookie(client, staff, answered) -> dict[str, str]:
    """Both visitors' cookies, sent per request: the admin's real session, or none."""
    staff.as_role(Role.admin)
    real = client.cookies["minping_session"]
    client.cookies.clear()
    return {"admin": real}


@pytest.mark.parametrize("visitor", ["admin", "anonymous"])
@schema.parametrize()
@schema.given(real_slug=st.booleans())
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_never_fails_and_matches_its_schema(case, real_slug, visitor, client, session_cookie):
    if real_slug and case.path_parameters and "slug" in case.path_parameters:
        case.path_parameters["slug"] = REAL_SLUG  # half the cases reach a campaign that exists
    kwargs = case.as_transport_kwargs(base_url="http://testserver.local")
    headers = dict(kwargs.get("headers") or {})
    # The schema declares the session cookie; schemathesis fills it with made-up values, or leaves it
    # out on purpose (a negative case). The admin's cases carry the real session instead, unless the
    # case is about the cookie being missing or wrong: then the made-up one goes, and 401 is right.
    cookie_is_the_test = case.meta is not None and case.meta.is_negative_at(ParameterLocation.COOKIE)
    signed_in = visitor == "admin" and not cookie_is_the_test
    if signed_in:
        headers = {k: v for k, v in headers.items() if k.lower() != "cookie"}
        headers["cookie"] = f"minping_session={session_cookie['admin']}"
    client.cookies.clear()  # responses set the session cookie again; only `headers` may carry one
    response = client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=headers)
    assert response.status_code < 500, response.text
    if not signed_in:
        # A made-up session cookie is no session. Before anyone is asked who they are, an address with
        # NUL in it is refused (web/security.py), and one that matches no route (`/cases/x`) is not found.
        error = response.json()["error"]
        malformed = (response.status_code, error) in ((400, "NUL in the address"), (404, "Not Found"))
        assert response.status_code == 401 or malformed, response.text
        case.validate_response(response)
    else:
        # `ignored_auth` would probe through schemathesis' own ASGI loop, which the pool cannot serve;
        # enforcement is what the anonymous run (made-up session cookies) and test_authorization check.
        case.validate_response(response, excluded_checks=[ignored_auth])
