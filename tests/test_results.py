"""Cached score pages (survey_app/results.py) give exactly what computing them afresh gives, on the demo
city and on random data, and any change to what they read — however it is written — is seen at once."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from survey_app import responses, results
from survey_app.assessment import periods, rules
from survey_app.assessment.schemes import load_file, parse
from survey_app.reporting import campaign_report, unit_report
from survey_app.reporting.campaign_report import DEFAULT_RULE
from survey_app.responses import FormToken
from survey_app.settings import SCHEMES_DIR
from survey_app.tables import Campaign, CampaignUnit, RatingCase, Response, ResponseStatus, Unit
from tests import rows

SCHEME = load_file(SCHEMES_DIR / "civilized-city-2026.yaml")
DEMO_CAMPAIGNS = ("community-services-2026", "safe-community-2026", "department-conduct-2026")


def report_json(report: campaign_report.Report) -> str:
    return json.dumps(campaign_report.to_dict(report, "zh"), ensure_ascii=False, sort_keys=True)


def same_report(run, slug: str, channels: list[str] | None = None) -> campaign_report.Report:
    """The cached report, checked against a fresh build; returned for identity checks."""
    rule = run(rules.of_campaign, slug)
    cached = run(lambda: results.campaign_report_of(slug, channels, rule=rule))
    assert report_json(cached) == report_json(run(lambda: campaign_report.build(slug, channels, rule=rule)))
    return cached


def same_league(run, period: periods.Period) -> dict:
    shown, snapshot = run(periods.league, period)
    assert snapshot is None
    computed = run(periods.compute, period).result
    assert run(periods.live_result, period) == computed  # byte for byte
    assert shown == json.loads(computed)
    return shown


def same_unit_page(run, slug: str, code: str) -> unit_report.UnitPage | None:
    rule = run(rules.of_campaign, slug)
    cached = run(results.unit_page_of, slug, code, None, rule)
    assert repr(cached) == repr(run(unit_report.build, slug, code, None, rule))  # repr: NaN == NaN
    return cached


def first_response(run, slug: str, code: str) -> dict:
    """The first counted response of unit `code` in campaign `slug`."""

    async def fetch() -> dict:
        return await (
            Response.select(Response.id, Response.unit, Response.unit.code.as_alias("code"), Response.answers)
            .where(
                Response.campaign.slug == slug, Response.status == ResponseStatus.counted, Response.unit.code == code
            )
            .order_by(Response.id)
            .first()
            .output(load_json=True)
        )

    return run(fetch)


def test_demo_reports_league_and_unit_pages_are_the_computed_ones(run, demo_city):
    period = run(periods.create, "y2026", SCHEME, "2026 年度考核", actor="test", campaigns_by_slug=None)
    for slug in DEMO_CAMPAIGNS:
        first = same_report(run, slug)
        rule = run(rules.of_campaign, slug)
        assert run(results.campaign_report_of, slug, rule=rule) is first  # the second view: the kept one
        assert same_report(run, slug, ["qr"]) is not first  # a channel choice is a result of its own
        code = first.units[0].code
        page = same_unit_page(run, slug, code)
        assert run(results.unit_page_of, slug, code, None, rule) is page
        assert run(results.unit_page_of, slug, code, {-1}, rule) is None  # outside the member's scope
    league = same_league(run, period)
    assert run(periods.league, period)[0] == league


def test_every_kind_of_change_is_seen_at_once(run, demo_city):
    period = run(periods.create, "y2026", SCHEME, "2026 年度考核", actor="test", campaigns_by_slug=None)
    slug = "department-conduct-2026"
    league = same_league(run, period)
    scored = next(u["code"] for g in league["groups"] for u in g["units"] if g["kind"] == "department" and u["n"] > 60)
    row = first_response(run, slug, scored)  # a unit with a score: every change below moves it

    def views() -> tuple[str, str, str]:
        report = same_report(run, slug)
        page = same_unit_page(run, slug, row["code"])
        return report_json(report), repr(page), json.dumps(same_league(run, period), sort_keys=True)

    before = views()

    def changed(what: str) -> None:
        nonlocal before
        now = views()
        assert now[0] != before[0], what
        assert now[2] != before[2], what
        before = now

    # A resident's answer (the domain path).
    campaign = run(lambda: Campaign.select(Campaign.id).where(Campaign.slug == slug).first())
    token = FormToken(submission_id=uuid.uuid4().hex, issued_at=0)
    answers = {k: 1 for k, v in row["answers"].items() if isinstance(v, int)}
    for _ in range(3):
        token = FormToken(submission_id=uuid.uuid4().hex, issued_at=0)
        run(
            responses.record,
            campaign_id=campaign["id"],
            unit_id=row["unit"],
            link_id=None,
            token=token,
            answers=answers,
        )
    changed("a new answer")
    # A status change, an edited answer and a unit's new name, written behind the app's back.
    run(lambda: Response.update({Response.status: ResponseStatus.excluded}).where(Response.id == row["id"]))
    changed("an exclusion")
    flipped = {k: (1 if v == 5 else 5) if isinstance(v, int) else v for k, v in row["answers"].items()}
    second = first_response(run, slug, scored)
    run(lambda: Response.update({Response.answers: flipped}).where(Response.id == second["id"]))
    changed("an edited answer")
    run(lambda: Unit.update({Unit.name: "改名后的单位"}).where(Unit.id == row["unit"]))
    changed("a renamed unit")
    run(lambda: Response.update({Response.status: ResponseStatus.counted}).where(Response.id == row["id"]))
    changed("a restored answer")


def test_a_target_and_a_campaign_title_reach_the_unit_page(run, demo_city):
    slug = "community-services-2026"
    code = same_report(run, slug).units[0].code
    before = same_unit_page(run, slug, code)
    assert before is not None
    run(lambda: CampaignUnit.update({CampaignUnit.target: 999}, force=True))
    after = same_unit_page(run, slug, code)
    assert after is not None and after.target == 999 != before.target
    run(lambda: Campaign.update({Campaign.title: "新标题"}).where(Campaign.slug == slug))
    assert same_report(run, slug).campaign_title == "新标题"


@pytest.mark.parametrize("seed", [1, 2])
def test_random_answers_and_statuses(run, world, seed):
    """Random answers of two units, then random status changes: the cache follows every step."""
    rng = random.Random(seed)
    slug = "window-rating-test"
    levels = [1, 2, 3, 4, 5, "dk"]
    for _ in range(rng.randint(25, 60)):
        answers = {"overall": rng.choice(levels), "efficiency": rng.choice(levels)}
        token = FormToken(submission_id=uuid.uuid4().hex, issued_at=0)
        unit = rng.choice([world.unit_a, world.unit_b])
        run(responses.record, campaign_id=world.campaign_id, unit_id=unit, link_id=None, token=token, answers=answers)
    seen = {report_json(same_report(run, slug))}
    ids = [r["id"] for r in world.responses()]
    for _ in range(4):
        picked = rng.sample(ids, 3)
        status = rng.choice([ResponseStatus.quarantined, ResponseStatus.excluded, ResponseStatus.included])
        run(
            lambda picked=picked, status=status: Response.update({Response.status: status}).where(
                Response.id.is_in(picked)
            )
        )
        seen.add(report_json(same_report(run, slug)))
        for code in ("331102-01-001", "331102-01-002"):
            same_unit_page(run, slug, code)
    assert len(seen) > 1


def test_views_that_miss_together_compute_once(run, world, monkeypatch):
    calls = []
    real = campaign_report.build

    async def counted(*args, **kwargs):
        calls.append(args)
        await asyncio.sleep(0.05)
        return await real(*args, **kwargs)

    monkeypatch.setattr(campaign_report, "build", counted)

    async def together() -> list[campaign_report.Report]:
        views = [results.campaign_report_of("window-rating-test", rule=DEFAULT_RULE) for _ in range(5)]
        return list(await asyncio.gather(*views))

    got = run(together)
    assert len(calls) == 1 and all(r is got[0] for r in got)


def test_a_result_that_expires_is_computed_again(run):
    made = []

    async def compute() -> results.Expiring:
        made.append(1)
        return results.Expiring(len(made), datetime.now(UTC) + timedelta(milliseconds=50))

    assert run(results.cached, ("expiring",), compute) == 1
    assert run(results.cached, ("expiring",), compute) == 1
    run(asyncio.sleep, 0.06)
    assert run(results.cached, ("expiring",), compute) == 2


def test_restoring_rows_forgets_the_results(run, world):
    same_report(run, "window-rating-test")
    assert results._entries
    run(rows.delete_all)
    assert not results._entries


def test_a_league_with_case_rates_holds_until_the_next_deadline(run, demo_city):
    """An open case turns late when its deadline passes, with no data changing: the kept league says until
    when it holds, and the view after that moment computes it again (and shows the late case)."""
    text = (
        (SCHEMES_DIR / "civilized-city-2026.yaml")
        .read_text()
        .replace(
            "dimensions: {security: 0.4, order: 0.3, policing: 0.3}",
            "dimensions: {security: 0.4, order: 0.3, policing: 0.3}\n"
            "    case_handling: {weight: 0.2, measure: on_time_rate}",
        )
    )
    period = run(
        periods.create, "cases", parse(text, name="cases.yaml"), "含案件", actor="test", campaigns_by_slug=None
    )
    soon = datetime.now(UTC) + timedelta(seconds=5)  # the league must be computed before then
    case = run(lambda: RatingCase.select(RatingCase.id).where(RatingCase.state == "new").first())
    run(lambda: RatingCase.update({RatingCase.close_due: soon}).where(RatingCase.id == case["id"]))
    before, _ = run(periods.league, period)  # not compared with `compute` here: `soon` may pass in between
    (entry,) = [e for k, e in results._entries.items() if k[0] == "league"]
    assert entry.until == soon
    assert run(periods.league, period)[0] == before == json.loads(entry.value)
    run(asyncio.sleep, max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    assert same_league(run, period) != before  # computed again, the case now late
