"""Hourly limits per link and per campaign, and the per-address flood guard on residents' posts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.testing import TestClient

from survey_app import app as app_module
from survey_app import auth, ballots, counters, db, ratelimits
from survey_app.app import create_app
from survey_app.ballots import BallotSettings
from survey_app.settings import get_settings
from survey_app.tables import Role

from .test_public import valid_answers

NO_LIMITS = BallotSettings(
    device_check=False, revision_minutes=30, invitation_only=False, link_hourly_limit=None, campaign_hourly_limit=None
)


def limits(run, world, **changes) -> None:
    run(ballots.change_settings, world.campaign_id, BallotSettings(**{**NO_LIMITS.__dict__, **changes}), "test")


def answer(client, token: str, **overrides):
    form = client.get(f"/q/{token}")
    return client.post(f"/q/{token}", data=valid_answers(form.text, **overrides), follow_redirects=False)


def test_link_hourly_limit_turns_answers_away_with_them_kept_and_owners_see_it(client, staff, run, world):
    limits(run, world, link_hourly_limit=2)
    assert [answer(client, world.token_a).status_code for _ in range(2)] == [303, 303]
    r = answer(client, world.token_a, overall="2")
    assert r.status_code == 429 and "稍后再试" in r.text
    assert BeautifulSoup(r.text, "html.parser").select_one("input[name=overall][value='2']").has_attr("checked")
    assert answer(client, world.token_b).status_code == 303  # the other link has its own hour
    assert len(world.responses()) == 3
    run(counters.flush)
    staff.as_role(Role.admin)
    soup = BeautifulSoup(client.get("/staff/campaigns/window-rating-test").text, "html.parser")
    row = next(tr for tr in soup.select("tbody tr") if "大洋社区" in tr.text)
    assert [td.text for td in row.select("td.num")][-1] == "1"


def test_campaign_hourly_limit_counts_all_links_and_answers_in_english_too(client, run, world):
    limits(run, world, campaign_hourly_limit=2)
    answer(client, world.token_a)
    answer(client, world.token_b)
    form = client.get(f"/q/{world.token_b}?lang=en")
    r = client.post(f"/q/{world.token_b}?lang=en", data=valid_answers(form.text))
    assert r.status_code == 429 and "try again later" in r.text
    assert len(world.responses()) == 2


def test_a_resend_within_a_full_hour_still_gets_its_receipt(client, run, world):
    limits(run, world, link_hourly_limit=1)
    page = client.get(f"/q/{world.token_a}").text
    first = client.post(f"/q/{world.token_a}", data=valid_answers(page), follow_redirects=False)
    again = client.post(f"/q/{world.token_a}", data=valid_answers(page), follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]


def test_many_residents_behind_one_address_are_all_accepted(client, world):
    """A carrier-grade NAT: every request below comes from the same client address."""
    for n in range(60):
        client.cookies.clear()
        assert answer(client, world.token_a, overall=str(1 + n % 5)).status_code == 303
    assert len(world.responses()) == 60


@pytest.fixture
def strict_client(monkeypatch, portal) -> Iterator[TestClient]:
    """An app whose flood guard allows 3 resident posts a minute per address."""
    strict = dataclasses.replace(get_settings(), resident_posts_per_minute=3)
    monkeypatch.setattr(app_module, "get_settings", lambda: strict)
    app = create_app()
    # The session's app owns the connection pool and the counters' flushing: this second app must not
    # open or close them (on PostgreSQL its shutdown would close the pool every other test uses).
    app._lifespan_managers = [m for m in app._lifespan_managers if m not in (db.lifespan, counters.lifespan)]
    client = TestClient(app, base_url="http://testserver.local")
    client.blocking_portal = portal
    with client:
        yield client


def test_the_flood_guard_stops_one_address_posting_too_fast(strict_client, world):
    page = strict_client.get(f"/q/{world.token_a}").text
    replies = [
        strict_client.post(f"/q/{world.token_a}", data=valid_answers(page), follow_redirects=False) for _ in range(4)
    ]
    assert [r.status_code for r in replies] == [303, 303, 303, 429]
    assert "稍后再试" in replies[-1].text
    assert 1 <= int(replies[-1].headers["retry-after"]) <= 60
    for _ in range(5):  # reading pages is never limited
        assert strict_client.get(f"/q/{world.token_a}").status_code == 200


def test_the_rate_limit_store_is_redis_when_configured(monkeypatch):
    assert isinstance(create_app().stores.get("rate_limit"), MemoryStore)
    monkeypatch.setenv("MINPING_REDIS_URL", "redis://127.0.0.1:6399/0")
    get_settings.cache_clear()
    try:
        store = auth.make_store("rate_limit")
        assert isinstance(store, RedisStore)
    finally:
        monkeypatch.delenv("MINPING_REDIS_URL")
        get_settings.cache_clear()
    assert ratelimits.resident_flood_guard(300).store == "rate_limit"
