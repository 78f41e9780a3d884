"""The authorisation matrix: every route of the app × every kind of visitor, with the exact outcome.

The routes come from the app's own route table, so a new route fails this test until it is given
a row in RULES. Objects of units outside a member's scope answer 404, never 403.
"""

from __future__ import annotations

import pytest

from survey_app import accounts, campaigns, entries, invitations, paper_sheets, responses, units
from survey_app.assessment import periods, schemes
from survey_app.tables import RatingCase, Response, ResponseStatus, Role, UnitKind
from tests.conftest import csrf_token

VISITORS = ["anonymous", "admin", "assessor", "assessor_other", "worker_own", "worker_other"]
ACCOUNTS = {  # visitor → (role, scope unit code); "own" covers the campaign's units, "other" does not
    "admin": (Role.admin, None),
    "assessor": (Role.assessor, None),
    "assessor_other": (Role.assessor, "331102-02"),
    "worker_own": (Role.worker, "331102-01"),
    "worker_other": (Role.worker, "331102-02"),
}
PUBLIC = dict.fromkeys(VISITORS, "served")
ANY_STAFF = {"anonymous": "login", **dict.fromkeys(ACCOUNTS, "served")}
SCOPED = {**ANY_STAFF, "assessor_other": "404", "worker_other": "404"}
RUNNERS = {**ANY_STAFF, "assessor": "404", "assessor_other": "404"}  # create and run campaigns
SCOPED_RUNNERS = {**SCOPED, "assessor": "404"}
ADMINS = {**ANY_STAFF, **dict.fromkeys(["assessor", "assessor_other", "worker_own", "worker_other"], "404")}
REVIEWERS = {**ANY_STAFF, "worker_own": "404", "worker_other": "404"}  # a unit's staff never review its answers
SCOPED_REVIEWERS = {**REVIEWERS, "assessor_other": "404"}
CITY_WIDE = {**ANY_STAFF, "assessor_other": "404", "worker_own": "404", "worker_other": "404"}
API = {**ANY_STAFF, "anonymous": "401"}  # the JSON API: no login page, a 401 body
SCOPED_API = {**SCOPED, "anonymous": "401"}
API_WRITES = {"anonymous": "401", **dict.fromkeys(ACCOUNTS, "403")}  # writes take a token, never a session
NOWHERE = dict.fromkeys(VISITORS, "404")
CITY_WIDE_ADMINS = ADMINS  # the admin account sees every unit; tokens and webhooks need both

RULES = {
    ("GET", "/"): PUBLIC,
    ("GET", "/lang/{code:str}"): PUBLIC,
    ("GET", "/size/{size:str}"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/q/{token:str}"): PUBLIC,
    ("POST", "/q/{token:str}"): PUBLIC,
    ("GET", "/q/{token:str}/thanks"): PUBLIC,
    ("GET", "/q/{token:str}/qr.png"): PUBLIC,
    ("GET", "/q/{token:str}/qr.svg"): PUBLIC,
    ("GET", "/q/{token:str}/poster"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): ANY_STAFF,
    ("GET", "/staff"): ANY_STAFF,
    ("GET", "/staff/password"): ANY_STAFF,
    ("POST", "/staff/password"): ANY_STAFF,
    ("GET", "/staff/audit"): CITY_WIDE,
    ("GET", "/staff/early-warning"): ANY_STAFF,
    ("GET", "/reports/{slug:str}"): SCOPED,
    ("GET", "/reports/{slug:str}/scores.csv"): SCOPED,
    ("GET", "/reports/{slug:str}/scores.json"): SCOPED,
    ("GET", "/reports/{slug:str}/units/{unit:str}"): SCOPED,
    ("GET", "/reports/{slug:str}/quality"): SCOPED,
    ("GET", "/reports/{slug:str}/dimensions"): SCOPED,
    ("GET", "/staff/campaigns/new"): RUNNERS,
    ("POST", "/staff/campaigns/new"): RUNNERS,
    ("GET", "/staff/campaigns/{slug:str}"): SCOPED,
    ("POST", "/staff/campaigns/{slug:str}/status"): SCOPED_RUNNERS,
    ("POST", "/staff/campaigns/{slug:str}/links"): SCOPED_RUNNERS,
    ("POST", "/staff/campaigns/{slug:str}/links/{token:str}/revoke"): SCOPED_RUNNERS,
    ("GET", "/staff/campaigns/{slug:str}/links/{token:str}/revoke"): SCOPED_RUNNERS,
    ("POST", "/staff/campaigns/{slug:str}/links/{token:str}/pause"): SCOPED_RUNNERS,
    ("GET", "/staff/campaigns/{slug:str}/close"): SCOPED_RUNNERS,
    ("GET", "/staff/campaigns/{slug:str}/posters"): SCOPED,
    ("GET", "/staff/campaigns/{slug:str}/qr.zip"): SCOPED,
    ("POST", "/staff/campaigns/{slug:str}/ballots"): SCOPED_RUNNERS,
    ("POST", "/staff/campaigns/{slug:str}/duties"): SCOPED_RUNNERS,
    ("POST", "/staff/campaigns/{slug:str}/invitations"): SCOPED_RUNNERS,
    ("GET", "/staff/campaigns/{slug:str}/invitations/{batch:str}"): SCOPED_RUNNERS,
    ("POST", "/staff/campaigns/{slug:str}/paper"): SCOPED_RUNNERS,
    ("GET", "/staff/campaigns/{slug:str}/paper/{print_run:str}"): SCOPED_RUNNERS,
    ("GET", "/staff/units"): ANY_STAFF,
    ("GET", "/staff/units/new"): RUNNERS,
    ("POST", "/staff/units/new"): RUNNERS,
    ("GET", "/staff/units/import"): RUNNERS,
    ("POST", "/staff/units/import"): RUNNERS,
    ("GET", "/staff/units/{unit:str}/edit"): SCOPED_RUNNERS,
    ("POST", "/staff/units/{unit:str}/edit"): SCOPED_RUNNERS,
    ("GET", "/staff/questionnaires"): ANY_STAFF,
    ("GET", "/staff/questionnaires/{questionnaire:str}/{version:int}"): ANY_STAFF,
    ("GET", "/staff/questionnaires/upload"): ADMINS,
    ("POST", "/staff/questionnaires/upload"): ADMINS,
    ("GET", "/staff/entries"): RUNNERS,
    ("GET", "/staff/links/{token:str}/interview"): SCOPED_RUNNERS,
    ("POST", "/staff/links/{token:str}/interview"): SCOPED_RUNNERS,
    ("POST", "/staff/entries/serial"): RUNNERS,
    ("GET", "/staff/links/{token:str}/paper"): RUNNERS,  # any street keys any unit's issued sheets
    ("POST", "/staff/links/{token:str}/paper"): RUNNERS,
    ("GET", "/staff/sheets/{sheet_id:int}"): SCOPED_RUNNERS,
    ("POST", "/staff/sheets/{sheet_id:int}"): SCOPED_RUNNERS,
    ("GET", "/staff/quarantine"): REVIEWERS,
    ("GET", "/staff/quarantine/{response_id:int}"): SCOPED_REVIEWERS,
    ("POST", "/staff/quarantine/{response_id:int}"): SCOPED_REVIEWERS,
    ("GET", "/r"): PUBLIC,
    ("GET", "/k"): PUBLIC,
    ("GET", "/k/{code:str}"): PUBLIC,
    ("POST", "/q/{token:str}/callback"): PUBLIC,
    ("GET", "/staff/cases"): ANY_STAFF,
    ("GET", "/staff/cases/{case_id:int}"): SCOPED,
    ("POST", "/staff/cases/{case_id:int}/state"): SCOPED_RUNNERS,
    ("POST", "/staff/cases/{case_id:int}/reply"): SCOPED_RUNNERS,
    ("POST", "/staff/cases/{case_id:int}/appeal"): SCOPED_RUNNERS,
    ("POST", "/staff/cases/{case_id:int}/decision"): SCOPED_REVIEWERS,
    ("GET", "/staff/appeals"): REVIEWERS,
    ("GET", "/staff/campaigns/{slug:str}/responses.csv"): SCOPED_REVIEWERS,  # raw rows: never the unit's staff
    ("GET", "/staff/campaigns/{slug:str}/responses.xlsx"): SCOPED_REVIEWERS,
    ("GET", "/reports/{slug:str}/units.csv"): SCOPED,
    ("GET", "/reports/{slug:str}/units.xlsx"): SCOPED,
    ("GET", "/reports/{slug:str}/units.json"): SCOPED,
    ("GET", "/api/v1/campaigns"): API,
    ("GET", "/api/v1/units"): API,
    ("GET", "/api/v1/campaigns/{slug:str}/scores"): SCOPED_API,
    ("GET", "/api/v1/campaigns/{slug:str}/responses"): {**SCOPED_REVIEWERS, "anonymous": "401"},
    ("GET", "/api/v1/campaigns/{slug:str}/responses/changes"): {**SCOPED_REVIEWERS, "anonymous": "401"},
    ("GET", "/api/v1/campaigns/{slug:str}/scores/changes"): SCOPED_API,
    ("GET", "/api/v1/campaigns/{slug:str}/codebook"): SCOPED_API,
    ("GET", "/api/v1/units/changes"): API,
    ("GET", "/api/v1/cases/changes"): API,
    ("GET", "/api/v1/cases/{case_id:int}"): SCOPED_API,
    ("POST", "/api/v1/cases/{case_id:int}/callback"): API_WRITES,
    ("POST", "/api/v1/cases/{case_id:int}/reply"): API_WRITES,
    ("GET", "/staff/campaigns/{slug:str}/responses.sav"): SCOPED_REVIEWERS,  # raw rows, as the CSV
    ("GET", "/staff/campaigns/{slug:str}/responses.dta"): SCOPED_REVIEWERS,
    ("GET", "/staff/tokens"): CITY_WIDE_ADMINS,
    ("POST", "/staff/tokens"): CITY_WIDE_ADMINS,
    ("POST", "/staff/tokens/{name:str}/revoke"): CITY_WIDE_ADMINS,
    ("GET", "/staff/webhooks"): CITY_WIDE_ADMINS,
    ("POST", "/staff/webhooks"): CITY_WIDE_ADMINS,
    ("POST", "/staff/webhooks/{name:str}/{action:str}"): CITY_WIDE_ADMINS,
    ("POST", "/staff/webhooks/deliveries/{delivery_id:int}/redeliver"): CITY_WIDE_ADMINS,
    ("GET", "/api/v1/schema"): PUBLIC,
    ("GET", "/api/v1/schema/openapi.json"): PUBLIC,
    ("GET", "/api/v1/schema/{path:str}"): NOWHERE,  # Litestar's answer for other schema files: none here
    ("GET", "/assessments"): REVIEWERS,
    ("GET", "/assessments/new"): ADMINS,  # the same rule as closing a period
    ("POST", "/assessments/new"): ADMINS,
    ("GET", "/assessments/{period:str}"): SCOPED_REVIEWERS,
    ("GET", "/assessments/{period:str}/league.csv"): SCOPED_REVIEWERS,
    ("GET", "/assessments/{period:str}/league.xlsx"): SCOPED_REVIEWERS,
    ("POST", "/assessments/{period:str}/close"): ADMINS,
    ("GET", "/assessments/{period:str}/close"): ADMINS,
    ("POST", "/assessments/{period:str}/correct"): ADMINS,
}


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
        if method != "OPTIONS"  # Litestar's automatic CORS preflight answers, no content
    }


def test_every_route_has_a_rule(app_client):
    assert app_routes(app_client.app) == set(RULES)


def outcome(response) -> str:
    """ "login" (sent to sign in), "401" (API, not signed in), "404" (hidden), "403"/"error", or "served"."""
    if response.status_code == 303 and response.headers.get("location", "").startswith("/login?next="):
        return "login"
    if response.status_code == 401 and response.headers["content-type"].startswith("application/json"):
        return "401"
    if response.status_code in (403, 404):
        return str(response.status_code)
    return "error" if response.status_code >= 500 else "served"


@pytest.fixture
def setting(run, world, client, staff):
    run(units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    run(units.create, "331102-02-001", "紫金社区", UnitKind.community, parent_code="331102-02")
    ids = {visitor: staff.create(visitor, role, unit) for visitor, (role, unit) in ACCOUNTS.items()}
    form = client.get(f"/q/{world.token_a}").text
    data = {"_form": csrf_free_token(form), "overall": "2"}  # a bad rating: it opens a case
    thanks = client.post(f"/q/{world.token_a}", data=data, follow_redirects=False).headers["location"]
    receipt = thanks.split("r=")[1].split("&")[0]
    client.cookies.clear()
    values = {
        "{token:str}": world.token_a,
        "{slug:str}": "window-rating-test",
        "{code:str}": "en",
        "{size:str}": "large",
    }
    values["{path:str}"] = "openapi.yaml"
    values |= {"{unit:str}": "331102-01-001", "{questionnaire:str}": "window-rating", "{version:int}": "1"}
    values |= {"{name:str}": "nobody", "{action:str}": "pause", "{delivery_id:int}": "1"}
    values["{batch:str}"] = run(invitations.create_batch, world.campaign_id, world.unit_a, 2, "test")
    values["{print_run:str}"] = run(paper_sheets.issue, world.campaign_id, world.unit_a, 2, "test")
    values["{period:str}"] = assessment_period(run)
    values["{sheet_id:int}"] = str(sheet_keyed_twice(run, world.token_a, ids["worker_own"], ids["admin"]))
    values["{response_id:int}"] = str(run(quarantined, receipt))
    values["{case_id:int}"] = str(the_case_id(run))
    return values, receipt


async def quarantined(receipt: str) -> int:
    """Put the resident's response into quarantine, as a flag pass would; its id."""
    await Response.update({Response.status: ResponseStatus.quarantined, Response.flags: ["burst"]}).where(
        Response.receipt == receipt
    )
    return (await Response.select(Response.id).where(Response.receipt == receipt).first())["id"]


def assessment_period(run) -> str:
    """An open period scoring the world's window-rating campaign for its communities."""
    text = (
        "slug: window-test\nversion: 1\ntitle: 窗口考核\nmin_n: 10\nsmall_n: 10\n"
        "groups: [{kind: community, title: 社区, sources: [{questionnaire: window-rating}]}]\n"
        "points: {method: linear}\ngrades: [{label: 合格, min: 60}, {label: 不合格, min: 0}]\n"
    )
    run(periods.create, "p2026", schemes.parse(text, name="t"), "考核", actor="test", campaigns_by_slug=None)
    return "p2026"


def sheet_keyed_twice(run, token: str, first_id: int, second_id: int) -> int:
    """A paper sheet keyed by two members with different answers: the id of its comparison page."""
    link = run(campaigns.find_link, token)
    serial = issued_serial(run, link)
    for member_id, overall in ((first_id, 4), (second_id, 2)):
        member = run(accounts.get, member_id)
        form = entries.PaperForm(serial, None, {"overall": overall}, {})
        form_token = responses.read_form_token(token, responses.mint_form_token(token))
        outcome = run(entries.key_paper, member, link, form_token, form)
    return outcome.keying_id


def issued_serial(run, link) -> str:
    """The serial of one paper sheet printed for the link's unit."""
    batch = run(paper_sheets.issue, link.campaign_id, link.unit_id, 1, "test")
    return run(paper_sheets.batch_sheets, link.campaign_id, batch)[1][0].serial


def the_case_id(run) -> int:
    async def fetch() -> int:
        return (await RatingCase.select(RatingCase.id).first())["id"]

    return run(fetch)


def csrf_free_token(form_html: str) -> str:
    return form_html.split('name="_form" value="')[1].split('"')[0]


def test_the_whole_matrix(client, staff, setting):
    values, receipt = setting
    seen = {}
    for visitor in VISITORS:
        client.cookies.clear()
        if visitor != "anonymous":
            assert staff.login(visitor).status_code == 303
        token = csrf_token(client.get("/login").text)
        for (method, path), expected in sorted(RULES.items()):
            url = path
            for placeholder, value in values.items():
                url = url.replace(placeholder, value)
            if path.endswith(("/thanks", "/callback")):
                url += f"?r={receipt}"
            if method == "POST" and path == "/logout":
                continue  # checked last, since it ends the session
            response = client.request(method, url, headers={"x-csrftoken": token}, follow_redirects=False)
            seen[(visitor, method, path)] = outcome(response)
            # (the paper entry form names the unit its sheets were issued for: keying across streets needs it)
            cross_keying = path.startswith("/staff/links/") and path.endswith("/paper")
            if (
                visitor == "worker_other"
                and expected is not PUBLIC
                and response.status_code == 200
                and not cross_keying
            ):
                assert "大洋社区" not in response.text and "中山社区" not in response.text
        logout = client.post("/logout", headers={"x-csrftoken": token}, follow_redirects=False)
        seen[(visitor, "POST", "/logout")] = (
            outcome(logout)
            if visitor == "anonymous"
            else ("served" if logout.headers["location"] == "/login" else "unexpected")
        )
    expected = {(v, m, p): rule[v] for (m, p), rule in RULES.items() for v in VISITORS}
    assert seen == expected
