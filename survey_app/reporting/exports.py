"""Exports for staff and the assessment office: raw responses and per-unit scores as tables and typed records.

Everything here shows a response the way staff pages do (`privacy`): the submission time to the
hour, free text with phone and ID numbers masked, and nothing else about the resident (no device
hash, no submission id, no flags). The shapes are documented column by column in docs/exports.md;
the JSON API (`api.py`) returns the same records.

Spreadsheet safety: a cell whose text starts with = + - @ tab or CR would run as a formula when the
file is opened in Excel or LibreOffice (CSV injection). CSV cells get a leading apostrophe
(reporting/csv_writer.py, which writes every CSV); XLSX cells are written with the string type,
which spreadsheet programs never evaluate.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from piccolo.columns.combination import Combinable
from piccolo.query.functions.aggregate import Count

from survey_app import privacy, receipts, units
from survey_app.i18n import pick
from survey_app.localtime import local
from survey_app.questionnaires.format import Item, LocalText, Questionnaire, localise
from survey_app.reporting import campaign_report, csv_writer
from survey_app.reporting.csv_writer import Cell
from survey_app.tables import Response

# Times are shown in the local time of the cities Minping serves, as on the staff pages.
SCORES_FORMAT = "minping.unit-scores/1"


# --- Typed records: the JSON export and the API ------------------------------------------------


class Answer(msgspec.Struct, frozen=True):
    """One answered item: the stored code and its label in the chosen language."""

    item: str
    # A number, not "integer or number": JSON Schema's oneOf would match a whole number twice.
    value: float | str | bool | list[str]
    label: str


class ResponseRecord(msgspec.Struct, frozen=True):
    """One response as staff may see it: never its receipt, which follows the resident's case, but a keyed
    hash of it (receipts.staff_reference) that matches rows across downloads."""

    response_ref: str
    unit_code: str
    unit_name: str
    channel: str
    status: str
    submitted_hour: datetime | None  # local time, truncated to the hour
    duration_s: float | None
    answers: list[Answer]


class Interval(msgspec.Struct, frozen=True):
    """An estimate with its interval; all null when not published (n below the minimum)."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int
    method: str


class ScoreLine(msgspec.Struct, frozen=True):
    """A dimension's or item's score for one unit."""

    key: str
    label: str
    n: int
    n_dont_know: int
    suppressed: bool
    small_sample: bool
    index: Interval
    satisfaction_rate: Interval
    bad_rate: Interval


class UnitScores(msgspec.Struct, frozen=True):
    """One unit's overall score, with its dimensions and items."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    responses: int
    n: int
    suppressed: bool
    small_sample: bool
    score: Interval
    satisfaction_rate: Interval
    bad_rate: Interval
    dimensions: list[ScoreLine]
    items: list[ScoreLine]


class QuestionnaireRef(msgspec.Struct, frozen=True):
    slug: str
    version: int
    sha256: str


class ScoreSheet(msgspec.Struct, frozen=True):
    """Scores per unit of one campaign, with what is needed to reproduce and read them."""

    format: str
    campaign: str
    title: str
    questionnaire: QuestionnaireRef
    index_mapping: str
    confidence: float
    min_n: int
    small_n: int
    channels: list[str] | None
    responses: int
    units: list[UnitScores]


# --- Raw responses -----------------------------------------------------------------------------


async def count_responses(campaign_id: int, visible: AbstractSet[int] | None) -> int:
    """How many responses of the campaign belong to the visible units (None = all)."""
    query = Response.select(Count(Response.id).as_alias("n")).where(_scope(campaign_id, visible))
    return int((await query.first() or {"n": 0})["n"])


async def response_records(
    campaign_id: int,
    questionnaire: Questionnaire,
    visible: AbstractSet[int] | None,
    lang: str,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[ResponseRecord]:
    """The campaign's responses in the visible units, oldest first; a page of them when `limit` is given
    (`offset` counts only with a limit)."""
    query = _records_query(campaign_id, visible)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [_record(row, questionnaire, lang) for row in await query]


async def response_record_pages(
    campaign_id: int, questionnaire: Questionnaire, visible: AbstractSet[int] | None, lang: str, size: int
) -> AsyncIterator[list[ResponseRecord]]:
    """`response_records` `size` at a time, each page read after the last id of the one before (an
    index range, not an OFFSET that rereads every earlier row): for streaming exports."""
    after = 0
    while True:
        rows = await _records_query(campaign_id, visible, Response.id).where(Response.id > after).limit(size)
        if rows:
            yield [_record(row, questionnaire, lang) for row in rows]
        if len(rows) < size:
            return
        after = rows[-1]["id"]


def _records_query(campaign_id: int, visible: AbstractSet[int] | None, *extra: Any) -> Any:
    return (
        Response.select(
            *extra,
            Response.receipt,
            Response.unit.code.as_alias("unit_code"),
            Response.unit.name.as_alias("unit_name"),
            Response.unit.name_en.as_alias("unit_name_en"),
            Response.channel,
            Response.status,
            Response.submitted_at,
            Response.duration_s,
            Response.answers,
        )
        .where(_scope(campaign_id, visible))
        .order_by(Response.id)
        .output(load_json=True)
    )


async def response_records_by_id(
    campaign_id: int, questionnaire: Questionnaire, ids: Sequence[int], lang: str
) -> dict[int, ResponseRecord]:
    """The records of these responses of the campaign (as they stand now), by response id: for the API's feed."""
    query = (
        Response.select(
            Response.id,
            Response.receipt,
            Response.unit.code.as_alias("unit_code"),
            Response.unit.name.as_alias("unit_name"),
            Response.unit.name_en.as_alias("unit_name_en"),
            Response.channel,
            Response.status,
            Response.submitted_at,
            Response.duration_s,
            Response.answers,
        )
        .where((Response.campaign == campaign_id) & Response.id.is_in(list(ids) or [-1]))
        .output(load_json=True)
    )
    return {row["id"]: _record(row, questionnaire, lang) for row in await query}


def _scope(campaign_id: int, visible: AbstractSet[int] | None) -> Combinable:
    where: Combinable = Response.campaign == campaign_id
    if visible is not None:
        where &= Response.unit.is_in(sorted(visible)) if visible else Response.id.is_null()
    return where


def _record(row: dict[str, Any], q: Questionnaire, lang: str) -> ResponseRecord:
    hour = privacy.to_hour(local(row["submitted_at"])) if row["submitted_at"] else None
    stored = row["answers"] if isinstance(row["answers"], dict) else {}
    answers = [_answer(item, q, stored[item.id], lang) for item in q.items if item.id in stored]
    return ResponseRecord(
        response_ref=receipts.staff_reference(row["receipt"]),
        unit_code=row["unit_code"],
        unit_name=pick(lang, row["unit_name"], row["unit_name_en"]),
        channel=row["channel"],
        status=row["status"],
        submitted_hour=hour,
        duration_s=row["duration_s"],
        answers=answers,
    )


def _answer(item: Item, q: Questionnaire, value: Any, lang: str) -> Answer:
    if item.type in ("text", "longtext"):
        return Answer(item.id, privacy.mask_text(str(value)), "")
    labels = q.labels_of(item)
    if item.type == "multi":
        chosen = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        return Answer(item.id, chosen, "；".join(localise(labels[v], lang) for v in chosen if v in labels))
    label = labels.get(value) if isinstance(value, int | str | bool) else None
    return Answer(item.id, value, localise(label, lang))


@dataclass(frozen=True)
class Table:
    """A rectangular export: column names, and one list of cells per row."""

    columns: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class AnswerColumn:
    """An answer column: the item's code (`part` "value"), its label ("label"), or one option of a multi item."""

    name: str
    item: Item
    part: str  # "value" | "label" | "option"
    option: str | None = None


def response_columns(q: Questionnaire) -> list[AnswerColumn]:
    """`id` and `id_label` for coded items; `id` alone for numbers and text; a multi item gives one
    0/1 column `id:option` per option, then `id_label` with the chosen labels joined by "；"."""
    columns: list[AnswerColumn] = []
    for item in q.items:
        if item.type == "multi":
            columns += [AnswerColumn(f"{item.id}:{o.value}", item, "option", o.value) for o in item.options or []]
        else:
            columns.append(AnswerColumn(item.id, item, "value"))
        if item.type not in ("text", "longtext", "number"):
            columns.append(AnswerColumn(f"{item.id}_label", item, "label"))
    return columns


RESPONSE_COLUMNS = ["response_ref", "unit_code", "unit_name", "channel", "status", "submitted_hour", "duration_s"]


def response_table(q: Questionnaire, records: Sequence[ResponseRecord]) -> Table:
    """One row per response, as documented in docs/exports.md."""
    answer_columns = response_columns(q)
    rows = []
    for r in records:
        hour = r.submitted_hour.strftime("%Y-%m-%d %H:00") if r.submitted_hour else None
        cells: list[Cell] = [r.response_ref, r.unit_code, r.unit_name, r.channel, r.status, hour, r.duration_s]
        by_item = {a.item: a for a in r.answers}
        for column in answer_columns:
            answer = by_item.get(column.item.id)
            if answer is None:
                cells.append(None)  # not asked (hidden by a condition) or not answered
            elif column.part == "option":
                cells.append(int(isinstance(answer.value, list) and column.option in answer.value))
            elif column.part == "label":
                cells.append(answer.label)
            elif isinstance(answer.value, bool):
                cells.append(int(answer.value))
            else:
                cells.append(answer.value if not isinstance(answer.value, list) else ",".join(answer.value))
        rows.append(cells)
    return Table(RESPONSE_COLUMNS + [c.name for c in answer_columns], rows)


def question_table(q: Questionnaire, lang: str) -> Table:
    """What each answer column means: the question text, and the option for 0/1 columns."""
    rows: list[list[Cell]] = []
    for c in response_columns(q):
        option = next((localise(o.label, lang) for o in c.item.options or [] if o.value == c.option), "")
        rows.append([c.name, c.item.type, localise(c.item.text, lang), option])
    return Table(["column", "type", "question", "option"], rows)


# --- Scores per unit ---------------------------------------------------------------------------


async def score_sheet(report: campaign_report.Report, lang: str) -> ScoreSheet:
    """The report's per-unit scores in the import shape; numbers come from `campaign_report.build`, unchanged."""
    data = campaign_report.to_dict(report, lang)
    tree = {u.code: u for u in await units.listing()}
    unit_scores = []
    for u in data["units"]:
        lines = u["scores"]
        overall = next(s for s in lines if s["level"] == "overall")
        record = tree.get(u["code"])
        unit_scores.append(
            UnitScores(
                code=u["code"],
                name=u["name"],
                kind=record.kind if record else "",
                parent_code=record.parent_code if record else None,
                responses=u["responses"],
                n=overall["n"],
                suppressed=overall["suppressed"],
                small_sample=overall["small_sample"],
                score=Interval(**overall["index"]),
                satisfaction_rate=Interval(**overall["satisfaction_rate"]),
                bad_rate=Interval(**overall["bad_rate"]),
                dimensions=[_line(s) for s in lines if s["level"] == "dimension"],
                items=[_line(s) for s in lines if s["level"] == "item"],
            )
        )
    return ScoreSheet(
        format=SCORES_FORMAT,
        campaign=data["campaign"],
        title=data["title"],
        questionnaire=QuestionnaireRef(**data["questionnaire"]),
        index_mapping=data["index_mapping"],
        confidence=data["confidence"],
        min_n=data["min_n"],
        small_n=data["small_n"],
        channels=data["channels"],
        responses=data["responses"],
        units=unit_scores,
    )


def _line(s: dict[str, Any]) -> ScoreLine:
    return ScoreLine(
        key=s["key"],
        label=s["label"],
        n=s["n"],
        n_dont_know=s["n_dont_know"],
        suppressed=s["suppressed"],
        small_sample=s["small_sample"],
        index=Interval(**s["index"]),
        satisfaction_rate=Interval(**s["satisfaction_rate"]),
        bad_rate=Interval(**s["bad_rate"]),
    )


SCORE_COLUMNS = [
    "unit_code",
    "unit_name",
    "unit_kind",
    "parent_code",
    "responses",
    "n",
    "score",
    "score_low",
    "score_high",
    "method",
    "suppressed",
    "small_sample",
    "satisfaction_rate",
    "satisfaction_low",
    "satisfaction_high",
    "bad_rate",
]
LINE_FIELDS = ("n", "score", "low", "high")


def score_table(sheet: ScoreSheet) -> Table:
    """One row per unit; then n, score, low and high of every dimension (`dim.<id>.…`) and item (`item.<id>.…`)."""
    first = sheet.units[0] if sheet.units else None
    dims = [d.key for d in first.dimensions] if first else []
    items = [i.key for i in first.items] if first else []
    columns = SCORE_COLUMNS + [f"dim.{k}.{f}" for k in dims for f in LINE_FIELDS]
    columns += [f"item.{k}.{f}" for k in items for f in LINE_FIELDS]
    rows = []
    for u in sheet.units:
        cells: list[Cell] = [u.code, u.name, u.kind, u.parent_code, u.responses, u.n]
        cells += [_round(u.score.estimate, 2), _round(u.score.low, 2), _round(u.score.high, 2), u.score.method]
        cells += [int(u.suppressed), int(u.small_sample)]
        rate = u.satisfaction_rate
        cells += [_round(rate.estimate, 4), _round(rate.low, 4), _round(rate.high, 4), _round(u.bad_rate.estimate, 4)]
        for line in [*u.dimensions, *u.items]:
            cells += [line.n, _round(line.index.estimate, 2), _round(line.index.low, 2), _round(line.index.high, 2)]
        rows.append(cells)
    return Table(columns, rows)


def score_about(sheet: ScoreSheet, lang: str) -> Table:
    """The sheet's metadata and what each dimension and item column is, for the XLSX `about` sheet."""
    rows: list[list[Cell]] = [
        ["format", sheet.format],
        ["campaign", sheet.campaign],
        ["title", sheet.title],
        ["questionnaire", f"{sheet.questionnaire.slug} v{sheet.questionnaire.version}"],
        ["questionnaire_sha256", sheet.questionnaire.sha256],
        ["index_mapping", sheet.index_mapping],
        ["confidence", sheet.confidence],
        ["min_n", sheet.min_n],
        ["small_n", sheet.small_n],
        ["channels", ",".join(sheet.channels) if sheet.channels is not None else "all"],
        ["responses", sheet.responses],
    ]
    if sheet.units:
        rows += [[f"dim.{d.key}", d.label] for d in sheet.units[0].dimensions]
        rows += [[f"item.{i.key}", i.label] for i in sheet.units[0].items]
    return Table(["name", "value"], rows)


LEAGUE_COLUMNS = [
    "group", "rank", "unit_code", "unit_name", "n", "score", "score_low", "score_high", "shrunken",
    "rank_low", "rank_high", "letters", "grade", "points", "needs_review", "small_sample", "suppressed",
    "case_rate", "case_n", "case_low", "case_high", "unweighted_score", "n_eff", "weighted",
    "channels", "staff_left_out", "n_without_staff", "score_without_staff",
]  # fmt: skip


def league_table(result: dict[str, Any], grade_labels: Sequence[LocalText | str], lang: str) -> Table:
    """An assessment period's league tables (as `assessments.league` gives them), one row per unit.

    Numbers are the page's, rounded as stored in the sealed result; a suppressed unit has no score,
    rank or grade, a unit without a case component no case columns, and a scheme without weighting no
    weighting columns, nor one without channel rules channel columns (empty cells). `channels` reads
    "community-services: qr 50, interviewer 6; …", one part per source."""
    rows: list[list[Cell]] = []
    for group in result["groups"]:
        for u in group["units"]:
            name = pick(lang, u["name"], u.get("name_en"))
            mix = _channel_cells(u)
            if u["suppressed"]:
                rows.append([group["kind"], None, u["code"], name, u["n"], *[None] * 11, 1, *[None] * 7, *mix])
                continue
            cases = u.get("cases") or {}  # the scheme's case component, when it has one
            weighting = u.get("weighting") or {}  # with a scheme that weights to population margins
            score = u["score"]
            grade = localise(grade_labels[u["grade"]], lang)
            rows.append(
                [
                    group["kind"], u["rank"], u["code"], name, u["n"], score["estimate"], score["low"],
                    score["high"], u["shrunken"], u["rank_low"], u["rank_high"], u["letters"], grade,
                    u["points"], int(u["needs_review"]), int(u["small_sample"]), 0, cases.get("estimate"),
                    cases.get("n"), cases.get("low"), cases.get("high"), weighting.get("unweighted"),
                    weighting.get("n_eff"), int(not weighting["problems"]) if weighting else None, *mix,
                ]
            )  # fmt: skip
    return Table(LEAGUE_COLUMNS, rows)


def _channel_cells(u: dict[str, Any]) -> list[Cell]:
    """channels, staff_left_out, n_without_staff, score_without_staff of a league row (empty without rules)."""
    without = u.get("without_staff")
    if without is None:
        return [None] * 4
    mix = "; ".join(
        f"{src['questionnaire']}: " + ", ".join(f"{ch} {k}" for ch, k in src["channels"].items())
        for src in u["sources"]
    )
    left_out = sum(src["staff_left_out"] for src in u["sources"])
    return [mix, left_out, without["n"], None if without["suppressed"] else without["score"]["estimate"]]


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


# --- File formats ------------------------------------------------------------------------------


def encode_json(value: Any) -> bytes:
    """UTF-8 JSON with Chinese written as is."""
    return msgspec.json.encode(value)


def to_csv(table: Table) -> bytes:
    """The table as a CSV file to download (reporting/csv_writer.py: UTF-8 with a BOM, cells defused)."""
    return csv_writer.download(table.columns, table.rows)


def to_xlsx(sheets: Sequence[tuple[str, Table]]) -> bytes:
    """A workbook with one worksheet per table; every text cell typed as a string, never a formula."""
    book = Workbook(write_only=True)
    for title, table in sheets:
        sheet = book.create_sheet(title)
        sheet.append([_xlsx_cell(sheet, c) for c in table.columns])
        for row in table.rows:
            sheet.append([_xlsx_cell(sheet, c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet: Any, value: Cell) -> Any:
    if not isinstance(value, str):
        return value
    # XML cannot hold most control characters; openpyxl refuses them rather than write a broken file.
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # openpyxl would otherwise store text starting with "=" as a formula
    return cell
