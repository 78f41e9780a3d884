"""The unit page and the data-quality page: numbers checked against `analysis` and scipy computed
here from the answers the test wrote, privacy rules for comments, scope, and the demo city."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from bs4 import BeautifulSoup
from scipy import stats

import analysis
from survey_app import campaigns, demo
from survey_app.assessment import rules
from survey_app.db import writing
from survey_app.tables import CampaignUnit, Response, Role

WINDOW_ITEMS = ["overall", "efficiency", "level", "attitude"]  # window-rating's rating items, in order
UNIT_A = "331102-01-001"
PAGE_A = f"/reports/window-rating-test/units/{UNIT_A}"


def add(
    run, campaign_id, unit_id, answers, *, status="counted", flags=(), reason="", channel="qr", at=None, duration=90.0
):
    async def insert():
        async with writing():
            await Response(
                submission_id=uuid.uuid4().hex,
                receipt=uuid.uuid4().hex[:10].upper(),
                campaign=campaign_id,
                unit=unit_id,
                answers=answers,
                channel=channel,
                status=status,
                flags=list(flags),
                review_reason=reason,
                submitted_at=at or datetime.now(UTC),
                duration_s=duration,
            ).save()

    run(insert)


def random_answers(rng: random.Random, shift: int = 0) -> dict:
    """Window-rating answers; each item may be "don't know" or skipped."""
    out = {}
    for item in WINDOW_ITEMS:
        roll = rng.random()
        if item != "overall" and roll < 0.1:
            out[item] = "dk"
        elif item != "overall" and roll < 0.15:
            continue
        else:
            out[item] = min(5, max(1, rng.choice([1, 2, 3, 4, 4, 5, 5]) + shift))
    return out


def coded(rows: list[dict]) -> analysis.CodedItems:
    """Code answers for analysis independently of the app: value v → rank 6 − v, "dk" → don't know."""
    levels = np.full((len(rows), len(WINDOW_ITEMS)), np.nan)
    dont_know = np.zeros(levels.shape, dtype=bool)
    for r, answers in enumerate(rows):
        for c, item in enumerate(WINDOW_ITEMS):
            value = answers.get(item)
            if value == "dk":
                dont_know[r, c] = True
            elif value is not None:
                levels[r, c] = 6 - value
    return analysis.code_items(levels, dont_know=dont_know)


WINDOW_DIMENSIONS = [("overall", [0], [1.0]), ("service", [1, 2, 3], [1.0, 1.0, 1.0])]
WINDOW_WEIGHTS = [0.4, 0.6]


def page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.text[-2000:]
    return BeautifulSoup(response.text, "html.parser")


def cell(soup: BeautifulSoup, section: str, level: str, key: str, field: str) -> str:
    row = soup.select_one(f'#{section} tr[data-level="{level}"][data-key="{key}"]')
    return row.select_one(f'[data-field="{field}"]').get_text(strip=True)


@pytest.fixture
def unit_a_answers(run, world):
    rng = random.Random(11)
    rows = [random_answers(rng) for _ in range(40)]
    for n, answers in enumerate(rows):
        add(run, world.campaign_id, world.unit_a, answers, channel="interviewer" if n % 8 == 0 else "qr")
    return rows


def test_unit_page_numbers_match_analysis(client, staff, run, world, unit_a_answers):
    async def set_target():
        await CampaignUnit.update({CampaignUnit.target: 50}).where(CampaignUnit.unit == world.unit_a)

    run(set_target)
    staff.as_role(Role.assessor)
    soup = page(client, PAGE_A)
    c = coded(unit_a_answers)
    scores = analysis.score_units(
        c, np.zeros(len(unit_a_answers), dtype=int), 1, dimensions=WINDOW_DIMENSIONS, dimension_weights=WINDOW_WEIGHTS
    )
    overall = scores.overall_score(0)
    assert cell(soup, "scores", "overall", "overall", "n") == "40"
    assert cell(soup, "scores", "overall", "overall", "index") == f"{overall.index.estimate:.1f}"
    assert cell(soup, "scores", "overall", "overall", "index-ci") == f"{overall.index.low:.1f}–{overall.index.high:.1f}"
    service = scores.dimension(0, "service")
    assert cell(soup, "scores", "dimension", "service", "index") == f"{service.index.estimate:.1f}"
    for col, item in enumerate(WINDOW_ITEMS):
        s = scores.item(0, col)
        assert cell(soup, "scores", "item", item, "n") == str(s.n)
        assert cell(soup, "scores", "item", item, "rate") == f"{100 * s.satisfaction.estimate:.1f}%"
        low, high = analysis.proportion_ci(int(round(s.satisfaction.estimate * s.n)), s.n)
        assert cell(soup, "scores", "item", item, "rate-ci") == f"{100 * low:.1f}–{100 * high:.1f}"
    # importance–performance against the overall item
    ipa = analysis.ipa(c.index[:, 1:], c.index[:, 0], names=WINDOW_ITEMS[1:])
    for j, item in enumerate(WINDOW_ITEMS[1:]):
        row = soup.select_one(f'#ipa tr[data-key="{item}"]')
        assert row.select_one('[data-field="importance"]').get_text() == f"{ipa.importance[j]:.2f}"
        assert row.select_one('[data-field="performance"]').get_text() == f"{ipa.performance[j]:.1f}"
    assert len(soup.select("#ipa svg circle")) == 3
    # distributions: answers per item, and one bar segment per level that was chosen
    for col, item in enumerate(WINDOW_ITEMS):
        row = soup.select_one(f'#distribution tr[data-key="{item}"]')
        answered = int((c.code[:, col] > 0).sum())
        assert row.select_one('[data-field="answers"]').get_text() == str(answered)
        assert len(row.select("rect")) == len(np.unique(c.code[:, col][c.code[:, col] > 0]))
    # response rate against target and channel mix
    assert soup.select_one("#scored").get_text() == "40" and soup.select_one("#target").get_text() == "50"
    assert soup.select_one("#response-rate").get_text() == "80.0%"
    assert "访谈录入 5" in soup.select_one('[data-channel="interviewer"]').get_text()
    assert "扫码填写 35" in soup.select_one('[data-channel="qr"]').get_text()
    assert soup.select_one("#no-previous") is not None


def test_unit_page_in_english(client, staff, world, unit_a_answers):
    staff.as_role(Role.assessor)
    soup = page(client, PAGE_A + "?lang=en")
    text = soup.get_text()
    assert "Change since the previous period" in text and "Very satisfied" in text
    assert not re.search(r"[\u4e00-\u9fff]{4,}", soup.select_one("#distribution h2").get_text())


def test_change_against_the_previous_campaign(client, staff, run, world):
    now = datetime.now(UTC)
    earlier = world.campaign("window-rating", slug="window-rating-2025", opens_at=now - timedelta(days=400))
    older_other = world.campaign("community-services", slug="community-2024", opens_at=now - timedelta(days=800))
    rng = random.Random(5)
    before = [{item: rng.choice([2, 3, 3, 4, 4, 5]) for item in WINDOW_ITEMS} for _ in range(30)]
    after = [{item: rng.choice([3, 4, 4, 5, 5, 5]) for item in WINDOW_ITEMS} for _ in range(25)]
    for answers in before:
        add(run, earlier, world.unit_a, answers)
    for answers in after:
        add(run, world.campaign_id, world.unit_a, answers)
    add(run, older_other, world.unit_a, {"overall": 1})
    staff.as_role(Role.admin)
    soup = page(client, PAGE_A)
    points = {5: 100, 4: 75, 3: 50, 2: 25, 1: 0}

    def composite(a):
        return 0.4 * points[a["overall"]] + 0.6 * np.mean([points[a[i]] for i in WINDOW_ITEMS[1:]])

    welch = stats.ttest_ind([composite(a) for a in after], [composite(a) for a in before], equal_var=False)
    diff = np.mean([composite(a) for a in after]) - np.mean([composite(a) for a in before])
    assert cell(soup, "change", "overall", "overall", "diff") == f"{diff:+.1f}"
    assert cell(soup, "change", "overall", "overall", "p") == f"{welch.pvalue:.3f}"
    low, high = welch.confidence_interval(0.95)
    assert cell(soup, "change", "overall", "overall", "diff-ci") == f"{low:.1f}–{high:.1f}"
    # an item's satisfaction rate: Newcombe's interval (the app) from the counts written here
    x1, x2 = sum(a["efficiency"] >= 3 for a in after), sum(a["efficiency"] >= 3 for a in before)
    d = analysis.diff_proportions_ci(x1, 25, x2, 30)
    assert cell(soup, "change", "item", "efficiency", "rate-diff") == f"{100 * d.estimate:+.1f}"
    assert cell(soup, "change", "item", "efficiency", "rate-diff-ci") == f"{100 * d.low:.1f}–{100 * d.high:.1f}"
    # p-values adjusted together (overall, two dimensions, four items)
    raw = [float(cell(soup, "change", r["data-level"], r["data-key"], "p")) for r in soup.select("#change tbody tr")]
    assert len(raw) == 7
    assert "window-rating-2025" in soup.select_one("#change p").get_text()
    # the earlier campaign is the first of its questionnaire: nothing to compare with
    first = page(client, f"/reports/window-rating-2025/units/{UNIT_A}")
    assert first.select_one("#no-previous") is not None


def test_too_few_answers_in_a_period_are_not_compared(client, staff, run, world):
    earlier = world.campaign(
        "window-rating", slug="window-rating-2025", opens_at=datetime.now(UTC) - timedelta(days=400)
    )
    for _ in range(5):
        add(run, earlier, world.unit_a, {"overall": 2})
    for _ in range(12):
        add(run, world.campaign_id, world.unit_a, {"overall": 5})
    staff.as_role(Role.admin)
    soup = page(client, PAGE_A)
    row = soup.select_one('#change tr[data-level="overall"]')
    assert "样本不足，不比较" in row.get_text() and row.select_one('[data-field="p"]') is None


def test_comments_are_masked_and_timed_to_the_hour(client, staff, run, world):
    at = datetime(2026, 3, 5, 9, 47, 13, tzinfo=UTC)  # 17:47 in Lishui
    add(
        run,
        world.campaign_id,
        world.unit_a,
        {"overall": 2, "comment": "请回电13812345678，身份证110101199003071234"},
        at=at,
    )
    for _ in range(9):
        add(run, world.campaign_id, world.unit_a, {"overall": 4})
    add(
        run,
        world.campaign_id,
        world.unit_a,
        {"overall": 1, "comment": "被剔除的意见"},
        status="excluded",
        reason="重复",
    )
    staff.as_role(Role.assessor)
    soup = page(client, PAGE_A)
    comments = soup.select_one("#comments").get_text()
    assert "请回电＊＊＊，身份证＊＊＊" in comments
    assert "13812345678" not in soup.decode() and "110101199003071234" not in soup.decode()
    assert "2026-03-05 17:00" in comments and "17:47" not in soup.decode()
    assert "被剔除的意见" not in comments


def test_no_comments_below_the_minimum_n(client, staff, run, world):
    for n in range(9):
        add(run, world.campaign_id, world.unit_a, {"overall": 4, "comment": f"意见{n}号"})
    for _ in range(3):  # left out: they do not make the unit large enough
        add(run, world.campaign_id, world.unit_a, {"overall": 4}, status="quarantined", flags=["burst"])
    staff.as_role(Role.assessor)
    text = page(client, PAGE_A).select_one("#comments").get_text()
    assert "意见" not in text.replace("居民意见", "").replace("不显示意见", "") and "少于 10 份" in text
    add(run, world.campaign_id, world.unit_a, {"overall": 4})
    assert "意见8号" in page(client, PAGE_A).select_one("#comments").get_text()


REASON = "同一时段集中提交"


def test_left_out_responses_by_status_and_reason(client, staff, run, world):
    for _ in range(11):
        add(run, world.campaign_id, world.unit_a, {"overall": 4})
    for _ in range(3):
        add(run, world.campaign_id, world.unit_a, {"overall": 1}, status="quarantined", flags=["burst", "clone"])
    for _ in range(2):
        add(
            run,
            world.campaign_id,
            world.unit_a,
            {"overall": 1},
            status="excluded",
            flags=["burst"],
            reason="同一时段集中提交",
        )
    add(run, world.campaign_id, world.unit_a, {"overall": 1}, status="superseded")
    add(run, world.campaign_id, world.unit_a, {"overall": 5}, status="included", flags=["speed"], reason="核实为本人")
    staff.as_role(Role.assessor)
    soup = page(client, PAGE_A)
    assert soup.select_one("#scored").get_text() == "12"  # counted + included
    rows = {
        (r["data-status"], r.select("td")[2].get_text()): r.select("td")[3].get_text()
        for r in soup.select("#left-out tbody tr")
    }
    assert rows == {("quarantined", "—"): "3", ("excluded", REASON): "2"}
    assert soup.select_one('#left-out [data-flag="burst"]').get_text() == "集中提交 5"
    assert soup.select_one('#left-out [data-flag="clone"]').get_text() == "答案雷同 3"
    assert "另有 1 份答卷被同一设备的修改替代" in soup.select_one("#left-out").get_text()


def test_unit_pages_answer_404_outside_scope(client, staff, run, world):
    from survey_app import units
    from survey_app.tables import UnitKind

    run(units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    run(units.create, "331102-02-001", "紫金社区", UnitKind.community, parent_code="331102-02")
    staff.create("other", Role.worker, "331102-02")
    staff.create("own", Role.worker, "331102-01")
    assert staff.login("other").status_code == 303
    assert client.get(PAGE_A).status_code == 404
    assert client.get("/reports/window-rating-test/quality").status_code == 404
    # a unit of their own street that the campaign does not cover
    assert client.get("/reports/window-rating-test/units/331102-02-001").status_code == 404
    client.cookies.clear()
    assert staff.login("own").status_code == 303
    assert client.get(PAGE_A).status_code == 200
    assert client.get("/reports/window-rating-test/units/331102-02-001").status_code == 404
    assert client.get("/reports/window-rating-test/units/no-such-unit").status_code == 404
    assert client.get(f"/reports/no-such-campaign/units/{UNIT_A}").status_code == 404


def test_campaign_report_links_each_unit_page(client, staff, world):
    staff.as_role(Role.assessor)
    soup = page(client, "/reports/window-rating-test")
    links = {a["href"] for a in soup.select("tr.unit-row a")}
    assert links == {f"/reports/window-rating-test/units/{c}" for c in (UNIT_A, "331102-01-002")}
    assert soup.select_one('a[href="/reports/window-rating-test/quality"]') is not None


def test_data_quality_page(client, staff, run, world):
    cs = world.campaign("community-services", slug="community-test")
    q_items = [
        "legal_advice", "mediation", "culture_events", "culture_venues", "health_clinic", "family_doctor",
        "science_events", "digital_help", "safety_education", "hazards", "service_centre", "elderly_care",
        "daily_convenience", "overall",
    ]  # fmt: skip
    rng = np.random.default_rng(3)
    ranks, written = [], []
    for n in range(30):
        person = rng.normal()
        answers = {"used": True}
        row = []
        for item in q_items:
            if item == "legal_advice" and n % 3 == 0:
                answers[item] = "dk"
                row.append(np.nan)
            elif item == "mediation" and n % 5 == 0:
                row.append(np.nan)  # skipped
            else:
                value = int(np.clip(np.rint(3.5 + person + rng.normal(0, 0.7)), 1, 5))
                answers[item] = value
                row.append(6 - value)
        straight = n < 2
        if straight:
            answers = {"used": True} | dict.fromkeys(q_items, 5)
            row = [1.0] * len(q_items)
        ranks.append(row)
        written.append(answers)
        add(run, cs, world.unit_a, answers, duration=10.0 if n in (0, 5, 6) else 100.0 + n)
    add(run, cs, world.unit_a, {"overall": 1}, status="quarantined", duration=5.0)
    add(run, cs, world.unit_b, {"overall": 3}, status="excluded")
    add(run, cs, world.unit_b, {"overall": 3}, channel="paper")

    async def set_target():
        await CampaignUnit.update({CampaignUnit.target: 40}).where(CampaignUnit.campaign == cs)

    run(set_target)
    staff.as_role(Role.admin)
    soup = page(client, "/reports/community-test/quality")
    a = soup.select_one(f'#units tr[data-code="{UNIT_A}"]')
    assert a.select_one('[data-field="scored"]').get_text() == "30"
    assert a.select_one('[data-field="rate"]').get_text() == "75.0%"
    assert a.select_one('[data-status="quarantined"]').get_text() == "1"
    durations = np.array([10.0 if n in (0, 5, 6) else 100.0 + n for n in range(30)] + [5.0, 90.0, 90.0])
    fast = analysis.speeders(durations)
    assert a.select_one('[data-field="speeders"]').get_text() == str(int(fast[:31].sum())) == "4"
    assert a.select_one('[data-field="straight"]').get_text() == "2"
    b = soup.select_one('#units tr[data-code="331102-01-002"]')
    assert b.select_one('[data-status="excluded"]').get_text() == "1" and "纸质问卷 1" in b.get_text()
    assert [li["data-code"] for li in soup.select("#below-min li")] == ["331102-01-002"]
    legal = soup.select_one('#items tr[data-key="legal_advice"]')
    dont_know = sum(a.get("legal_advice") == "dk" for a in written)
    valid = sum(isinstance(a.get("legal_advice"), int) for a in written)
    assert dont_know == 9 and legal.select_one('[data-field="dont-know"]').get_text() == f"{100 * 9 / (9 + valid):.1f}%"
    mediation = soup.select_one('#items tr[data-key="mediation"]')
    skipped = sum(1 for n in range(30) if n % 5 == 0 and n >= 2) + 1  # + unit B's paper sheet
    assert mediation.select_one('[data-field="nonresponse"]').get_text() == f"{100 * skipped / 31:.1f}%"
    # Cronbach's α of the health dimension (two items), over the 30 + 1 scored responses
    health = np.array([r[4:6] for r in ranks] + [[np.nan, np.nan]])
    alpha = analysis.cronbach_alpha(health[~np.isnan(health).all(axis=1)])
    row = soup.select_one('#reliability tr[data-key="health"]')
    assert row.select_one('[data-field="alpha"]').get_text() == f"{alpha.alpha:.3f}"
    assert row.select_one('[data-field="alpha-ci"]').get_text() == f"{alpha.low:.3f}–{alpha.high:.3f}"


@pytest.mark.slow
def test_every_demo_unit_page_renders(run, client, staff, demo_city):
    """One request per campaign × unit, alternating Chinese and English; the small units in both."""
    staff.as_role(Role.admin)
    seen = 0
    for progress in run(campaigns.progress, None):
        for n, unit in enumerate(progress.units):
            languages = ("zh", "en") if n < len(demo.SMALL_UNIT_SIZES) else (("zh", "en")[n % 2],)
            for lang in languages:
                response = client.get(f"/reports/{progress.campaign.slug}/units/{unit.code}?lang={lang}")
                assert response.status_code == 200, (progress.campaign.slug, unit.code, lang)
                assert unit.code in response.text
                seen += 1
        assert client.get(f"/reports/{progress.campaign.slug}/quality").status_code == 200
    assert seen > 90


def test_unit_page_prints_on_a4_without_the_staff_bar(client, staff, world):
    staff.as_role(Role.assessor)
    html = client.get(PAGE_A).text
    style = BeautifulSoup(html, "html.parser").style.get_text()
    assert "@page{size:A4" in style
    printed = style.split("@media print{", 1)[1]
    assert "header.bar,.tools,footer{display:none}" in printed and "break-inside:avoid" in printed
    assert ' style="' not in html  # the CSP allows no inline style attributes


def lowest_community(run) -> tuple[str, str]:
    """The demo's community-services campaign and its lowest-scoring community (by overall index)."""
    from survey_app.reporting import campaign_report

    slug = next(p.campaign.slug for p in run(campaigns.progress, None) if p.campaign.slug.startswith("community-"))
    report = run(campaign_report.build, slug, rule=run(rules.of_campaign, slug))  # as the pages score it
    scored = [u for u in report.units if not np.isnan(u.overall.score.index.estimate)]
    return slug, min(scored, key=lambda u: u.overall.score.index.estimate).code


def campaign_answers(run, slug: str) -> list[tuple[str, dict]]:
    async def rows():
        campaign = await campaigns.by_slug(slug)
        return await (
            Response.select(Response.unit.code, Response.answers)
            .where((Response.campaign == campaign.id) & Response.status.is_in(["counted", "included"]))
            .order_by(Response.id)
            .output(load_json=True)
        )

    return [(r["unit.code"], r["answers"]) for r in run(rows)]


def test_lowest_community_report_explains_its_score(client, staff, run, demo_city):
    """The gap by dimension and the reasons question, checked against analysis computed here."""
    from survey_app.questionnaires import versions
    from survey_app.reporting import campaign_report

    slug, code = lowest_community(run)
    staff.as_role(Role.assessor)
    soup = page(client, f"/reports/{slug}/units/{code}")
    answers = campaign_answers(run, slug)
    mine = [a for c, a in answers if c == code]
    rest = [a for c, a in answers if c != code]
    campaign = run(campaigns.by_slug, slug)
    q = run(versions.get, campaign.questionnaire_id)
    # the gap: this unit and the other units as two groups, straight from analysis
    coded_all = campaign_report.coded_answers(q, mine + rest)
    dims, weights = campaign_report.dimension_spec(q)
    scores = analysis.score_units(
        coded_all, np.repeat([0, 1], [len(mine), len(rest)]), 2, dimensions=dims, dimension_weights=weights
    )
    unit_o, rest_o = scores.overall_score(0).index, scores.overall_score(1).index
    gap = unit_o.estimate - rest_o.estimate
    assert gap < 0  # the lowest community scores below the others
    summary = soup.select_one("#gap-summary").get_text()
    assert f"{unit_o.estimate:.1f}" in summary and f"{rest_o.estimate:.1f}" in summary and f"{gap:+.1f}" in summary
    w = np.array(weights) / np.sum(weights)
    contributions = {}
    for d, (name, _, _) in enumerate(dims):
        u, r = scores.dimension(0, d).index, scores.dimension(1, d).index
        contributions[name] = w[d] * (u.estimate - r.estimate)
        row = soup.select_one(f'#gap-table tr[data-key="{name}"]')
        assert row.select_one('[data-field="unit"]').get_text() == f"{u.estimate:.1f}"
        assert row.select_one('[data-field="rest"]').get_text() == f"{r.estimate:.1f}"
        assert row.select_one('[data-field="contribution"]').get_text() == f"{contributions[name]:+.1f}"
    worst = min(contributions, key=contributions.get)
    assert soup.select_one("#gap-table tr.risk")["data-key"] == worst
    assert next(d.title.zh for d in q.dimensions if d.id == worst) in soup.select_one("#gap-worst").get_text()
    # the reasons question comes first, its shares are Wilson intervals on the residents who answered it
    headings = soup.select("#choices h3")
    assert headings[0]["data-key"] == "reasons" and "追问" in headings[0].get_text()
    asked = [a["reasons"] for a in mine if a.get("reasons")]
    asked_rest = [a["reasons"] for a in rest if a.get("reasons")]
    assert f"n = {len(asked)}" in headings[0].get_text()
    table = soup.select_one('#choices table[data-key="reasons"]')
    for option in q.item("reasons").options:
        x = sum(option.value in r for r in asked)
        share = analysis.proportion_ci(x, len(asked))
        row = table.select_one(f'tr[data-value="{option.value}"]')
        assert row.select_one('[data-field="count"]').get_text() == str(x)
        assert row.select_one('[data-field="share"]').get_text() == f"{100 * share.estimate:.1f}%"
        assert row.select_one('[data-field="share-ci"]').get_text() == f"{100 * share.low:.1f}–{100 * share.high:.1f}"
        y = sum(option.value in r for r in asked_rest)
        assert row.select_one('[data-field="rest"]').get_text() == f"{100 * y / len(asked_rest):.1f}%"
    # the yes/no question is reported too
    assert soup.select_one('#choices table[data-key="used"] tr[data-value="True"]') is not None
    # comments grouped by the dimension their resident named among the reasons
    for d in q.dimensions:
        expected = sum(1 for a in mine if (a.get("comment") or "").strip() and d.id in (a.get("reasons") or []))
        group = soup.select_one(f'#comments ul[data-dimension="{d.id}"]')
        assert (len(group.select("li")) if group else 0) == expected


def test_choice_shares_against_the_rest_are_newcombe_differences():
    result = analysis.compare_shares(np.array([8.0, 2.0]), 10, np.array([30.0, 70.0]), 100)
    assert result.unit.tolist() == [0.8, 0.2] and result.rest.tolist() == [0.3, 0.7]
    d = analysis.diff_proportions_ci(8, 10, 30, 100)
    assert (result.diff_low[0], result.diff_high[0]) == pytest.approx((d.low, d.high))
    assert result.different.tolist() == [True, True]
    empty = analysis.compare_shares(np.zeros(2), 0, np.array([1.0, 2.0]), 5)
    assert np.isnan(empty.unit).all() and not empty.different.any()
    with pytest.raises(ValueError, match="unit_counts"):
        analysis.compare_shares(np.array([3.0]), 2, np.array([1.0]), 5)


def test_gap_decomposition_adds_up_when_everyone_answers_every_dimension():
    unit, rest = np.array([60.0, 80.0]), np.array([70.0, 75.0])
    ses = np.array([2.0, 3.0])
    overall_unit, overall_rest = 0.4 * 60 + 0.6 * 80, 0.4 * 70 + 0.6 * 75
    g = analysis.decompose_gap(unit, ses, rest, ses, np.array([2.0, 3.0]), (overall_unit, 1.5, overall_rest, 1.0))
    assert g.contribution.tolist() == pytest.approx([-4.0, 3.0])
    assert g.gap == pytest.approx(-1.0) and g.residual == pytest.approx(0.0, abs=1e-12)
    assert g.worst == 0
    half = stats.norm.ppf(0.975) * 0.4 * np.sqrt(8.0)
    assert (g.low[0], g.high[0]) == pytest.approx((-4.0 - half, -4.0 + half))
    assert analysis.decompose_gap(rest, ses, unit, ses, np.ones(2), (1, 1, 0, 1)).worst == 1
    with pytest.raises(ValueError, match="weights"):
        analysis.decompose_gap(unit, ses, rest, ses, np.array([1.0, 0.0]), (0, 1, 0, 1))


def test_group_view_is_a_sortable_units_by_dimensions_table(client, staff, run, demo_city):
    from survey_app.reporting import campaign_report

    slug, lowest = lowest_community(run)
    staff.as_role(Role.assessor)
    response = client.get(f"/reports/{slug}/dimensions")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    assert not soup.find_all("script") and not soup.find_all(style=True)
    report = run(campaign_report.build, slug, rule=run(rules.of_campaign, slug))  # as the pages score it
    rows = soup.select("#grid tbody tr")
    assert len(rows) == len(report.units)
    # default: overall score, lowest first; the lowest community heads the table
    assert rows[0]["data-unit"] == lowest
    shown = [
        float(r.select_one('td[data-column="overall"]').contents[0])
        for r in rows
        if r.select_one('td[data-column="overall"].cell[class*="b"]')
    ]
    assert shown == sorted(shown)
    unit = next(u for u in report.units if u.code == lowest)
    for line in unit.lines:
        if line.level == "item":
            continue
        key = "overall" if line.level == "overall" else f"dimension.{line.key}"
        cell = rows[0].select_one(f'td[data-column="{key}"]')
        e = line.score.index
        if np.isnan(e.estimate):
            assert cell.get_text() == "—"
            continue
        assert cell.contents[0].strip() == f"{e.estimate:.1f}"
        assert cell.small.get_text() == f"{e.low:.1f}–{e.high:.1f}"
        assert f"b{min(9, int(e.estimate // 10))}" in cell["class"]
    # every column sorts by a link; sorting by a dimension descending puts its best unit first
    dim = next(line.key for line in unit.lines if line.level == "dimension")
    links = {a["data-sort"]: a["href"] for a in soup.select("#grid th a")}
    assert set(links) == {"name", "n", "overall"} | {
        f"dimension.{line.key}" for line in unit.lines if line.level == "dimension"
    }
    sorted_soup = BeautifulSoup(
        client.get(f"/reports/{slug}/dimensions?sort=dimension.{dim}&order=desc").text, "html.parser"
    )
    best = max(
        (
            u
            for u in report.units
            if not np.isnan(next(x for x in u.lines if x.key == dim and x.level == "dimension").score.index.estimate)
        ),
        key=lambda u: next(x for x in u.lines if x.key == dim and x.level == "dimension").score.index.estimate,
    )
    assert sorted_soup.select("#grid tbody tr")[0]["data-unit"] == best.code
    assert "order=asc" in sorted_soup.select_one(f'#grid th a[data-sort="dimension.{dim}"]')["href"]
    # nonsense parameters fall back to the default, never an error
    assert client.get(f"/reports/{slug}/dimensions?sort=nonsense&order=sideways").status_code == 200
    assert client.get(f"/reports/{slug}/dimensions?sort=%00").status_code == 400  # the app's refusal of NUL
    assert "@page{size:A4" in soup.style.get_text()  # printable
    assert client.get(f"/reports/{slug}").text.count(f"/reports/{slug}/dimensions") == 1


def month_start(months_ago: int) -> datetime:
    """Noon on the 15th, `months_ago` calendar months before this one (clear of month edges in any zone)."""
    now = datetime.now(UTC)
    year, month = now.year, now.month - months_ago
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 15, 4, tzinfo=UTC)


def test_early_warning_lists_a_falling_unit_on_the_dashboard(client, staff, run, world):
    """Unit A answers steadily for five months then falls; unit B stays steady. The EWMA and funnel
    numbers on the page are recomputed here from the answers with analysis."""
    rng = random.Random(16)
    written: dict[tuple[str, int], list[dict]] = {}
    for months_ago in range(6, -1, -1):
        falling = months_ago <= 1
        for unit, code in ((world.unit_a, UNIT_A), (world.unit_b, "331102-01-002")):
            rows = [random_answers(rng, shift=-2 if falling and unit == world.unit_a else 0) for _ in range(30)]
            written[code, months_ago] = rows
            for answers in rows:
                add(run, world.campaign_id, unit, answers, at=month_start(months_ago))
    staff.as_role(Role.assessor)
    home = page(client, "/staff")
    listed = [li["data-unit"] for li in home.select("#early-warning li")]
    assert listed == [UNIT_A]
    assert home.select_one(f'#early-warning li[data-unit="{UNIT_A}"] [data-signal="ewma"]') is not None
    # the weekly summary: unit A's series and chart, recomputed from the answers
    means, ses = [], []
    for months_ago in range(6, -1, -1):
        y = analysis.respondent_composites(coded(written[UNIT_A, months_ago]), WINDOW_DIMENSIONS, WINDOW_WEIGHTS)[:, -1]
        means.append(y.mean())
        ses.append(y.std(ddof=1) / np.sqrt(y.size))
    chart = analysis.ewma_chart(np.array(means), np.array(ses))
    assert chart.signal[-1] == -1
    summary = page(client, "/staff/early-warning")
    row = summary.select_one(f'tr[data-unit="{UNIT_A}"]')
    cells = row.select("td[data-month]")
    assert [c.contents[0].strip() for c in cells] == [f"{m:.1f}" for m in means]
    assert row.select("td.num")[-2].get_text() == f"{chart.ewma[-1]:.1f}"
    assert row.select("td.num")[-1].get_text() == f"{chart.low[-1]:.1f}"
    assert "走势下降" in row.get_text()
    steady = summary.select_one('tr[data-unit="331102-01-002"]')
    assert "走势下降" not in steady.get_text()
    # a worker of unit B alone does not see unit A listed
    staff.create("b-worker", Role.worker, unit_code="331102-01-002")
    staff.login("b-worker")
    assert not page(client, "/staff").select("#early-warning li")
