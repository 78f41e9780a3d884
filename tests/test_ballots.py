"""One device, one vote: the per-campaign key, the device cookie, "already answered", revisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup

from survey_app import ballots, campaigns, responses
from survey_app.ballots import BallotSettings
from survey_app.i18n import Refusal
from survey_app.reporting import campaign_report
from survey_app.tables import Campaign, CampaignStatus, Response, ResponseStatus

from .test_public import form_fields, valid_answers

SETTINGS = BallotSettings(
    device_check=True, revision_minutes=30, invitation_only=False, link_hourly_limit=None, campaign_hourly_limit=None
)


def flag_key(run, campaign_id: int) -> str:
    async def fetch() -> str:
        row = await Campaign.select(Campaign.flag_key).where(Campaign.id == campaign_id).first()
        return row["flag_key"]

    return run(fetch)


def device_check_on(run, world, **changes) -> None:
    new = BallotSettings(**{**SETTINGS.__dict__, **changes})
    run(ballots.change_settings, world.campaign_id, new, "test")


def answer(client, token: str, **overrides) -> object:
    form = client.get(f"/q/{token}")
    return client.post(f"/q/{token}", data=valid_answers(form.text, **overrides), follow_redirects=False)


def set_submitted_at(run, response_id: int, when: datetime) -> None:
    async def update() -> None:
        await Response.update({Response.submitted_at: when}).where(Response.id == response_id)

    run(update)


# The per-campaign key


def test_a_new_campaign_gets_its_own_random_flag_key(run, world):
    other = world.campaign("window-rating", slug="second-campaign")
    first, second = flag_key(run, world.campaign_id), flag_key(run, other)
    assert len(first) == 64 and len(second) == 64 and first != second


def test_closing_a_campaign_replaces_its_key_and_reopening_keeps_the_new_one(run, world):
    before = flag_key(run, world.campaign_id)
    run(campaigns.set_status, world.campaign_id, CampaignStatus.closed, "test")
    after_close = flag_key(run, world.campaign_id)
    assert after_close != before and len(after_close) == 64
    run(campaigns.set_status, world.campaign_id, CampaignStatus.open, "test")
    assert flag_key(run, world.campaign_id) == after_close


def test_opening_a_campaign_without_a_key_sets_one(run, world):
    async def clear() -> None:
        await Campaign.update({Campaign.flag_key: ""}).where(Campaign.id == world.campaign_id)

    run(clear)
    run(campaigns.set_status, world.campaign_id, CampaignStatus.open, "test")
    assert len(flag_key(run, world.campaign_id)) == 64


def test_after_closing_the_stored_device_hash_no_longer_matches_the_device(client, run, world):
    device_check_on(run, world)
    assert answer(client, world.token_a).status_code == 303
    [row] = world.responses()
    device_id = client.cookies.get(ballots.cookie_name(world.campaign_id)).split(".")[0]
    assert row["device_hash"] == ballots.device_hash(flag_key(run, world.campaign_id), device_id)
    run(campaigns.set_status, world.campaign_id, CampaignStatus.closed, "test")
    assert row["device_hash"] != ballots.device_hash(flag_key(run, world.campaign_id), device_id)


# The device cookie


def test_device_cookie_is_signed_httponly_lax_and_scoped_to_resident_pages(client, run, world):
    device_check_on(run, world)
    r = client.get(f"/q/{world.token_a}")
    header = r.headers["set-cookie"]
    assert header.startswith(f"{ballots.cookie_name(world.campaign_id)}=")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/q/" in header
    assert "Secure" not in header  # plain http here


def test_device_cookie_is_secure_over_https(client, run, world):
    device_check_on(run, world)
    r = client.get(f"https://testserver.local/q/{world.token_a}")
    assert "Secure" in r.headers["set-cookie"]


def test_no_device_cookie_when_the_campaign_does_not_check_devices(client, world):
    r = client.get(f"/q/{world.token_a}")
    assert ballots.DEVICE_COOKIE_PREFIX not in r.headers.get("set-cookie", "")
    answer(client, world.token_a)
    assert world.responses()[0]["device_hash"] is None


def test_response_stores_only_the_keyed_hash_never_the_cookie(client, run, world):
    device_check_on(run, world)
    answer(client, world.token_a)
    [row] = world.responses()
    cookie = client.cookies.get(ballots.cookie_name(world.campaign_id))
    assert len(row["device_hash"]) == ballots.DEVICE_HASH_CHARS
    assert cookie.split(".")[0] not in str(row) and cookie not in str(row)


def test_a_forged_device_cookie_is_replaced_by_a_fresh_one(client, run, world):
    device_check_on(run, world)
    client.cookies.set(ballots.cookie_name(world.campaign_id), "chosen-id.0000", path="/q/")
    r = client.get(f"/q/{world.token_a}")
    assert "chosen-id" not in r.headers["set-cookie"]


# Already answered, revisions


def test_a_device_that_answered_sees_already_answered_with_its_receipt(client, run, world):
    device_check_on(run, world)
    answer(client, world.token_a)
    [row] = world.responses()
    page = client.get(f"/q/{world.token_b}")  # another unit of the same campaign: still one vote
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.h1.text == "您已经回答过"
    assert soup.select_one(".receipt").text == row["receipt"]
    assert soup.select_one("form")["action"] == f"/q/{world.token_a}"  # revise where it was given
    english = client.get(f"/q/{world.token_a}?lang=en")
    assert "You have already answered" in english.text


def test_a_second_submission_from_the_device_is_refused_not_counted(client, run, world):
    device_check_on(run, world)
    answer(client, world.token_a)
    # The same device posts a second form (rendered before the first answer was sent).
    second = client.post(
        f"/q/{world.token_a}",
        data=valid_answers(
            f'<form><input type="hidden" name="_form" value="{responses.mint_form_token(world.token_a)}"></form>'
        ),
        follow_redirects=False,
    )
    assert second.status_code == 409
    assert "您已经回答过" in second.text
    assert len(world.responses()) == 1


def test_a_resend_of_the_same_submission_still_gets_the_same_receipt(client, run, world):
    device_check_on(run, world)
    page = client.get(f"/q/{world.token_a}").text
    first = client.post(f"/q/{world.token_a}", data=valid_answers(page), follow_redirects=False)
    again = client.post(f"/q/{world.token_a}", data=valid_answers(page), follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"].split("&t=")[0] == again.headers["location"].split("&t=")[0]  # one receipt
    assert len(world.responses()) == 1


def test_revision_within_the_window_replaces_the_answer_in_one_counted_row(client, run, world):
    device_check_on(run, world)
    answer(client, world.token_a, overall="2")
    [old] = world.responses()
    form = client.get(f"/q/{world.token_a}?revise=1")
    assert form.status_code == 200
    soup = BeautifulSoup(form.text, "html.parser")
    assert soup.select_one("input[name=overall][value='2']").has_attr("checked")  # pre-filled
    assert form_fields(form.text)["_revise"] == "1"
    r = client.post(f"/q/{world.token_a}", data=valid_answers(form.text, overall="5"), follow_redirects=False)
    assert r.status_code == 303
    rows = world.responses()
    assert [row["status"] for row in rows] == [ResponseStatus.superseded, ResponseStatus.counted]
    assert rows[1]["replaces"] == old["id"] and rows[1]["answers"]["overall"] == 5
    assert rows[0]["answers"] == old["answers"]  # nothing is deleted or changed but the status
    assert rows[1]["device_hash"] == old["device_hash"]
    assert client.get(f"/q/{world.token_a}").text.count(rows[1]["receipt"]) == 1


def test_revision_after_the_window_is_refused_with_a_clear_message(client, run, world):
    device_check_on(run, world)
    answer(client, world.token_a)
    [old] = world.responses()
    set_submitted_at(run, old["id"], datetime.now(UTC) - timedelta(minutes=31))
    page = client.get(f"/q/{world.token_a}?revise=1")  # no form any more, only the receipt
    assert "修改期限已过" in page.text and 'name="_form"' not in page.text
    token = responses.mint_form_token(world.token_a)
    fields = valid_answers(f'<form><input type="hidden" name="_form" value="{token}"></form>', overall="1", _revise="1")
    r = client.post(f"/q/{world.token_a}", data=fields, follow_redirects=False)
    assert r.status_code == 409 and "修改期限已过" in r.text
    assert [row["status"] for row in world.responses()] == [ResponseStatus.counted]


def test_revision_minutes_zero_allows_no_revision(client, run, world):
    device_check_on(run, world, revision_minutes=0)
    answer(client, world.token_a)
    assert "修改期限已过" in client.get(f"/q/{world.token_a}").text


def test_reports_count_a_revised_answer_once(client, run, world):

    device_check_on(run, world)
    answer(client, world.token_a, overall="1")
    form = client.get(f"/q/{world.token_a}?revise=1").text
    client.post(f"/q/{world.token_a}", data=valid_answers(form, overall="5"))
    report = run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE)
    unit = next(u for u in report.units if u.id == world.unit_a)
    assert unit.responses == 1 and report.responses == 1


def test_a_revised_bad_rating_hands_its_case_on_or_closes_it(client, run, world):
    from survey_app.tables import RatingCase

    def case_states():
        async def fetch():
            return await RatingCase.select(RatingCase.response, RatingCase.state).order_by(RatingCase.id)

        return [(row["response"], row["state"]) for row in run(fetch)]

    device_check_on(run, world)
    answer(client, world.token_a, overall="1")
    [first] = world.responses()
    assert case_states() == [(first["id"], "new")]
    form = client.get(f"/q/{world.token_a}?revise=1").text
    client.post(f"/q/{world.token_a}", data=valid_answers(form, overall="2"))  # still bad: the case carries on
    second = world.responses()[1]
    assert case_states() == [(first["id"], "superseded"), (second["id"], "new")]


# Settings


def test_settings_are_checked_audited_and_frozen_once_closed(run, world):
    with pytest.raises(Refusal):
        run(
            ballots.change_settings,
            world.campaign_id,
            BallotSettings(**{**SETTINGS.__dict__, "revision_minutes": -1}),
            "t",
        )
    with pytest.raises(Refusal):
        run(
            ballots.change_settings,
            world.campaign_id,
            BallotSettings(**{**SETTINGS.__dict__, "link_hourly_limit": 0}),
            "t",
        )
    run(ballots.change_settings, world.campaign_id, SETTINGS, "t")
    assert run(ballots.settings_of, world.campaign_id) == SETTINGS
    run(campaigns.set_status, world.campaign_id, CampaignStatus.closed, "t")
    with pytest.raises(Refusal):
        run(
            ballots.change_settings,
            world.campaign_id,
            BallotSettings(**{**SETTINGS.__dict__, "device_check": False}),
            "t",
        )


def test_an_answer_is_revised_at_most_once(client, run, world):
    device_check_on(run, world)
    answer(client, world.token_a, overall="1")
    form = client.get(f"/q/{world.token_a}?revise=1").text
    client.post(f"/q/{world.token_a}", data=valid_answers(form, overall="5"))
    page = client.get(f"/q/{world.token_a}?revise=1")
    assert "已经修改过一次" in page.text and 'name="_form"' not in page.text


def test_the_campaign_page_form_switches_the_layers_audited_until_the_campaign_closes(client, staff, run, world):
    from survey_app.tables import AuditEntry, Role
    from tests.conftest import csrf_token

    staff.as_role(Role.worker, "331102-01")  # a worker whose scope covers the whole campaign
    page = client.get("/staff/campaigns/window-rating-test")
    assert 'action="/staff/campaigns/window-rating-test/ballots"' in page.text
    fields = {"_csrf_token": csrf_token(page.text), "device_check": "on", "revision_minutes": "10"}
    r = client.post("/staff/campaigns/window-rating-test/ballots", data={**fields, "link_hourly_limit": "50"})
    assert r.status_code == 200  # followed the redirect back to the campaign page
    assert run(ballots.settings_of, world.campaign_id) == BallotSettings(True, 10, False, 50, None)

    async def last_action() -> str:
        return (await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id, ascending=False).first())["action"]

    assert run(last_action) == "campaign.ballots"
    bad = client.post("/staff/campaigns/window-rating-test/ballots", data={**fields, "link_hourly_limit": "many"})
    assert bad.status_code == 422 and "请填写整数" in bad.text
    run(campaigns.set_status, world.campaign_id, CampaignStatus.closed, "test")
    closed = client.post("/staff/campaigns/window-rating-test/ballots", data=fields)
    assert closed.status_code == 422 and "评议已结束" in closed.text
    assert (
        'action="/staff/campaigns/window-rating-test/ballots"'
        not in client.get("/staff/campaigns/window-rating-test").text
    )


def test_assessors_see_the_settings_but_no_form(client, staff, run, world):
    from survey_app.tables import Role

    run(ballots.change_settings, world.campaign_id, SETTINGS, "test")
    staff.as_role(Role.assessor)
    page = client.get("/staff/campaigns/window-rating-test").text
    assert "每部手机只能评价一次：是" in page
    assert "/ballots" not in page and "/invitations" not in page
