"""The league table page: numbers as computed by analysis, scoped rows, English, the admin's close and
correct buttons (CSRF, audited), and a page valid under the CSP (no style attributes, no scripts)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from bs4 import BeautifulSoup

from survey_app.assessment import periods, schemes
from survey_app.assessment.schemes import load_file
from survey_app.settings import SCHEMES_DIR
from survey_app.tables import AuditEntry, Response, ResponseStatus, Role
from tests.conftest import csrf_token
from tests.test_assessments import departments_independently

SCHEME = load_file(SCHEMES_DIR / "civilized-city-2026.yaml")


@pytest.fixture
def demo_period(run, demo_city):
    return run(
        periods.create,
        "y2026",
        SCHEME,
        "2026 年度考核",
        title_en="Assessment 2026",
        actor="t",
        campaigns_by_slug=None,
    )


def rows(html: str, kind_title: str) -> list[list[str]]:
    soup = BeautifulSoup(html, "html.parser")
    heading = next(h for h in soup.find_all("h2") if h.get_text(strip=True) == kind_title)
    table = heading.find_next("table")
    return [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in table.tbody.find_all("tr")]


def test_league_table_shows_the_computed_numbers(client, staff, run, demo_period):
    staff.as_role(Role.assessor)
    page = client.get("/assessments/y2026")
    assert page.status_code == 200
    result = json.loads(run(periods.compute, demo_period).result)
    departments = next(g for g in result["groups"] if g["kind"] == "department")["units"]
    shown = rows(page.text, "市直部门")
    expected = departments_independently(run)
    assert len(shown) == len(departments) == 15
    for row, unit in zip(shown, departments, strict=True):
        assert unit["code"] in row[1]
        if unit["suppressed"]:
            assert row[0] == "—" and "样本不足" in row[3]
            continue
        s = unit["score"]
        independent = expected[unit["code"]].index  # analysis.score_units on the raw answers, in the test
        score, _, beside = row[3].partition(" ")  # the score, then (channel rules) the one without staff entries
        assert score == f"{independent.estimate:.1f}" and row[4] == f"{independent.low:.1f}–{independent.high:.1f}"
        assert row[0] == str(unit["rank"])
        assert score == f"{s['estimate']:.1f}" and row[4] == f"{s['low']:.1f}–{s['high']:.1f}"
        without = unit["without_staff"]
        assert beside.startswith("不含工作人员录入 ") and f"n {without['n']}" in beside
        assert row[2].startswith(str(unit["n"])) and "扫码填写" in row[2]  # n, then the channel mix
        assert row[6] == f"{unit['shrunken']:.1f}" and row[7] == f"{unit['rank_low']}–{unit['rank_high']}"
        assert row[8] == unit["letters"] and row[9] == ["优秀", "良好", "合格", "不合格"][unit["grade"]]
        assert row[10] == f"{unit['points']:.1f}"
        assert ("等级待核定" in row[11]) == unit["needs_review"] and ("小样本" in row[11]) == unit["small_sample"]
    soup = BeautifulSoup(page.text, "html.parser")
    assert not soup.find_all(style=True) and not soup.find_all("script")
    community = next(g for g in result["groups"] if g["kind"] == "community")["units"][0]["code"]
    links = {a["href"] for a in soup.select("table.league a")}
    for campaign in demo_period.sources.values():  # each unit links to its report in every source campaign
        assert (f"/reports/{campaign}/units/{community}" in links) != campaign.startswith("department")
    assert client.get(next(iter(links))).status_code == 200
    # each link names the questionnaire of its report, not "report 1 · report 2"
    for a in soup.select("table.league a[data-questionnaire]"):
        assert a.get_text() == f"{a['data-questionnaire']} 报告"
        assert demo_period.sources[a["data-questionnaire"]] in a["href"]
    assert soup.select("table.league a[data-questionnaire]")
    appendix_text = soup.select_one("section.appendix").get_text()
    assert "当且仅当" in appendix_text and "logit" in appendix_text
    assert len(soup.select("svg.interval")) == sum(not u["suppressed"] for g in result["groups"] for u in g["units"])
    appendix = soup.select_one("section.appendix").get_text(" ", strip=True)
    assert "community-services × 0.5" in appendix and "security × 0.4" in appendix
    assert "良好：[80, 90)" in appendix and "少于 30 份" in appendix
    assert not soup.select("form[action$='/close']")  # assessors read, admins seal


def test_english_and_scoped_rows(client, staff, demo_period):
    staff.as_role(Role.assessor, "331102-02")  # 紫金街道 only
    page = client.get("/assessments/y2026?lang=en")
    assert page.status_code == 200
    shown = rows(page.text, "Communities")
    assert len(shown) == 5 and all("331102-02-" in r[1] for r in shown)
    headings = [h.get_text(strip=True) for h in BeautifulSoup(page.text, "html.parser").find_all("h2")]
    assert headings == ["Communities", "Methodology"]  # no department is theirs
    assert "Rank interval" in page.text and "排名" not in page.text


def test_admin_closes_then_corrects_with_a_reason(client, staff, run, demo_period):
    staff.as_role(Role.admin)
    listing = client.get("/assessments/")
    assert "2026 年度考核" in listing.text and "开放中" in listing.text
    token = csrf_token(listing.text)
    assert client.post("/assessments/y2026/close", data={}, follow_redirects=False).status_code == 403  # no token
    closed = client.post(
        "/assessments/y2026/close", data={"_csrf_token": token, "_confirmed": "yes"}, follow_redirects=False
    )
    assert closed.status_code == 303 and closed.headers["location"] == "/assessments/y2026"
    page = client.get("/assessments/y2026")
    assert "已封存：第 1 号快照" in page.text and "更正原因" in page.text
    again = client.post("/assessments/y2026/close", data={"_csrf_token": token, "_confirmed": "yes"})
    assert again.status_code == 422 and "已封存，不能再关闭" in again.text
    empty = client.post("/assessments/y2026/correct", data={"_csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and "更正必须写明原因" in empty.text

    async def exclude_one() -> None:
        scored = Response.select(Response.id).where(
            Response.unit.code == "3311-D06", Response.campaign.slug.like("department-conduct-%")
        )
        first = await scored.order_by(Response.id).first()
        await Response.update({Response.status: ResponseStatus.excluded}).where(Response.id == first["id"])

    run(exclude_one)
    asked = client.post("/assessments/y2026/correct", data={"_csrf_token": token, "reason": "申诉复核"})
    assert asked.status_code == 200 and "封存为第 2 号快照" in asked.text and "确认更正" in asked.text
    assert run(periods.latest_snapshot, demo_period).number == 1  # nothing changed yet
    fixed = client.post(
        "/assessments/y2026/correct",
        data={"_csrf_token": token, "reason": "申诉复核", "_confirmed": "yes"},
        follow_redirects=False,
    )
    assert fixed.status_code == 303
    page = client.get("/assessments/y2026")
    assert run(periods.latest_snapshot, demo_period).result_hash[:16] in page.text
    assert "已封存：第 2 号快照" in page.text and "更正原因：申诉复核" in page.text

    async def actions() -> list[str]:
        rows = await AuditEntry.select(AuditEntry.action, AuditEntry.actor).where(
            AuditEntry.action.like("assessment.%") & (AuditEntry.object_id == demo_period.slug)
        )
        return [(r["action"], r["actor"]) for r in rows]

    assert run(actions) == [
        ("assessment.create", "t"),
        ("assessment.close", "admin-all"),
        ("assessment.correct", "admin-all"),
    ]


def test_the_league_downloads_as_the_page_shows_it(client, staff, run, demo_period):
    import csv
    import io

    import openpyxl

    staff.as_role(Role.assessor, "331102-02")  # 紫金街道 only: the file is no richer than the page
    page = rows(client.get("/assessments/y2026").text, "社区")
    download = client.get("/assessments/y2026/league.csv")
    assert download.status_code == 200 and download.headers["content-disposition"].endswith('y2026-league.csv"')
    table = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [r["unit_code"] for r in table] == [row[1].split()[1] for row in page]
    for row, shown in zip(table, page, strict=True):
        if row["suppressed"] == "1":
            assert row["score"] == "" and shown[0] == "—"
            continue
        assert (
            f"{float(row['score']):.1f}" == shown[3].split()[0] and row["rank"] == shown[0] and row["grade"] == shown[9]
        )
    book = openpyxl.load_workbook(io.BytesIO(client.get("/assessments/y2026/league.xlsx").content))
    assert [c.value for c in book["league"]["C"][1:]] == [r["unit_code"] for r in table]
    assert "/assessments/y2026/league.csv" in client.get("/assessments/y2026").text


def test_a_weighted_league_shows_n_eff_the_unweighted_score_and_its_method(client, staff, run, demo_city):
    from tests.test_assessments import WEIGHTING, only_older

    scheme = schemes.parse((SCHEMES_DIR / "civilized-city-2026.yaml").read_text() + WEIGHTING, name="w")
    p = run(periods.create, "w2026", scheme, "加权考核", title_en="Weighted", actor="t", campaigns_by_slug=None)
    run(only_older, "3311-D05")
    result = json.loads(run(periods.compute, p).result)
    departments = next(g for g in result["groups"] if g["kind"] == "department")["units"]
    staff.as_role(Role.assessor)
    page = client.get("/assessments/w2026")
    assert page.status_code == 200
    for row, unit in zip(rows(page.text, "市直部门"), departments, strict=True):
        if unit["suppressed"]:
            continue
        w = unit["weighting"]
        assert row[2].startswith(f"{unit['n']} n eff {w['n_eff']:.0f} 扫码填写 ")  # then the channel mix
        assert row[3].startswith(f"{unit['score']['estimate']:.1f} 未加权 {w['unweighted']:.1f} 不含工作人员录入 ")
        assert ("未能加权" in row[-1]) == (unit["code"] == "3311-D05")
    text = BeautifulSoup(page.text, "html.parser").get_text(" ", strip=True)
    d05 = next(u["name"] for u in departments if u["code"] == "3311-D05")
    assert f"未能加权的单位按未加权得分计：{d05}（年龄“18—29岁”无人作答）" in text
    assert "按同一人口结构（第七次全国人口普查）用迭代比例拟合（raking）加权" in text
    assert "年龄 18—29岁 20%、30—44岁 28%、45—59岁 27%、60—69岁 15%、70岁及以上 10%；性别 男 49%、女 51%。" in text
    english = client.get("/assessments/w2026?lang=en")
    words = BeautifulSoup(english.text, "html.parser").get_text(" ", strip=True)
    assert "age band “18–29” had no respondent" in words and "(2020 census)" in words
    download = client.get("/assessments/w2026/league.csv").content.decode("utf-8-sig")
    table = {r["unit_code"]: r for r in csv.DictReader(io.StringIO(download))}
    assert table["3311-D05"]["weighted"] == "0"
    for unit in departments:
        row = table[unit["code"]]
        if unit["suppressed"]:
            assert row["weighted"] == row["n_eff"] == ""
        elif unit["code"] != "3311-D05":
            assert row["weighted"] == "1" and float(row["n_eff"]) < unit["n"]
            assert float(row["unweighted_score"]) == pytest.approx(unit["weighting"]["unweighted"], abs=1e-6)
