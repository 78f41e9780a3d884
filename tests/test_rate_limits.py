"""Hourly limits per link and per campaign, and the per-address flood guard on residents' posts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from litestar import post
from litestar.params import FromPath
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.testing import TestClient

from survey_app import app as app_module
from survey_app import ballots, counters, db, receipts
from survey_app.app import create_app
from survey_app.ballots import BallotSettings
from survey_app.cases import workflow
from survey_app.settings import get_settings
from survey_app.tables import Link, Role
from survey_app.web import flood_guard, stores

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
    # the same receipt (its call-back token is minted anew, so it may carry another second)
    assert first.headers["location"].split("&t=")[0] == again.headers["location"].split("&t=")[0]
    assert "?r=" in first.headers["location"]


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
        for store in stores.NAMES:  # in Redis, earlier tests' counts are still there
            portal.call(app.stores.get(store).delete_all)
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


def fill_the_minute(client, token: str) -> None:
    """Use up the strict client's 3 posts with answers that are refused (no form token), so none is saved."""
    for _ in range(3):
        assert client.post(f"/q/{token}", data={"overall": "4"}).status_code == 422


BAD_RATING = {"overall": "2", "reasons": ["wait", "repeat"], "comment": "排队两个小时", "one_visit": "no"}


def assert_answers_kept(html: str, posted: dict) -> None:
    soup = BeautifulSoup(html, "html.parser")
    # The same form token: a resend after the wait is the same submission.
    assert soup.select_one("input[name=_form]")["value"] == posted["_form"]
    assert soup.select_one("input[name=overall][value='2']").has_attr("checked")
    assert [i["value"] for i in soup.select("input[name=reasons][checked]")] == ["wait", "repeat"]
    assert soup.select_one("input[name=one_visit][value=no]").has_attr("checked")
    assert soup.select_one("textarea[name=comment]").text == "排队两个小时"


def test_over_the_flood_limit_a_resident_gets_the_form_back_with_the_answers_kept(strict_client, world):
    fill_the_minute(strict_client, world.token_a)
    posted = valid_answers(strict_client.get(f"/q/{world.token_a}").text, **BAD_RATING)
    r = strict_client.post(f"/q/{world.token_a}", data=posted, follow_redirects=False)
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60 and r.headers["ratelimit-remaining"] == "0"
    notice = BeautifulSoup(r.text, "html.parser").select_one(".notice[role=alert]")
    assert notice.get_text(strip=True) == "提交太频繁，请稍后再试：等一分钟再提交即可，您填写的答案已保留。"
    assert_answers_kept(r.text, posted)
    assert world.responses() == []


def test_over_the_flood_limit_a_resident_who_chose_english_is_told_in_english(strict_client, world):
    strict_client.get(f"/lang/en?next=/q/{world.token_a}")  # the language switch on the page sets a cookie
    fill_the_minute(strict_client, world.token_a)
    posted = valid_answers(strict_client.get(f"/q/{world.token_a}").text, **BAD_RATING)
    r = strict_client.post(f"/q/{world.token_a}", data=posted, follow_redirects=False)
    assert r.status_code == 429 and "retry-after" in r.headers
    notice = BeautifulSoup(r.text, "html.parser").select_one(".notice[role=alert]").get_text(strip=True)
    assert notice.startswith("You are submitting too often. Please try again later") and "kept" in notice
    assert_answers_kept(r.text, posted)
    assert world.responses() == []


def test_over_the_flood_limit_an_expired_form_gets_a_fresh_token_and_nothing_counts(strict_client, world, run):
    async def starts() -> int:
        await counters.flush()
        return (await Link.select(Link.starts).where(Link.token == world.token_a).first())["starts"]

    fill_the_minute(strict_client, world.token_a)
    assert run(starts) == 3  # refused answers count as starts
    r = strict_client.post(f"/q/{world.token_a}", data={"_form": "forged", "overall": "5"})
    assert r.status_code == 429 and "提交太频繁" in r.text
    form_token = BeautifulSoup(r.text, "html.parser").select_one("input[name=_form]")["value"]
    assert form_token != "forged" and form_token.count(".") == 2
    assert run(starts) == 3  # one the flood guard turned away does not


def test_over_the_flood_limit_the_call_back_number_is_kept_on_the_page_not_saved(strict_client, world, run):
    page = strict_client.get(f"/q/{world.token_a}").text
    thanks = strict_client.post(f"/q/{world.token_a}", data=valid_answers(page, overall="1"))
    receipt = world.responses()[0]["receipt"]
    assert thanks.status_code == 200 and receipt in thanks.text
    for _ in range(2):
        short = {"phone": "12", "t": receipts.callback_token(receipt)}
        assert strict_client.post(f"/q/{world.token_a}/callback?r={receipt}", data=short).status_code == 422
    data = {"phone": "13800138000", "t": receipts.callback_token(receipt)}
    r = strict_client.post(f"/q/{world.token_a}/callback?r={receipt}", data=data)
    assert r.status_code == 429 and "retry-after" in r.headers
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("#phone-error").text == "提交太频繁，请稍后再试：等一分钟再提交即可，您填写的答案已保留。"
    assert soup.select_one("input[name=phone]")["value"] == "13800138000"
    assert run(workflow.callback_state, world.campaign_id, receipt) == "offer"  # no number was left


def test_other_resident_posts_over_the_limit_get_the_error_page_with_retry_after(strict_client, world):
    @post("/q/{token:str}/elsewhere", include_in_schema=False)
    async def elsewhere(token: FromPath[str]) -> str:
        return "posted"

    strict_client.app.register(elsewhere)
    replies = [strict_client.post(f"/q/{world.token_a}/elsewhere") for _ in range(4)]
    assert [r.status_code for r in replies] == [201, 201, 201, 429]
    assert "访问太频繁" in replies[-1].text and 1 <= int(replies[-1].headers["retry-after"]) <= 60
    assert strict_client.get(f"/q/{world.token_a}").status_code == 200
    assert strict_client.post("/login", data={}).status_code == 403  # staff posts are not the guard's (CSRF refuses)
    wrong_method = strict_client.put(f"/q/{world.token_a}")  # the error page keeps every error's headers
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}


def test_the_rate_limit_store_is_redis_when_configured(monkeypatch):
    try:
        monkeypatch.delenv("MINPING_REDIS_URL", raising=False)
        get_settings.cache_clear()
        assert isinstance(create_app().stores.get("rate_limit"), MemoryStore)
        monkeypatch.setenv("MINPING_REDIS_URL", "redis://127.0.0.1:6399/0")
        get_settings.cache_clear()
        assert isinstance(stores.make_store("rate_limit"), RedisStore)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert flood_guard.resident_flood_guard(300).store == "rate_limit"
