"""The JSON API: the staff session and scope of the pages, paging with total and next, JSON errors."""

from __future__ import annotations

import pytest

from survey_app import units
from survey_app.reporting import campaign_report
from survey_app.tables import Role, UnitKind
from tests.test_exports import answer


@pytest.fixture
def answered(run, world):
    run(units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    for overall in (5, 4, 4, 3, 5, 4, 2, 5, 4, 4, 3):
        answer(run, world, world.unit_a, {"overall": overall, "comment": "电话 13912345678"})
    answer(run, world, world.unit_b, {"overall": 1, "reasons": ["wait"], "comment": "=1+1 电话 13912345678"})
    return world


def test_anonymous_gets_401_json(client, answered):
    for path in ("/api/v1/campaigns", "/api/v1/units", "/api/v1/campaigns/window-rating-test/responses"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 401 and response.headers["content-type"].startswith("application/json")
        assert response.json() == {"status": 401, "error": "sign in first (staff session)"}


def test_campaigns_and_units_in_scope(client, staff, answered):
    staff.as_role(Role.worker, "331102-01-002")
    campaigns = client.get("/api/v1/campaigns").json()
    assert campaigns["total"] == 1 and campaigns["next"] is None
    assert campaigns["items"][0]["slug"] == "window-rating-test"
    assert campaigns["items"][0]["questionnaire"] == {"slug": "window-rating", "version": 1}
    listed = client.get("/api/v1/units").json()
    assert [u["code"] for u in listed["items"]] == ["331102-01-002"]
    client.cookies.clear()
    staff.as_role(Role.worker, "331102-02")
    assert client.get("/api/v1/campaigns").json() == {"total": 0, "limit": 100, "offset": 0, "next": None, "items": []}
    for path in ("responses", "scores"):
        response = client.get(f"/api/v1/campaigns/window-rating-test/{path}")
        assert response.status_code == 404 and response.json()["status"] == 404


def test_units_page_through_with_next_links(client, staff, answered):
    staff.as_role(Role.admin)
    first = client.get("/api/v1/units?limit=2&lang=en").json()
    assert first["total"] == 5 and len(first["items"]) == 2
    assert first["items"][0] == {
        "code": "331102",
        "name": "Liandu District",
        "kind": "district",
        "parent_code": None,
        "population": None,
    }
    assert first["next"] == "/api/v1/units?lang=en&limit=2&offset=2"
    seen = [u["code"] for u in first["items"]]
    page = first
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [u["code"] for u in page["items"]]
    assert len(seen) == 5 == len(set(seen))


def test_responses_are_shown_as_in_the_export(client, staff, answered):
    staff.as_role(Role.assessor)
    first = client.get("/api/v1/campaigns/window-rating-test/responses?limit=10").json()
    assert first["total"] == 12 and len(first["items"]) == 10
    assert first["next"].endswith("limit=10&offset=10")
    last = client.get(first["next"]).json()
    assert len(last["items"]) == 2 and last["next"] is None
    record = last["items"][1]
    assert record["unit_code"] == "331102-01-002" and record["status"] == "counted"
    assert record["submitted_hour"] == "2025-06-03T14:00:00+08:00"
    assert {"item": "overall", "value": 1, "label": "非常不满意"} in record["answers"]
    assert {"item": "reasons", "value": ["wait"], "label": "等候时间太长"} in record["answers"]
    assert {"item": "comment", "value": "=1+1 电话 ＊＊＊", "label": ""} in record["answers"]
    assert set(record) == {
        "response_ref",
        "unit_code",
        "unit_name",
        "channel",
        "status",
        "submitted_hour",
        "duration_s",
        "answers",
    }


def test_scores_match_the_report(client, staff, run, answered):
    staff.as_role(Role.admin)
    report = campaign_report.to_dict(
        run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE)
    )
    page = client.get("/api/v1/campaigns/window-rating-test/scores?limit=1").json()
    assert page["total"] == 2 and page["min_n"] == report["min_n"] and page["next"]
    unit = page["items"][0]
    overall = report["units"][0]["scores"][0]
    assert unit["code"] == "331102-01-001" and unit["score"] == overall["index"] and unit["n"] == overall["n"]
    second = client.get(page["next"]).json()
    assert second["items"][0]["suppressed"] is True and second["items"][0]["score"]["estimate"] is None


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "limit=abc", "offset=-1", "offset=99999999999999999999", "lang=fr", "channel=fax"],
)
def test_bad_parameters_are_400_json(client, staff, answered, query):
    staff.as_role(Role.admin)
    response = client.get(f"/api/v1/campaigns/window-rating-test/scores?{query}")
    assert response.status_code == 400 and response.json()["status"] == 400
    assert response.json()["error"]


def test_unknown_campaign_and_offsets_past_the_end(client, staff, answered):
    staff.as_role(Role.admin)
    missing = client.get("/api/v1/campaigns/nope/responses")
    assert missing.status_code == 404 and missing.json()["status"] == 404
    assert client.get("/api/v1/campaigns/nope/scores").status_code == 404
    past = client.get("/api/v1/campaigns/window-rating-test/responses?offset=1000").json()
    assert past["total"] == 12 and past["items"] == [] and past["next"] is None


def test_openapi_schema_describes_only_the_api(client):
    schema = client.get("/api/v1/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert set(paths) == {
        "/api/v1/campaigns",
        "/api/v1/units",
        "/api/v1/campaigns/{slug}/scores",
        "/api/v1/campaigns/{slug}/responses",
        "/api/v1/campaigns/{slug}/responses/changes",
        "/api/v1/campaigns/{slug}/scores/changes",
        "/api/v1/campaigns/{slug}/codebook",
        "/api/v1/units/changes",
        "/api/v1/cases/changes",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/callback",
        "/api/v1/cases/{case_id}/reply",
    }
    responses = paths["/api/v1/units"]["get"]["responses"]
    assert {"200", "400", "401", "404"} <= set(responses)


def test_unknown_paths_and_methods_answer_json(client, staff, answered):
    staff.as_role(Role.admin)
    unknown = client.get("/api/v1/nothing")
    assert unknown.status_code == 404 and unknown.json()["status"] == 404
    wrong_method = client.delete("/api/v1/units")
    assert wrong_method.status_code == 405 and wrong_method.json()["status"] == 405
    assert client.get("/no-such-page").headers["content-type"].startswith("text/html")
