"""The first score report: numbers checked against values computed by hand from the definitions."""

from __future__ import annotations

import json
import math
import uuid

import pytest
from scipy import stats

from survey_app import responses
from survey_app.reporting import campaign_report
from survey_app.responses import FormToken
from survey_app.tables import Response, ResponseStatus, Role

# Unit A: 12 answers. Index points are linear: 5→100, 4→75, 3→50, 2→25, 1→0.
OVERALL_A = [5, 5, 5, 5, 4, 4, 4, 4, 3, 3, 2, 1]
EFFICIENCY_A = [5, 4, 4, 4, 4, 3, 3, "dk", "dk", 2, 2, 1]
POINTS = {5: 100, 4: 75, 3: 50, 2: 25, 1: 0}


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval, written out from its formula."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def t_interval(values: list[float]) -> tuple[float, float]:
    """The logit-t interval by hand: the t interval on logit(mean/100), mapped back to 0–100."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    p = mean / 100
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) / (100 * p * (1 - p))
    centre = math.log(p / (1 - p))
    return 100 / (1 + math.exp(half - centre)), 100 / (1 + math.exp(-centre - half))


def answer(run, world, unit_id: int, answers: dict) -> None:
    token = FormToken(submission_id=uuid.uuid4().hex, issued_at=0)
    run(responses.record, campaign_id=world.campaign_id, unit_id=unit_id, link_id=None, token=token, answers=answers)


@pytest.fixture
def scored(run, world):
    for overall, efficiency in zip(OVERALL_A, EFFICIENCY_A, strict=True):
        answer(run, world, world.unit_a, {"overall": overall, "efficiency": efficiency})
    for overall in (5, 4, 1):
        answer(run, world, world.unit_b, {"overall": overall})
    return campaign_report.to_dict(run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE))


def line(report: dict, unit_code: str, level: str, key: str) -> dict:
    unit = next(u for u in report["units"] if u["code"] == unit_code)
    return next(s for s in unit["scores"] if s["level"] == level and s["key"] == key)


def test_item_scores_match_hand_computation(scored):
    overall = line(scored, "331102-01-001", "item", "overall")
    assert overall["n"] == 12 and overall["n_dont_know"] == 0
    assert overall["index"]["estimate"] == pytest.approx(825 / 12)  # 68.75
    low, high = t_interval([POINTS[v] for v in OVERALL_A])
    assert (overall["index"]["low"], overall["index"]["high"]) == pytest.approx((low, high))
    assert overall["satisfaction_rate"]["estimate"] == pytest.approx(10 / 12)
    assert (overall["satisfaction_rate"]["low"], overall["satisfaction_rate"]["high"]) == pytest.approx(wilson(10, 12))
    assert overall["bad_rate"]["estimate"] == pytest.approx(2 / 12)


def test_dont_know_is_left_out_of_the_denominator(scored):
    efficiency = line(scored, "331102-01-001", "item", "efficiency")
    assert efficiency["n"] == 10 and efficiency["n_dont_know"] == 2
    assert efficiency["index"]["estimate"] == pytest.approx(55.0)
    assert efficiency["satisfaction_rate"]["estimate"] == pytest.approx(7 / 10)
    assert (efficiency["satisfaction_rate"]["low"], efficiency["satisfaction_rate"]["high"]) == pytest.approx(
        wilson(7, 10)
    )


def test_overall_composite_follows_the_documented_weights(scored):
    # Each respondent: 0.4 × overall dimension + 0.6 × service dimension, renormalised over the
    # dimensions they answered (the two "don't know" respondents count their overall item only).
    per_person = [
        0.4 * POINTS[o] + 0.6 * POINTS[e] if e != "dk" else POINTS[o]
        for o, e in zip(OVERALL_A, EFFICIENCY_A, strict=True)
    ]
    composite = line(scored, "331102-01-001", "overall", "overall")
    assert composite["n"] == 12
    assert composite["index"]["estimate"] == pytest.approx(sum(per_person) / 12)
    assert composite["index"]["low"] < composite["index"]["estimate"] < composite["index"]["high"]
    assert composite["satisfaction_rate"]["estimate"] == pytest.approx(0.4 * 10 / 12 + 0.6 * 7 / 10)
    # The composite index is a mean of respondents' composites, so its interval is a (logit-)t interval on them.
    assert composite["index"]["method"] == "logit-t"
    assert 0 <= composite["index"]["low"] and composite["index"]["high"] <= 100


def test_unit_below_the_minimum_gets_no_score_but_keeps_its_n(scored):
    unit_b = next(u for u in scored["units"] if u["code"] == "331102-01-002")
    assert unit_b["responses"] == 3
    for score in unit_b["scores"]:
        assert score["suppressed"] is True
        assert score["index"]["estimate"] is None and score["satisfaction_rate"]["estimate"] is None
    assert line(scored, "331102-01-002", "item", "overall")["n"] == 3


def test_report_names_its_method_and_questionnaire(scored):
    assert scored["index_mapping"] == "linear"
    assert scored["questionnaire"]["slug"] == "window-rating" and len(scored["questionnaire"]["sha256"]) == 64
    assert scored["responses"] == 15 and (scored["min_n"], scored["small_n"]) == (10, 30)


def test_report_is_identical_when_recomputed(run, scored):
    assert (
        campaign_report.to_dict(run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE))
        == scored
    )


def test_csv_and_table_carry_the_same_numbers(run, scored):
    report = run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE)
    rows = [r.split(",") for r in campaign_report.to_csv(report).splitlines()]
    assert rows[0] == campaign_report.CSV_COLUMNS
    [overall] = [r for r in rows if r[:4] == ["331102-01-001", "大洋社区", "item", "overall"]]
    assert overall[5:10] == ["12", "0", "False", "True", "68.8"]
    assert overall[12] == "0.8333"
    table = campaign_report.to_table(report)
    assert "15 responses" in table
    assert any(row.startswith("大洋社区") and "12" in row for row in table.splitlines())


def test_report_page_and_downloads(client, staff, scored):
    staff.as_role(Role.assessor)
    page = client.get("/reports/window-rating-test")
    assert page.status_code == 200
    assert "大洋社区" in page.text and "68.8" in page.text and "样本不足" in page.text
    data = client.get("/reports/window-rating-test/scores.json").json()
    assert data == json.loads(json.dumps(scored))
    csv = client.get("/reports/window-rating-test/scores.csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("\ufeffunit_code,")
    assert client.get("/reports/no-such-campaign").status_code == 404


def test_report_command_formats(cli, scored):
    as_json = cli("report", "window-rating-test", "--format", "json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == json.loads(json.dumps(scored))
    as_csv = cli("report", "window-rating-test", "--format", "csv")
    assert as_csv.stdout.startswith("unit_code,unit_name,level")
    table = cli("report", "window-rating-test")
    assert "window-rating-test: 15 responses" in table.stdout
    missing = cli("report", "nope")
    assert missing.returncode == 1 and missing.stderr == "Error: no campaign 'nope'\n" and missing.stdout == ""


def set_status(run, world, overall: int, status: ResponseStatus, count: int = 1) -> None:
    """Give `count` of unit A's responses with this overall rating the status."""

    async def change() -> None:
        rows = (
            await Response.select(Response.id, Response.answers)
            .where(Response.unit == world.unit_a)
            .output(load_json=True)
        )
        ids = [r["id"] for r in rows if r["answers"]["overall"] == overall][:count]
        await Response.update({Response.status: status}).where(Response.id.is_in(ids))

    run(change)


def test_quarantined_and_excluded_leave_the_score_but_not_the_all_responses_figure(run, world, scored):
    set_status(run, world, 1, ResponseStatus.quarantined)
    set_status(run, world, 2, ResponseStatus.excluded)
    set_status(run, world, 5, ResponseStatus.included)  # reviewed and kept: counted
    report = campaign_report.to_dict(
        run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE)
    )
    overall = line(report, "331102-01-001", "item", "overall")
    assert overall["n"] == 10
    assert overall["index"]["estimate"] == pytest.approx((825 - 0 - 25) / 10)  # the 1 and the 2 left out
    unit = next(u for u in report["units"] if u["code"] == "331102-01-001")
    assert (unit["responses"], unit["quarantined"], unit["excluded"], unit["responses_all"]) == (10, 1, 1, 12)
    everything = unit["with_all_responses"]
    assert everything["n"] == 12 and everything["index"]["estimate"] == pytest.approx(
        line(scored, "331102-01-001", "overall", "overall")["index"]["estimate"]
    )
    assert (report["responses"], report["quarantined"], report["excluded"], report["responses_all"]) == (13, 1, 1, 15)
    assert report["statuses_counted"] == ["counted", "included"]


def test_superseded_responses_count_nowhere(run, world, scored):
    set_status(run, world, 4, ResponseStatus.superseded, count=4)
    report = campaign_report.to_dict(
        run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE)
    )
    unit = next(u for u in report["units"] if u["code"] == "331102-01-001")
    assert unit["responses_all"] == unit["responses"] == 8 and unit["with_all_responses"]["n"] == 8


def test_every_form_of_the_report_carries_both_scores(run, world, client, staff, cli, scored):
    set_status(run, world, 5, ResponseStatus.quarantined, count=4)  # unit A keeps 8 counted: below MIN_N
    report = run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE)
    rows = [r.split(",") for r in campaign_report.to_csv(report).splitlines()]
    assert rows[0][-2:] == ["unit_quarantined", "unit_excluded"]
    [everything] = [r for r in rows if r[0] == "331102-01-001" and r[2] == "overall_all"]
    assert everything[5] == "12" and everything[9] != "" and everything[-2:] == ["4", "0"]
    [counted] = [r for r in rows if r[0] == "331102-01-001" and r[2] == "overall"]
    assert counted[5] == "8" and counted[9] == ""  # 8 < MIN_N: no published score without them
    table = campaign_report.to_table(report)
    assert "(not counted: 4 quarantined, 0 excluded)" in table and "含全部答卷" in table
    staff.as_role(Role.assessor)
    page = client.get("/reports/window-rating-test").text
    assert "含全部答卷（12 份：待审核 4，已排除 0）" in page
    assert 'href="/staff/quarantine?campaign=window-rating-test"' in page
    assert client.get("/reports/window-rating-test/scores.json").json()["quarantined"] == 4
    english = client.get("/reports/window-rating-test?lang=en").text
    assert "All responses (12: 4 awaiting review, 0 excluded)" in english
