"""Invitation codes: issuing batches, the printed sheet, and single use with clear refusals."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from survey_app import ballots, invitations
from survey_app.ballots import BallotSettings
from survey_app.tables import AuditEntry, Invitation, Role

from .test_public import valid_answers

ONLY_INVITED = BallotSettings(
    device_check=False, revision_minutes=30, invitation_only=True, link_hourly_limit=None, campaign_hourly_limit=None
)


def invitation_only(run, campaign_id: int, **changes) -> None:
    run(ballots.change_settings, campaign_id, BallotSettings(**{**ONLY_INVITED.__dict__, **changes}), "test")


def codes(run, batch: str) -> list[dict]:
    async def fetch() -> list[dict]:
        return await Invitation.select().where(Invitation.batch == batch).order_by(Invitation.id)

    return run(fetch)


def post_with_code(client, token: str, code: str, **overrides):
    form = client.get(f"/q/{token}")
    data = valid_answers(form.text, _invite=code, **overrides)
    return client.post(f"/q/{token}", data=data, follow_redirects=False)


def test_a_batch_holds_unique_unambiguous_codes_and_is_audited_without_them(run, world):
    batch = run(invitations.create_batch, world.campaign_id, world.unit_a, 40, "worker-1")
    rows = codes(run, batch)
    assert len(rows) == 40 and len({r["code"] for r in rows}) == 40
    assert all(re.fullmatch(f"[{invitations.CODE_ALPHABET}]{{10}}", r["code"]) for r in rows)
    assert all(r["unit"] == world.unit_a and r["used_at"] is None for r in rows)

    async def last_audit() -> dict:
        return await AuditEntry.select().order_by(AuditEntry.id, ascending=False).first()

    entry = run(last_audit)
    assert entry["action"] == "invitation.batch" and entry["actor"] == "worker-1"
    assert batch in entry["payload"] and not any(r["code"] in entry["payload"] for r in rows)


def test_the_form_asks_for_the_code_and_takes_it_from_the_qr_address(client, run, world):
    invitation_only(run, world.campaign_id)
    page = client.get(f"/q/{world.token_a}?code=ABCDE23456")
    field = BeautifulSoup(page.text, "html.parser").select_one("input[name=_invite]")
    assert field["value"] == "ABCDE23456" and field.has_attr("required")


def test_a_valid_code_admits_one_answer_and_is_spent_with_it(client, run, world):
    invitation_only(run, world.campaign_id)
    batch = run(invitations.create_batch, world.campaign_id, world.unit_a, 2, "t")
    code = codes(run, batch)[0]["code"]
    typed = f"{code[:5].lower()}-{code[5:]}"  # as a resident types it off the card
    assert post_with_code(client, world.token_a, typed).status_code == 303
    [response] = world.responses()
    spent = codes(run, batch)[0]
    assert spent["used_at"] is not None and spent["response"] == response["id"]


def test_a_used_code_is_refused_with_answers_kept_and_no_receipt_revealed(client, run, world):
    invitation_only(run, world.campaign_id)
    batch = run(invitations.create_batch, world.campaign_id, world.unit_a, 2, "t")
    code = codes(run, batch)[0]["code"]
    post_with_code(client, world.token_a, code)
    [first] = world.responses()
    client.cookies.clear()  # another resident holding the same card
    r = post_with_code(client, world.token_a, code, overall="2")
    assert r.status_code == 409
    assert "已经使用过" in r.text and first["receipt"] not in r.text
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("input[name=overall][value='2']").has_attr("checked")
    assert soup.select_one("input[name=_invite]")["value"] == code
    assert len(world.responses()) == 1


def test_unknown_code_and_codes_of_another_unit_or_campaign_are_refused_clearly(client, run, world):
    invitation_only(run, world.campaign_id)
    other_unit = codes(run, run(invitations.create_batch, world.campaign_id, world.unit_b, 1, "t"))[0]["code"]
    other_campaign = world.campaign("window-rating", slug="other-campaign")
    elsewhere = codes(run, run(invitations.create_batch, other_campaign, world.unit_a, 1, "t"))[0]["code"]
    cases = {
        "": "请输入邀请卡上的邀请码",
        "ZZZZZZZZZZ": "邀请码不正确",
        other_unit: "另一个单位",
        elsewhere: "不属于本次评议",
    }
    for code, message in cases.items():
        r = post_with_code(client, world.token_a, code)
        assert r.status_code == 422 and message in r.text, code
    assert world.responses() == []
    english = client.post(
        f"/q/{world.token_a}?lang=en", data=valid_answers(client.get(f"/q/{world.token_a}").text, _invite="ZZZZZZZZZZ")
    )
    assert "This invitation code is not right" in english.text


def test_a_batch_used_up_says_so(client, run, world):
    invitation_only(run, world.campaign_id)
    code = codes(run, run(invitations.create_batch, world.campaign_id, world.unit_a, 1, "t"))[0]["code"]
    post_with_code(client, world.token_a, code)
    client.cookies.clear()
    r = post_with_code(client, world.token_a, code)
    assert r.status_code == 409 and "全部使用" in r.text


def test_a_revision_needs_no_new_code(client, run, world):
    invitation_only(run, world.campaign_id, device_check=True)
    code = codes(run, run(invitations.create_batch, world.campaign_id, world.unit_a, 1, "t"))[0]["code"]
    assert post_with_code(client, world.token_a, code, overall="1").status_code == 303
    form = client.get(f"/q/{world.token_a}?revise=1").text
    assert 'name="_invite"' not in form
    r = client.post(f"/q/{world.token_a}", data=valid_answers(form, overall="5"), follow_redirects=False)
    assert r.status_code == 303
    assert [row["answers"]["overall"] for row in world.responses()] == [1, 5]


def test_staff_issue_a_batch_and_print_its_sheet(client, staff, run, world):
    staff.as_role(Role.worker, "331102-01")
    page = client.get("/staff/campaigns/window-rating-test")
    token = BeautifulSoup(page.text, "html.parser").select_one("input[name=_csrf_token]")["value"]
    r = client.post(
        "/staff/campaigns/window-rating-test/invitations",
        data={"_csrf_token": token, "unit": str(world.unit_a), "count": "12"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    sheet = client.get(r.headers["location"])
    assert sheet.status_code == 200
    soup = BeautifulSoup(sheet.text, "html.parser")
    assert len(soup.select(".page")) == 2 and len(soup.select(".slip")) == 12
    batch = r.headers["location"].rsplit("/", 1)[1]
    for row in codes(run, batch):
        assert f"{row['code'][:5]}-{row['code'][5:]}" in sheet.text
    assert soup.select("script") == [] and not soup.select("[style]")
    assert "@media print" in sheet.text and "dashed" in sheet.text
    campaign_page = client.get("/staff/campaigns/window-rating-test").text
    assert batch in campaign_page
    refused = client.post(
        "/staff/campaigns/window-rating-test/invitations",
        data={"_csrf_token": token, "unit": str(world.unit_a), "count": "0"},
    )
    assert refused.status_code == 422 and "1 到 500" in refused.text
