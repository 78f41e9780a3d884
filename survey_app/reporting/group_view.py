"""The group view: every unit of a campaign × its overall score and dimensions, in one sortable table.

Built from `campaign_report.Report` (the same numbers as the campaign report). Sorting is chosen by a
link (`?sort=health&order=asc`), so the page works without JavaScript; an unknown column or order
falls back to the overall score, worst first: the reader came to find the units that need help.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import analysis
from survey_app.reporting import campaign_report

ORDERS = ("asc", "desc")
# Colour bands of the index (0–100) in steps of 10: band 0 is 0–<10 … band 9 is 90–100.
BANDS = 10


@dataclass(frozen=True)
class Column:
    key: str  # "overall" or "dimension.<id>" (a dimension may itself be called "overall")
    label: Any  # a questionnaire Text


@dataclass(frozen=True)
class Cell:
    score: analysis.Score

    @property
    def shown(self) -> bool:
        return not math.isnan(self.score.index.estimate)

    @property
    def band(self) -> int | None:
        """Colour band of the index (None without a score)."""
        if not self.shown:
            return None
        return min(BANDS - 1, max(0, int(self.score.index.estimate // (100 / BANDS))))


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    name_en: str
    responses: int
    cells: tuple[Cell, ...]  # in the order of `GroupView.columns`


@dataclass(frozen=True)
class GroupView:
    report: campaign_report.Report
    columns: tuple[Column, ...]  # overall first, then the dimensions
    rows: tuple[Row, ...]
    sort: str
    order: str


def build(report: campaign_report.Report, sort: str | None, order: str | None) -> GroupView:
    """Units × (overall, dimensions) sorted by `sort` ("name", "n", "overall" or "dimension.<id>") in
    `order` ("asc"/"desc"; default worst first). Units without a score in the sorted column come
    last, whatever the order."""
    first = report.units[0] if report.units else None
    columns = [Column("overall", campaign_report.OVERALL_LABEL)]
    if first is not None:
        columns += [Column(_column_key(line), line.label) for line in first.lines if line.level == "dimension"]
    keys = [c.key for c in columns]
    rows = []
    for unit in report.units:
        by_key = {_column_key(line): line for line in unit.lines if line.level != "item"}
        rows.append(Row(unit.code, unit.name, unit.name_en, unit.responses, tuple(Cell(by_key[k].score) for k in keys)))
    chosen = sort if sort in keys or sort in ("name", "n") else "overall"
    direction = order if order in ORDERS else "asc"
    rows.sort(key=lambda r: _key(r, chosen, keys), reverse=direction == "desc")
    if chosen in keys:  # no score: last in either order
        rows.sort(key=lambda r: not r.cells[keys.index(chosen)].shown)
    return GroupView(report, tuple(columns), tuple(rows), chosen, direction)


def _column_key(line: campaign_report.Line) -> str:
    return "overall" if line.level == "overall" else f"dimension.{line.key}"


def _key(row: Row, sort: str, keys: list[str]) -> tuple[Any, ...]:
    if sort == "name":
        return (row.name, row.code)
    if sort == "n":
        return (row.responses, row.code)
    value = row.cells[keys.index(sort)].score.index.estimate
    return (0.0 if math.isnan(value) else value, row.code)
