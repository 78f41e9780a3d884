"""Last year's results from 问卷星 (wjx.cn): an `All_Data_Original` export mapped onto a questionnaire.

The export (.xls, .xlsx or .csv) has one row per answer sheet: 序号, 提交答卷时间, 所用时间, 来源,
来源详情, 来自IP, then one column per question headed "N、题目", holding the option number of a
single choice, the option numbers of a multiple choice joined by "┋", or the text written; −2
(skipped by a jump) and −3 (not shown) mean no answer. A mapping file says which question is
which item and which option number is which code (docs/import.md):

    questionnaire: window-rating
    unit: {column: 9, codes: {1: 331102-01-001, 2: 331102-01-002}}   # or {code: 331102-01-001}
    questions:
      1: {item: overall, codes: {1: 5, 2: 4, 3: 3, 4: 2, 5: 1}}
      5: {item: reasons, codes: {1: wait, 2: repeat}}
      7: {item: comment}
    skip: [8]

Each row becomes the form a resident would have posted, and is checked by `responses.parse_answers`
as a resident's answers are: a row that would be refused on the form is refused here, with its
序号 and reason. `plan` reads and checks everything and writes nothing (the dry-run report);
`run` saves the rows as channel `import` with their original submit times and durations (in the
city's time zone), no case (a year-old bad rating is not a case to call back), no device hash and
not the address (neither is kept), so the fraud signals that need device or link data pass them
by. A row's submission id is a hash of its 序号, time and address: importing the same export twice
saves each row once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from survey_app import audit, campaigns, responses
from survey_app.datafiles import msgspec_message, read_yaml
from survey_app.localtime import city_zone
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Questionnaire
from survey_app.tables import CampaignStatus, Channel, Unit

FIXED = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP")
QUESTION = re.compile(r"^(\d+)、")
MULTI_SEPARATOR = "┋"
NO_ANSWER = {"", "-2", "-3", "(跳过)", "(空)"}
OTHER_TEXT = re.compile(r"〖.*?〗")  # "4〖具体说明〗": the written part of an "other, please say" option
SUBMITTED_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")
ACTOR = "import"


class ImportError_(ValueError):  # noqa: N801 - ImportError is Python's
    """The export or the mapping cannot be used; the message names the file and what is wrong."""


class QuestionMap(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    item: str
    codes: dict[str, str] = {}  # wjx answer (option number) -> form value; empty: taken as written


class UnitMap(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str | None = None  # every row's unit
    column: int | None = None  # or the question whose answer names the unit
    codes: dict[str, str] = {}  # that question's answer -> unit code


class Mapping(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    questionnaire: str
    unit: UnitMap
    questions: dict[int, QuestionMap]
    skip: list[int] = []  # questions deliberately left out (the report stops naming them)


def load_mapping(source: bytes, name: str) -> Mapping:
    """Read and check a mapping file (YAML or JSON); codes may be written as numbers or text.

    :raise ImportError_: naming the file and the field.
    """
    raw = read_yaml(source, name, ImportError_, "questionnaire, unit, questions, skip")
    for part in [*(raw.get("questions") or {}).values(), raw.get("unit")]:
        if isinstance(part, dict) and isinstance(part.get("codes"), dict):
            part["codes"] = {_text(k): _text(v) for k, v in part["codes"].items()}
    if isinstance(raw.get("unit"), dict) and raw["unit"].get("code") is not None:
        raw["unit"]["code"] = _text(raw["unit"]["code"])
    try:
        mapping = msgspec.convert(raw, Mapping)
    except msgspec.ValidationError as exc:
        raise ImportError_(f"{name}: {msgspec_message(exc, {})}") from None
    if (mapping.unit.code is None) == (mapping.unit.column is None):
        raise ImportError_(f"{name}: unit: give either code (one unit for every row) or column with codes")
    return mapping


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class Export:
    headers: list[str]
    rows: list[list[str]]  # cells as text, each row as long as `headers`
    name: str
    sha256: str


def read_export(data: bytes, name: str) -> Export:
    """The sheet of a 问卷星 export as text cells: .xlsx (openpyxl), .xls (xlrd) or .csv (UTF-8 or GB18030).

    :raise ImportError_: when the file is none of these or lacks the columns of a 问卷星 export.
    """
    suffix = Path(name).suffix.lower()
    try:
        if data.startswith(b"PK"):
            table = _xlsx(data)
        elif data.startswith(b"\xd0\xcf\x11\xe0"):
            table = _xls(data)
        elif suffix in (".csv", ".txt"):
            table = _csv(data)
        else:
            raise ImportError_(f"{name}: not an .xls, .xlsx or .csv file")
    except ImportError_:
        raise
    except Exception as exc:  # noqa: BLE001 - the readers raise many kinds; the user needs one line
        raise ImportError_(f"{name}: cannot be read as a spreadsheet ({type(exc).__name__}: {exc})") from None
    table = [row for row in table if any(cell for cell in row)]
    if not table:
        raise ImportError_(f"{name}: the sheet is empty")
    headers = [h.strip() for h in table[0]]
    missing = [f for f in FIXED[:2] if f not in headers]
    if missing:
        raise ImportError_(f"{name}: no column {', '.join(missing)}: not a 问卷星 All_Data_Original export")
    width = len(headers)
    rows = [(row + [""] * width)[:width] for row in table[1:]]
    return Export(headers, rows, name, hashlib.sha256(data).hexdigest())


def _xlsx(data: bytes) -> list[list[str]]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = book.worksheets[0]
    return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def _xls(data: bytes) -> list[list[str]]:
    import xlrd

    book = xlrd.open_workbook(file_contents=data)
    sheet = book.sheet_by_index(0)
    table = []
    for r in range(sheet.nrows):
        row = []
        for c in range(sheet.ncols):
            cell = sheet.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:
                moment = xlrd.xldate_as_datetime(float(cell.value), book.datemode)
                row.append(moment.strftime("%Y-%m-%d %H:%M:%S"))
            else:
                row.append(_cell(cell.value))
        table.append(row)
    return table


def _csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportError_("the CSV file is neither UTF-8 nor GB18030")
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return _text(value)


@dataclass(frozen=True)
class Row:
    number: str  # 序号
    unit_code: str
    submitted_at: datetime
    duration_s: float | None
    answers: dict[str, Any]
    submission_id: str


@dataclass
class Plan:
    """What an import would do: the rows it would save and everything it could not use."""

    export: str
    sha256: str
    rows: list[Row] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (序号, why)
    unmapped_questions: list[str] = field(default_factory=list)  # headers of questions the mapping leaves out
    unknown_codes: Counter[tuple[int, str]] = field(default_factory=Counter)  # (question, answer) -> rows
    by_unit: Counter[str] = field(default_factory=Counter)

    def report(self) -> list[str]:
        """The dry-run report, one fact a line."""
        lines = [f"{self.export}: {len(self.rows)} rows to import, {len(self.refused)} refused"]
        if self.rows:
            first = min(r.submitted_at for r in self.rows).astimezone(city_zone())
            last = max(r.submitted_at for r in self.rows).astimezone(city_zone())
            lines.append(f"submitted from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} ({city_zone().key})")
        lines += [f"unit {code}: {n} rows" for code, n in sorted(self.by_unit.items())]
        lines += [f"question not mapped (left out): {header}" for header in self.unmapped_questions]
        lines += [
            f"question {q}: answer {code!r} has no code in the mapping ({n} rows)"
            for (q, code), n in sorted(self.unknown_codes.items())
        ]
        lines += [f"row {number}: refused: {why}" for number, why in self.refused]
        return lines


def plan(export: Export, mapping: Mapping, questionnaire: Questionnaire, unit_codes: set[str]) -> Plan:
    """Check every row against the mapping and the questionnaire; write nothing.

    :param unit_codes: the codes of the units rows may go to (those of the campaign, or all).
    :raise ImportError_: when the mapping names a question the export lacks or an item the questionnaire lacks.
    """
    result = Plan(export.name, export.sha256)
    columns = {int(m[1]): n for n, h in enumerate(export.headers) if (m := QUESTION.match(h))}
    item_ids = {i.id for i in questionnaire.items}
    for question_number, question in mapping.questions.items():
        if question_number not in columns:
            raise ImportError_(f"questions.{question_number}: the export has no question {question_number}")
        if question.item not in item_ids:
            raise ImportError_(f"questions.{question_number}.item: {questionnaire.slug} has no item {question.item!r}")
    if mapping.unit.column is not None and mapping.unit.column not in columns:
        raise ImportError_(f"unit.column: the export has no question {mapping.unit.column}")
    left_out = set(columns) - set(mapping.questions) - set(mapping.skip) - {mapping.unit.column}
    result.unmapped_questions = [export.headers[columns[q]] for q in sorted(left_out)]
    at = {name: export.headers.index(name) for name in FIXED if name in export.headers}
    for cells in export.rows:
        number = cells[at["序号"]] if "序号" in at else str(len(result.rows) + len(result.refused) + 1)
        try:
            row = _row(cells, number, at, columns, mapping, questionnaire, unit_codes, result.unknown_codes)
        except ValueError as exc:
            result.refused.append((number, str(exc)))
            continue
        result.rows.append(row)
        result.by_unit[row.unit_code] += 1
    return result


def _row(
    cells: list[str],
    number: str,
    at: dict[str, int],
    columns: dict[int, int],
    mapping: Mapping,
    q: Questionnaire,
    unit_codes: set[str],
    unknown: Counter[tuple[int, str]],
) -> Row:
    submitted = _submitted(cells[at["提交答卷时间"]])
    duration = _duration(cells[at["所用时间"]]) if "所用时间" in at else None
    if mapping.unit.code is not None:
        unit = mapping.unit.code
    else:
        assert mapping.unit.column is not None  # load_mapping requires one of them
        answer = cells[columns[mapping.unit.column]].strip()
        if answer in NO_ANSWER:
            raise ValueError(f"question {mapping.unit.column} (the unit) is not answered")
        if answer not in mapping.unit.codes:
            unknown[(mapping.unit.column, answer)] += 1
            raise ValueError(f"question {mapping.unit.column}: answer {answer!r} names no unit in the mapping")
        unit = mapping.unit.codes[answer]
    if unit not in unit_codes:
        raise ValueError(f"unit {unit} is not one of the campaign's units")
    form: dict[str, str | list[str]] = {}
    for question, target in mapping.questions.items():
        cell = cells[columns[question]].strip()
        if cell in NO_ANSWER:
            continue
        values = [OTHER_TEXT.sub("", v).strip() for v in cell.split(MULTI_SEPARATOR)]
        if target.codes:
            missing = [v for v in values if v not in target.codes]
            for v in missing:
                unknown[(question, v)] += 1
            if missing:
                raise ValueError(f"question {question}: answer {', '.join(map(repr, missing))} has no code")
            values = [target.codes[v] for v in values]
        form[target.item] = values if len(values) > 1 or q.item(target.item).type == "multi" else values[0]
    answers, errors = responses.parse_answers(q, form)
    if errors:
        item, error = next(iter(errors.items()))
        raise ValueError(f"item {item}: {error.message % error.params if error.params else error.message}")
    key = "\x1f".join((number, cells[at["提交答卷时间"]], cells[at["来自IP"]] if "来自IP" in at else ""))
    submission_id = "wjx-" + hashlib.sha256(key.encode()).hexdigest()[:32]
    return Row(number, unit, submitted, duration, answers, submission_id)


def _submitted(text: str) -> datetime:
    for pattern in SUBMITTED_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=city_zone())
        except ValueError:
            continue
    raise ValueError(f"提交答卷时间 {text!r} is not a date and time like 2025/6/3 14:05:22")


def _duration(text: str) -> float | None:
    """所用时间: "95秒", "1分35秒", "95" (seconds); None when empty or unreadable (it is only informative)."""
    text = text.strip()
    if match := re.fullmatch(r"(?:(\d+)\s*小时)?\s*(?:(\d+)\s*分(?:钟)?)?\s*(?:(\d+(?:\.\d+)?)\s*秒)?", text):
        if any(match.groups()):
            hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
            return hours * 3600 + minutes * 60 + seconds
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Prepared:
    """A checked import: its plan, the questionnaire's stored id and the campaign's (None: to be created)."""

    plan: Plan
    campaign: str
    questionnaire_id: int
    campaign_id: int | None


@dataclass(frozen=True)
class Outcome:
    campaign_id: int
    campaign_created: bool
    saved: int  # rows newly saved
    already: int  # rows saved by an earlier import of the same export


async def prepare(
    data: bytes, name: str, mapping_source: bytes, mapping_name: str, *, campaign: str, questionnaire: str
) -> Prepared:
    """Read and check the export against the mapping and the campaign (or, when it does not exist yet,
    every unit); write nothing.

    :param questionnaire: a slug (its latest stored version) or `slug:version`.
    :raise ImportError_: for an unusable file, mapping, questionnaire or campaign.
    """
    mapping = load_mapping(mapping_source, mapping_name)
    slug, _, version = questionnaire.partition(":")
    if mapping.questionnaire != slug:
        raise ImportError_(f"{mapping_name}: maps onto {mapping.questionnaire!r}, not --questionnaire {slug!r}")
    found = await campaigns.by_slug(campaign)
    if found is not None:
        q = await versions.get(found.questionnaire_id)
        if q.slug != slug:
            raise ImportError_(f"campaign {campaign} runs questionnaire {q.slug!r}, not {slug!r}")
        questionnaire_id: int = found.questionnaire_id
        unit_rows = await Unit.select(Unit.code).where(Unit.id.is_in(list(await campaigns.unit_ids(found.id)) or [-1]))
    else:
        stored = await versions.stored_id(slug, int(version) if version.isdigit() else None)
        if stored is None:
            raise ImportError_(
                f"no questionnaire {questionnaire!r} is stored (`minping migrate` stores the bundled ones)"
            )
        questionnaire_id, q = stored, await versions.get(stored)
        unit_rows = await Unit.select(Unit.code)
    result = plan(read_export(data, name), mapping, q, {r["code"] for r in unit_rows})
    return Prepared(result, campaign, questionnaire_id, found.id if found else None)


async def run(prepared: Prepared, *, title: str = "", actor: str = ACTOR) -> Outcome:
    """Save a prepared import: all its rows, or none when any is refused; create the campaign, closed, when missing.

    :raise ImportError_: when rows are refused or there are none.
    """
    result = prepared.plan
    if result.refused:
        raise ImportError_(f"{len(result.refused)} rows are refused (see the report); nothing was imported")
    if not result.rows:
        raise ImportError_(f"{result.export}: no rows to import")
    unit_ids = {r["code"]: r["id"] for r in await Unit.select(Unit.id, Unit.code)}
    campaign_id = prepared.campaign_id
    if campaign_id is None:
        first = min(r.submitted_at for r in result.rows)
        last = max(r.submitted_at for r in result.rows)
        campaign_id = await campaigns.create(
            prepared.campaign,
            prepared.questionnaire_id,
            title or f"问卷星导入：{Path(result.export).name}",
            sorted({unit_ids[code] for code in result.by_unit}),
            status=CampaignStatus.closed,
            opens_at=first,
            closes_at=last + timedelta(seconds=1),
            actor=actor,
        )
    saved = 0
    for row in result.rows:
        # The form token's issue time gives the duration; an unknown one is a time after submitting,
        # which `record` takes as implausible and stores as no duration.
        issued = row.submitted_at.timestamp() - (row.duration_s if row.duration_s is not None else -1)
        outcome = await responses.record(
            campaign_id=campaign_id,
            unit_id=unit_ids[row.unit_code],
            link_id=None,
            token=responses.FormToken(submission_id=row.submission_id, issued_at=issued),
            answers=row.answers,
            channel=Channel.import_,
            now=row.submitted_at,
            open_case=False,
        )
        saved += outcome.created
    after = {"file": Path(result.export).name, "sha256": result.sha256, "rows": len(result.rows), "saved": saved}
    await audit.record(actor, "response.import", "campaign", campaign_id, after=after)
    return Outcome(campaign_id, prepared.campaign_id is None, saved, len(result.rows) - saved)
