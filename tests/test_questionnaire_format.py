"""Questionnaire files: every bundled file loads; each kind of broken file fails with its exact message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from survey_app.cli import main
from survey_app.questionnaires.format import (
    QuestionnaireError,
    from_json,
    json_schema,
    load_directory,
    load_file,
    load_scale_library,
    localise,
)
from survey_app.settings import QUESTIONNAIRES_DIR

BUNDLED = sorted(p for p in QUESTIONNAIRES_DIR.glob("*.yaml") if not p.name.startswith("_"))
LIBRARY = load_scale_library(QUESTIONNAIRES_DIR / "_scales.yaml")

MINIMAL = """\
slug: mini
version: 1
title: {zh: 小问卷, en: Mini}
dimensions:
  - {id: service, title: 服务, weight: 1}
items:
  - id: overall
    type: rating
    scale: satisfaction
    dimension: service
    required: true
    text: 总体满意吗？
  - id: why
    type: multi
    show_if: {item: overall, values: [1, 2]}
    text: 原因
    options:
      - {value: slow, label: 慢}
      - {value: rude, label: 态度差}
"""


def write(tmp_path: Path, text: str, name: str = "mini.yaml") -> Path:
    (tmp_path / "_scales.yaml").write_text((QUESTIONNAIRES_DIR / "_scales.yaml").read_text())
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bundled_questionnaires_are_all_there():
    assert {p.stem for p in BUNDLED} == {
        "community-services",
        "safe-community",
        "urban-village",
        "department-conduct",
        "window-rating",
    }


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_questionnaire_loads_and_is_fully_translated(path):
    q = load_file(path)
    assert 8 <= len(q.items) <= 25
    texts = [q.title, q.intro, q.privacy, *(i.text for i in q.items), *(d.title for d in q.dimensions)]
    texts += [o.label for i in q.items for o in i.options or []]
    assert all(t is not None and localise(t, "en") != localise(t, "zh") for t in texts), "missing English"
    assert all(s.levels for s in q.scales.values())


def test_minimal_file_loads_with_its_scale_embedded(tmp_path):
    q = load_file(write(tmp_path, MINIMAL))
    assert list(q.scales) == ["satisfaction"]
    assert [level.value for level in q.scales["satisfaction"].levels] == [5, 4, 3, 2, 1]
    assert from_json(q.to_json()) == q
    assert len(q.content_hash) == 64


def test_content_hash_changes_with_content_not_with_formatting(tmp_path):
    a = load_file(write(tmp_path, MINIMAL))
    b = load_file(write(tmp_path, MINIMAL.replace("title: {zh: 小问卷, en: Mini}", "title:\n  zh: 小问卷\n  en: Mini")))
    c = load_file(write(tmp_path, MINIMAL.replace("总体满意吗？", "总体满意吗")))
    assert a.content_hash == b.content_hash != c.content_hash


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("version: 1", "version: 0", "version: expected int >= 1"),
        ("version: 1", "version: one", "version: expected int, got str"),
        ("slug: mini", "slug: Mini!", "slug: expected str matching regex '^[a-z0-9][a-z0-9-]{1,62}$'"),
        (
            "    type: rating\n",
            "    type: stars\n",
            "items.0.type: invalid enum value 'stars' "
            "(allowed: rating, choice, multi, yesno, text, longtext, number, date, note)",
        ),
        (
            "    scale: satisfaction\n",
            "    scale: satisfation\n",
            "items.0.scale: unknown scale 'satisfation' (known: agreement, improvement, safety, satisfaction)",
        ),
        ("    scale: satisfaction\n", "", "items.0.scale: a rating item needs a scale"),
        ("    dimension: service\n", "    dimension: services\n", "items.0.dimension: unknown dimension 'services'"),
        ("  - id: why", "  - id: overall", "items.1: duplicate 'overall'"),
        ("{value: rude, label: 态度差}", "{value: slow, label: 态度差}", "items.1.options.1: duplicate 'slow'"),
        ("values: [1, 2]", "values: [6]", "items.1.show_if.values.0: 6 is not an answer of 'overall'"),
        ("values: [1, 2]", "values: [true]", "items.1.show_if.values.0: True is not an answer of 'overall'"),
        ("show_if: {item: overall,", "show_if: {item: later,", "items.1.show_if.item: 'later' is not an earlier item"),
        (
            "    required: true\n",
            "    required: true\n    colour: red\n",
            "items.0: object contains unknown field colour",
        ),
        ("title: {zh: 小问卷, en: Mini}", "title: {en: Mini}", "title: object missing required field zh"),
        (
            "{id: service, title: 服务, weight: 1}",
            "{id: service, title: 服务, weight: -1}",
            "dimensions.0.weight: expected float > 0.0",
        ),
        ("    text: 原因\n", "    text: 原因\n    min: 1\n", "items.1: min and max apply to number items only"),
        ("items:", "items: [\n", "line 8: expected the node content, but found '-'"),
        ("slug: mini", "slug: other", "slug: must match the file name ('mini')"),
    ],
)
def test_broken_file_fails_with_exact_message(tmp_path, old, new, message):
    assert old in MINIMAL
    with pytest.raises(QuestionnaireError) as caught:
        load_file(write(tmp_path, MINIMAL.replace(old, new, 1)))
    assert str(caught.value) == f"mini.yaml: {message}"


def test_scales_of_different_shapes_cannot_be_mixed(tmp_path):
    three_levels = "scales:\n  three:\n    satisfied_levels: 1\n    bad_levels: 1\n    levels:\n" + "".join(
        f"      - {{value: {v}, label: L{v}}}\n" for v in (3, 2, 1)
    )
    text = MINIMAL.replace("items:\n", "items:\n  - {id: extra, type: rating, scale: three, text: 三级}\n")
    with pytest.raises(QuestionnaireError) as caught:
        load_file(write(tmp_path, text + three_levels))
    assert str(caught.value) == (
        "mini.yaml: items.1.scale: 'satisfaction' has 5 levels (3 satisfied, 2 bad) but 'three' has 3 (1, 1); "
        "rating items are combined into one index, so their scales must have the same shape"
    )


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    with pytest.raises(QuestionnaireError, match=r"^mini\.yaml: the file must hold a mapping"):
        load_file(write(tmp_path, "- just\n- a list\n"))


def test_schema_file_for_editors_is_up_to_date():
    published = json.loads((QUESTIONNAIRES_DIR / "schema.json").read_text())
    assert published == json_schema(), "run: minping questionnaire schema > questionnaires/schema.json"


def test_check_command_reports_each_file_and_fails_on_a_broken_one(tmp_path):
    good = write(tmp_path, MINIMAL)
    bad = write(tmp_path, MINIMAL.replace("version: 1", "version: 0"), name="bad.yaml")
    result = CliRunner().invoke(main, ["questionnaire", "check", str(tmp_path / "_scales.yaml"), str(good), str(bad)])
    assert result.exit_code == 1
    assert "mini.yaml: ok (mini v1, 2 items)" in result.output
    assert "_scales.yaml: ok (scale library: satisfaction, safety, improvement, agreement)" in result.output
    assert "bad.yaml: version: expected int >= 1" in result.output


def test_check_command_passes_on_the_bundled_files():
    result = CliRunner().invoke(main, ["questionnaire", "check", *map(str, BUNDLED)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == len(BUNDLED)


def test_load_directory_skips_libraries():
    assert [q.slug for q in load_directory(QUESTIONNAIRES_DIR)] == [p.stem for p in BUNDLED]
    assert set(LIBRARY) >= {"satisfaction", "safety"}
