"""Campaigns in the back office: a worker creates one for their subtree, runs it, manages links and
prints posters; everything is audited and scoped."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

from bs4 import BeautifulSoup

from analysis.sampling import sample_size_for_proportion
from survey_app import audit, counters, units
from survey_app.tables import CampaignUnit, Role, UnitKind
from tests.conftest import csrf_token


def create_form(client, **values):
    page = client.get("/staff/campaigns/new")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    questionnaire = next(o["value"] for o in soup.select("#questionnaire option") if "window-rating" in o.text)
    street = next(o["value"] for o in soup.select("#root option") if "331102-01)" in o.text)
    today = date.today()
    data = {
        "_csrf_token": csrf_token(page.text),
        "questionnaire": questionnaire,
        "title": "二季度窗口评价",
        "slug": "window-q2",
        "opens": today.isoformat(),
        "closes": (today + timedelta(days=30)).isoformat(),
        "root": street,
        "kind": "community",
        "target": "40",
    }
    data.update(values)
    return client.post("/staff/campaigns/new", data=data, follow_redirects=False)


def post(client, url, **data):
    token = csrf_token(client.get("/staff/").text)
    return client.post(url, data={"_csrf_token": token, **data}, follow_redirects=False)


def test_worker_creates_a_draft_campaign_for_their_subtree(client, staff, world, run):
    staff.as_role(Role.worker, "331102-01")
    r = create_form(client)
    assert r.status_code == 303 and r.headers["location"] == "/staff/campaigns/window-q2"
    page = client.get("/staff/campaigns/window-q2")
    soup = BeautifulSoup(page.text, "html.parser")
    assert [td.text.split()[0] for td in soup.select("tbody tr td:first-child")] == ["大洋社区", "中山社区"]
    assert "草稿" in page.text
    [entry] = [e for e in run(audit.recent) if e["action"] == "campaign.create" and e["after"]["slug"] == "window-q2"]
    assert entry["actor"] == "worker-331102-01" and entry["after"]["units"] == 2


def test_targets_from_a_margin_of_error_use_each_units_population(client, staff, world, run):
    async def set_population() -> None:
        from survey_app.tables import Unit

        await Unit.update({Unit.population: 2000}).where(Unit.code == "331102-01-001")

    run(set_population)
    staff.as_role(Role.admin)
    assert create_form(client, margin="5").status_code == 303

    async def targets() -> list:
        return (
            await CampaignUnit.select(CampaignUnit.target)
            .order_by(CampaignUnit.unit.code)
            .where(CampaignUnit.campaign.slug == "window-q2")
        )

    assert [t["target"] for t in run(targets)] == [sample_size_for_proportion(0.05, 2000), 40]


def test_form_errors_keep_the_values(client, staff, world):
    staff.as_role(Role.admin)
    r = create_form(client, slug="Bad Slug!", title="保留这个标题")
    assert r.status_code == 422 and "代码须为" in r.text and "保留这个标题" in r.text
    r = create_form(client, closes=(date.today() - timedelta(days=3)).isoformat())
    assert r.status_code == 422 and "结束时间必须晚于开始时间" in r.text
    assert create_form(client).status_code == 303
    assert "已被其他评议活动使用" in create_form(client).text


def test_open_close_reopen_is_audited_and_changes_the_public_page(client, staff, world, run):
    staff.as_role(Role.worker, "331102-01")
    create_form(client)
    token = (
        BeautifulSoup(client.get("/staff/campaigns/window-q2").text, "html.parser")
        .select_one("a[href$='/poster']")["href"]
        .split("/")[2]
    )
    assert client.get(f"/q/{token}").status_code == 403  # a draft is not open yet
    for status, public in (("open", 200), ("closed", 410), ("open", 200)):
        assert post(client, "/staff/campaigns/window-q2/status", status=status, _confirmed="yes").status_code == 303
        assert client.get(f"/q/{token}").status_code == public
    changes = [
        (e["before"]["status"], e["after"]["status"]) for e in run(audit.recent) if e["action"] == "campaign.status"
    ]
    assert changes == [("closed", "open"), ("open", "closed"), ("draft", "open")]


def test_links_can_be_added_for_a_site_and_revoked(client, staff, world):
    staff.as_role(Role.worker, "331102-01")
    post(client, "/staff/campaigns/window-rating-test/links", unit=str(world.unit_a), site="东门公告栏")
    soup = BeautifulSoup(client.get("/staff/campaigns/window-rating-test").text, "html.parser")
    assert "东门公告栏" in soup.text
    post(client, f"/staff/campaigns/window-rating-test/links/{world.token_a}/revoke", _confirmed="yes")
    assert client.get(f"/q/{world.token_a}").status_code == 410
    assert "已停用" in client.get("/staff/campaigns/window-rating-test").text


def test_posters_and_zip_cover_every_active_link(client, staff, world):
    staff.as_role(Role.admin)
    post(client, "/staff/campaigns/window-rating-test/links", unit=str(world.unit_a), site="东门 公告栏")
    posters = BeautifulSoup(client.get("/staff/campaigns/window-rating-test/posters").text, "html.parser")
    assert len(posters.select(".sheet")) == 3 and len(posters.select(".sheet svg")) == 3
    archive = zipfile.ZipFile(io.BytesIO(client.get("/staff/campaigns/window-rating-test/qr.zip").content))
    names = sorted(archive.namelist())
    assert len(names) == 6 and "331102-01-001-东门_公告栏.png" in names
    assert all(n.startswith(("331102-01-001-", "331102-01-002-")) for n in names)


def test_scans_and_starts_are_counted_per_link(client, staff, world, run):
    for _ in range(3):
        client.get(f"/q/{world.token_a}")
    client.post(f"/q/{world.token_a}", data={"overall": ""})
    run(counters.flush)
    staff.as_role(Role.admin)
    soup = BeautifulSoup(client.get("/staff/campaigns/window-rating-test").text, "html.parser")
    row = next(tr for tr in soup.select("tbody tr") if "大洋社区" in tr.text)
    assert [td.text for td in row.select("td.num")] == ["3", "1", "0", "0"]  # scans, starts, done, limited


def test_members_outside_the_campaign_see_nothing_and_assessors_cannot_change_it(client, staff, world, run):
    run(units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    staff.as_role(Role.worker, "331102-02")
    assert client.get("/staff/campaigns/window-rating-test").status_code == 404
    assert post(client, "/staff/campaigns/window-rating-test/status", status="closed").status_code == 404
    client.cookies.clear()
    staff.as_role(Role.assessor)
    assert client.get("/staff/campaigns/window-rating-test").status_code == 200
    assert post(client, "/staff/campaigns/window-rating-test/status", status="closed").status_code == 404
    assert client.get(f"/q/{world.token_a}").status_code == 200


def test_posters_and_zip_for_one_subtree(client, staff, world, run):
    run(units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    run(units.create, "331102-02-001", "紫金社区", UnitKind.community, parent_code="331102-02")
    staff.as_role(Role.admin)
    campaign = world.campaign("window-rating", slug="city-wide")

    async def cover_zijin() -> None:
        from survey_app import links
        from survey_app.tables import CampaignUnit, Unit

        unit = await Unit.select(Unit.id).where(Unit.code == "331102-02-001").first()
        await CampaignUnit.insert(CampaignUnit(campaign=campaign, unit=unit["id"], target=10))
        await links.add(campaign, unit["id"], "", "test")

    run(cover_zijin)
    whole = BeautifulSoup(client.get("/staff/campaigns/city-wide/posters").text, "html.parser")
    street = BeautifulSoup(client.get("/staff/campaigns/city-wide/posters?unit=331102-01").text, "html.parser")
    assert len(whole.select(".sheet")) == 3 and len(street.select(".sheet")) == 2
    assert {s.select_one(".unit").text for s in street.select(".sheet")} == {"大洋社区", "中山社区"}
    archive = zipfile.ZipFile(io.BytesIO(client.get("/staff/campaigns/city-wide/qr.zip?unit=331102-02").content))
    assert len(archive.namelist()) == 2 and all(n.startswith("331102-02-001-") for n in archive.namelist())
    assert client.get("/staff/campaigns/city-wide/posters?unit=nope").status_code == 404
