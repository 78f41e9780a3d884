"""The bad-rating loop over HTTP: the call-back offer, the receipt page, and the staff case pages."""

from __future__ import annotations

from bs4 import BeautifulSoup

from survey_app import receipts
from survey_app.tables import CaseContact, RatingCase, Response, Role, UnitKind
from tests.conftest import csrf_token
from tests.test_authorization import csrf_free_token


def number(receipt: str, phone: str = "13800138000") -> dict[str, str]:
    """The call-back form as the resident's thank-you page posts it: the number and the page's token."""
    return {"phone": phone, "t": receipts.callback_token(receipt)}


def rate(client, token, overall, **more):
    form = client.get(f"/q/{token}").text
    data = {"_form": csrf_free_token(form), "overall": str(overall), **more}
    response = client.post(f"/q/{token}", data=data, follow_redirects=False)
    assert response.status_code == 303
    return response.headers["location"].split("r=")[1].split("&")[0]


def rows(run, table):
    async def fetch():
        return await table.select().order_by(table.id)

    return run(fetch)


def test_after_a_bad_rating_the_thank_you_page_offers_a_call_back(client, world, run):
    good = rate(client, world.token_a, 5)
    assert "callback" not in client.get(f"/q/{world.token_a}/thanks?r={good}").text
    bad = rate(client, world.token_a, 1, comment="排队太久")
    alone = BeautifulSoup(client.get(f"/q/{world.token_a}/thanks?r={bad}").text, "html.parser")
    assert alone.select_one("#callback form") is None  # the receipt alone: no way to leave a number
    page = client.get(f"/q/{world.token_a}/thanks?r={bad}&t={receipts.callback_token(bad)}")
    soup = BeautifulSoup(page.text, "html.parser")
    form = soup.select_one("#callback form")
    assert form["action"] == f"/q/{world.token_a}/callback?r={bad}"
    t = form.select_one("input[name=t]")["value"]
    assert not soup.find("script") and len(page.content) < 30_000
    refused = client.post(form["action"], data={"phone": "12345", "t": t}, follow_redirects=False)
    assert refused.status_code == 422 and "请填写正确的手机号码" in refused.text
    assert 'value="12345"' in refused.text  # what was typed is kept
    saved = client.post(form["action"], data={"phone": "138 0013 8000", "t": t}, follow_redirects=False)
    assert saved.status_code == 303
    assert "已收到您的电话" in client.get(saved.headers["location"]).text
    assert [c["phone"] for c in rows(run, CaseContact)] == ["13800138000"]
    english = client.post(form["action"] + "&lang=en", data={"phone": "x", "t": t}, follow_redirects=False)
    assert "valid mobile number" in english.text


def test_a_call_back_for_a_receipt_of_another_campaign_link_is_404(client, world):
    bad = rate(client, world.token_a, 1)
    other = world.campaign("community-services", slug="cs")
    [other_token, _] = world.tokens(other)
    response = client.post(f"/q/{other_token}/callback?r={bad}", data=number(bad))
    assert response.status_code == 404


def test_the_receipt_page_shows_state_and_reply_only(client, world, run, staff):
    bad = rate(client, world.token_a, 1, comment="工作人员态度差")
    client.post(f"/q/{world.token_a}/callback?r={bad}", data=number(bad))
    page = client.get(f"/r?code={bad.lower()}")
    assert page.status_code == 200 and "待回访" in page.text and "大洋社区" in page.text
    assert "13800138000" not in page.text and "态度差" not in page.text
    assert not BeautifulSoup(page.text, "html.parser").find("script")
    unknown = client.get("/r?code=ABCDEFGH")
    assert unknown.status_code == 404 and "没有找到这个回执编号" in unknown.text
    assert client.get("/r").status_code == 200
    assert "not found" in client.get("/r?code=ABCDEFGH&lang=en").text.lower()


def staff_case_id(run):
    return rows(run, RatingCase)[0]["id"]


def post(client, url, data):
    token = csrf_token(client.get("/staff/cases").text)
    return client.post(url, data={"_csrf_token": token, **data}, follow_redirects=False)


def test_workers_see_the_number_assessors_do_not(client, world, run, staff):
    bad = rate(client, world.token_a, 2)
    client.post(f"/q/{world.token_a}/callback?r={bad}", data=number(bad, "0578-2123456"))
    case_id = staff_case_id(run)
    client.cookies.clear()
    staff.as_role(Role.worker, "331102-01")  # the street's worker
    page = client.get(f"/staff/cases/{case_id}")
    assert "0578-2123456" in page.text and "不满意" in page.text
    listing = client.get("/staff/cases")
    assert f"/staff/cases/{case_id}" in listing.text and "留有电话" in listing.text
    for role, unit in ((Role.assessor, None), (Role.admin, None)):
        client.cookies.clear()
        staff.as_role(role, unit)
        page = client.get(f"/staff/cases/{case_id}")
        assert page.status_code == 200 and "2123456" not in page.text


def test_a_worker_of_another_street_gets_404(client, world, run, staff):
    rate(client, world.token_a, 1)
    run(__import__("survey_app.units").units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    client.cookies.clear()
    staff.as_role(Role.worker, "331102-02")
    case_id = staff_case_id(run)
    assert client.get(f"/staff/cases/{case_id}").status_code == 404
    assert post(client, f"/staff/cases/{case_id}/state", {"to": "verified", "note": "x"}).status_code == 404
    assert f"/staff/cases/{case_id}" not in client.get("/staff/cases").text


def test_the_loop_through_the_pages(client, world, run, staff):
    bad = rate(client, world.token_a, 1)
    case_id = staff_case_id(run)
    client.cookies.clear()
    staff.as_role(Role.worker, "331102-01")
    refused = post(client, f"/staff/cases/{case_id}/state", {"to": "resolved", "note": ""})
    assert refused.status_code == 422 and "请填写说明" in refused.text
    assert post(client, f"/staff/cases/{case_id}/state", {"to": "verified", "note": "已电话回访"}).status_code == 303
    assert post(client, f"/staff/cases/{case_id}/reply", {"reply": "已增加周末窗口。"}).status_code == 303
    assert (
        post(client, f"/staff/cases/{case_id}/appeal", {"kind": "mistaken", "reason": "居民说点错了"}).status_code
        == 303
    )
    assert post(client, f"/staff/cases/{case_id}/decision", {"outcome": "uphold", "reason": "x"}).status_code == 404
    listing = client.get("/staff/cases?show=verified")
    assert f"/staff/cases/{case_id}" in listing.text and "申诉待复核" in listing.text
    assert f"/staff/cases/{case_id}" not in client.get("/staff/cases?show=resolved").text
    assert "已增加周末窗口" in client.get(f"/r?code={bad}").text
    client.cookies.clear()
    staff.as_role(Role.assessor)
    appeals_page = client.get("/staff/appeals")
    assert f"/staff/cases/{case_id}" in appeals_page.text and "居民说点错了" in appeals_page.text
    decision = {"outcome": "uphold", "reason": "居民确认误评"}
    assert "确认申诉成立" in post(client, f"/staff/cases/{case_id}/decision", decision).text
    decided = post(client, f"/staff/cases/{case_id}/decision", {**decision, "_confirmed": "yes"})
    assert decided.status_code == 303
    [response] = rows(run, Response)
    assert response["status"] == "excluded" and response["review_reason"] == "申诉成立: 居民确认误评"
    assert "申诉成立" in client.get(f"/r?code={bad}").text
    assert "没有待复核的申诉" in client.get("/staff/appeals").text


def test_overdue_filter_and_figures_on_the_list(client, world, run, staff):
    rate(client, world.token_a, 1)
    case_id = staff_case_id(run)

    async def long_ago():
        from datetime import UTC, datetime, timedelta

        past = datetime.now(UTC) - timedelta(days=30)
        await RatingCase.update(
            {RatingCase.opened_at: past, RatingCase.verify_due: past, RatingCase.close_due: past}
        ).where(RatingCase.id == case_id)

    run(long_ago)
    client.cookies.clear()
    staff.as_role(Role.admin)
    page = client.get("/staff/cases?overdue=1")
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one(f'a[href="/staff/cases/{case_id}"]') and soup.select(".late")
    figures = soup.find_all("table")[1].get_text(" ", strip=True)
    assert "大洋社区 1 1 1" in figures and "0% (0–79%, n=1)" in figures


def test_the_case_pages_render_in_english(client, world, run, staff):
    rate(client, world.token_a, 1)
    case_id = staff_case_id(run)
    client.cookies.clear()
    staff.as_role(Role.admin)
    listing = client.get("/staff/cases?lang=en")
    assert listing.status_code == 200 and "Call-back rate" in listing.text
    assert "Awaiting call-back" in client.get(f"/staff/cases/{case_id}?lang=en").text
    assert client.get("/staff/appeals?lang=en").status_code == 200
