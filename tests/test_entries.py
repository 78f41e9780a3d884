"""Interviewer and paper entry: channels and who keyed, sheets counted once, second keyings compared and resolved."""

from __future__ import annotations

import asyncio

import pytest
from bs4 import BeautifulSoup

from survey_app import accounts, audit, campaigns, entries, paper_sheets, receipts, responses, units
from survey_app.reporting import campaign_report
from survey_app.tables import CampaignStatus, Channel, KeyingState, Response, Role, SecondKeying, UnitKind
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


def issue(run, world, count: int = 1, unit_id: int | None = None) -> list[str]:
    """Serials of `count` sheets printed for a unit of the world's campaign (unit a by default)."""
    batch = run(paper_sheets.issue, world.campaign_id, unit_id or world.unit_a, count, "test")
    return [s.serial for s in run(paper_sheets.batch_sheets, world.campaign_id, batch)[1]]


def full_width(text: str) -> str:
    """As a Chinese input method may type it: full-width and lower case."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text.lower())


def sign_in(client, staff, username: str) -> None:
    client.cookies.clear()
    assert staff.login(username).status_code == 303


@pytest.fixture
def workers(run, world, client, staff) -> dict[str, int]:
    """li, a worker of the street covering the campaign's units (signed in), and zhao, of another street:
    the outside keyer that separation of duties asks for."""
    run(units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    ids = {"li": staff.create("li", Role.worker, "331102-01"), "zhao": staff.create("zhao", Role.worker, "331102-02")}
    sign_in(client, staff, "li")
    return ids


def status_of(world) -> list[tuple[str, list[str]]]:
    return [(r["status"], r["flags"]) for r in world.responses()]


HELD = ("quarantined", ["inside_entry"])


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
    ref = receipts.staff_reference(row["receipt"])
    assert saved.headers["location"] == f"/staff/links/{world.token_a}/interview?saved={ref}"
    shown = client.get(saved.headers["location"]).text
    assert f"回执尾号 {row['receipt'][-2:]}" in shown and row["receipt"] not in shown  # staff never see a receipt
    again = client.post(f"/staff/links/{world.token_a}/interview", data=data, follow_redirects=False)
    assert again.status_code == 303 and len(world.responses()) == 1  # a resend saves nothing new
    assert actions(run) == ["response.interview"]
    assert status_of(world) == [HELD]  # li works for the rated unit's street: held for an outside confirmation


def test_interview_form_keeps_answers_and_demands_required_items(world, client, workers):
    page = client.get(f"/staff/links/{world.token_a}/interview")
    r = client.post(f"/staff/links/{world.token_a}/interview", data={**fields(page.text), "efficiency": "4"})
    assert r.status_code == 422 and world.responses() == []
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("input[name=efficiency][value='4']").has_attr("checked")
    assert soup.select_one("#q-overall .err") is not None


def test_interviews_of_other_units_and_entry_pages_for_assessors_are_not_found(run, world, client, staff):
    staff.as_role(Role.worker, "331102-01-002")  # community B only: token_a is community A's
    assert client.get(f"/staff/links/{world.token_a}/interview").status_code == 404
    assert client.get(f"/staff/links/{world.token_a}/paper").status_code == 200  # sheets are keyed across units
    assert client.get(f"/staff/links/{world.token_b}/paper").status_code == 200
    assert "大洋社区" not in client.get("/staff/entries").text
    client.cookies.clear()
    staff.as_role(Role.assessor)
    assert client.get(f"/staff/links/{world.token_b}/interview").status_code == 404
    assert client.get(f"/staff/links/{world.token_b}/paper").status_code == 404


def test_a_closed_campaign_takes_paper_but_no_interviews(run, world, client, workers):
    run(campaigns.set_status, world.campaign_id, CampaignStatus.closed, "test")
    assert client.get(f"/staff/links/{world.token_a}/interview").status_code == 410
    [serial] = issue(run, world)
    assert key(client, world.token_a, serial, overall="3").status_code == 303
    assert [r["channel"] for r in world.responses()] == ["paper"]


def test_paper_sheet_is_saved_with_its_serial_and_blank_items_allowed(run, world, client, workers):
    [serial] = issue(run, world)
    shown = paper_sheets.IssuedSheet(serial, 1, False).display
    r = key(client, world.token_a, f" {full_width(shown)} ", efficiency="4")  # as typed
    assert r.status_code == 303
    [row] = world.responses()
    assert (row["channel"], row["sheet"], row["entered_by"]) == ("paper", serial, workers["li"])
    assert row["answers"] == {"efficiency": 4}  # the resident skipped the required overall item
    assert serial in client.get(r.headers["location"]).text
    assert actions(run) == ["response.paper"]
    assert run(paper_sheets.owner, serial).used


def mistyped(serial: str) -> str:
    """The serial with its first symbol replaced: the check symbol no longer fits."""
    other = next(c for c in paper_sheets.ALPHABET if c != serial[0])
    return other + serial[1:]


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("", "请填写纸质问卷上印的编号"),
        ("A 01/37", "9 位字母和数字"),
        ("A-0137", "9 位字母和数字"),  # a number a worker made up
        ("mistyped", "校验位不符"),
        ("unissued", "没有发放过编号为"),
        ("other unit", "是发给另一个单位的"),
    ],
)
def test_paper_needs_an_issued_serial_of_the_unit(run, world, client, workers, sheet, message):
    [serial] = issue(run, world)
    [theirs] = issue(run, world, unit_id=world.unit_b)
    unissued = paper_sheets.new_serial()
    sheet = {"mistyped": mistyped(serial), "unissued": unissued, "other unit": theirs}.get(sheet, sheet)
    r = key(client, world.token_a, sheet, overall="4")
    assert r.status_code in (409, 422) and message in r.text and world.responses() == []
    assert BeautifulSoup(r.text, "html.parser").select_one("input[name=overall][value='4']").has_attr("checked")
    assert not run(paper_sheets.owner, serial).used


def test_issuing_is_audited_with_who_printed_how_many_for_which_unit(run, world, client, workers):
    page = client.get("/staff/campaigns/window-rating-test")
    data = {"_csrf_token": csrf_token(page.text), "unit": str(world.unit_a), "count": "12"}
    printed = client.post("/staff/campaigns/window-rating-test/paper", data=data, follow_redirects=False)
    assert printed.status_code == 303
    labels = client.get(printed.headers["location"])
    assert labels.status_code == 200 and labels.text.count('class="slip') == 12 and "第 0012 号" in labels.text
    client.post("/staff/campaigns/window-rating-test/paper", data={**data, "count": "3"})
    listed = client.get("/staff/campaigns/window-rating-test").text
    assert "0013–0015" in listed and "0001–0012" in listed  # numbered on from the last run
    entries_ = [e for e in run(audit.recent) if e["action"] == "paper.issue"]
    assert [(e["actor"], e["after"]["unit"], e["after"]["count"], e["after"]["numbers"]) for e in entries_] == [
        ("li", world.unit_a, 3, [13, 15]),
        ("li", world.unit_a, 12, [1, 12]),
    ]
    too_many = client.post("/staff/campaigns/window-rating-test/paper", data={**data, "count": "501"})
    assert too_many.status_code == 422 and "1 到 500" in too_many.text


def test_paper_still_refuses_invalid_answers(run, world, client, workers):
    [serial] = issue(run, world)
    r = key(client, world.token_a, serial, overall="9")
    assert r.status_code == 422 and world.responses() == []


def test_the_same_worker_keying_a_sheet_twice_is_refused(run, world, client, workers):
    [serial] = issue(run, world)
    assert key(client, world.token_a, serial, overall="4").status_code == 303
    r = key(client, world.token_a, serial.lower(), overall="4")
    assert r.status_code == 409
    assert f"您已录入过编号为 {serial} 的问卷" in r.text and "另一位工作人员" in r.text
    assert len(world.responses()) == 1 and keyings(run) == []


def test_a_matching_second_keying_verifies_the_sheet_and_counts_once(run, world, client, staff, workers):
    [serial] = issue(run, world)
    key(client, world.token_a, serial, overall="4", one_visit="yes", reasons=[])
    sign_in(client, staff, "zhao")
    r = key(client, world.token_a, serial, overall="4", one_visit="yes")
    [keying] = keyings(run)
    assert r.headers["location"] == f"/staff/sheets/{keying['id']}"
    assert (keying["state"], keying["entered_by"]) == (KeyingState.matched, workers["zhao"])
    assert "两次录入完全一致" in client.get(r.headers["location"]).text
    assert len(world.responses()) == 1
    assert run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE).responses == 1
    # li is staff of the unit's street: the sheet was held until zhao, of another street, read the same
    assert actions(run) == ["response.paper", "response.paper_second", "response.release"]
    assert status_of(world) == [("counted", [])]


def test_differences_are_shown_item_by_item_and_resolved_with_an_audit(run, world, client, staff, workers):
    [serial] = issue(run, world)
    key(client, world.token_a, serial, overall="2", reasons=["wait", "repeat"], attitude="3", matter="tax")
    sign_in(client, staff, "zhao")
    r = key(client, world.token_a, serial, overall="4", attitude="3", matter="social", one_visit="no")
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
    assert (row["status"], row["flags"]) == ("counted", [])  # held until zhao, an outsider, resolved it
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
    [serial] = issue(run, world)
    key(client, world.token_a, serial, overall="4")
    sign_in(client, staff, "zhao")
    key(client, world.token_a, serial, overall="3")
    r = key(client, world.token_a, serial, overall="3")
    assert r.status_code == 409 and f"您已录入过编号为 {serial} 的问卷" in r.text
    staff.create("qian", Role.worker, "331102-02")
    sign_in(client, staff, "qian")
    r = key(client, world.token_a, serial, overall="3")
    assert r.status_code == 409 and "已经录入过两遍" in r.text
    assert len(world.responses()) == 1 and len(keyings(run)) == 1


def test_a_sheet_keyed_again_under_another_unit_is_refused(run, world, client, workers, staff):
    [serial] = issue(run, world)
    key(client, world.token_a, serial, overall="4")
    sign_in(client, staff, "zhao")
    r = key(client, world.token_b, serial, overall="4")
    assert r.status_code == 409 and "是发给另一个单位的" in r.text and keyings(run) == []


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


def test_racing_first_keyings_of_one_sheet_make_one_response_and_one_second_keying(run, world, staff, workers):
    [serial] = issue(run, world)
    link = run(campaigns.find_link, world.token_a)
    sun = staff.create("sun", Role.worker, "331102-02")  # two outside keyers: either may come second
    members = [run(accounts.get, member_id) for member_id in (workers["zhao"], sun)]

    async def both() -> list[entries.PaperOutcome]:
        forms = [entries.PaperForm(serial, None, {"overall": n}, {}) for n in (5, 1)]
        tokens = [responses.read_form_token(link.token, responses.mint_form_token(link.token)) for _ in forms]
        return await asyncio.gather(
            *(entries.key_paper(m, link, t, f) for m, t, f in zip(members, tokens, forms, strict=True))
        )

    outcomes = run(both)
    assert sorted(o.receipt is None for o in outcomes) == [False, True]
    assert len(world.responses()) == 1 and [k["state"] for k in keyings(run)] == [KeyingState.differs]


def test_reports_can_leave_out_or_single_out_staff_entered_channels(run, world, client, staff, workers):
    [serial] = issue(run, world, unit_id=world.unit_b)
    form = client.get(f"/q/{world.token_a}").text
    resident = {i["name"]: i["value"] for i in BeautifulSoup(form, "html.parser").select("input[type=hidden]")}
    client.post(f"/q/{world.token_a}", data={**resident, "overall": "5"})
    staff.create("office", Role.admin)  # the campaign office is outside every unit: its entries count at once
    sign_in(client, staff, "office")
    page = client.get(f"/staff/links/{world.token_a}/interview")
    client.post(f"/staff/links/{world.token_a}/interview", data={**fields(page.text), "overall": "1"})
    key(client, world.token_b, serial, overall="2")

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


def test_an_outside_keyer_opens_a_sheets_form_by_its_serial(run, world, client, staff, workers):
    [serial] = issue(run, world, unit_id=world.unit_b)
    sign_in(client, staff, "zhao")  # another street: 中山社区 is not in zhao's scope
    page = client.get("/staff/entries")
    typed = paper_sheets.IssuedSheet(serial, 1, False).display.lower()
    opened = client.post("/staff/entries/serial", data={"_csrf_token": csrf_token(page.text), "serial": typed})
    assert opened.status_code == 200 and opened.url.path == f"/staff/links/{world.token_b}/paper"
    assert f'value="{serial}"' in opened.text and "中山社区" in opened.text
    unknown = client.post("/staff/entries/serial", data={"_csrf_token": csrf_token(page.text), "serial": "A-1"})
    assert unknown.status_code == 422 and "9 位字母和数字" in unknown.text
