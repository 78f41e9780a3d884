"""Case figures in an assessment scheme: the league adds the chosen case rate as a weighted component
(checked against `cases.figures` and `analysis` computed independently), a unit without cases is
scored on the survey alone, and a sealed period's cases are judged as they stood at sealing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import analysis
from survey_app.assessment import periods
from survey_app.assessment.schemes import load_file, parse
from survey_app.cases.figures import figures_of
from survey_app.db import engine
from survey_app.settings import SCHEMES_DIR
from survey_app.tables import Campaign, RatingCase, Unit

BASE = (SCHEMES_DIR / "civilized-city-2026.yaml").read_text()
WITH_CASES = BASE.replace(
    "dimensions: {security: 0.4, order: 0.3, policing: 0.3}",
    "dimensions: {security: 0.4, order: 0.3, policing: 0.3}\n    case_handling: {weight: 0.2, measure: rectified_rate}",
)
SCHEME = parse(WITH_CASES, name="civilized-city-2026.yaml")
PLAIN = load_file(SCHEMES_DIR / "civilized-city-2026.yaml")


async def resolve_some(codes: list[str]) -> None:
    """Close, well within time, half the cases of each of these communities (the demo opens them all `new`)."""
    for code in codes:
        rows = await RatingCase.select(RatingCase.id, RatingCase.opened_at).where(RatingCase.unit.code == code)
        for row in rows[: len(rows) // 2]:
            closed = row["opened_at"] + timedelta(hours=1)
            await RatingCase.update({RatingCase.state: "resolved", RatingCase.closed_at: closed}).where(
                RatingCase.id == row["id"]
            )


async def without_cases(code: str) -> None:
    """Every case of the unit superseded by a revision long ago: none left to judge."""
    rows = await RatingCase.select(RatingCase.id, RatingCase.opened_at).where(RatingCase.unit.code == code)
    for row in rows:
        await RatingCase.update({RatingCase.state: "superseded", RatingCase.closed_at: row["opened_at"]}).where(
            RatingCase.id == row["id"]
        )


async def unit_ids(codes: list[str]) -> dict[str, int]:
    return {r["code"]: r["id"] for r in await Unit.select(Unit.id, Unit.code).where(Unit.code.is_in(codes))}


async def campaign_ids(slugs: list[str]) -> list[int]:
    return [r["id"] for r in await Campaign.select(Campaign.id).where(Campaign.slug.is_in(slugs))]


def test_case_rate_is_a_weighted_component_checked_independently(run, demo_city):
    plain = run(periods.create, "plain", PLAIN, "无案件", actor="test", campaigns_by_slug=None)
    period = run(periods.create, "cases", SCHEME, "含案件", actor="test", campaigns_by_slug=None)
    first = json.loads(run(periods.compute, period).result)["groups"][0]
    codes = sorted(u["code"] for u in first["units"])
    # Scored communities, most cases first: rates moved on the first three, the fourth left without cases.
    by_cases = sorted(
        (u for u in first["units"] if not u["suppressed"]), key=lambda u: (-u["cases"]["cases"], u["code"])
    )
    scored = [u["code"] for u in by_cases]
    run(resolve_some, scored[:3])
    run(without_cases, scored[3])
    as_of = datetime.now(UTC)
    survey = {u["code"]: u for u in json.loads(run(periods.compute, plain).result)["groups"][0]["units"]}
    result = json.loads(run(periods.compute, period, as_of).result)
    group = result["groups"][0]
    assert group["case_handling"] == {"measure": "rectified_rate", "weight": 0.2}
    assert "case_handling" not in result["groups"][1]  # departments: no case component
    assert all("cases" not in u for u in result["groups"][1]["units"])

    ids = run(unit_ids, codes)
    window = run(campaign_ids, ["community-services-" + str(as_of.year), "safe-community-" + str(as_of.year)])
    figures = run(figures_of, list(ids.values()), datetime(2000, 1, 1, tzinfo=UTC), as_of, as_of, window)
    rows = {u["code"]: u for u in group["units"]}
    checked = 0
    for code in codes:
        row, fig = rows[code], figures[ids[code]]
        assert (row["cases"]["cases"], row["cases"]["n"]) == (fig.n, fig.rectified.n)
        if row["suppressed"]:
            continue
        parts = survey[code]["sources"]
        est = [p["estimate"] for p in parts]
        lows, highs, ns = (np.array([p[k] for p in parts]) for k in ("low", "high", "n"))
        se = list(analysis.bounded_standard_errors(np.array(est), lows, highs, ns - 1, confidence=SCHEME.confidence))
        df = list(ns - 1.0)
        weights = [0.5, 0.5]
        if fig.rectified.n:
            rate = fig.rectified
            assert row["cases"]["estimate"] == pytest.approx(100 * rate.estimate, abs=1e-6)
            assert (row["cases"]["low"], row["cases"]["high"]) == (
                pytest.approx(100 * rate.low, abs=1e-6),
                pytest.approx(100 * rate.high, abs=1e-6),
            )
            est.append(100 * rate.estimate)
            se.append(100 * (rate.high - rate.low) / (2 * 1.959963984540054))
            df.append(np.inf)
            weights = [0.4, 0.4, 0.2]
        else:  # no case to judge: the component is left out and the survey carries the whole weight
            assert row["cases"]["estimate"] is None
            assert row["score"] == survey[code]["score"]
        expected, _, _ = analysis.combine_independent(
            np.array(est), np.array(se), np.array(df), np.array(weights), SCHEME.confidence, scale=100.0
        )
        assert 0 <= expected.low <= expected.high <= 100
        assert row["score"]["estimate"] == pytest.approx(expected.estimate, abs=1e-6)
        assert (row["score"]["low"], row["score"]["high"]) == (
            pytest.approx(expected.low, abs=1e-6),
            pytest.approx(expected.high, abs=1e-6),
        )
        checked += 1
    assert checked >= 4
    assert rows[scored[3]]["cases"]["n"] == 0 and not rows[scored[3]]["suppressed"]
    assert all(
        rows[c]["cases"]["cases"] >= 10 and rows[c]["cases"]["estimate"] > 0 for c in scored[:3]
    )  # resolved cases moved these rates off 0


async def tamper_case(code: str) -> None:
    """Move one case's deadline behind the app's back, with raw SQL."""
    row = await RatingCase.select(RatingCase.id).where(RatingCase.unit.code == code).order_by(RatingCase.id).first()
    await engine().run_ddl(f"UPDATE rating_case SET close_due = opened_at WHERE id = {row['id']}")


async def close_open_cases(code: str) -> int:
    """What the unit does after sealing: resolve its open cases (now, after the sealing time)."""
    rows = await RatingCase.select(RatingCase.id).where(RatingCase.unit.code == code, RatingCase.state == "new")
    now = datetime.now(UTC)
    for row in rows:
        await RatingCase.update({RatingCase.state: "resolved", RatingCase.closed_at: now}).where(
            RatingCase.id == row["id"]
        )
    return len(rows)


def test_sealed_cases_reproduce_as_they_stood_and_a_tampered_case_is_detected(run, demo_city):
    period = run(periods.create, "cases", SCHEME, "含案件", actor="test", campaigns_by_slug=None)
    snapshot = run(periods.close, period, "admin")
    manifest = json.loads(snapshot.manifest)
    assert manifest["cases"]["counted"] > 0
    assert datetime.fromisoformat(manifest["cases"]["as_of"]) <= datetime.now(UTC)
    units = json.loads(snapshot.result)["groups"][0]["units"]
    codes = [u["code"] for u in sorted(units, key=lambda u: (-u["cases"]["cases"], u["code"]))]  # most cases first
    assert run(periods.verify, period).ok

    # Cases moving on after sealing do not change what was sealed: verify judges them at the sealing time.
    assert run(close_open_cases, codes[0]) > 0
    assert run(periods.verify, period).differences == []
    live = json.loads(run(periods.compute, period).result)  # judged now, the rate has moved
    assert live != json.loads(snapshot.result)

    run(tamper_case, codes[1])
    check = run(periods.verify, period)
    assert check.differences[0].startswith("data hash differs (sealed ")
    assert f"{manifest['cases']['counted']} cases sealed, {manifest['cases']['counted']} now" in check.differences[0]


def test_league_page_and_appendix_show_the_case_component(client, staff, run, demo_city):
    from bs4 import BeautifulSoup

    from survey_app.tables import Role

    period = run(periods.create, "cases", SCHEME, "含案件", actor="test", campaigns_by_slug=None)
    result = json.loads(run(periods.compute, period).result)
    units = {u["code"]: u for u in result["groups"][0]["units"]}
    staff.as_role(Role.assessor)
    for lang, heading, none_text, appendix in [
        ("zh", "整改办结率", "无案件，不计入", "整改办结率 × 100 作为得分的一部分，权重 0.2"),
        (
            "en",
            "Rectified rate",
            "no cases, left out",
            "Rectified rate × 100 is a component of the score with weight 0.2",
        ),
    ]:
        page = client.get(f"/assessments/cases?lang={lang}")
        assert page.status_code == 200
        soup = BeautifulSoup(page.text, "html.parser")
        table = soup.find("table", class_="league")
        assert heading in table.thead.get_text(" ", strip=True)
        cells = {}
        for tr in table.tbody.find_all("tr"):
            tds = [td.get_text(" ", strip=True) for td in tr.find_all("td")]
            code = tr.find_all("td")[1].find("span").get_text(strip=True)
            cells[code] = tds
        for code, u in units.items():
            if u["suppressed"]:
                continue
            shown = cells[code][6]
            c = u["cases"]
            if c["n"]:
                assert shown == f"{c['estimate']:.1f} {c['n']} · {c['low']:.1f}–{c['high']:.1f}"
            else:
                assert shown == none_text
        assert appendix in soup.find("section", class_="appendix").get_text(" ", strip=True)
    import csv
    import io

    table = csv.DictReader(io.StringIO(client.get("/assessments/cases/league.csv").content.decode("utf-8-sig")))
    exported = {row["unit_code"]: row for row in table}
    for code, u in units.items():  # the download carries the case component the page shows
        c = u.get("cases") or {}
        if u["suppressed"] or not c.get("n"):
            assert exported[code]["case_n"] in ("", "0")
        else:
            assert float(exported[code]["case_rate"]) == c["estimate"] and int(exported[code]["case_n"]) == c["n"]
