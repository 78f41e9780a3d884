"""The assessed cannot move their own score: each attack of issue 13 replayed as the rated unit's own worker.

Each test shows the attack refused, held or flagged with the unit's counted score unchanged, and the honest
path still counting. Run on SQLite and on PostgreSQL (MINPING_TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup

from survey_app import (
    accounts,
    ballots,
    campaigns,
    duties,
    entries,
    paper_sheets,
    quarantine,
    receipts,
    responses,
    units,
)
from survey_app.assessment import league, periods, schemes
from survey_app.questionnaires import versions
from survey_app.settings import SCHEMES_DIR
from survey_app.tables import AuditEntry, CaseContact, InsideEntry, Link, RatingCase, Response, Role
from tests.conftest import csrf_token

SCHEME = schemes.load_file(SCHEMES_DIR / "civilized-city-2026.yaml")
LIYANG = "331102-01-003"  # 丽阳社区, a community of 万象街道 (331102-01)


def post_form(client, page: str, url: str, **fields):
    token = csrf_token(client.get(page).text)
    return client.post(url, data={"_csrf_token": token, **fields}, follow_redirects=False)


def audit_entries(run, action: str) -> list[dict]:
    async def fetch():
        rows = await AuditEntry.select(AuditEntry.payload).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return [json.loads(r["payload"]) for r in rows]

    return run(fetch)


def demo_period(run) -> periods.Period:
    found = run(periods.get, f"demo-{datetime.now(UTC).year}")
    assert found is not None
    return found


def league_row(run, period: periods.Period, code: str) -> tuple[str, dict] | None:
    """(group kind, row) of a unit in the period's league, or None when it is in no group."""
    result, _ = run(periods.league, period)
    for group in result["groups"]:
        for row in group["units"]:
            if row["code"] == code:
                return group["kind"], row
    return None


# --- Rosters frozen for a period (item 4) ---------------------------------------------------------


def test_a_worker_cannot_move_their_community_out_of_the_league(run, client, staff, demo_city):
    p = demo_period(run)
    before = league_row(run, p, LIYANG)
    assert before is not None and before[0] == "community"
    staff.create("wanxiang", Role.worker, "331102-01")
    assert staff.login("wanxiang").status_code == 303
    page = client.get(f"/staff/units/{LIYANG}/edit")
    assert page.status_code == 200 and 'name="kind" value="community"' in page.text  # shown, not offered
    fields = {"name": "丽阳社区", "kind": "department", "parent_code": "331102-01"}
    moved = post_form(client, f"/staff/units/{LIYANG}/edit", f"/staff/units/{LIYANG}/edit", **fields)
    assert moved.status_code == 422
    assert "只有管理员可以更改单位的类型或上级单位" in moved.text
    assert run(units.by_code, LIYANG).kind == "community"
    assert league_row(run, p, LIYANG) == before
    # the honest path: a worker still corrects a name
    renamed = {"name": "丽阳社区居委会", "kind": "community", "parent_code": "331102-01"}
    assert post_form(client, f"/staff/units/{LIYANG}/edit", f"/staff/units/{LIYANG}/edit", **renamed).status_code == 303
    assert run(units.by_code, LIYANG).name == "丽阳社区居委会"


def test_an_admin_regroup_is_audited_and_leaves_the_open_period_alone(run, client, staff, demo_city):
    p = demo_period(run)
    _, before = league_row(run, p, LIYANG)
    staff.as_role(Role.admin)
    fields = {"name": "丽阳社区", "kind": "department", "parent_code": "3311"}
    assert post_form(client, f"/staff/units/{LIYANG}/edit", f"/staff/units/{LIYANG}/edit", **fields).status_code == 303
    assert run(units.by_code, LIYANG).kind == "department"
    [entry] = audit_entries(run, "unit.regroup")
    assert entry["before"]["kind"] == "community" and entry["after"]["kind"] == "department"
    assert entry["after"]["open_periods_keep_group"] == [p.slug]
    kind, after = league_row(run, p, LIYANG)
    assert kind == "community" and after["score"] == before["score"] and after["n"] == before["n"]
    # a period opened after the change scores the unit as it is now: no longer a community
    later = run(periods.create, "later", SCHEME, "下一期", actor="test", campaigns_by_slug=None)
    assert league_row(run, later, LIYANG) is None
    # and closing the open period seals the roster it opened with
    sealed = run(periods.close, p, "test")
    groups = json.loads(sealed.result)["groups"]
    assert LIYANG in {u["code"] for g in groups if g["kind"] == "community" for u in g["units"]}
    assert run(periods.verify, p).ok


# --- Paper sheets issued, not typed (item 1) ------------------------------------------------------

DAYANG = "331102-01-001"  # 大洋社区: 4 residents' answers in the demo, too few to be scored


def link_token(run, campaign_prefix: str, unit_code: str) -> str:
    async def fetch() -> str:
        row = await (
            Link.select(Link.token)
            .where((Link.unit.code == unit_code) & Link.campaign.slug.like(f"{campaign_prefix}-%"))
            .first()
        )
        return row["token"]

    return run(fetch)


def hidden_fields(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    return {i["name"]: i.get("value", "") for i in soup.select("main form input[type=hidden]")}


def all_fives(run, slug_prefix: str) -> dict[str, str]:
    """Every rating item of the campaign's questionnaire at its best level, as a stuffer would post it."""
    campaign = next(c for c in run(campaigns.all_campaigns) if c.slug.startswith(slug_prefix))
    q = run(versions.get, campaign.questionnaire_id)
    answers = {item.id: "5" for item in q.rating_items()}
    for item in q.items:  # the required questions a form insists on, answered with their first option
        if item.required and item.id not in answers:
            answers[item.id] = "yes" if item.type == "yesno" else (item.options or [])[0].value
    return answers


def test_paper_stuffing_with_made_up_sheet_numbers_is_refused(run, client, staff, demo_city):
    p = demo_period(run)
    before = league_row(run, p, DAYANG)
    staff.create("wanxiang", Role.worker, "331102-01")
    assert staff.login("wanxiang").status_code == 303
    token = link_token(run, "community-services", DAYANG)
    answers = all_fives(run, "community-services")
    statuses = set()
    for n in range(40):
        page = client.get(f"/staff/links/{token}/paper")
        data = {**hidden_fields(page.text), "_sheet": f"A-{n:04d}", **answers}
        posted = client.post(f"/staff/links/{token}/paper", data=data, follow_redirects=False)
        statuses.add(posted.status_code)
        assert "9 位字母和数字" in posted.text
    made_up = paper_sheets.new_serial()  # well-formed, but nobody printed it
    page = client.get(f"/staff/links/{token}/paper")
    posted = client.post(f"/staff/links/{token}/paper", data={**hidden_fields(page.text), "_sheet": made_up, **answers})
    assert posted.status_code == 409 and "没有发放过" in posted.text
    assert statuses == {422}
    assert league_row(run, p, DAYANG) == before


# --- Separation of duties (item 2) ----------------------------------------------------------------


def source_n(row: dict, questionnaire: str) -> int:
    return next(s["n"] for s in row["sources"] if s["questionnaire"] == questionnaire)


def print_sheets(run, client, slug_prefix: str, unit_code: str, count: int) -> list[str]:
    """Print a run of sheets from the campaign page as the signed-in member; their serials."""
    campaign = next(c for c in run(campaigns.all_campaigns) if c.slug.startswith(slug_prefix))
    unit = run(units.by_code, unit_code)
    page = client.get(f"/staff/campaigns/{campaign.slug}")
    data = {"_csrf_token": csrf_token(page.text), "unit": str(unit.id), "count": str(count)}
    printed = client.post(f"/staff/campaigns/{campaign.slug}/paper", data=data, follow_redirects=False)
    assert printed.status_code == 303
    batch = printed.headers["location"].rsplit("/", 1)[1]
    return [s.serial for s in run(paper_sheets.batch_sheets, campaign.id, batch)[1]]


def key_sheet(client, token: str, serial: str, answers: dict[str, str]):
    page = client.get(f"/staff/links/{token}/paper")
    data = {**hidden_fields(page.text), "_sheet": serial, **answers}
    return client.post(f"/staff/links/{token}/paper", data=data, follow_redirects=False)


def sign_in_as(client, staff, username: str) -> None:
    client.cookies.clear()
    assert staff.login(username).status_code == 303


def test_stuffed_sheets_keyed_by_the_units_own_street_are_held_until_an_outsider_keys_them(
    run, client, staff, demo_city
):
    p = demo_period(run)
    before = league_row(run, p, DAYANG)
    for name, unit in (("wanxiang", "331102-01"), ("wanxiang2", "331102-01"), ("zijin", "331102-02")):
        staff.create(name, Role.worker, unit)
    sign_in_as(client, staff, "wanxiang")
    serials = print_sheets(run, client, "community-services", DAYANG, 42)
    token = link_token(run, "community-services", DAYANG)
    answers = all_fives(run, "community-services")
    for serial in serials[:40]:
        assert key_sheet(client, token, serial, answers).status_code == 303
    assert league_row(run, p, DAYANG) == before  # 40 sheets saved, none counted: all held
    [issued] = audit_entries(run, "paper.issue")
    assert issued["actor"] == "wanxiang" and issued["after"]["count"] == 42
    # a colleague of the same street cannot be the second keyer
    sign_in_as(client, staff, "wanxiang2")
    refused = key_sheet(client, token, serials[0], answers)
    assert refused.status_code == 409 and "第二遍须由被评单位及其上级单位以外的人员录入" in refused.text
    assert league_row(run, p, DAYANG) == before
    # the honest paths: a worker of another street keys the same sheet (it counts once it matches), and keys
    # a fresh sheet of 大洋社区 first (outside the unit: it counts at once)
    sign_in_as(client, staff, "zijin")
    assert key_sheet(client, token, serials[1], answers).status_code == 303
    assert key_sheet(client, token, serials[40], answers).status_code == 303
    after = league_row(run, p, DAYANG)[1]
    [services] = [s for s in after["sources"] if s["questionnaire"] == "community-services"]
    # both count; with 4 residents' answers the scheme's 30 % staff share scores one of them
    assert services["channels"] == {"qr": 4, "paper": 1} and services["staff_left_out"] == 1
    assert source_n(after, "community-services") == source_n(before[1], "community-services") + 1


def interview(client, token: str, answers: dict[str, str]):
    page = client.get(f"/staff/links/{token}/interview")
    data = {**hidden_fields(page.text), **answers}
    return client.post(f"/staff/links/{token}/interview", data=data, follow_redirects=False)


def test_interviews_by_the_units_own_staff_are_held_until_an_assessor_confirms(run, client, staff, demo_city):
    p = demo_period(run)
    before = league_row(run, p, DAYANG)
    staff.create("wanxiang", Role.worker, "331102-01")
    staff.create("pinggu", Role.assessor)
    sign_in_as(client, staff, "wanxiang")
    token = link_token(run, "community-services", DAYANG)
    answers = all_fives(run, "community-services")
    for _ in range(9):
        assert interview(client, token, answers).status_code == 303
    assert league_row(run, p, DAYANG) == before
    assert client.get("/staff/quarantine").status_code == 404  # the unit's staff never confirm their own
    # an assessor confirms one (the honest path) on the quarantine page
    sign_in_as(client, staff, "pinggu")
    listing = client.get("/staff/quarantine?campaign=" + token_campaign(run, "community-services"))
    assert listing.text.count("本单位人员录入") >= 9
    held_id = held_ids(run)[0]
    page = client.get(f"/staff/quarantine/{held_id}")
    data = {"_csrf_token": csrf_token(page.text), "decision": "include", "reason": "已电话回访受访居民，确认属实"}
    assert client.post(f"/staff/quarantine/{held_id}", data=data, follow_redirects=False).status_code == 303
    after = league_row(run, p, DAYANG)[1]
    assert source_n(after, "community-services") == source_n(before[1], "community-services") + 1


def test_a_campaign_may_refuse_entries_by_the_units_own_staff(run, client, staff, demo_city):
    campaign = next(c for c in run(campaigns.all_campaigns) if c.slug.startswith("community-services"))
    run(duties.set_rule, campaign.id, InsideEntry.refuse, "test")
    p = demo_period(run)
    before = league_row(run, p, DAYANG)
    staff.create("wanxiang", Role.worker, "331102-01")
    sign_in_as(client, staff, "wanxiang")
    token = link_token(run, "community-services", DAYANG)
    refused = interview(client, token, all_fives(run, "community-services"))
    assert refused.status_code == 409 and "本次评议不接受被评单位及其上级单位工作人员录入的答卷" in refused.text
    assert league_row(run, p, DAYANG) == before


def token_campaign(run, slug_prefix: str) -> str:
    return next(c.slug for c in run(campaigns.all_campaigns) if c.slug.startswith(slug_prefix))


def held_ids(run) -> list[int]:
    async def fetch() -> list[int]:
        rows = await Response.select(Response.id, Response.flags).where(Response.status == "quarantined")
        return [r["id"] for r in rows if "inside_entry" in (r["flags"] or "")]

    return run(fetch)


# --- The scheme's channel rules: what staff channels may carry (item 2) ----------------------------


def key_as(run, member_id: int, token: str, serial: str, answers: dict) -> entries.PaperOutcome:
    member = run(accounts.get, member_id)
    link = run(campaigns.find_link, token)
    form_token = responses.read_form_token(token, responses.mint_form_token(token))
    return run(entries.key_paper, member, link, form_token, entries.PaperForm(serial, None, answers, {}))


def test_confirmed_staff_entries_never_carry_more_than_the_schemes_share(run, staff, demo_city):
    p = demo_period(run)
    assert p.scheme.channels is not None and p.scheme.channels.max_staff_share == 0.3
    _, before = league_row(run, p, DAYANG)
    [services] = [s for s in before["sources"] if s["questionnaire"] == "community-services"]
    assert services["channels"] == {"qr": 4} and before["without_staff"]["n"] == before["n"]
    office = staff.create("office", Role.admin)  # outside every unit: its keyings count at once
    campaign = next(c for c in run(campaigns.all_campaigns) if c.slug.startswith("community-services"))
    batch = run(paper_sheets.issue, campaign.id, run(units.by_code, DAYANG).id, 40, "office")
    token = link_token(run, "community-services", DAYANG)
    fives = {k: int(v) for k, v in all_fives(run, "community-services").items() if v.isdigit()}
    for sheet in run(paper_sheets.batch_sheets, campaign.id, batch)[1]:
        assert key_as(run, office, token, sheet.serial, fives).receipt is not None
    _, after = league_row(run, p, DAYANG)
    [services] = [s for s in after["sources"] if s["questionnaire"] == "community-services"]
    # 4 residents' answers: at most 30 % staff means one sheet, the first keyed; 39 are left out
    assert services["channels"] == {"qr": 4, "paper": 1} and services["staff_left_out"] == 39
    assert after["suppressed"] and after["without_staff"] == before["without_staff"]


def test_channel_rules_leave_out_the_latest_staff_answers_and_uncounted_channels():
    q = schemes.bundled_questionnaires()["window-rating"]
    source = schemes.Source(questionnaire="window-rating")
    codes = ["a"] * 8 + ["b"] * 2
    channels = ["qr", "paper", "qr", "interviewer", "paper", "qr", "import", "paper", "paper", "qr"]
    data = league.SourceData(source, q, codes, [{"overall": 5}] * 10, channels)
    rules = schemes.StaffChannels(counted=("qr", "interviewer", "paper"), max_staff_share=0.5)
    kept, mix, left_out = league._channel_rules(data, rules, {"a": 0, "b": 1})
    # a: 3 residents allow 3 staff answers, the first three (rows 1, 3, 4); row 7 is over; import never counts
    assert kept.channels == ["qr", "paper", "qr", "interviewer", "paper", "qr", "paper", "qr"]
    assert mix == [{"qr": 3, "paper": 2, "interviewer": 1}, {"paper": 1, "qr": 1}]
    assert left_out == [1, 0]
    none_allowed = schemes.StaffChannels(counted=("qr", "paper"), max_staff_share=0.0)
    assert league._channel_rules(data, none_allowed, {"a": 0, "b": 1})[1] == [{"qr": 3}, {"qr": 1}]


def test_a_scheme_names_only_known_channels_once():
    base = SCHEME_TEXT + "channels: {counted: [qr, fax]}\n"
    with pytest.raises(schemes.SchemeError, match=r"channels\.counted"):
        schemes.parse(base, name="t.yaml")
    twice = SCHEME_TEXT + "channels: {counted: [qr, qr]}\n"
    with pytest.raises(schemes.SchemeError, match=r"channels\.counted\.1: duplicate 'qr'"):
        schemes.parse(twice, name="t.yaml")
    share = SCHEME_TEXT + "channels: {counted: [qr], max_staff_share: 1.5}\n"
    with pytest.raises(schemes.SchemeError, match="max_staff_share"):
        schemes.parse(share, name="t.yaml")
    assert schemes.parse(SCHEME_TEXT, name="t.yaml").channels is None  # older schemes: no channel rules


SCHEME_TEXT = (
    "slug: duties-test\nversion: 1\ntitle: 测试\n"
    "groups: [{kind: community, title: 社区, sources: [{questionnaire: window-rating}]}]\n"
    "points: {method: linear}\ngrades: [{label: 合格, min: 60}, {label: 不合格, min: 0}]\n"
)


# --- One device, one answer by default (item 7) ----------------------------------------------------


def test_the_demo_and_new_campaigns_check_devices_and_one_phone_gets_one_vote(run, client, demo_city):
    every = run(campaigns.all_campaigns)
    assert every and all(run(ballots.settings_of, c.id).device_check for c in every)
    assert all(run(ballots.settings_of, c.id).revision_minutes == 30 for c in every)
    p = demo_period(run)
    before = league_row(run, p, DAYANG)
    token = link_token(run, "community-services", DAYANG)
    answers = all_fives(run, "community-services")
    first = client.get(f"/q/{token}")
    sent = client.post(f"/q/{token}", data={**form_fields(first.text), **answers}, follow_redirects=False)
    assert sent.status_code == 303
    again = BeautifulSoup(client.get(f"/q/{token}").text, "html.parser")  # the same phone, seconds later
    assert again.h1.text == "您已经回答过" and again.select_one("form")["action"] == f"/q/{token}"  # to revise
    second_form = {"_form": responses.mint_form_token(token), **answers}  # a form opened in a second tab
    forced = client.post(f"/q/{token}", data=second_form, follow_redirects=False)
    assert forced.status_code == 409 and "您已经回答过" in forced.text
    _, after = league_row(run, p, DAYANG)
    assert source_n(after, "community-services") == source_n(before[1], "community-services") + 1


def test_a_campaign_without_the_device_check_says_so_on_its_form(run, client, world):
    page = client.get(f"/q/{world.token_a}")  # the test world's campaign turned it off
    assert "没有开启“每部手机只能评价一次”" in page.text
    run(ballots.change_settings, world.campaign_id, ballots.BallotSettings(True, 30, False, None, None), "test")
    assert "没有开启“每部手机只能评价一次”" not in client.get(f"/q/{world.token_a}").text
    fresh = run(campaigns.create, "fresh", world.questionnaire_ids["window-rating"], "新评议", [world.unit_a])
    assert run(ballots.settings_of, fresh).device_check


def form_fields(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    return {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}


# --- Call-back numbers only from the resident (item 5) ---------------------------------------------


def bad_rating(client, token: str) -> tuple[str, str]:
    """A resident's bad rating: (receipt, the thank-you page's address)."""
    page = client.get(f"/q/{token}")
    sent = client.post(f"/q/{token}", data={**form_fields(page.text), "overall": "1"}, follow_redirects=False)
    location = sent.headers["location"]
    return location.split("r=")[1].split("&")[0], location


def contact_phone(run) -> list[str]:
    async def fetch() -> list[str]:
        return [r["phone"] for r in await CaseContact.select(CaseContact.phone)]

    return run(fetch)


def test_a_receipt_alone_cannot_redirect_a_bad_ratings_call_back(run, client, staff, world):
    receipt, thanks = bad_rating(client, world.token_a)
    page = BeautifulSoup(client.get(thanks).text, "html.parser")
    token = page.select_one("#callback input[name=t]")["value"]
    left = client.post(f"/q/{world.token_a}/callback?r={receipt}", data={"phone": "13800138000", "t": token})
    assert left.status_code == 200 and contact_phone(run) == ["13800138000"]  # the resident's own number
    # the unit's worker, holding the receipt, tries to put their own number in through any link of the campaign
    client.cookies.clear()
    for link_token in (world.token_a, world.token_b):
        for forged in ("", "0.00000000000000000000000000000000", receipts.callback_token("OTHERONE")):
            url = f"/q/{link_token}/callback?r={receipt}"
            refused = client.post(url, data={"phone": "13900139000", "t": forged})
            assert refused.status_code == 422 and "只能在提交评价后两小时内" in refused.text
    expired = receipts.callback_token(receipt, now=time.time() - receipts.CALLBACK_TOKEN_TTL_S - 60)
    refused = client.post(f"/q/{world.token_a}/callback?r={receipt}", data={"phone": "13900139000", "t": expired})
    assert refused.status_code == 422 and contact_phone(run) == ["13800138000"]
    # the resident's timeline says a number was left (never which)
    timeline = client.get(f"/r?code={receipt}").text
    assert "留下了回访电话" in timeline and "13800138000" not in timeline


def test_staff_pages_exports_and_the_api_never_show_a_full_receipt(run, client, staff, world):
    receipt, _ = bad_rating(client, world.token_a)
    staff.as_role(Role.worker, "331102-01")
    case_id = run(lambda: RatingCase.select(RatingCase.id).first().run())["id"]
    shown = [client.get(f"/staff/cases/{case_id}").text, client.get("/staff/cases").text]
    client.cookies.clear()
    staff.as_role(Role.assessor)
    exported = [
        client.get("/staff/campaigns/window-rating-test/responses.csv").text,
        client.get("/api/v1/campaigns/window-rating-test/responses").text,
    ]
    assert all(receipt not in text for text in shown + exported)
    assert all(receipts.staff_reference(receipt) in text for text in exported)


# --- What the rated unit may see (item 6) -------------------------------------------------------


def test_the_rated_units_own_worker_reads_aggregates_not_raw_rows(run, client, staff, demo_city):
    staff.create("wanxiang", Role.worker, "331102-01")
    staff.create("pinggu", Role.assessor)
    slug = token_campaign(run, "community-services")
    sign_in_as(client, staff, "wanxiang")
    for raw in (f"/staff/campaigns/{slug}/responses.csv", f"/staff/campaigns/{slug}/responses.xlsx"):
        assert client.get(raw).status_code == 404
    assert client.get(f"/api/v1/campaigns/{slug}/responses").status_code == 404
    report = client.get(f"/reports/{slug}")
    assert report.status_code == 200 and "responses.csv" not in report.text  # aggregates, no raw-row link
    assert client.get(f"/reports/{slug}/units/{DAYANG}").status_code == 200
    sign_in_as(client, staff, "pinggu")  # the assessment office reads rows
    rows = client.get(f"/staff/campaigns/{slug}/responses.csv")
    assert rows.status_code == 200 and rows.text.count("\n") > 100
    form = client.get(f"/q/{link_token(run, 'community-services', DAYANG)}").text
    assert "单份答卷只有考核办评估人员和创建办管理员能看到" in form


# --- Statistical signals for staff-entered data (item 3) -------------------------------------------


def test_stuffing_by_an_outside_accomplice_is_flagged_and_leaves_the_counted_score(run, staff, demo_city):
    p = demo_period(run)
    _, before = league_row(run, p, DAYANG)
    accomplice = staff.create("zijin", Role.worker, "331102-02")  # another street: entries count at once
    campaign = next(c for c in run(campaigns.all_campaigns) if c.slug.startswith("community-services"))
    batch = run(paper_sheets.issue, campaign.id, run(units.by_code, DAYANG).id, 40, "zijin")
    token = link_token(run, "community-services", DAYANG)
    fives = {k: int(v) for k, v in all_fives(run, "community-services").items() if v.isdigit()}
    for sheet in run(paper_sheets.batch_sheets, campaign.id, batch)[1]:  # forty sheets in a few seconds
        key_as(run, accomplice, token, sheet.serial, fives)
    run(quarantine.flag_campaign, campaign.slug)
    held = [r for r in run(Response.select(Response.flags).where(Response.entered_by == accomplice).run)]
    assert len(held) == 40 and all({"keying_burst", "serial_clone"} <= set(json_list(r["flags"])) for r in held)
    _, after = league_row(run, p, DAYANG)
    assert after == before  # quarantined: out of every score until an assessor decides


def json_list(value) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value)
