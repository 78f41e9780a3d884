"""People first (issue 15): nothing irreversible in one click, pause and resume, one sample-size rule,
the error summary, and switching language or text size mid-form without losing an answer."""

from __future__ import annotations

from datetime import date, timedelta

from bs4 import BeautifulSoup

from survey_app import audit, localtime
from survey_app.app import template_environment
from survey_app.assessment import periods, schemes
from survey_app.receipts import callback_token
from survey_app.settings import get_settings
from survey_app.tables import CaseContact, RatingCase, Response, Role
from tests.conftest import csrf_token
from tests.test_authorization import assessment_period
from tests.test_case_pages import rate, rows
from tests.test_public import form_fields, valid_answers
from tests.test_reports import answer


def post(client, url, **data):
    token = csrf_token(client.get("/staff/").text)
    return client.post(url, data={"_csrf_token": token, **data}, follow_redirects=False)


def test_sealing_asks_first_says_what_waits_and_changes_nothing_until_confirmed(client, staff, world, run):
    period = assessment_period(run)
    staff.as_role(Role.admin)
    assert post(client, f"/assessments/{period}/close").headers["location"] == f"/assessments/{period}/close"
    page = BeautifulSoup(client.get(f"/assessments/{period}/close").text, "html.parser")
    assert "确认封存" in page.select_one("main form button").text
    assert "评议活动“窗口服务评价”仍在进行" in page.text  # what is pending
    assert run(periods.get, period).status == "open"
    assert post(client, f"/assessments/{period}/close", _confirmed="yes").status_code == 303
    assert run(periods.get, period).status == "closed"


def test_closing_a_campaign_and_revoking_a_link_go_through_their_confirmation(client, staff, world):
    staff.as_role(Role.worker, "331102-01")
    slug = "window-rating-test"
    assert post(client, f"/staff/campaigns/{slug}/status", status="closed").headers["location"].endswith("/close")
    assert client.get(f"/q/{world.token_a}").status_code == 200
    page = client.get(f"/staff/campaigns/{slug}/close")
    assert "确认结束评议" in page.text and 'name="status" value="closed"' in page.text
    revoke = f"/staff/campaigns/{slug}/links/{world.token_a}/revoke"
    assert post(client, revoke).headers["location"] == revoke
    assert "不能恢复" in client.get(revoke).text and "暂停" in client.get(revoke).text
    assert client.get(f"/q/{world.token_a}").status_code == 200  # nothing changed yet
    assert post(client, revoke, _confirmed="yes").status_code == 303
    assert client.get(f"/q/{world.token_a}").status_code == 410


def test_closing_a_case_asks_first_and_says_what_is_missing(client, staff, world, run):
    rate(client, world.token_a, 1)
    receipt = rate(client, world.token_a, 1)  # the number is left with the token its thank-you page carries
    client.post(f"/q/{world.token_a}/callback?r={receipt}", data={"phone": "13800138000", "t": callback_token(receipt)})
    first, second = (c["id"] for c in rows(run, RatingCase))
    staff.as_role(Role.worker, "331102-01")
    asked = post(client, f"/staff/cases/{second}/state", to="explained", note="已当面解释")
    page = BeautifulSoup(asked.text, "html.parser")
    assert asked.status_code == 200 and "确认办结" in page.select_one("main form button").text
    assert "不能再改回办理中" in page.text and "回访电话随即删除" in page.text  # what will happen
    assert "还没有回访居民核实情况" in page.text and "还没有答复居民" in page.text  # what is missing
    assert [c["state"] for c in rows(run, RatingCase)] == ["new", "new"] and rows(run, CaseContact)
    refused = post(client, f"/staff/cases/{first}/state", to="resolved", note=" ")
    assert refused.status_code == 422 and "请填写说明" in refused.text  # refused before the question
    fields = {i["name"]: i["value"] for i in page.select("main form input[type=hidden]") if i["name"] != "_csrf_token"}
    assert post(client, f"/staff/cases/{second}/state", **fields).status_code == 303
    assert [c["state"] for c in rows(run, RatingCase)] == ["new", "explained"] and not rows(run, CaseContact)
    assert post(client, f"/staff/cases/{first}/state", to="verified", note="已回访").status_code == 303  # not final


def test_an_appeal_is_decided_from_its_confirmation_page(client, staff, world, run):
    rate(client, world.token_a, 1)
    case_id = rows(run, RatingCase)[0]["id"]
    staff.as_role(Role.worker, "331102-01")
    assert post(client, f"/staff/cases/{case_id}/appeal", kind="mistaken", reason="居民说点错了").status_code == 303
    client.cookies.clear()
    staff.as_role(Role.assessor)
    for outcome, button in (("uphold", "确认申诉成立"), ("reject", "确认驳回申诉")):
        asked = post(client, f"/staff/cases/{case_id}/decision", outcome=outcome, reason="已核实")
        assert asked.status_code == 200 and button in asked.text and "复核结果不能更改" in asked.text
    assert rows(run, RatingCase)[0]["appeal"] == "pending" and rows(run, Response)[0]["status"] == "counted"
    assert post(client, f"/staff/cases/{case_id}/decision", outcome="", reason="x").status_code == 422
    done = post(client, f"/staff/cases/{case_id}/decision", outcome="reject", reason="已核实", _confirmed="yes")
    assert done.status_code == 303 and rows(run, RatingCase)[0]["appeal"] == "rejected"
    assert rows(run, Response)[0]["status"] == "counted"


def test_a_paused_link_takes_no_answers_until_resumed_and_both_are_audited(client, staff, world, run):
    staff.as_role(Role.worker, "331102-01")
    pause = f"/staff/campaigns/window-rating-test/links/{world.token_a}/pause"
    form = client.get(f"/q/{world.token_a}").text
    assert post(client, pause, paused="1").status_code == 303
    page = client.get(f"/q/{world.token_a}")
    assert page.status_code == 403 and "此二维码暂停使用" in page.text
    assert client.post(f"/q/{world.token_a}", data=valid_answers(form)).status_code == 403
    assert world.responses() == []
    assert "恢复" in client.get("/staff/campaigns/window-rating-test").text
    assert post(client, pause, paused="0").status_code == 303
    assert client.get(f"/q/{world.token_a}").status_code == 200
    actions = [e["action"] for e in run(audit.recent) if e["action"].startswith("link.")]
    assert actions == ["link.resume", "link.pause"]


STRICT_SCHEME = (
    "slug: strict\nversion: 2\ntitle: 严格方案\nmin_n: 40\nsmall_n: 80\n"
    "groups: [{kind: community, title: 社区, sources: [{questionnaire: window-rating}]}]\n"
    "points: {method: linear}\ngrades: [{label: 合格, min: 60}, {label: 不合格, min: 0}]\n"
)


def test_the_dashboard_warns_by_the_schemes_rule_and_names_it(client, staff, world, run):
    staff.as_role(Role.admin)
    before = BeautifulSoup(client.get("/staff/").text, "html.parser").select_one("[data-rule]")
    assert before["data-rule"] == "10-30" and "民评默认规则" in before.text
    run(
        periods.create, "p-strict", schemes.parse(STRICT_SCHEME, name="t"), "考核", actor="test", campaigns_by_slug=None
    )
    after = BeautifulSoup(client.get("/staff/").text, "html.parser").select_one("[data-rule]")
    assert after["data-rule"] == "40-80" and "严格方案" in after.text and "p-strict" in after.text


def test_reports_score_and_state_the_rule_of_the_scheme_that_scores_the_campaign(client, staff, world, run):
    """The campaign report, unit report, quality page and downloads suppress at the scheme's min_n and
    say whose rule it is, as the dashboard does."""
    staff.as_role(Role.admin)
    for overall in [5, 4, 4, 3, 5, 2, 4, 4, 3, 5, 4, 1]:  # 12 answers: scored by Minping's 10, not by 40
        answer(run, world, world.unit_a, {"overall": overall})
    pages = ("/reports/window-rating-test", "/reports/window-rating-test/units/331102-01-001")
    pages += ("/reports/window-rating-test/quality",)

    def rules_shown() -> list[str]:
        return [BeautifulSoup(client.get(url).text, "html.parser").select_one("[data-rule]").text for url in pages]

    def unit_a(report: dict) -> dict:
        return next(u for u in report["units"] if u["code"] == "331102-01-001")["scores"][0]

    assert all("民评默认规则" in text and "10" in text for text in rules_shown())
    before = client.get("/reports/window-rating-test/scores.json").json()
    assert before["rule"] == {"source": "default"} and not unit_a(before)["suppressed"]
    run(
        periods.create, "p-strict", schemes.parse(STRICT_SCHEME, name="t"), "考核", actor="test", campaigns_by_slug=None
    )
    assert all("严格方案" in text and "p-strict" in text and "40" in text for text in rules_shown())
    after = client.get("/reports/window-rating-test/scores.json").json()
    assert (after["min_n"], after["small_n"]) == (40, 80)
    assert after["rule"] == {"source": "scheme", "scheme": "严格方案", "version": 2, "period": "p-strict"}
    assert unit_a(after)["suppressed"] and unit_a(after)["index"]["estimate"] is None
    quality = BeautifulSoup(client.get(pages[2]).text, "html.parser")
    assert "不足 40 份计分答卷的单位" in quality.text and quality.select_one("#below-min li[data-code='331102-01-001']")
    unit_page = BeautifulSoup(client.get(pages[1]).text, "html.parser")
    assert "计分答卷少于 40 份" in unit_page.text  # comments withheld by the same rule


def test_a_refused_form_lists_what_to_fix_first_numbered_and_focused(client, world):
    form = client.get(f"/q/{world.token_a}").text
    r = client.post(f"/q/{world.token_a}", data=valid_answers(form, overall="", efficiency="9"))
    soup = BeautifulSoup(r.text, "html.parser")
    summary = soup.select_one("main > #fix-these")
    assert summary is not None and summary.has_attr("autofocus") and summary["tabindex"] == "-1"
    assert summary is soup.select_one("main").find(True)  # the first thing on the page
    items = summary.select("ol li")
    assert [li.a["href"] for li in items] == ["#q-overall", "#q-efficiency"]
    assert items[0].a.text.startswith("第 1 题") and "请回答此题" in items[0].text
    assert soup.title.text.startswith("请修改后再提交")


def test_switching_language_or_size_mid_form_keeps_every_answer_and_saves_nothing(client, world):
    form = client.get(f"/q/{world.token_a}").text
    switch = BeautifulSoup(form, "html.parser").select_one("header button[name=_lang][value=en]")
    assert switch["form"] == "answers" and switch.has_attr("formnovalidate")
    data = {**form_fields(form), "overall": "2", "_lang": "en"}
    r = client.post(f"/q/{world.token_a}", data=data)
    soup = BeautifulSoup(r.text, "html.parser")
    assert r.status_code == 200 and soup.html["lang"] == "en"
    assert soup.select_one("input[name=overall][value='2']").has_attr("checked")
    assert form_fields(r.text)["_form"] == data["_form"]  # still the same submission
    assert world.responses() == []
    # The language survives the post that follows, cookie or not.
    assert client.cookies.get("lang") == "en"
    r = client.post(f"/q/{world.token_a}", data={**form_fields(r.text), "overall": "2", "_size": "large"})
    assert 'class="large"' in r.text and BeautifulSoup(r.text, "html.parser").html["lang"] == "en"
    done = client.post(f"/q/{world.token_a}", data=valid_answers(r.text), follow_redirects=False)
    assert done.status_code == 303 and len(world.responses()) == 1


def test_a_form_opened_in_english_answers_its_post_in_english(client, world):
    form = client.get(f"/q/{world.token_a}?lang=en").text
    action = BeautifulSoup(form, "html.parser").select_one("main form")["action"]
    assert action == f"/q/{world.token_a}?lang=en"
    refused = client.post(action, data=valid_answers(form, overall=""))
    assert BeautifulSoup(refused.text, "html.parser").html["lang"] == "en" and "Please" in refused.text


def test_large_type_is_a_link_that_works_without_javascript_and_is_remembered(client, world):
    r = client.get(f"/size/large?next=/q/{world.token_a}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/q/{world.token_a}"
    page = client.get(f"/q/{world.token_a}").text
    assert '<html lang="zh-CN" class="large">' in page
    assert "标准字号" in page  # and the way back
    assert client.get("/favicon.ico").status_code == 204


def test_optional_demographics_offer_prefer_not_to_say_which_clears_a_choice(client, world):
    token = world.tokens(world.campaign("community-services", slug="cs"))[0]
    last = client.get(f"/q/{token}").text
    soup = BeautifulSoup(last, "html.parser")
    for item in ("age_band", "sex", "residence"):
        declined = soup.select_one(f"#q-{item} input[value='']")
        assert declined is not None and declined.find_parent("label").text.strip() == "不愿回答"
        assert not declined.has_attr("checked") and not declined.has_attr("required")
    assert len(soup.select("input[type=radio][value='']")) == 3  # demographics only, never a rated question
    refused = client.post(f"/q/{token}", data={**form_fields(last), "age_band": "", "sex": "female"})
    again = BeautifulSoup(refused.text, "html.parser")
    assert refused.status_code == 422 and "age_band" not in {a["href"][3:] for a in again.select("#fix-these a")}
    assert again.select_one("#q-age_band input[value='']").has_attr("checked")  # the choice is kept
    assert again.select_one("#q-sex input[value=female]").has_attr("checked")
    english = BeautifulSoup(client.get(f"/q/{token}?lang=en").text, "html.parser")
    assert english.select_one("#q-sex input[value='']").find_parent("label").text.strip() == "Prefer not to say"
    assert world.responses() == []


def test_a_poster_prints_a_short_code_to_type_its_last_day_organiser_and_hotline(client, world, monkeypatch):
    poster = BeautifulSoup(client.get(f"/q/{world.token_a}/poster").text, "html.parser")
    typed = poster.select_one(".url a").text.removeprefix("http://testserver.local")
    code = typed.removeprefix("/k/")
    assert len(code) == 9 and code[4] == "-"
    for spelled in (code, code.lower(), code.replace("-", " "), code.replace("-", "")):
        r = client.get(f"/k/{spelled}", follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/q/{world.token_a}")  # the QR code's own link
    assert client.get(f"/k?code={code.lower()}", follow_redirects=False).headers["location"] == f"/q/{world.token_a}"
    wrong = client.get("/k/ABCD-EFGH")  # on to the field again, saying so
    assert wrong.status_code == 404 and "没有找到这个代码" in wrong.text and 'value="ABCD-EFGH"' in wrong.text
    assert client.get("/k").status_code == 200 and 'href="/k"' in client.get("/").text
    last_day = poster.select_one(".ends").text  # the world's campaign closes 30 days from now
    assert last_day.startswith("评议截至 ") and len(last_day.split()[1]) == 10
    assert poster.select_one(".contact") is None  # no organiser or hotline configured


def test_a_poster_names_the_organiser_and_hotline_of_the_settings(monkeypatch):
    monkeypatch.setenv("MINPING_ORGANISER", "丽水市文明办")
    monkeypatch.setenv("MINPING_HOTLINE", "12345")
    get_settings.cache_clear()
    try:
        environment = template_environment()
    finally:
        get_settings.cache_clear()
    sheet = '{% from "_poster.html" import poster %}{{ poster("t", "u", "", "/q/x", "", "/k/ABCD-EFGH", none) }}'
    poster = BeautifulSoup(environment.from_string(sheet).render(), "html.parser")
    assert poster.select_one(".contact").text == "主办：丽水市文明办 · 咨询电话：12345"
    assert poster.select_one(".ends") is None  # a campaign without an end says no date


def test_the_last_day_of_a_campaign_ending_at_midnight_is_the_day_before():
    midnight = localtime.start_of(date(2027, 1, 1))
    assert localtime.last_day(midnight) == date(2026, 12, 31)
    assert localtime.last_day(midnight + timedelta(hours=17)) == date(2027, 1, 1)
