"""Change feeds by cursor (every insert and status change exactly once, in order), unknown parameters
as 400, the cases endpoints (read, call-back result, reply with the staff pages' rules) and the codebook."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from survey_app import changes, db, quarantine, receipts, responses, reviews, tokens, units
from survey_app.accounts import StaffMember
from survey_app.cases import appeals
from survey_app.changes import Change, Kind, Position
from survey_app.db import writing
from survey_app.responses import FormToken
from survey_app.settings import get_settings
from survey_app.tables import AuditEntry, RatingCase, Response, Role, UnitKind
from tests.test_exports import SUBMITTED, answer

FEED = "/api/v1/campaigns/window-rating-test/responses/changes"
ADMIN = StaffMember(1, "chief", "chief", Role.admin, None, "")
ASSESSOR = StaffMember(2, "assessor", "assessor", Role.assessor, None, "")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pull(client, path: str, token: str, cursor: str, limit: int = 3) -> tuple[list[dict], str]:
    """Everything after `cursor`, page by page as a client would, and the cursor to store."""
    items: list[dict] = []
    while True:
        page = client.get(path, params={"cursor": cursor, "limit": limit}, headers=bearer(token))
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["cursor"]
        if not body["more"]:
            return items, cursor


def server_state(run, world) -> tuple[dict[str, str], dict[int, str]]:
    async def read() -> tuple[list[dict], list[dict]]:
        found = await Response.select(Response.receipt, Response.status).where(Response.campaign == world.campaign_id)
        return found, await RatingCase.select(RatingCase.id, RatingCase.state)

    found, cases = run(read)
    return {receipts.staff_reference(r["receipt"]): r["status"] for r in found}, {c["id"]: c["state"] for c in cases}


def test_a_token_client_ends_with_exactly_the_servers_state(client, run, world):
    # The city's data platform reads responses (a read-only token); the hotline reads cases and calls back.
    reader = run(tokens.create, "platform", actor="admin")
    token = run(tokens.create, "hotline", actor="admin", writes=["cases.callback"])
    assert client.get(FEED, headers=bearer(token)).status_code == 404  # a writing token is not shown raw rows
    seen_responses: list[dict] = []
    seen_cases: list[dict] = []
    response_cursor = case_cursor = ""
    expected_steps: Counter[str] = Counter()  # receipt -> changes made to it (insert + status changes)
    for round_ in range(4):
        # Answers arrive: some bad ratings, which open cases.
        for overall in (5, 1, 4, 2, 3):
            receipt = answer(run, world, world.unit_a if round_ % 2 else world.unit_b, {"overall": overall})
            expected_steps[receipts.staff_reference(receipt)] += 1
        got, response_cursor = pull(client, FEED, reader, response_cursor)
        seen_responses += got
        # Some get flagged and excluded; a bad rating's case is called back through the API;
        # an appeal is upheld, which excludes the rating and its case.
        rows = world.responses()
        live = [r for r in rows if r["status"] == "counted"]
        flagged = live[0]
        run(quarantine._quarantine, flagged["id"], ["burst"])
        run(reviews.decide, ADMIN, flagged["id"], "exclude", "同一设备连续提交")
        expected_steps[receipts.staff_reference(flagged["receipt"])] += 2
        cases, case_cursor = pull(client, "/api/v1/cases/changes", token, case_cursor)
        seen_cases += cases
        open_cases = [c["case"] for c in cases if c["case"]["state"] == "new"]
        if open_cases:
            moved = client.post(
                f"/api/v1/cases/{open_cases[0]['id']}/callback",
                json={"to": "verified", "note": "已电话回访，属实"},
                headers=bearer(token),
            )
            assert moved.status_code == 200, moved.text
            assert moved.json()["state"] == "verified"
        if round_ == 2:
            case = next(c for c in run(_cases) if c["state"] in ("new", "verified"))
            run(appeals.file, StaffMember(3, "worker", "worker", Role.worker, None, ""), case["id"], "mistaken", "误评")
            run(appeals.decide, ASSESSOR, case["id"], True, "确属误评")
            receipt = next(r["receipt"] for r in rows if r["id"] == case["response"])
            expected_steps[receipts.staff_reference(receipt)] += 1
    got, response_cursor = pull(client, FEED, reader, response_cursor)
    seen_responses += got
    cases, case_cursor = pull(client, "/api/v1/cases/changes", token, case_cursor)
    seen_cases += cases

    responses_now, cases_now = server_state(run, world)
    last_status = {}
    for item in seen_responses:
        last_status[item["response"]["response_ref"]] = item["status"]
    assert last_status == responses_now
    assert Counter(i["response"]["response_ref"] for i in seen_responses) == expected_steps  # each change once
    assert {i["case"]["id"]: i["state"] for i in seen_cases} == cases_now
    for steps in _by_receipt(seen_responses).values():
        assert steps[0] == ("created", "counted")
        assert all(change == "status" for change, _ in steps[1:])
    assert ("status", "excluded") in [s for steps in _by_receipt(seen_responses).values() for s in steps]
    # Nothing more after the stored cursor, and the same cursor comes back.
    again = client.get(FEED, params={"cursor": response_cursor}, headers=bearer(reader)).json()
    assert again == {"cursor": response_cursor, "more": False, "items": []}


async def _cases() -> list[dict]:
    return await RatingCase.select().order_by(RatingCase.id)


def _by_receipt(items: list[dict]) -> dict[str, list[tuple[str, str]]]:
    steps: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        steps.setdefault(item["response"]["response_ref"], []).append((item["change"], item["status"]))
    return steps


def test_unknown_parameters_and_bad_cursors_are_400(client, run, world):
    token = run(tokens.create, "reader", actor="admin")
    for path in (
        "/api/v1/campaigns/window-rating-test/responses?since=2025-01-01",
        "/api/v1/units?updated_since=yesterday",
        f"{FEED}?since=2025-01-01",
        f"{FEED}?cursor=not-a-cursor",
        f"{FEED}?cursor={Position(1, 2).encode()}-3",
        "/api/v1/cases/changes?cursor=1.2",
        f"{FEED}?cursor={'9' * 19}-1",
    ):
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 400, path
        assert response.json()["status"] == 400
    refused = client.get("/api/v1/campaigns/window-rating-test/responses?since=1", headers=bearer(token)).json()
    assert "since" in refused["error"] and "limit" in refused["error"]


def test_the_largest_cursor_is_an_empty_page(client, run, world):
    token = run(tokens.create, "reader", actor="admin")
    last = f"{'9' * 18}-{'9' * 18}"
    for path in (FEED, "/api/v1/cases/changes", "/api/v1/units/changes"):
        page = client.get(path, params={"cursor": last}, headers=bearer(token))
        assert page.status_code == 200 and page.json() == {"cursor": last, "more": False, "items": []}


def test_the_cursor_round_trips_and_refuses_anything_else():
    for position in (Position(), Position(0, 7), Position(123456789, 2**40)):
        assert Position.decode(position.encode()) == position
    assert Position.decode("") == Position()
    for bad in ("-1-2", "1-", "1-2-3", "a-1", "1 -2", "1-2\n"):
        with pytest.raises(changes.BadCursor):
            Position.decode(bad)


def test_feeds_keep_to_the_tokens_units(client, run, world):
    token = run(tokens.create, "street-a", actor="admin", unit_code="331102-01-001")
    answer(run, world, world.unit_a, {"overall": 1})
    answer(run, world, world.unit_b, {"overall": 1})
    items, _ = pull(client, FEED, token, "")
    assert {i["response"]["unit_code"] for i in items} == {"331102-01-001"}
    cases, _ = pull(client, "/api/v1/cases/changes", token, "")
    assert {c["case"]["unit_code"] for c in cases} == {"331102-01-001"}
    other = next(c for c in run(_cases) if c["unit"] == world.unit_b)
    assert client.get(f"/api/v1/cases/{other['id']}", headers=bearer(token)).status_code == 404
    assert client.get(f"/api/v1/cases/{2**40}", headers=bearer(token)).status_code == 404  # beyond the id column


def test_units_feed_shows_additions_and_changes_in_order(client, run, staff, world):
    staff.as_role(Role.admin)
    first = client.get("/api/v1/units/changes").json()
    assert [i["unit"]["code"] for i in first["items"]] == [
        "331102",
        "331102-01",
        "331102-01-001",
        "331102-01-002",
    ]
    run(units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    later = client.get("/api/v1/units/changes", params={"cursor": first["cursor"]}).json()
    assert [(i["change"], i["unit"]["code"]) for i in later["items"]] == [("created", "331102-02")]


def test_the_score_feed_names_the_units_whose_answers_changed(client, run, staff, world):
    staff.as_role(Role.admin)
    answer(run, world, world.unit_a, {"overall": 5})
    start = client.get("/api/v1/campaigns/window-rating-test/scores/changes").json()
    assert [u["code"] for u in start["items"]] == ["331102-01-001"]
    answer(run, world, world.unit_b, {"overall": 4})
    later = client.get("/api/v1/campaigns/window-rating-test/scores/changes", params={"cursor": start["cursor"]})
    assert [(u["code"], u["responses"]) for u in later.json()["items"]] == [("331102-01-002", 1)]


def test_case_writes_follow_the_staff_pages_rules(client, run, world):
    writer = run(tokens.create, "hotline", actor="admin", writes=["cases.callback", "cases.reply"])
    reader = run(tokens.create, "reader", actor="admin")
    answer(run, world, world.unit_a, {"overall": 1})
    [case] = run(_cases)
    path = f"/api/v1/cases/{case['id']}"
    shown = client.get(path, headers=bearer(reader)).json()
    assert shown["state"] == "new" and shown["next_states"] == ["verified", "rectifying", "resolved", "explained"]
    assert [e["kind"] for e in shown["events"]] == ["opened"] and "phone" not in shown
    body = {"to": "verified", "note": "已回访"}
    assert client.post(f"{path}/callback", json=body, headers=bearer(reader)).status_code == 403
    skipped = client.post(f"{path}/callback", json={"to": "superseded", "note": "x"}, headers=bearer(writer))
    assert skipped.status_code == 422 and skipped.json()["error"] == "案件当前状态下不能进行这一步。"
    empty = client.post(f"{path}/callback", json={"to": "verified", "note": " "}, headers=bearer(writer))
    assert empty.status_code == 422
    assert client.post(f"{path}/callback", json={"to": "verified"}, headers=bearer(writer)).status_code == 400
    done = client.post(f"{path}/callback", json=body, headers=bearer(writer))
    assert done.status_code == 200 and done.json()["state"] == "verified"
    replied = client.post(f"{path}/reply", json={"text": "已安排专人整改"}, headers=bearer(writer))
    assert replied.status_code == 200 and replied.json()["reply"] == "已安排专人整改"

    async def audit_actors() -> list[tuple[str, str]]:
        rows = await AuditEntry.select(AuditEntry.actor, AuditEntry.action).order_by(AuditEntry.id)
        return [(r["actor"], r["action"]) for r in rows]

    assert run(audit_actors)[-2:] == [("token:hotline", "case.state"), ("token:hotline", "case.reply")]


def test_the_session_cannot_write_through_the_api(client, staff, run, world):
    staff.as_role(Role.admin)
    answer(run, world, world.unit_a, {"overall": 1})
    [case] = run(_cases)
    response = client.post(f"/api/v1/cases/{case['id']}/reply", json={"text": "已处理"})
    assert response.status_code == 403 and "token" in response.json()["error"]
    assert client.get(f"/api/v1/cases/{case['id']}").status_code == 200  # reading is fine


def test_the_codebook_lists_codes_labels_and_dont_know(client, staff, world):
    staff.as_role(Role.assessor)
    book = client.get("/api/v1/campaigns/window-rating-test/codebook").json()
    assert book["questionnaire"] == "window-rating"
    items = {i["id"]: i for i in book["items"]}
    overall = items["overall"]
    assert overall["type"] == "rating"
    assert {"value": 1, "label": {"zh": "非常不满意", "en": "Very dissatisfied"}, "missing": False} in overall["codes"]
    efficiency = items["efficiency"]
    assert [c["value"] for c in efficiency["codes"] if c["missing"]] == ["dk"]
    assert items["comment"]["codes"] == []


@pytest.mark.skipif(not isinstance(db.engine(), PostgresEngine), reason="SQLite commits writers one at a time")
def test_an_event_committed_late_is_not_skipped(portal, run, world):
    """PostgreSQL: a transaction that took a lower id but commits later must not be passed by the cursor."""
    answer(run, world, world.unit_a, {"overall": 5})
    [early_row] = world.responses()

    async def scenario() -> tuple[list[int], list[int]]:
        start = (await changes.after(Kind.response, Position(), 500, visible=None))[-1].position
        holding, release = asyncio.Event(), asyncio.Event()

        async def slow() -> None:
            async with writing():
                await changes.record(Kind.response, early_row["id"], Change.status)  # takes the lower id
                holding.set()
                await release.wait()

        task = asyncio.create_task(slow())
        await holding.wait()
        async with writing():
            await changes.record(Kind.response, early_row["id"], Change.status)  # commits first
        while_open = [e.id for e in await changes.after(Kind.response, start, 500, visible=None)]
        release.set()
        await task
        after_commit = [e.id for e in await changes.after(Kind.response, start, 500, visible=None)]
        return while_open, after_commit

    while_open, after_commit = run(scenario)
    assert while_open == []  # the later commit waits for the earlier transaction
    assert len(after_commit) == 2 and after_commit == sorted(after_commit)


@pytest.mark.skipif(not isinstance(db.engine(), PostgresEngine), reason="PostgreSQL's transaction ids")
def test_a_transaction_open_in_another_database_does_not_hold_the_feeds_back(portal, run, world):
    """Transaction ids are shared by every database of a server: a long one elsewhere (a pg_dump of
    another database, the suite's other worker) must not stop this database's feeds."""
    elsewhere = get_settings().database_url.rsplit("/", 1)[0] + "/postgres"

    async def scenario() -> tuple[str, list[int]]:
        other = await asyncpg.connect(elsewhere)
        try:
            async with other.transaction():
                await other.fetchval("SELECT pg_current_xact_id()")  # an id taken and held over there
                token = FormToken(submission_id=uuid.uuid4().hex, issued_at=SUBMITTED.timestamp() - 95)
                saved = await responses.record(
                    campaign_id=world.campaign_id, unit_id=world.unit_a, link_id=None, token=token,
                    answers={"overall": 4}, now=SUBMITTED,
                )  # fmt: skip
                seen = await changes.after(Kind.response, Position(), 500, visible=None)
                return saved.receipt, [e.object_id for e in seen]
        finally:
            await other.close()

    receipt, seen = run(scenario)
    [row] = [r for r in world.responses() if r["receipt"] == receipt]
    assert row["id"] in seen  # saved while the other database's transaction was open, and already in the feed
