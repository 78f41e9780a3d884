"""Interviewer and paper entry: channels and who keyed, sheets counted once, second keyings compared and resolved."""

from __future__ import annotations

import asyncio

import pytest
from bs4 import BeautifulSoup

from survey_app import accounts, audit, campaigns, entries, responses
from survey_app.reporting import campaign_report
from survey_app.tables import CampaignStatus, Channel, KeyingState, Response, Role, SecondKeying
from tests.conftest import csrf_token


def fields(html: str) -> dict[str, str]:
    """The hidden fields of the page's entry form (form token and CSRF token)."""
    soup = BeautifulSoup(html, "html.parser")
    return {i["name"]: i.get("value", "") for i in soup.select("main form input[type=hidden]")}


def key(client, token: str, sheet: str, **answers: str | list[str]):
    page = client.get(f"/staff/links/{token}/paper")
    assert page.status_code == 200
    return client.post(
        f"/staff/links/{token}/paper", data={**fields(page.text), "_sheet": sheet, **answers}, follow_redirects=False
    )


def sign_in(client, staff, username: str) -> None:
    client.cookies.clear()
    assert staff.login(username).status_code == 303


@pytest.fixture
def workers(run, world, client, staff) -> dict[str, int]:
    """Two workers of the street covering the campaign's units, the first one signed in."""
    ids = {name: staff.create(name, Role.worker, "331102-01") for name in ("li", "zhao")}
    sign_in(client, staff, "li")
    return ids


def keyings(run) -> list[dict]:
    return run(SecondKeying.select().order_by(SecondKeying.id).output(load_json=True).run)


def actions(run) -> list[str]:
    return [e["action"] for e in reversed(run(audit.recent)) if e["object_type"] == "response"]


def test_interview_is_the_residents_form_with_a_banner_and_is_tagged(run, world, client, workers):
    page = client.get(f"/staff/links/{world.token_a}/interview")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert "访谈录入" in soup.select_one(".entry-banner").text and "li" in soup.select_one(".entry-banner").text
    assert [i["value"] for i in soup.select("input[type=radio][name=overall]")] == ["5", "4", "3", "2", "1"]
    data = {**fields(page.text), "overall": "5", "efficiency": "dk"}
    saved = client.post(f"/staff/links/{world.token_a}/interview", data=data, follow_redirects=False)
    assert saved.status_code == 303
    [row] = world.responses()
    assert (row["channel"], row["entered_by"], row["sheet"]) == ("interviewer", workers["li"], None)
    assert row["answers"] == {"overall": 5, "efficiency": "dk"} and row["unit"] == world.unit_a
    assert saved.headers["location"] == f"/staff/links/{world.token_a}/interview?saved={row['receipt']}"
    assert row["receipt"] in client.get(saved.headers["location"]).text
    again = client.post(f"/staff/links/{world.token_a}/interview", data=data, follow_redirects=False)
    assert again.status_code == 303 and len(world.responses()) == 1  # a resend saves nothing new
    assert actions(run) == ["response.interview"]


def test_interview_form_keeps_answers_and_demands_required_items(world, client, workers):
    page = client.get(f"/staff/links/{world.token_a}/interview")
    r = client.post(f"/staff/links/{world.token_a}/interview", data={**fields(page.text), "efficiency": "4"})
    assert r.status_code == 422 and world.responses() == []
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("input[name=efficiency][value='4']").has_attr("checked")
    assert soup.select_one("#q-overall .err") is not None


def test_entry_pages_of_other_units_and_for_assessors_are_not_found(run, world, client, staff):
    staff.as_role(Role.worker, "331102-01-002")  # community B only: token_a is community A's
    assert client.get(f"/staff/links/{world.token_a}/interview").status_code == 404
    assert client.get(f"/staff/links/{world.token_a}/paper").status_code == 404
    assert client.get(f"/staff/links/{world.token_b}/paper").status_code == 200
    assert "大洋社区" not in client.get("/staff/entries").text
    client.cookies.clear()
    staff.as_role(Role.assessor)
    assert client.get(f"/staff/links/{world.token_b}/interview").status_code == 404


def test_a_closed_campaign_takes_paper_but_no_interviews(run, world, client, workers):
    run(campaigns.set_status, world.campaign_id, CampaignStatus.closed, "test")
    assert client.get(f"/staff/links/{world.token_a}/interview").status_code == 410
    assert key(client, world.token_a, "C-1", overall="3").status_code == 303
    assert [r["channel"] for r in world.responses()] == ["paper"]


def test_paper_sheet_is_saved_with_its_number_and_blank_items_allowed(run, world, client, workers):
    r = key(client, world.token_a, " ａ-0137 ", efficiency="4")  # full-width and lower case, as typed
    assert r.status_code == 303
    [row] = world.responses()
    assert (row["channel"], row["sheet"], row["entered_by"]) == ("paper", "A-0137", workers["li"])
    assert row["answers"] == {"efficiency": 4}  # the resident skipped the required overall item
    assert "A-0137" in client.get(r.headers["location"]).text
    assert actions(run) == ["response.paper"]


@pytest.mark.parametrize(
    ("sheet", "message"), [("", "请填写纸质问卷上的编号"), ("A 01/37", "只能包含字母"), ("-A1", "只能包含字母")]
)
def test_paper_needs_a_usable_sheet_number(world, client, workers, sheet, message):
    r = key(client, world.token_a, sheet, overall="4")
    assert r.status_code == 422 and message in r.text and world.responses() == []
    assert BeautifulSoup(r.text, "html.parser").select_one("input[name=overall][value='4']").has_attr("checked")


def test_paper_still_refuses_invalid_answers(world, client, workers):
    r = key(client, world.token_a, "A-1", overall="9")
    assert r.status_code == 422 and world.responses() == []


def test_the_same_worker_keying_a_sheet_twice_is_refused(run, world, client, workers):
    assert key(client, world.token_a, "A-0137", overall="4").status_code == 303
    r = key(client, world.token_a, "a-0137", overall="4")
    assert r.status_code == 409
    assert "您已录入过编号为 A-0137 的问卷" in r.text and "另一位工作人员" in r.text
    assert len(world.responses()) == 1 and keyings(run) == []


def test_a_matching_second_keying_verifies_the_sheet_and_counts_once(run, world, client, staff, workers):
    key(client, world.token_a, "A-0137", overall="4", one_visit="yes", reasons=[])
    sign_in(client, staff, "zhao")
    r = key(client, world.token_a, "A-0137", overall="4", one_visit="yes")
    [keying] = keyings(run)
    assert r.headers["location"] == f"/staff/sheets/{keying['id']}"
    assert (keying["state"], keying["entered_by"]) == (KeyingState.matched, workers["zhao"])
    assert "两次录入完全一致" in client.get(r.headers["location"]).text
    assert len(world.responses()) == 1
    assert run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE).responses == 1
    assert actions(run) == ["response.paper", "response.paper_second"]


def test_differences_are_shown_item_by_item_and_resolved_with_an_audit(run, world, client, staff, workers):
    key(client, world.token_a, "A-0137", overall="2", reasons=["wait", "repeat"], attitude="3", matter="tax")
    sign_in(client, staff, "zhao")
    r = key(client, world.token_a, "A-0137", overall="4", attitude="3", matter="social", one_visit="no")
    page = client.get(r.headers["location"])
    soup = BeautifulSoup(page.text, "html.parser")
    assert [fs.legend.text.split(".")[0] for fs in soup.select("main form fieldset")] == ["1", "5", "6", "8"]
    rows = {fs.select_one("input")["name"]: [o.text for o in fs.select(".opt")] for fs in soup.select("main fieldset")}
    assert rows["overall"] == ["第一遍：不满意", "第二遍：满意"]
    assert rows["reasons"] == ["第一遍：等候时间太长、来回跑、多次才办成", "第二遍：（未填）"]
    assert rows["one_visit"] == ["第一遍：（未填）", "第二遍：否"]
    assert rows["matter"] == ["第一遍：税务", "第二遍：社保、医保"]
    assert len(entries_pending(client)) == 1

    token = csrf_token(page.text)
    partial = client.post(page.url.path, data={"_csrf_token": token, "overall": "second"})
    assert partial.status_code == 422 and "请为每一处不同选定正确的答案" in partial.text
    picks = {"overall": "second", "reasons": "first", "one_visit": "second", "matter": "first"}
    done = client.post(page.url.path, data={"_csrf_token": token, **picks}, follow_redirects=False)
    assert done.status_code == 303
    [row] = world.responses()
    # overall 4 hides the reasons item, so the first keying's reasons no longer apply
    assert row["answers"] == {"overall": 4, "attitude": 3, "one_visit": False, "matter": "tax"}
    assert keyings(run)[0]["state"] == KeyingState.resolved and keyings(run)[0]["resolved_by"] == workers["zhao"]
    [entry] = [e for e in run(audit.recent) if e["action"] == "response.paper_resolve"]
    assert entry["actor"] == "zhao" and entry["object_id"] == str(row["id"])
    assert entry["before"]["answers"] == {
        "overall": 2,
        "reasons": ["wait", "repeat"],
        "one_visit": None,
        "matter": "tax",
    }
    assert entry["after"]["answers"] == {"overall": 4, "reasons": None, "one_visit": False, "matter": "tax"}
    assert run(audit.verify).ok
    assert "已由 zhao 核对处理" in client.get(page.url.path).text and entries_pending(client) == []
    again = client.post(page.url.path, data={"_csrf_token": token, **picks})
    assert again.status_code == 409 and "已经处理过了" in again.text


def entries_pending(client) -> list[str]:
    soup = BeautifulSoup(client.get("/staff/entries").text, "html.parser")
    return [a["href"] for a in soup.select("a[href^='/staff/sheets/']")]


def test_a_third_keying_and_a_repeat_second_keying_are_refused(run, world, client, staff, workers):
    key(client, world.token_a, "A-9", overall="4")
    sign_in(client, staff, "zhao")
    key(client, world.token_a, "A-9", overall="3")
    r = key(client, world.token_a, "A-9", overall="3")
    assert r.status_code == 409 and "您已录入过编号为 A-9 的问卷" in r.text
    staff.create("qian", Role.worker, "331102-01")
    sign_in(client, staff, "qian")
    r = key(client, world.token_a, "A-9", overall="3")
    assert r.status_code == 409 and "已经录入过两遍" in r.text
    assert len(world.responses()) == 1 and len(keyings(run)) == 1


def test_a_sheet_keyed_again_under_another_unit_is_refused(run, world, client, workers, staff):
    key(client, world.token_a, "A-5", overall="4")
    sign_in(client, staff, "zhao")
    r = key(client, world.token_b, "A-5", overall="4")
    assert r.status_code == 409 and "已按另一个单位录入" in r.text and keyings(run) == []


def test_the_database_itself_refuses_a_second_response_for_a_sheet(run, world, workers):
    def row(submission: str, receipt: str) -> Response:
        return Response(
            submission_id=submission,
            receipt=receipt,
            campaign=world.campaign_id,
            unit=world.unit_a,
            channel=Channel.paper,
            sheet="A-0137",
        )

    run(row("s1", "RECEIPT1").save().run)
    with pytest.raises(Exception, match="(?i)unique"):
        run(row("s2", "RECEIPT2").save().run)
    assert len(world.responses()) == 1


def test_racing_first_keyings_of_one_sheet_make_one_response_and_one_second_keying(run, world, workers):
    link = run(campaigns.find_link, world.token_a)
    members = [run(accounts.get, workers[name]) for name in ("li", "zhao")]

    async def both() -> list[entries.PaperOutcome]:
        forms = [entries.PaperForm("R-1", None, {"overall": n}, {}) for n in (5, 1)]
        tokens = [responses.read_form_token(link.token, responses.mint_form_token(link.token)) for _ in forms]
        return await asyncio.gather(
            *(entries.key_paper(m, link, t, f) for m, t, f in zip(members, tokens, forms, strict=True))
        )

    outcomes = run(both)
    assert sorted(o.receipt is None for o in outcomes) == [False, True]
    assert len(world.responses()) == 1 and [k["state"] for k in keyings(run)] == [KeyingState.differs]


def test_reports_can_leave_out_or_single_out_staff_entered_channels(run, world, client, staff, workers):
    form = client.get(f"/q/{world.token_a}").text
    resident = {i["name"]: i["value"] for i in BeautifulSoup(form, "html.parser").select("input[type=hidden]")}
    client.post(f"/q/{world.token_a}", data={**resident, "overall": "5"})
    page = client.get(f"/staff/links/{world.token_a}/interview")
    client.post(f"/staff/links/{world.token_a}/interview", data={**fields(page.text), "overall": "1"})
    key(client, world.token_b, "P-1", overall="2")

    everything = run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE)
    assert everything.responses == 3 and everything.by_channel == {"qr": 1, "interviewer": 1, "paper": 1}
    assert {u.code: dict(u.by_channel) for u in everything.units} == {
        "331102-01-001": {"qr": 1, "interviewer": 1},
        "331102-01-002": {"paper": 1},
    }
    residents_only = run(
        campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE, channels=["qr"]
    )
    assert residents_only.responses == 1 and residents_only.by_channel == {"qr": 1}
    staff_entered = run(
        campaign_report.build,
        "window-rating-test",
        rule=campaign_report.DEFAULT_RULE,
        channels=["interviewer", "paper"],
    )
    assert staff_entered.responses == 2 and staff_entered.channels == ("interviewer", "paper")

    data = client.get("/reports/window-rating-test/scores.json?channel=paper").json()
    assert data["responses"] == 1 and data["channels"] == ["paper"] and data["by_channel"] == {"paper": 1}
    html = client.get("/reports/window-rating-test?channel=interviewer")
    assert html.status_code == 200 and "scores.csv?channel=interviewer" in html.text
    assert client.get("/reports/window-rating-test?channel=fax").status_code == 400


def test_no_route_can_put_patch_or_delete(app_client):
    methods = {
        m for route in app_client.app.routes for h in getattr(route, "route_handlers", []) for m in h.http_methods
    }
    assert methods <= {"GET", "HEAD", "OPTIONS", "POST"}  # responses change only through the audited POSTs
