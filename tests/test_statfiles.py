"""`minping export … --format sav|dta`: files that open with pyreadstat with their variable labels, value
labels and "don't know" as a declared missing value; safe names; a codebook beside every export."""

from __future__ import annotations

import json
import math

import pyreadstat
import pytest

from survey_app.reporting.statfiles import fit, safe_name
from survey_app.tables import Role
from tests.test_exports import answer


@pytest.fixture
def answered(run, world):
    answer(run, world, world.unit_a, {"overall": 5, "efficiency": "dk", "one_visit": True, "matter": "tax"})
    answer(
        run,
        world,
        world.unit_a,
        {"overall": 1, "efficiency": 2, "reasons": ["wait", "integrity"], "comment": "等了两小时"},
    )
    answer(run, world, world.unit_b, {"overall": 4, "one_visit": False})
    return world


def export(cli, tmp_path, fmt: str) -> tuple[str, dict]:
    out = tmp_path / f"window.{fmt}"
    done = cli("export", "window-rating-test", "--format", fmt, "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote 3 responses to {out}")
    return str(out), json.loads((tmp_path / f"window.{fmt}.codebook.json").read_text())


def test_spss_file_keeps_labels_and_dont_know_as_missing(cli, answered, tmp_path):
    path, book = export(cli, tmp_path, "sav")
    data, meta = pyreadstat.read_sav(path, user_missing=True)
    assert list(data["overall"]) == [5, 1, 4]
    assert meta.column_names_to_labels["overall"] == "您对本次办事的总体评价是？"
    assert meta.variable_value_labels["overall"][1] == "非常不满意"
    assert meta.variable_value_labels["efficiency"][99] == "不清楚"
    assert meta.missing_ranges["efficiency"] == [{"lo": 99.0, "hi": 99.0}]
    assert data["efficiency"][0] == 99 and data["efficiency"][1] == 2 and math.isnan(data["efficiency"][2])
    plain, _ = pyreadstat.read_sav(path)  # without user_missing, "don't know" reads as missing
    assert math.isnan(plain["efficiency"][0]) and plain["efficiency"].mean() == 2
    wait = list(data["reasons_wait"])  # not asked unless the rating was bad: missing, not 0
    assert math.isnan(wait[0]) and wait[1] == 1 and math.isnan(wait[2])
    assert list(data["reasons_integrity"])[1] == 1
    assert meta.column_names_to_labels["reasons_integrity"] == "您不满意的主要原因是？（可多选）: 吃拿卡要、不廉洁"
    assert meta.variable_value_labels["matter"][5] == "税务" and data["matter"][0] == 5
    assert list(data["one_visit"])[:1] == [1] and meta.variable_value_labels["one_visit"] == {1.0: "是", 0.0: "否"}
    assert data["comment"][1] == "等了两小时"
    assert book["variables"]["reasons:integrity"] == "reasons_integrity"
    assert book["codebook"]["questionnaire"] == "window-rating"


def test_stata_file_keeps_labels_and_dont_know_as_extended_missing(cli, answered, tmp_path):
    path, book = export(cli, tmp_path, "dta")
    data, meta = pyreadstat.read_dta(path, user_missing=True)
    assert data["efficiency"][0] == "a"  # Stata's .a
    assert meta.missing_user_values["efficiency"] == ["a"]
    assert meta.variable_value_labels["efficiency"]["a"] == "不清楚"
    assert meta.variable_value_labels["overall"][5] == "非常满意"
    assert meta.column_names_to_labels["overall"] == "您对本次办事的总体评价是？"
    plain, _ = pyreadstat.read_dta(path)
    assert math.isnan(plain["efficiency"][0]) and plain["efficiency"][1] == 2
    assert all(len(name) <= 32 and name.replace("_", "").isalnum() for name in data.columns)


def test_every_format_writes_a_codebook(cli, answered, tmp_path):
    for fmt in ("csv", "xlsx", "json"):
        _, book = export(cli, tmp_path, fmt)
        assert [i["id"] for i in book["codebook"]["items"]][:2] == ["overall", "efficiency"]
    refused = cli("export", "window-rating-test", "--format", "csv", "--output", str(tmp_path / "window.csv"))
    assert refused.returncode != 0 and "exists already" in refused.stderr


def test_labels_fit_each_format():
    assert fit("您对本次办事的总体评价是？", 80) == "您对本次办事的总体评价是？"
    cut = fit("您不满意的主要原因是？（可多选）: 吃拿卡要、不廉洁，还有其他很多原因", 80)
    assert len(cut.encode()) <= 80 and cut.endswith("…") and cut.startswith("您不满意的主要原因")


def test_names_are_safe_in_spss_and_stata():
    taken: set[str] = set()
    assert safe_name("reasons:legal", taken) == "reasons_legal"
    assert safe_name("dim.legal.n", taken) == "dim_legal_n"
    assert safe_name("1st", taken) == "v_1st"
    assert safe_name("with", taken) == "with_"
    assert safe_name("reasons:legal", taken) == "reasons_legal_2"
    long = safe_name("x" * 40, taken)
    assert len(long) == 32 and len(safe_name("x" * 40, taken)) == 32


def test_staff_download_the_files_of_their_units(client, staff, answered, tmp_path):
    staff.as_role(Role.assessor, "331102-01-002")  # raw rows: assessors and admins, within their units
    for fmt, read in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        download = client.get(f"/staff/campaigns/window-rating-test/responses.{fmt}")
        assert download.status_code == 200
        assert download.headers["content-disposition"] == f'attachment; filename="window-rating-test-responses.{fmt}"'
        path = tmp_path / f"download.{fmt}"
        path.write_bytes(download.content)
        data, meta = read(str(path))
        assert list(data["unit_code"]) == ["331102-01-002"]  # only the assessor's unit
        assert meta.column_names_to_labels["overall"] == "您对本次办事的总体评价是？"


def test_the_export_command_offers_every_statistics_format():
    from survey_app.cli import exporting
    from survey_app.reporting import statfiles

    assert exporting.STATISTICS_FORMATS == statfiles.FORMATS  # named twice so that --help imports no pandas
