"""Importing a unit list from a CSV file: all rows or none, with a message for every bad cell.

Spreadsheets are forgiving about what they write, so this is too: UTF-8 with or without a BOM, or
GB18030 (what Excel saves on Chinese Windows); commas, semicolons or tabs; English or Chinese column
names; empty rows.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from survey_app import audit, changes, units
from survey_app.changes import Change, Kind
from survey_app.db import writing
from survey_app.i18n import N_
from survey_app.tables import Unit
from survey_app.units import Problem, UnitError

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
COLUMNS = {
    "code": "code",
    "代码": "code",
    "单位代码": "code",
    "name": "name",
    "名称": "name",
    "单位名称": "name",
    "kind": "kind",
    "类型": "kind",
    "parent_code": "parent_code",
    "parent": "parent_code",
    "上级代码": "parent_code",
    "上级单位代码": "parent_code",
    "name_en": "name_en",
    "英文名称": "name_en",
    "population": "population",
    "人口": "population",
}
REQUIRED_COLUMNS = ("code", "name", "kind", "parent_code")


async def import_csv(data: bytes, scope: units.EditScope, actor: str) -> list[str]:
    """Add every unit of a CSV file, or none: return the codes added, or raise UnitError listing each bad row.

    Columns: code, name, kind, parent_code (empty for a top-level unit), optionally name_en and
    population. A parent may be an existing unit or a unit earlier in the same file.
    """
    header, rows = _read_csv(data)
    async with writing():
        known = await units.known_codes()
        problems: list[Problem] = []
        checked: list[tuple[str, dict[str, Any], str | None]] = []
        for number, cells in rows:
            form = {column: cells[n].strip() if n < len(cells) else "" for n, column in enumerate(header) if column}
            code, values, row_problems = units.check_fields(form, known, scope, editing=None, in_file=True)
            problems += [Problem(p.column, p.message, p.params, number) for p in row_problems]
            if not row_problems:
                known[code] = -len(checked) - 1  # a placeholder id: later rows may name it as parent
                checked.append((code, values, form.get("parent_code") or None))
        if problems:
            raise UnitError(problems)
        if not checked:
            raise UnitError([Problem("", N_("文件中没有单位。"), row=2)])
        for code, values, parent_code in checked:
            parent = known[parent_code] if parent_code else None  # real by now: parents come first
            row = Unit(code=code, **{**values, "parent": parent})
            await row.save()
            await changes.record(Kind.unit, int(row.id), Change.created)
            known[code] = row.id
            after = units.audit_view(code, {**values, "parent": parent_code})
            await audit.record(actor, "unit.import", "unit", row.id, after=after)
    return [code for code, _, _ in checked]


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Decode and split a CSV file; return the canonical column of each header cell ("" to ignore)
    and the non-empty rows with their spreadsheet row numbers (the header is row 1)."""
    if len(data) > MAX_IMPORT_BYTES:
        raise UnitError([Problem("", N_("文件太大（最大 %(n)s MB）。"), {"n": MAX_IMPORT_BYTES // 1024 // 1024}, 1)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves "CSV (comma delimited)" in GBK unless "CSV UTF-8" is chosen.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise UnitError([Problem("", N_("无法识别文件编码，请另存为“CSV UTF-8”。"), row=1)]) from None
    first_line = text.split("\n", 1)[0]
    # Excel in some regions separates with semicolons; a tab-separated export also happens.
    delimiter = max(",;\t", key=first_line.count)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not records or not any(cell.strip() for cell in records[0]):
        raise UnitError([Problem("", N_("第一行须为列名：code, name, kind, parent_code。"), row=1)])
    header: list[str] = []
    problems: list[Problem] = []
    for cell in records[0]:
        name = re.sub(r"[\s_]+", "_", cell.strip().lower())
        column = COLUMNS.get(name, "") if name else ""
        if name and not column:
            problems.append(Problem(cell.strip(), N_("不认识的列名。"), row=1))
        elif column in header:
            problems.append(Problem(cell.strip(), N_("列名重复。"), row=1))
        header.append(column)
    problems += [Problem(c, N_("缺少这一列。"), row=1) for c in REQUIRED_COLUMNS if c not in header]
    rows = [(n, cells) for n, cells in enumerate(records[1:], start=2) if any(c.strip() for c in cells)]
    if len(rows) > MAX_IMPORT_ROWS:
        problems.append(Problem("", N_("行数太多（最多 %(n)s 行）。"), {"n": MAX_IMPORT_ROWS}, 1))
    for number, cells in rows:
        if any(cells[n].strip() for n in range(len(header), len(cells))):
            problems.append(Problem("", N_("这一行的单元格比列名多。"), row=number))
    if problems:
        raise UnitError(problems)
    return header, rows
