"""Webhooks through the outbox: signed bodies to a receiver on loopback, retries with back-off, dead letters and
redelivery, scope, overdue cases, and nothing lost when the server is killed mid-delivery."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from survey_app import quarantine, reviews, webhooks
from survey_app.accounts import StaffMember
from survey_app.changes import Change, Event, Kind
from survey_app.settings import get_settings
from survey_app.tables import DeliveryState, RatingCase, Role, WebhookDelivery
from tests.conftest import csrf_token
from tests.servers import serving
from tests.test_exports import answer

ADMIN = StaffMember(1, "chief", "chief", Role.admin, None, "")


class Receiver:
    """An HTTP receiver on a free loopback port: records every body it read; answers `status` after `delay`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status, self.delay = 200, 0.0
        self.started = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.started.set()
                time.sleep(receiver.delay)
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/minping"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys(self) -> list[str]:
        return [h["x-minping-delivery"] for h, _ in self.received]

    def types(self) -> list[str]:
        return [h["x-minping-event"] for h, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def deliveries(run) -> list[dict]:
    async def fetch() -> list[dict]:
        return await WebhookDelivery.select().order_by(WebhookDelivery.id)

    return run(fetch)


def test_events_arrive_signed_and_once_each(run, world, receiver):
    secret = run(webhooks.create, "hotline", receiver.url, list(webhooks.EVENTS), actor="admin")
    answer(run, world, world.unit_a, {"overall": 1})
    answer(run, world, world.unit_b, {"overall": 5})
    flagged = world.responses()[1]
    run(quarantine._quarantine, flagged["id"], ["burst"])
    run(reviews.decide, ADMIN, flagged["id"], "exclude", "同一设备连续提交")
    assert run(webhooks.pump) == 5
    # The answers were given in 2025 (tests/test_exports.py): the case is overdue at once.
    assert receiver.types() == [
        "response.counted",
        "case.opened",
        "response.counted",
        "response.excluded",
        "case.overdue",
    ]
    for headers, body in receiver.received:
        expected = webhooks.signature(secret, headers["x-minping-timestamp"], body)
        assert headers["x-minping-signature"] == expected
        assert abs(int(headers["x-minping-timestamp"]) - time.time()) < 60
        event = json.loads(body)
        assert event["id"] == headers["x-minping-delivery"] and event["type"] == headers["x-minping-event"]
    case = json.loads(receiver.received[1][1])["data"]
    assert case["state"] == "new" and case["unit_code"] == "331102-01-001" and "phone" not in case
    assert json.loads(receiver.received[3][1])["data"]["status"] == "excluded"
    assert len(set(receiver.keys())) == 5
    assert run(webhooks.pump) == 0 and len(receiver.received) == 5  # delivered ones are not sent again


def test_a_webhook_starts_now_and_keeps_to_its_units_and_events(run, world, receiver):
    answer(run, world, world.unit_a, {"overall": 1})  # before the webhook: not sent
    run(webhooks.create, "street", receiver.url, ["case.opened"], actor="admin", unit_code="331102-01-002")
    answer(run, world, world.unit_a, {"overall": 1})
    answer(run, world, world.unit_b, {"overall": 2})
    answer(run, world, world.unit_b, {"overall": 5})
    run(webhooks.pump)
    assert receiver.types() == ["case.opened"]
    assert json.loads(receiver.received[0][1])["data"]["unit_code"] == "331102-01-002"


def test_failures_back_off_then_dead_letter_and_redelivery(run, world, receiver, client, staff):
    receiver.status = 503
    run(webhooks.create, "flaky", receiver.url, ["response.counted"], actor="admin")
    answer(run, world, world.unit_a, {"overall": 4})
    run(webhooks.enqueue)
    now = datetime.now(UTC)

    async def attempt(at: datetime) -> int:
        async with httpx.AsyncClient() as http:
            return await webhooks.deliver(http, at)

    waits = []
    for _ in range(webhooks.MAX_ATTEMPTS):
        assert run(attempt, now) == 0
        [d] = deliveries(run)
        if d["state"] == DeliveryState.pending:
            waits.append(round((d["next_attempt_at"] - now).total_seconds()))
            assert run(attempt, d["next_attempt_at"] - timedelta(seconds=1)) == 0  # not due yet: not sent
            now = d["next_attempt_at"]
    assert waits == list(webhooks.BACKOFF_S)
    [d] = deliveries(run)
    assert (d["state"], d["attempts"], d["last_error"]) == ("dead", webhooks.MAX_ATTEMPTS, "HTTP 503")
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS
    assert len(set(receiver.keys())) == 1  # every attempt carries the same idempotency key

    staff.as_role(Role.admin)
    page = client.get("/staff/webhooks/")
    assert page.status_code == 200 and d["key"] in page.text and "HTTP 503" in page.text
    receiver.status = 200
    redo = client.post(f"/staff/webhooks/deliveries/{d['id']}/redeliver", data={"_csrf_token": csrf_token(page.text)})
    assert redo.status_code == 200
    assert run(webhooks.pump) == 1
    assert deliveries(run)[0]["state"] == "delivered"


def test_the_back_office_creates_a_webhook_and_shows_its_secret_once(client, staff, run, world, receiver):
    staff.as_role(Role.admin)
    page = client.get("/staff/webhooks/")
    form = {"_csrf_token": csrf_token(page.text), "name": "hotline", "url": receiver.url, "events": ["case.opened"]}
    created = client.post("/staff/webhooks/", data=form)
    assert created.status_code == 200
    secret = created.text.split('<code translate="no" id="secret">')[1].split("<")[0]
    assert len(secret) == 64 and secret not in client.get("/staff/webhooks/").text
    bad = client.post("/staff/webhooks/", data={**form, "_csrf_token": csrf_token(page.text), "url": "ftp://x"})
    assert bad.status_code == 422
    answer(run, world, world.unit_a, {"overall": 1})
    run(webhooks.pump)
    headers, body = receiver.received[0]
    assert headers["x-minping-signature"] == webhooks.signature(secret, headers["x-minping-timestamp"], body)


def test_overdue_cases_are_recorded_once(run, world, receiver):
    run(webhooks.create, "overdue", receiver.url, ["case.overdue", "case.closed"], actor="admin")
    answer(run, world, world.unit_a, {"overall": 1})

    async def due() -> datetime:
        return (await RatingCase.select(RatingCase.close_due).first())["close_due"]

    later = run(due) + timedelta(minutes=1)
    assert run(webhooks.mark_overdue, later - timedelta(minutes=2)) == 0
    assert run(webhooks.mark_overdue, later) == 1
    assert run(webhooks.mark_overdue, later) == 0
    run(webhooks.pump)
    assert receiver.types() == ["case.overdue"]


def test_which_changes_are_events():
    def event(kind: Kind, change: Change, status: str) -> Event:
        return Event(1, 0, kind.value, 1, 1, 1, status, change.value, datetime.now(UTC))

    assert webhooks.event_type(event(Kind.response, Change.created, "counted")) == "response.counted"
    assert webhooks.event_type(event(Kind.response, Change.created, "quarantined")) is None
    assert webhooks.event_type(event(Kind.response, Change.status, "included")) == "response.counted"
    assert webhooks.event_type(event(Kind.response, Change.status, "superseded")) is None
    assert webhooks.event_type(event(Kind.case, Change.status, "verified")) is None
    assert webhooks.event_type(event(Kind.case, Change.status, "resolved")) == "case.closed"
    assert webhooks.event_type(event(Kind.case, Change.updated, "new")) is None
    assert webhooks.event_type(event(Kind.period, Change.status, "closed")) == "period.sealed"


@pytest.mark.slow
def test_nothing_is_lost_when_the_server_is_killed_mid_delivery(run, world, receiver, portal):
    """Two workers deliver to a slow receiver; the server is killed (SIGKILL) while a body is being
    received; a new server delivers the rest, and the receiver ends with every event at least once."""
    run(webhooks.create, "hotline", receiver.url, ["response.counted", "case.opened"], actor="admin")
    for overall in (5, 1, 4, 2, 3):
        answer(run, world, world.unit_a, {"overall": overall})
    run(webhooks.enqueue)
    expected = {d["key"] for d in deliveries(run)}
    assert len(expected) == 7  # five answers, two of them bad ratings
    receiver.delay = 1.0
    env = {**os.environ, "MINPING_DATABASE_URL": get_settings().database_url, "MINPING_WEBHOOK_INTERVAL": "0.2"}
    data_dir = Path(tempfile.mkdtemp(prefix="minping-webhooks-"))
    with serving(data_dir / "a", env, "--workers", "2") as first:
        assert receiver.started.wait(60), first.log_text()
        os.killpg(first.pid, signal.SIGKILL)
    assert set(receiver.keys()) < expected  # the kill came before everything was delivered
    receiver.delay = 0.0
    with serving(data_dir / "b", env, "--workers", "2") as second:
        deadline = time.monotonic() + webhooks.LEASE_S + 30
        # Every event reached the receiver, and the server recorded each as delivered (it does so just after
        # the receiver answers).
        while not expected <= set(receiver.keys()) or {d["state"] for d in deliveries(run)} != {"delivered"}:
            assert time.monotonic() < deadline, (sorted(expected - set(receiver.keys())), second.log_text())
            time.sleep(0.2)
    assert {d["key"] for d in deliveries(run)} == expected
