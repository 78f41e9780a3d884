"""The admin's form for a new assessment period: the scheme, then a campaign per questionnaire, without
JavaScript; every refusal shows the form again with its message and the values kept; never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup

from survey_app import campaigns
from survey_app.assessment import periods, schemes
from survey_app.assessment.schemes import bundled_schemes
from survey_app.questionnaires import versions
from survey_app.tables import AssessmentPeriod, AuditEntry, Role
from tests.conftest import csrf_token

SCHEME = "civilized-city-2026"


def form_as_sent(html: str, **changes: str) -> dict[str, str]:
    """What a browser sends from the page's POST form: inputs as filled, each select's selected option (the
    first when none is), with `changes` typed in."""
    form = BeautifulSoup(html, "html.parser").find("form", method="post", action="/assessments/new")
    assert form is not None, "no new-period form on the page"
    data = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")}
    for select in form.find_all("select"):
        options = select.find_all("option")
        chosen = next((o for o in options if o.has_attr("selected")), options[0])
        data[select["name"]] = chosen["value"]
    return data | changes


def shown(html: str) -> dict[str, str]:
    """The values the form shows: text inputs and selected options, by field name."""
    form = BeautifulSoup(html, "html.parser").find("form", method="post", action="/assessments/new")
    values = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("type") == "text"}
    for select in form.find_all("select"):
        selected = [o["value"] for o in select.find_all("option") if o.has_attr("selected")]
        values[select["name"]] = selected[0] if selected else ""
    return values


def period_slugs(run) -> list[str]:
    async def fetch() -> list[str]:
        return [r["slug"] for r in await AssessmentPeriod.select(AssessmentPeriod.slug).order_by(AssessmentPeriod.id)]

    return run(fetch)


def test_admin_opens_a_period_from_the_list_page_and_lands_on_its_league(client, staff, run, demo_city):
    ids = run(versions.register_bundled)
    now = datetime.now(UTC)
    community_ids = run(_community_ids)
    run(  # a second campaign of the same questionnaire: the form must ask which one counts
        campaigns.create,
        "community-services-autumn",
        ids["community-services"],
        "秋季社区服务评议",
        community_ids[:3],
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=9),
    )
    staff.as_role(Role.admin)
    listing = client.get("/assessments/")
    assert BeautifulSoup(listing.text, "html.parser").find("a", href="/assessments/new").get_text() == "新建考核期"

    page = client.get("/assessments/new")  # the only bundled scheme is chosen already: no extra step
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert not soup.find_all(style=True) and not soup.find_all("script")
    assert soup.find("input", attrs={"name": "scheme", "type": "hidden"})["value"] == SCHEME
    year = now.year
    assert shown(page.text) == {
        "title": "",
        "title_en": "",
        "slug": "",
        "campaign-community-services": "",  # two candidates: the admin picks
        "campaign-safe-community": f"safe-community-{year}",  # one candidate: preselected
        "campaign-department-conduct": f"department-conduct-{year}",
    }
    select = soup.find("select", attrs={"name": "campaign-community-services"})
    options = [o["value"] for o in select.find_all("option")]
    assert options == ["", f"community-services-{year}", "community-services-autumn"]

    data = form_as_sent(
        page.text,
        title="2026 秋季考核",
        title_en="Autumn assessment 2026",
        slug="autumn-2026",
        **{"campaign-community-services": "community-services-autumn"},
    )
    made = client.post("/assessments/new", data=data, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/assessments/autumn-2026"
    period = run(periods.get, "autumn-2026")
    assert period.sources == {
        "community-services": "community-services-autumn",
        "safe-community": f"safe-community-{year}",
        "department-conduct": f"department-conduct-{year}",
    }
    assert (period.title, period.title_en) == ("2026 秋季考核", "Autumn assessment 2026")
    assert period.created_by == "admin-all"
    assert period.scheme == bundled_schemes()[SCHEME] and period.status == "open"
    league = client.get("/assessments/autumn-2026")
    assert league.status_code == 200 and "2026 秋季考核" in league.text and "开放中" in league.text
    assert "/reports/community-services-autumn/units/" in league.text  # the chosen campaign feeds the table
    assert "autumn-2026" in client.get("/assessments/").text

    async def trail() -> list[dict]:
        return await AuditEntry.select(AuditEntry.actor, AuditEntry.payload).where(
            (AuditEntry.action == "assessment.create") & (AuditEntry.object_id == "autumn-2026")
        )

    (entry,) = run(trail)
    after = json.loads(entry["payload"])["after"]
    assert entry["actor"] == "admin-all" and json.loads(after["sources"]) == period.sources
    assert after["scheme_hash"] == period.scheme_hash


WINDOW_SCHEME = (
    "slug: window-test\nversion: 1\ntitle: {zh: 窗口考核, en: Window assessment}\nmin_n: 10\nsmall_n: 10\n"
    "groups: [{kind: community, title: 社区, sources: [{questionnaire: window-rating}]}]\n"
    "points: {method: linear}\ngrades: [{label: 合格, min: 60}, {label: 不合格, min: 0}]\n"
)


def test_with_several_schemes_the_scheme_is_chosen_first_without_javascript(client, staff, run, world, monkeypatch):
    offered = bundled_schemes() | {"window-test": schemes.parse(WINDOW_SCHEME, name="window-test.yaml")}
    monkeypatch.setattr(schemes, "bundled_schemes", lambda: dict(offered))
    staff.as_role(Role.admin)
    first = BeautifulSoup(client.get("/assessments/new").text, "html.parser")
    assert first.find("form", method="post", action="/assessments/new") is None  # no scheme yet: step 1 only
    step = first.find("form", method="get", action="/assessments/new")
    assert [o["value"] for o in step.find_all("option")] == [SCHEME, "window-test"]

    second = client.get("/assessments/new?scheme=window-test")  # what the step-1 button sends
    assert second.status_code == 200
    assert shown(second.text) == dict.fromkeys(["title", "title_en", "slug"], "") | {
        "campaign-window-rating": "window-rating-test"  # its only campaign, preselected
    }
    data = form_as_sent(second.text, title="窗口考核 2026", slug="window-2026")
    made = client.post("/assessments/new", data=data, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/assessments/window-2026"
    period = run(periods.get, "window-2026")
    assert period.scheme.slug == "window-test" and period.sources == {"window-rating": "window-rating-test"}
    assert client.get("/assessments/window-2026").status_code == 200

    unknown = client.get("/assessments/new?scheme=nope")  # back to step 1, nothing chosen
    assert unknown.status_code == 200 and "campaign-" not in unknown.text


async def _community_ids() -> list[int]:
    from survey_app.tables import Unit

    rows = await Unit.select(Unit.id).where(Unit.kind == "community").order_by(Unit.code)
    return [r["id"] for r in rows]


@pytest.fixture
def candidates(world):
    """Campaigns for the bundled scheme's questionnaires: community-services twice, safe-community once,
    department-conduct none yet."""
    world.campaign("community-services", slug="cs-spring")
    world.campaign("community-services", slug="cs-autumn")
    world.campaign("safe-community")
    return world


VALID = {
    "scheme": SCHEME,
    "title": "2026 年度考核",
    "title_en": "Assessment 2026",
    "slug": "y2026",
    "campaign-community-services": "cs-autumn",
    "campaign-safe-community": "safe-community-test",
}


def post_form(client, changes: dict[str, str], query: str = ""):
    page = client.get("/assessments/new")
    data = {"_csrf_token": csrf_token(page.text)} | VALID | changes
    return client.post(f"/assessments/new{query}", data=data, follow_redirects=False)


def assert_kept(html: str, sent: dict[str, str]) -> None:
    """The form shows what was sent: the texts as typed, each campaign chosen if it is one of the options."""
    values = shown(html)
    for name in ("title", "title_en", "slug"):
        assert values[name] == sent[name]
    soup = BeautifulSoup(html, "html.parser")
    for select in soup.find_all("select", attrs={"name": lambda n: n and n.startswith("campaign-")}):
        options = [o["value"] for o in select.find_all("option")]
        expected = sent.get(select["name"], "")
        assert values[select["name"]] == (expected if expected in options else options[0] if len(options) == 1 else "")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slug": "Bad Slug"}, "考核期代码须为 2–63 个小写字母、数字或横线"),
        ({"slug": "x"}, "考核期代码须为 2–63 个小写字母、数字或横线"),
        ({"slug": "new"}, "考核期代码 new 是保留字"),
        ({"title": "   "}, "请填写考核期名称"),
        ({"title": "考" * 201}, "名称不能超过 200 个字"),
        ({"title_en": "tab\there"}, "名称不能超过 200 个字，也不能含控制字符"),
        ({"scheme": "no-such-scheme"}, "请选择考核方案"),
        ({"campaign-community-services": ""}, "需要指定一个测评活动（现有：cs-spring, cs-autumn）"),
        ({"campaign-community-services": "safe-community-test"}, "测评活动 safe-community-test 不存在或不使用问卷"),
        ({}, "还没有使用问卷 department-conduct 的测评活动，请先创建一个"),
    ],
)
def test_each_refusal_shows_the_form_again_with_its_message_and_the_values_kept(
    client, staff, run, candidates, changes, message
):
    staff.as_role(Role.admin)
    response = post_form(client, changes)
    assert response.status_code == 422
    assert message in BeautifulSoup(response.text, "html.parser").find(role="alert").get_text()
    assert_kept(response.text, VALID | changes)
    assert period_slugs(run) == []


def test_the_form_says_which_questionnaire_has_no_campaign_yet(client, staff, candidates):
    staff.as_role(Role.admin)
    soup = BeautifulSoup(client.get("/assessments/new").text, "html.parser")
    assert soup.find("select", attrs={"name": "campaign-department-conduct"}) is None
    assert "还没有使用这份问卷的测评活动" in soup.get_text()
    assert soup.find("a", href="/staff/campaigns/new") is not None


def test_a_taken_code_is_refused_with_the_values_kept(client, staff, run, candidates):
    candidates.campaign("department-conduct")
    scheme = bundled_schemes()[SCHEME]
    chosen = {"community-services": "cs-spring"}
    run(periods.create, "y2026", scheme, "先建的考核期", actor="t", campaigns_by_slug=chosen)
    staff.as_role(Role.admin)
    response = post_form(client, {"campaign-department-conduct": "department-conduct-test"})
    assert response.status_code == 422 and "考核期 y2026 已存在" in response.text
    assert_kept(response.text, VALID | {"campaign-department-conduct": "department-conduct-test"})
    assert run(periods.get, "y2026").title == "先建的考核期"
    again = post_form(client, {"slug": "y2026-b", "campaign-department-conduct": "department-conduct-test"})
    assert again.status_code == 303 and again.headers["location"] == "/assessments/y2026-b"
    assert client.get("/assessments/y2026-b").status_code == 200  # a league of campaigns without answers yet
    assert period_slugs(run) == ["y2026", "y2026-b"]


SAFE_COMMUNITY_WITHOUT_SECURITY = """\
slug: safe-community
version: 99
title: {zh: 平安社区（改）, en: Safe community (changed)}
dimensions:
  - {id: service, title: 服务, weight: 1}
items:
  - {id: overall, type: rating, scale: satisfaction, dimension: service, required: true, text: 总体满意吗？}
"""


def test_a_campaign_whose_questionnaire_version_does_not_fit_the_scheme_is_refused(client, staff, run, candidates):
    candidates.campaign("department-conduct")
    run(versions.upload, SAFE_COMMUNITY_WITHOUT_SECURITY.encode(), "safe.yaml", "t")
    version_id = run(_version_id, "safe-community", 99)
    now = datetime.now(UTC)
    run(campaigns.create, "safe-v99", version_id, "平安社区（改）", [candidates.unit_a], closes_at=now)
    staff.as_role(Role.admin)
    sent = {"campaign-safe-community": "safe-v99", "campaign-department-conduct": "department-conduct-test"}
    response = post_form(client, sent)
    assert response.status_code == 422
    alert = BeautifulSoup(response.text, "html.parser").find(role="alert").get_text()
    assert alert == (
        "所选测评活动的问卷版本不符合考核方案：civilized-city-2026: groups.0.sources.1.dimensions.security: "
        "'safe-community' has no dimension 'security' (known: service)"
    )
    assert_kept(response.text, VALID | sent)
    assert period_slugs(run) == []


async def _version_id(slug: str, version: int) -> int:
    from survey_app.tables import QuestionnaireVersion

    row = await (
        QuestionnaireVersion.select(QuestionnaireVersion.id)
        .where((QuestionnaireVersion.slug == slug) & (QuestionnaireVersion.version == version))
        .first()
    )
    return row["id"]


def test_the_form_and_its_messages_in_english(client, staff, candidates):
    staff.as_role(Role.admin)
    page = client.get("/assessments/new?lang=en")
    assert "New assessment period" in page.text and "Campaigns scored" in page.text and "新建考核期" not in page.text
    refused = post_form(client, {"slug": "Bad Slug"}, query="?lang=en")
    assert refused.status_code == 422
    assert "The period's code must be 2–63 lower-case letters" in refused.text


def test_a_post_without_a_valid_csrf_token_changes_nothing_and_says_why(client, staff, run, candidates):
    candidates.campaign("department-conduct")
    staff.as_role(Role.admin)
    client.get("/assessments/new")
    for token in ({}, {"_csrf_token": "forged"}):
        refused = client.post("/assessments/new", data=VALID | token, follow_redirects=False)
        assert refused.status_code == 403 and "表单已过期，未能提交" in refused.text
    assert period_slugs(run) == []
    assert post_form(client, {"campaign-community-services": "cs-spring"}).status_code == 303  # the same, with it


FORM = "application/x-www-form-urlencoded"
BASE = "scheme=civilized-city-2026&title=t&slug=y2026&campaign-community-services=cs-spring"


@pytest.mark.parametrize(
    ("body", "content_type", "created"),
    [
        (b"", FORM, False),
        (b"slug=a1&slug=b1&title=t&scheme=civilized-city-2026", FORM, False),  # a field twice
        (b"scheme=civilized-city-2026&scheme=other&title=t&slug=y2026", FORM, False),
        (BASE.replace("slug=y2026", "slug=y2026%00").encode(), FORM, False),  # NUL in the code
        (BASE.replace("title=t", "title=%00").encode(), FORM, False),  # NUL in the title
        (BASE.replace("slug=y2026", "slug=y2026%ff").encode(), FORM, False),  # not UTF-8
        (BASE.replace("cs-spring", "x" * 20_000).encode(), FORM, False),
        (BASE.replace("title=t", "title=" + "t" * 100_000).encode(), FORM, False),
        (b'{"scheme": "civilized-city-2026", "slug": "y2026"}', "application/json", False),
        (b"garbage\x00\xff", "multipart/form-data; boundary=xyz", False),
        (b"title=t", "text/plain", False),
        # Bytes that are not UTF-8 read as U+FFFD, as everywhere else; an unknown field is ignored.
        (BASE.replace("title=t", "title=%ff%fe").encode(), FORM, True),
        (b"%ff%fe=%ff&" + BASE.encode(), FORM, True),
    ],
)
def test_malformed_posts_never_fail(client, staff, run, candidates, body, content_type, created):
    candidates.campaign("department-conduct")
    staff.as_role(Role.admin)
    token = csrf_token(client.get("/assessments/new").text)
    response = client.post(
        "/assessments/new",
        content=body,
        headers={"content-type": content_type, "x-csrftoken": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 if created else 400 <= response.status_code < 500, response.text[:300]
    assert period_slugs(run) == (["y2026"] if created else [])


def test_a_multipart_post_is_refused(client, staff, run, candidates):
    """The form is URL-encoded; a multipart post (say, a file where the title belongs) reads as empty."""
    candidates.campaign("department-conduct")
    staff.as_role(Role.admin)
    token = csrf_token(client.get("/assessments/new").text)
    response = client.post(
        "/assessments/new",
        data=VALID | {"campaign-department-conduct": "department-conduct-test"},
        files={"title": ("title.txt", b"2026", "text/plain")},
        headers={"x-csrftoken": token},
        follow_redirects=False,
    )
    assert response.status_code == 422 and BeautifulSoup(response.text, "html.parser").find(role="alert")
    assert period_slugs(run) == []


@pytest.mark.parametrize("role", [Role.assessor, Role.worker])
def test_only_admins_see_or_use_the_form(client, staff, run, candidates, role):
    candidates.campaign("department-conduct")
    staff.as_role(role, None if role == Role.assessor else "331102-01")
    token = csrf_token(client.get("/staff/").text)
    listing = client.get("/assessments/")
    assert listing.status_code == (200 if role == Role.assessor else 404)
    assert "/assessments/new" not in listing.text
    assert client.get("/assessments/new").status_code == 404
    data = VALID | {"_csrf_token": token, "campaign-department-conduct": "department-conduct-test"}
    assert client.post("/assessments/new", data=data, follow_redirects=False).status_code == 404
    assert period_slugs(run) == []
