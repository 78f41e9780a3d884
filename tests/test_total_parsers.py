"""Issue 12, item 1: every parser of what a client sends is total. Each case below was a 500 once."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from survey_app import ballots, datafiles, parsing, receipts, responses
from survey_app.ballots import BallotSettings
from survey_app.questionnaires import format as questionnaire_format
from survey_app.questionnaires.format import QuestionnaireError
from survey_app.tables import Role

FORM = "application/x-www-form-urlencoded"
BEYOND_INT64 = str(2**63)


def form_token(html: str) -> str:
    return re.search(r'name="_form" value="([^"]+)"', html)[1]


def forged_tokens(valid: str) -> list[str]:
    """A genuine token with a non-ASCII issue time, or a non-ASCII signature."""
    submission, issued, signature = valid.split(".")
    return [
        f"{submission}.²³.{signature}",  # str.isdigit() accepts superscripts; int() does not
        f"{submission}.{issued[:-2]}٣٤.{signature}",  # int() reads Arabic-Indic digits, the signature does not
        f"{submission}.{issued}.{signature[:-1]}é",  # hmac.compare_digest raises on non-ASCII str
        f"{submission}.{issued}.排队",
    ]


@pytest.mark.parametrize("index", range(4))
def test_resident_form_with_a_non_ascii_token_comes_back_with_the_answers_kept(client, world, index):
    page = client.get(f"/q/{world.token_a}")
    forged = forged_tokens(form_token(page.text))[index]
    r = client.post(f"/q/{world.token_a}", data={"_form": forged, "overall": "4", "comment": "排队两小时"})
    assert r.status_code == 422
    assert "页面已过期" in r.text and "排队两小时" in r.text
    assert world.responses() == []


def test_the_expired_message_is_in_the_residents_language(client, world):
    client.get("/lang/en", follow_redirects=False)
    forged = forged_tokens(form_token(client.get(f"/q/{world.token_a}").text))[0]
    r = client.post(f"/q/{world.token_a}", data={"_form": forged, "overall": "4"}, follow_redirects=False)
    assert r.status_code == 422 and "expired" in r.text.lower() and "页面已过期" not in r.text


@pytest.mark.parametrize("index", range(4))
def test_staff_interview_form_with_a_non_ascii_token_comes_back(client, world, staff, index):
    staff.create("li", Role.worker, "331102-01")
    assert staff.login("li").status_code == 303
    page = client.get(f"/staff/links/{world.token_a}/interview")
    soup = BeautifulSoup(page.text, "html.parser")
    fields = {i["name"]: i.get("value", "") for i in soup.select("main form input[type=hidden]")}
    fields["_form"] = forged_tokens(fields["_form"])[index]
    r = client.post(f"/staff/links/{world.token_a}/interview", data={**fields, "overall": "4"})
    assert r.status_code == 422 and world.responses() == []


def test_read_form_token_accepts_only_its_own_ascii_form():
    valid = responses.mint_form_token("link")
    assert responses.read_form_token("link", valid) is not None
    for forged in [*forged_tokens(valid), "", "..", "\x00.1.2", f"{'a' * 32}.{'9' * 400}.x"]:
        assert responses.read_form_token("link", forged) is None


def test_integers_are_read_from_ascii_digits_within_the_databases_range():
    assert [parsing.integer(t) for t in ["1700000000", " 12 ", "-3", str(2**63 - 1)]] == [1700000000, 12, -3, 2**63 - 1]
    forms = ["²³", "٣٤", "１２", "1_000", "1e3", "", "--1", BEYOND_INT64, f"-{2**63 + 1}", "9" * 400, None, ["1"]]
    assert [parsing.integer(t) for t in forms] == [None] * len(forms)


@pytest.mark.parametrize("cookie", ["é.é", "é", "x.排队", "ÿ" * 64 + ".abc"])
def test_a_non_ascii_device_cookie_gets_a_fresh_device_not_a_500(client, run, world, cookie):
    settings = BallotSettings(
        device_check=True,
        revision_minutes=30,
        invitation_only=False,
        link_hourly_limit=None,
        campaign_hourly_limit=None,
    )
    run(ballots.change_settings, world.campaign_id, settings, "test")
    header = f"{ballots.cookie_name(world.campaign_id)}={cookie}".encode()
    r = client.get(f"/q/{world.token_a}", headers={"cookie": header})
    assert r.status_code == 200 and ballots.cookie_name(world.campaign_id) in r.headers["set-cookie"]
    token = form_token(r.text)
    body = f"_form={token}&overall=4".encode()
    posted = client.post(
        f"/q/{world.token_a}", content=body, headers={"content-type": FORM, "cookie": header}, follow_redirects=False
    )
    assert posted.status_code == 303 and len(world.responses()) == 1


def test_device_of_is_total():
    for value in ["é.é", "\udcff.x", ".", "..", "a" * 10_000]:
        assert ballots.device_of(1, {ballots.cookie_name(1): value}).new


@pytest.mark.parametrize(
    "path", ["/staff/", "/staff/cases", "/staff/quarantine", "/staff/audit", "/staff/campaigns/new", "/staff/units"]
)
def test_options_on_a_guarded_route_answers_like_a_public_route(client, path):
    r = client.options(path)
    public = client.options("/")
    assert r.status_code == public.status_code < 500
    assert "OPTIONS" in r.headers.get("allow", "")


@pytest.mark.parametrize(
    "path",
    [
        f"/staff/cases/{BEYOND_INT64}",
        f"/staff/sheets/{BEYOND_INT64}",
        f"/staff/quarantine/{BEYOND_INT64}",
        f"/staff/cases/{'9' * 40}",
        f"/staff/quarantine/-{BEYOND_INT64}1",
        f"/staff/cases/{2**31}",  # beyond PostgreSQL's 4-byte id column (a DataError there)
        f"/staff/sheets/{2**40}",
    ],
)
def test_ids_beyond_the_databases_range_are_404(client, world, staff, path):
    staff.create("admin", Role.admin)
    assert staff.login("admin").status_code == 303
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a: " + "[" * 50_000 + "]" * 50_000, "nested deeper than 32 levels"),
        ("a:\n" + "".join(f"{'  ' * n}- \n" for n in range(1, 200)), "nested deeper than 32 levels"),
        ("a: &x [1, 2]\nb: [*x, *x]", "aliases (*name) are not allowed"),
        ("a: '" + "x" * (datafiles.MAX_YAML_BYTES + 1) + "'", "larger than 1024 KB"),
    ],
)
def test_yaml_depth_size_and_aliases_are_bounded_before_parsing(source, message):
    with pytest.raises(QuestionnaireError, match=re.escape(message)):
        questionnaire_format.parse(source, name="deep.yaml", library={})


@pytest.mark.parametrize(
    "forged", ["²³.0123456789abcdef0123456789abcdef", "1.０１２３456789abcdef0123456789abcdef", "١٢.x"]
)
def test_a_call_back_token_of_any_text_is_refused_not_a_500(client, world, forged):
    form = client.get(f"/q/{world.token_a}").text
    data = {**{i["name"]: i.get("value", "") for i in BeautifulSoup(form, "html.parser").select("input[type=hidden]")}}
    thanks = client.post(f"/q/{world.token_a}", data={**data, "overall": "1"}, follow_redirects=False)
    receipt = thanks.headers["location"].split("r=")[1].split("&")[0]
    r = client.post(f"/q/{world.token_a}/callback?r={receipt}", data={"phone": "13800138000", "t": forged})
    assert r.status_code < 500 and not receipts.callback_token_valid(receipt, forged)
