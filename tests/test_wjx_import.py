"""`minping import wjx`: a synthetic 问卷星 All_Data_Original export mapped onto window-rating, with its report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest
import xlwt

from survey_app import quarantine, wjx_import
from survey_app.questionnaires import versions
from survey_app.tables import AuditEntry, Campaign, RatingCase, Response

HEADERS = [
    "序号",
    "提交答卷时间",
    "所用时间",
    "来源",
    "来源详情",
    "来自IP",
    "1、您对本次办事的总体评价是？",
    "2、办事效率（等候和办理时间）",
    "3、这件事您只跑了这一次吗？",
    "4、您不满意的主要原因是？（可多选）",
    "5、请告诉我们具体情况",
    "6、您在哪个窗口办事？",
    "7、您的年龄段",
]
ROWS = [
    [
        "1",
        "2025/6/3 14:05:22",
        "95秒",
        "手机提交",
        "直接访问",
        "115.238.1.2(浙江-丽水)",
        "1",
        "3",
        "1",
        "-3",
        "-3",
        "1",
        "2",
    ],
    [
        "2",
        "2025/6/3 15:10:00",
        "1分40秒",
        "微信",
        "N/A",
        "115.238.1.3(浙江-丽水)",
        "5",
        "6",
        "2",
        "1┋4",
        "排队两小时",
        "2",
        "3",
    ],
    ["3", "2025/6/4 09:00:05", "61秒", "链接", "N/A", "115.238.1.4(浙江-丽水)", "2", "-2", "1", "-3", "-3", "1", "-2"],
    [
        "4",
        "2025/6/5 10:30:00",
        "",
        "手机提交",
        "N/A",
        "115.238.1.5(浙江-丽水)",
        "4",
        "2",
        "2",
        "7〖停车难〗",
        "(空)",
        "2",
        "1",
    ],
]
MAPPING = """
questionnaire: window-rating
unit: {column: 6, codes: {1: 331102-01-001, 2: 331102-01-002}}
questions:
  1: {item: overall, codes: {1: 5, 2: 4, 3: 3, 4: 2, 5: 1}}
  2: {item: efficiency, codes: {1: 5, 2: 4, 3: 3, 4: 2, 5: 1, 6: dk}}
  3: {item: one_visit, codes: {1: true, 2: false}}
  4: {item: reasons, codes: {1: wait, 2: repeat, 3: unclear, 4: attitude, 5: rules, 6: integrity, 7: other}}
  5: {item: comment}
"""
EXPECTED = [
    {"overall": 5, "efficiency": 3, "one_visit": True},
    {"overall": 1, "efficiency": "dk", "one_visit": False, "reasons": ["wait", "attitude"], "comment": "排队两小时"},
    {"overall": 4, "one_visit": True},
    {"overall": 2, "efficiency": 4, "one_visit": False, "reasons": ["other"]},
]


def xlsx(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:  # as 问卷星 writes them: numbers as numbers, the rest as text
        sheet.append([int(c) if c.lstrip("-").isdigit() else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xls(rows: list[list[str]]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    for c, header in enumerate(HEADERS):
        sheet.write(0, c, header)
    for r, row in enumerate(rows, start=1):
        for c, cell in enumerate(row):
            sheet.write(r, c, float(cell) if cell.lstrip("-").isdigit() else cell)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def gb18030_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADERS, *rows])
    return out.getvalue().encode("gb18030")


@pytest.fixture
def files(tmp_path):
    export, mapping = tmp_path / "All_Data_Original.xlsx", tmp_path / "mapping.yaml"
    export.write_bytes(xlsx(ROWS))
    mapping.write_text(MAPPING)
    return export, mapping


def imported(run) -> list[dict]:
    async def fetch() -> list[dict]:
        return await Response.select().order_by(Response.submitted_at).output(load_json=True)

    return run(fetch)


def test_the_dry_run_reports_and_saves_nothing(cli, run, world, files):
    export, mapping = files
    args = ["import", "wjx", str(export), "--campaign", "window-2025", "--questionnaire", "window-rating"]
    done = cli(*args, "--mapping", str(mapping), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "All_Data_Original.xlsx: 4 rows to import, 0 refused",
        "submitted from 2025-06-03 14:05 to 2025-06-05 10:30 (Asia/Shanghai)",
        "unit 331102-01-001: 2 rows",
        "unit 331102-01-002: 2 rows",
        "question not mapped (left out): 7、您的年龄段",
        "dry run: nothing saved; campaign window-2025 would be created (closed)",
    ]
    assert imported(run) == []

    async def campaigns() -> list[dict]:
        return await Campaign.select(Campaign.slug)

    assert [c["slug"] for c in run(campaigns)] == ["window-rating-test"]


def test_rows_are_saved_as_imports_with_their_times_and_no_cases(cli, run, world, files):
    export, mapping = files
    args = ["import", "wjx", str(export), "--campaign", "window-2025", "--questionnaire", "window-rating"]
    done = cli(*args, "--mapping", str(mapping), "--title", "2025 年窗口评价（问卷星）")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()[-1] == "created campaign window-2025 (closed); saved 4 responses, 0 already imported"
    )
    rows = imported(run)
    assert [r["answers"] for r in rows] == EXPECTED
    assert {r["channel"] for r in rows} == {"import"} and {r["status"] for r in rows} == {"counted"}
    assert rows[0]["submitted_at"] == datetime(2025, 6, 3, 6, 5, 22, tzinfo=UTC)  # 14:05:22 in Shanghai
    assert [r["duration_s"] for r in rows] == [95.0, 100.0, 61.0, None]
    assert all(r["device_hash"] is None and r["link"] is None for r in rows)
    assert "115.238" not in str(rows)  # the address is not kept

    async def facts() -> tuple[dict, int, list[str]]:
        campaign = await Campaign.select().where(Campaign.slug == "window-2025").first()
        actions = await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)
        return campaign, await RatingCase.count(), [a["action"] for a in actions]

    campaign, cases, actions = run(facts)
    assert campaign["status"] == "closed" and campaign["title"] == "2025 年窗口评价（问卷星）"
    assert campaign["opens_at"] == datetime(2025, 6, 3, 6, 5, 22, tzinfo=UTC)
    assert cases == 0  # a year-old bad rating is not a case to call back
    assert actions[-1] == "response.import"

    again = cli(*args, "--mapping", str(mapping))
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "saved 0 responses, 4 already imported"
    assert len(imported(run)) == 4


def test_xls_and_csv_exports_read_as_the_xlsx(run, world):
    q = run(versions.get, run(versions.stored_id, "window-rating"))
    mapping = wjx_import.load_mapping(MAPPING.encode(), "mapping.yaml")
    units = {"331102-01-001", "331102-01-002"}
    plans = [
        wjx_import.plan(wjx_import.read_export(data, name), mapping, q, units)
        for data, name in ((xlsx(ROWS), "a.xlsx"), (xls(ROWS), "All_Data_Original.xls"), (gb18030_csv(ROWS), "a.csv"))
    ]
    assert [[r.answers for r in p.rows] for p in plans] == [EXPECTED] * 3
    assert len({tuple(r.submission_id for r in p.rows) for p in plans}) == 1  # the same rows, whatever the format


def test_rows_a_form_would_refuse_are_reported_and_nothing_is_saved(cli, run, world, tmp_path):
    bad = [
        ROWS[0],
        ["2", "2025/6/3 15:10:00", "40秒", "微信", "N/A", "1.2.3.4", "9", "1", "1", "-3", "-3", "1", "1"],
        ["3", "2025/6/3 15:11:00", "40秒", "微信", "N/A", "1.2.3.5", "-2", "1", "1", "-3", "-3", "1", "1"],
        ["4", "yesterday", "40秒", "微信", "N/A", "1.2.3.6", "1", "1", "1", "-3", "-3", "1", "1"],
        ["5", "2025/6/3 15:12:00", "40秒", "微信", "N/A", "1.2.3.7", "1", "1", "1", "-3", "-3", "3", "1"],
    ]
    export, mapping = tmp_path / "export.xlsx", tmp_path / "mapping.yaml"
    export.write_bytes(xlsx(bad))
    mapping.write_text(MAPPING)
    args = ["import", "wjx", str(export), "--campaign", "window-2025", "--questionnaire", "window-rating"]
    done = cli(*args, "--mapping", str(mapping))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "export.xlsx: 1 rows to import, 4 refused"
    assert "question 1: answer '9' has no code in the mapping (1 rows)" in lines
    assert "row 2: refused: question 1: answer '9' has no code" in lines
    assert "row 3: refused: item overall: 请回答此题。" in lines
    assert any(line.startswith("row 4: refused: 提交答卷时间 'yesterday'") for line in lines)
    assert "row 5: refused: question 6: answer '3' names no unit in the mapping" in lines
    assert "4 rows refused; nothing saved" in done.stderr
    assert imported(run) == []


def test_a_bad_mapping_names_the_field(cli, world, files, tmp_path):
    export, _ = files
    for text, words in (
        (MAPPING.replace("item: overall", "item: nothing"), "questions.1.item: window-rating has no item 'nothing'"),
        (MAPPING.replace("  5: {item: comment}", "  8: {item: comment}"), "questions.8: the export has no question 8"),
        (MAPPING.replace("unit: {column: 6,", "unit: {colum: 6,"), "mapping.yaml: unit: object contains unknown field"),
        (MAPPING.replace("window-rating", "safe-community", 1), "maps onto 'safe-community'"),
    ):
        mapping = tmp_path / "mapping.yaml"
        mapping.write_text(text)
        args = ["import", "wjx", str(export), "--campaign", "c", "--questionnaire", "window-rating"]
        done = cli(*args, "--mapping", str(mapping), "--dry-run")
        assert done.returncode == 1 and words in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_imports_pass_by_the_signals_that_need_device_or_link_data(cli, run, world, tmp_path):
    """Forty ordinary sheets over a week, then ten identical straight-lined ones in one minute, each
    answered in 5 seconds: from a QR code those ten are speeders; imported, nothing is flagged."""
    ordinary = [
        [str(n), f"2025/6/{1 + n % 7} {9 + n % 8}:{n:02d}:00", f"{80 + n}秒", "手机提交", "N/A", f"1.1.1.{n}",
         str(1 + n % 3), str(1 + (n * 2) % 5), "1", "-3", "-3", "1", "1"]
        for n in range(1, 41)
    ]  # fmt: skip
    fast = [
        [str(n), f"2025/6/9 14:00:{n - 40:02d}", "5秒", "手机提交", "N/A", f"1.1.2.{n}",
         "1", "1", "1", "-3", "-3", "1", "1"]
        for n in range(41, 51)
    ]  # fmt: skip
    export, mapping = tmp_path / "export.xlsx", tmp_path / "mapping.yaml"
    export.write_bytes(xlsx(ordinary + fast))
    mapping.write_text(MAPPING)
    args = ["import", "wjx", str(export), "--campaign", "window-2025", "--questionnaire", "window-rating"]
    assert cli(*args, "--mapping", str(mapping)).returncode == 0
    passed = run(quarantine.flag_campaign, "window-2025")
    assert (passed.checked, passed.flagged, passed.quarantined) == (50, 0, 0)
    rows = run(quarantine.signal_rows, passed_campaign_id(run))
    q = run(versions.get, run(versions.stored_id, "window-rating"))
    as_qr = quarantine.compute_flags(q, [{**r, "channel": "qr", "link": 1} for r in rows])
    fast_ids = {r["id"] for r in rows if r["duration_s"] == 5.0}
    assert len(fast_ids) == 10 and fast_ids <= set(as_qr)  # the same sheets from a QR code would be flagged


def passed_campaign_id(run) -> int:
    async def fetch() -> int:
        return (await Campaign.select(Campaign.id).where(Campaign.slug == "window-2025").first())["id"]

    return run(fetch)
