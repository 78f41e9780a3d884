"""Assessment scheme files: the bundled ones load; each kind of broken scheme fails with its exact message."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from survey_app.assessment.schemes import ByRank, SchemeError, Thresholds, from_json, load_file, parse
from survey_app.cli import main
from survey_app.questionnaires.format import load_directory
from survey_app.settings import QUESTIONNAIRES_DIR, SCHEMES_DIR

BUNDLED = sorted(SCHEMES_DIR.glob("*.yaml"))
BASE = (SCHEMES_DIR / "civilized-city-2026.yaml").read_text()
DEPARTMENTS = "questionnaire: department-conduct\n        weight: 1"
LINEAR = "method: linear   # points = 100 × score / 100\n  max: 100"


def test_bundled_schemes_load_and_round_trip():
    assert [p.stem for p in BUNDLED] == ["civilized-city-2026"]
    for path in BUNDLED:
        scheme = load_file(path)
        assert from_json(scheme.to_json()) == scheme
        assert len(scheme.content_hash) == 64
    scheme = load_file(BUNDLED[0])
    assert [g.kind for g in scheme.groups] == ["community", "department"]
    assert scheme.questionnaire_slugs() == ["community-services", "safe-community", "department-conduct"]
    assert [b.min for b in scheme.grades] == [90, 80, 60, 0]


def test_other_point_rules_parse():
    steps = parse(
        BASE.replace(LINEAR, "method: thresholds\n  steps: [{min: 90, points: 10}, {min: 0, points: 4}]"), name="x"
    )
    assert steps.points == Thresholds(steps=steps.points.steps) and steps.points.steps[1].points == 4
    by_rank = parse(BASE.replace(LINEAR, "method: rank\n  max: 20\n  spread: 0.5"), name="x")
    assert by_rank.points == ByRank(max=20, spread=0.5)


BROKEN = [
    (
        BASE + "weighting: {basis: 七普, margins: [age_band]}\n",
        "weighting.margins: expected object, got array (write each as demographic: {option: population share})",
    ),
    (
        BASE + "weighting: {margins: {sex: {male: 0.5, female: 0.5}}}\n",
        "weighting: object missing required field basis",
    ),
    (
        BASE + "weighting: {basis: 七普, margins: {income: {low: 1}}}\n",
        "weighting.margins.income: not a demographic (allowed: age_band, sex, residence)",
    ),
    (
        BASE + "weighting: {basis: 七普, margins: {sex: {male: 0.5, female: 0.4}}}\n",
        "weighting.margins.sex: the shares sum to 0.9; they must sum to 1",
    ),
    (
        BASE + "weighting: {basis: 七普, margins: {sex: {male: 1.0, female: 0}}}\n",
        "weighting.margins.sex.female: a share must be above 0 and at most 1",
    ),
    (
        BASE + "weighting: {basis: 七普, margins: {sex: {male: 1.0}}}\n",
        "weighting.margins.sex: no share for option 'female' of community-services.sex",
    ),
    (
        BASE + "weighting: {basis: 七普, margins: {sex: {male: 0.5, female: 0.4, other: 0.1}}}\n",
        "weighting.margins.sex.other: community-services.sex has no option 'other' (options: male, female)",
    ),
    (
        BASE + "weighting: {basis: 七普, margins: {sex: {male+female: 0.5, female: 0.5}}}\n",
        "weighting.margins.sex: option 'female' of community-services.sex is in more than one share",
    ),
    (
        BASE + "weighting: {basis: 七普, max_weight: 1, margins: {sex: {male: 0.5, female: 0.5}}}\n",
        "weighting.max_weight: expected float > 1.0",
    ),
    (
        BASE.replace("kind: department", "kind: ministry"),
        "groups.1.kind: invalid enum value 'ministry' (allowed: city, district, street, community, department)",
    ),
    (
        BASE.replace("questionnaire: department-conduct", "questionnaire: dept"),
        "groups.1.sources.0.questionnaire: unknown questionnaire 'dept' "
        "(known: community-services, department-conduct, safe-community, urban-village, window-rating)",
    ),
    (
        BASE.replace("policing: 0.3", "police: 0.3"),
        "groups.0.sources.1.dimensions.police: 'safe-community' has no dimension 'police' "
        "(known: security, order, population, vice, youth, policing)",
    ),
    (
        BASE.replace("method: linear", "method: curve"),
        "points.method: invalid value 'curve' (allowed: linear, thresholds, rank)",
    ),
    (BASE.replace("min: 80}", "min: 95}"), "grades.1.min: must be below the previous min"),
    (BASE.replace("min: 0}", "min: 10}"), "grades.3.min: the last must be 0, so every score falls in one"),
    (BASE.replace("min_n: 30", "min_n: 5"), "min_n: expected int >= 10"),
    (BASE.replace("small_n: 60", "small_n: 20"), "small_n: must not be below min_n"),
    (BASE.replace("kind: department", "kind: community"), "groups.1: duplicate 'community'"),
    (
        BASE.replace("weight: 0.5\n      - questionnaire: safe", "weight: -1\n      - questionnaire: safe"),
        "groups.0.sources.0.weight: expected float > 0.0",
    ),
    # An unknown field is refused, never silently ignored (case figures go in groups.N.case_handling).
    (BASE + "bad_ratings: {weight: 0.1}\n", "object contains unknown field bad_ratings"),
    (
        BASE.replace(DEPARTMENTS, DEPARTMENTS + "\n    case_handling: {weight: 0.1, measure: speed}"),
        "groups.1.case_handling.measure: invalid enum value 'speed' "
        "(allowed: callback_rate, on_time_rate, rectified_rate)",
    ),
    (
        BASE.replace(DEPARTMENTS, DEPARTMENTS + "\n    case_handling: {weight: 1, measure: on_time_rate}"),
        "groups.1.case_handling.weight: expected float < 1.0",
    ),
    (
        BASE.replace(DEPARTMENTS, DEPARTMENTS + "\n    case_handling: {weight: 0, measure: on_time_rate}"),
        "groups.1.case_handling.weight: expected float > 0.0",
    ),
    (
        BASE.replace(DEPARTMENTS, DEPARTMENTS + "\n    case_handling: {measure: on_time_rate}"),
        "groups.1.case_handling: object missing required field weight",
    ),
    (
        BASE.replace(DEPARTMENTS, DEPARTMENTS + "\n    case_handling: {weight: 0.1, measure: on_time_rate, n: 5}"),
        "groups.1.case_handling: object contains unknown field n",
    ),
    (
        BASE.replace(
            DEPARTMENTS,
            DEPARTMENTS + "\n    case_handling: {weight: 0.1, measure: on_time_rate, period: {start: 2026-13-01}}",
        ),
        "groups.1.case_handling.period.start: invalid RFC3339 encoded date",
    ),
    (
        BASE.replace(
            DEPARTMENTS,
            DEPARTMENTS
            + "\n    case_handling: {weight: 0.1, measure: on_time_rate, period: {start: 2026-12-31, end: 2026-01-01}}",
        ),
        "groups.1.case_handling.period.end: must not be before start",
    ),
    (
        BASE.replace(LINEAR, "method: thresholds\n  steps: [{min: 90, points: 100}, {min: 60, points: 80}]"),
        "points.steps.1.min: the last must be 0, so every score falls in one",
    ),
    (
        BASE.replace("rank_by: shrunken", "rank_by: luck"),
        "rank_by: invalid enum value 'luck' (allowed: shrunken, score)",
    ),
    (BASE.replace("confidence: 0.95", "confidence: 1.5"), "confidence: expected float < 1.0"),
    ("slug: [", "line 1: expected the node content, but found '<stream end>'"),
    ("- a\n", "the file must hold a mapping (slug, version, title, groups, points, grades…)"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN, ids=[m.split(":")[0] for _, m in BROKEN])
def test_broken_scheme_fails_with_exact_message(text, message):
    with pytest.raises(SchemeError) as caught:
        parse(text, name="broken.yaml")
    assert str(caught.value) == f"broken.yaml: {message}"


WEIGHTING = """weighting:
  basis: {zh: 第七次全国人口普查, en: 2020 census}
  max_weight: 5
  margins:
    age_band: {18-29+30-44: 0.43, 45-59: 0.28, 60-69+70-plus: 0.29}
    sex: {male: 0.5, female: 0.5}
"""


def test_weighting_parses_and_changes_the_hash(tmp_path: Path):
    plain, weighted = parse(BASE, name="x"), parse(BASE + WEIGHTING, name="x")
    assert weighted.weighting.margins["sex"] == {"male": 0.5, "female": 0.5}
    young, old = "18-29+30-44", "60-69+70-plus"
    assert weighted.weighting.cell_of("age_band") == {
        "18-29": young, "30-44": young, "45-59": "45-59", "60-69": old, "70-plus": old
    }  # fmt: skip
    assert weighted.weighting.max_weight == 5 and weighted.weighting.basis.en == "2020 census"
    assert plain.weighting is None and plain.content_hash != weighted.content_hash
    assert from_json(weighted.to_json()) == weighted
    # a questionnaire without the demographic item cannot be weighted by it
    q_dir = tmp_path / "q"
    q_dir.mkdir()
    for path in QUESTIONNAIRES_DIR.glob("*.yaml"):
        text = path.read_text()
        if path.stem == "department-conduct":
            text = text.replace("    demographic: sex\n", "")
        (q_dir / path.name).write_text(text)
    with pytest.raises(SchemeError) as caught:
        parse(BASE + WEIGHTING, name="w.yaml", questionnaires={q.slug: q for q in load_directory(q_dir)})
    assert (
        str(caught.value)
        == "w.yaml: weighting.margins.sex: questionnaire 'department-conduct' has no item marked `demographic: sex`"
    )


def test_case_handling_parses_and_leaves_schemes_without_it_hashing_as_before():
    text = BASE.replace(
        DEPARTMENTS,
        DEPARTMENTS + "\n    case_handling: {weight: 0.2, measure: rectified_rate, "
        "period: {start: 2026-01-01, end: 2026-12-31}}",
    )
    scheme = parse(text, name="x")
    handling = scheme.groups[1].case_handling
    assert (handling.weight, handling.measure) == (0.2, "rectified_rate")
    assert (handling.period.start, handling.period.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert scheme.groups[0].case_handling is None
    assert from_json(scheme.to_json()) == scheme
    assert b'"case_handling"' in scheme.to_json()
    assert b"case_handling" not in parse(BASE, name="x").to_json()  # old periods' scheme hashes stay valid


def test_slug_must_match_the_file_name(tmp_path: Path):
    path = tmp_path / "other.yaml"
    path.write_text(BASE)
    with pytest.raises(SchemeError, match=r"^other.yaml: slug: must match the file name \('other'\)$"):
        load_file(path)


def test_scheme_check_command(tmp_path: Path):
    bad = tmp_path / "civilized-city-2026.yaml"
    bad.write_text(BASE.replace("min: 0}", "min: 10}"))
    runner = CliRunner()
    ok = runner.invoke(main, ["scheme", "check", str(BUNDLED[0])])
    assert ok.exit_code == 0
    assert ok.output == "civilized-city-2026.yaml: ok (civilized-city-2026 v2, community, department; min n 30)\n"
    failed = runner.invoke(main, ["scheme", "check", str(bad)])
    assert failed.exit_code == 1
    assert failed.output == "civilized-city-2026.yaml: grades.3.min: the last must be 0, so every score falls in one\n"
