"""Score reports: stored answers → arrays → `analysis` → per-unit scores, and their table/JSON/CSV forms.

This is the only place where responses become numpy arrays.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from collections import Counter
from collections.abc import Collection
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

import analysis
from survey_app import campaigns, units
from survey_app.i18n import pick
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import DONT_KNOW, Item, LocalText, Questionnaire, Text, localise
from survey_app.reporting import csv_writer
from survey_app.tables import Channel, Response, ResponseStatus

CONFIDENCE = 0.95
TOP_LEVELS = 2
BOOTSTRAP_SEED = 20261124  # fixed, so a report recomputed from the same data is identical
OVERALL_LABEL = LocalText(zh="综合得分", en="Overall score")
# The statuses a score counts (see ResponseStatus); "with all responses" adds quarantined and excluded.
COUNTED = (ResponseStatus.counted.value, ResponseStatus.included.value)


@dataclass(frozen=True)
class SampleRule:
    """The sample-size rule a report scores by and states: which one applies to a campaign is decided in
    one place (assessment/rules.py: the scheme of the period that scores it, else `DEFAULT_RULE`)."""

    min_n: int  # fewer valid answers: no score
    small_n: int  # fewer: a score flagged as a small sample
    scheme: Text | None = None  # the scheme's title; None for Minping's own rule
    version: int | None = None
    period: str = ""  # the slug of the period that scores the campaign


# Minping's own rule, for a campaign no assessment period scores: below 10 answers a unit's level
# cannot be told; below 30 its score is flagged "small sample".
DEFAULT_RULE = SampleRule(10, 30)


@dataclass(frozen=True)
class Line:
    """One scored thing of one unit: the overall index, a dimension or an item."""

    level: str  # "overall" | "dimension" | "item"
    key: str
    label: Any  # a questionnaire Text
    score: analysis.Score


@dataclass(frozen=True)
class UnitReport:
    id: int
    code: str
    name: str
    name_en: str
    responses: int
    lines: tuple[Line, ...]
    by_channel: tuple[tuple[str, int], ...] = ()  # responses per channel (qr, interviewer, paper, import)
    quarantined: int = 0  # flagged, awaiting review: not in `responses`
    excluded: int = 0  # left out on review: not in `responses`
    overall_all: Line | None = None  # the overall score "with all responses": counted + quarantined + excluded

    @property
    def overall(self) -> Line:
        return self.lines[0]

    @property
    def responses_all(self) -> int:
        return self.responses + self.quarantined + self.excluded


@dataclass(frozen=True)
class Report:
    campaign_slug: str
    campaign_title: str
    questionnaire_slug: str
    questionnaire_version: int
    questionnaire_hash: str
    index_mapping: str
    confidence: float
    rule: SampleRule
    responses: int
    units: tuple[UnitReport, ...]
    channels: tuple[str, ...] | None = None  # the channels scored; None = all

    @property
    def min_n(self) -> int:
        return self.rule.min_n

    @property
    def small_n(self) -> int:
        return self.rule.small_n

    @property
    def by_channel(self) -> dict[str, int]:
        """Responses per channel over the report's units, in the order of `Channel`."""
        total: Counter[str] = Counter()
        for unit in self.units:
            total.update(dict(unit.by_channel))
        return {c.value: total[c.value] for c in Channel if total[c.value]}

    @property
    def quarantined(self) -> int:
        return sum(u.quarantined for u in self.units)

    @property
    def excluded(self) -> int:
        return sum(u.excluded for u in self.units)


class ReportError(ValueError):
    """The campaign cannot be reported (unknown, or its scales cannot be combined)."""


async def build(campaign_slug: str, channels: Collection[str] | None = None, *, rule: SampleRule) -> Report:
    """Score every unit of a campaign by `rule` (the campaign's, from `assessment.rules.of_campaign`) from
    its stored responses, or only from those of `channels` (e.g. ("qr",) to leave out interviews and
    paper sheets keyed by staff).

    Scores count the responses in `COUNTED` (counted, and flagged but included on review). Each
    unit also gets its overall score "with all responses" — quarantined and excluded ones too,
    superseded revisions never — so a reader sees what the exclusions changed."""
    campaign = await campaigns.by_slug(campaign_slug)
    if campaign is None:
        raise ReportError(f"no campaign {campaign_slug!r}")
    questionnaire = await versions.get(campaign.questionnaire_id)
    unit_ids = await campaigns.unit_ids(campaign.id)
    query = Response.select(Response.unit, Response.answers, Response.channel, Response.status).where(
        (Response.campaign == campaign.id) & (Response.status != ResponseStatus.superseded)
    )
    if channels is not None:
        channels = tuple(Channel(c).value for c in channels)
        query = query.where(Response.channel.is_in(list(channels)) if channels else Response.id.is_null())
    every = await query.order_by(Response.id).output(load_json=True)
    rows = [r for r in every if r["status"] in COUNTED]
    unit_ids += sorted({r["unit"] for r in every} - set(unit_ids))
    lines = _score(questionnaire, unit_ids, rows, rule)
    with_all = lines if len(rows) == len(every) else _score(questionnaire, unit_ids, every, rule)
    info = await units.by_ids(unit_ids)
    per_channel = Counter((r["unit"], r["channel"]) for r in rows)
    per_status = Counter((r["unit"], r["status"]) for r in every)
    return Report(
        campaign_slug=campaign.slug,
        campaign_title=campaign.title,
        questionnaire_slug=questionnaire.slug,
        questionnaire_version=questionnaire.version,
        questionnaire_hash=questionnaire.content_hash,
        index_mapping=_mapping(_scale_shape(questionnaire, questionnaire.rating_items())[0]).name,
        confidence=CONFIDENCE,
        rule=rule,
        responses=len(rows),
        units=tuple(
            UnitReport(
                id=u,
                code=info[u].code,
                name=info[u].name,
                name_en=info[u].name_en,
                responses=sum(per_status[u, s] for s in COUNTED),
                lines=tuple(lines[n]),
                by_channel=tuple((c.value, per_channel[u, c.value]) for c in Channel if per_channel[u, c.value]),
                quarantined=per_status[u, ResponseStatus.quarantined.value],
                excluded=per_status[u, ResponseStatus.excluded.value],
                overall_all=with_all[n][0],
            )
            for n, u in enumerate(unit_ids)
        ),
        channels=None if channels is None else tuple(channels),
    )


def _score(
    questionnaire: Questionnaire, unit_ids: list[int], rows: list[dict[str, Any]], rule: SampleRule
) -> list[list[Line]]:
    """Per unit (in `unit_ids` order): its overall, dimension and item lines from `rows`."""
    position = {unit_id: n for n, unit_id in enumerate(unit_ids)}
    items = questionnaire.rating_items()
    coded = coded_answers(questionnaire, [r["answers"] for r in rows])
    dimensions, weights = dimension_spec(questionnaire)
    unit_of_row = np.fromiter((position[r["unit"]] for r in rows), dtype=np.int64, count=len(rows))
    scores = analysis.score_units(
        coded,
        unit_of_row,
        len(unit_ids),
        dimensions=dimensions,
        dimension_weights=weights,
        confidence=CONFIDENCE,
        min_n=rule.min_n,
        small_n=rule.small_n,
        seed=BOOTSTRAP_SEED,
        item_names=[i.id for i in items],
    )
    labels: dict[str, dict[str, Text]] = {
        "overall": {"overall": OVERALL_LABEL},
        "dimension": {d.id: d.title for d in questionnaire.dimensions} | {"all": OVERALL_LABEL},
        "item": {i.id: i.text for i in items},
    }
    lines: list[list[Line]] = [[] for _ in unit_ids]
    for unit_n, level, name, score in scores.rows():
        lines[unit_n].append(Line(level, name, labels[level].get(name, name), score))
    return [sorted(unit_lines, key=_line_order) for unit_lines in lines]


def coded_answers(questionnaire: Questionnaire, answers: list[dict[str, Any]]) -> analysis.CodedItems:
    """Rating answers (one dict per response) coded as `build` codes them: columns are
    `questionnaire.rating_items()`; for unit pages, period comparisons and quality checks."""
    items = questionnaire.rating_items()
    n_levels, satisfied, bad = _scale_shape(questionnaire, items)
    levels, dont_know = level_matrix(questionnaire, items, answers)
    return analysis.code_items(
        levels,
        dont_know=dont_know,
        n_levels=n_levels,
        satisfied_levels=satisfied,
        top_levels=min(TOP_LEVELS, n_levels - 1),
        bad_levels=bad,
        reverse=[i.reverse for i in items],
        mapping=_mapping(n_levels),
    )


def dimension_spec(questionnaire: Questionnaire) -> tuple[list[tuple[str, list[int], list[float]]], list[float]]:
    """The dimensions and weights `build` scores with, over the columns of `coded_answers`."""
    return _dimensions(questionnaire, questionnaire.rating_items())


def restrict(report: Report, visible: AbstractSet[int] | None) -> Report | None:
    """The report limited to the units a staff member may see (None = all); None if none are left."""
    if visible is None:
        return report
    shown = tuple(u for u in report.units if u.id in visible)
    if not shown:
        return None
    return dataclasses.replace(report, units=shown, responses=sum(u.responses for u in shown))


def _mapping(n_levels: int) -> analysis.IndexMapping:
    return analysis.LINEAR_5 if n_levels == 5 else analysis.linear_mapping(n_levels)


def _line_order(line: Line) -> int:
    return {"overall": 0, "dimension": 1, "item": 2}[line.level]


def _scale_shape(q: Questionnaire, items: list[Item]) -> tuple[int, int, int]:
    shapes = {(len(s.levels), s.satisfied_levels, s.bad_levels) for s in (q.scales[i.scale or ""] for i in items)}
    if len(shapes) > 1:
        raise ReportError(f"{q.slug}: rating scales with different numbers of levels cannot be combined")
    return shapes.pop() if shapes else (5, 3, 2)


def level_matrix(q: Questionnaire, items: list[Item], answers: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(responses × rating items) ranks, 1 = best level, NaN = no valid answer; and the don't-know mask."""
    levels = np.full((len(answers), len(items)), np.nan)
    dont_know = np.zeros(levels.shape, dtype=bool)
    for col, item in enumerate(items):
        rank = {level.value: n + 1 for n, level in enumerate(q.scales[item.scale or ""].levels)}
        for row, answer in enumerate(answers):
            value = answer.get(item.id)
            if value == DONT_KNOW:
                dont_know[row, col] = True
            elif value in rank:
                levels[row, col] = rank[value]
    return levels, dont_know


def _dimensions(q: Questionnaire, items: list[Item]) -> tuple[list[tuple[str, list[int], list[float]]], list[float]]:
    """Dimensions as (id, item columns, item weights); a questionnaire without any is one dimension."""
    if not q.dimensions:
        return [("all", list(range(len(items))), [i.weight for i in items])], [1.0]
    dimensions = []
    for d in q.dimensions:
        columns = [n for n, i in enumerate(items) if i.dimension == d.id]
        dimensions.append((d.id, columns, [items[n].weight for n in columns]))
    return dimensions, [d.weight for d in q.dimensions]


def _number(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _estimate(e: analysis.Estimate) -> dict[str, Any]:
    return {
        "estimate": _number(e.estimate),
        "low": _number(e.low),
        "high": _number(e.high),
        "n": e.n,
        "method": e.method,
    }


ALL_RESPONSES_LABEL = LocalText(zh="综合得分（含全部答卷）", en="Overall score (all responses)")


def to_dict(report: Report, lang: str = "zh") -> dict[str, Any]:
    """A JSON-ready form: every number with its n and interval; unpublishable numbers are null.

    `responses` and every unit's `scores` count the statuses in `statuses_counted`; a unit's
    `with_all_responses` is its overall score counting quarantined and excluded responses too
    (`responses_all` of them), and `quarantined` / `excluded` say how many were left out."""
    return {
        "campaign": report.campaign_slug,
        "title": report.campaign_title,
        "questionnaire": {
            "slug": report.questionnaire_slug,
            "version": report.questionnaire_version,
            "sha256": report.questionnaire_hash,
        },
        "index_mapping": report.index_mapping,
        "confidence": report.confidence,
        "min_n": report.min_n,
        "small_n": report.small_n,
        "rule": _rule_dict(report.rule, lang),
        "responses": report.responses,
        "statuses_counted": list(COUNTED),
        "quarantined": report.quarantined,
        "excluded": report.excluded,
        "responses_all": report.responses + report.quarantined + report.excluded,
        "channels": None if report.channels is None else list(report.channels),
        "by_channel": report.by_channel,
        "units": [
            {
                "code": u.code,
                "name": pick(lang, u.name, u.name_en),
                "responses": u.responses,
                "quarantined": u.quarantined,
                "excluded": u.excluded,
                "responses_all": u.responses_all,
                "by_channel": dict(u.by_channel),
                "scores": [_line_dict(line, lang) for line in u.lines],
                "with_all_responses": None
                if u.overall_all is None
                else _line_dict(u.overall_all, lang) | {"label": localise(ALL_RESPONSES_LABEL, lang)},
            }
            for u in report.units
        ],
    }


def _rule_dict(rule: SampleRule, lang: str) -> dict[str, Any]:
    """Whose rule `min_n` and `small_n` are: an assessment scheme's (title, version, period) or Minping's."""
    if rule.scheme is None:
        return {"source": "default"}
    return {"source": "scheme", "scheme": localise(rule.scheme, lang), "version": rule.version, "period": rule.period}


def _line_dict(line: Line, lang: str) -> dict[str, Any]:
    return {
        "level": line.level,
        "key": line.key,
        "label": localise(line.label, lang),
        "n": line.score.n,
        "n_dont_know": line.score.n_dont_know,
        "suppressed": line.score.suppressed,
        "small_sample": line.score.small_sample,
        "index": _estimate(line.score.index),
        "satisfaction_rate": _estimate(line.score.satisfaction),
        "bad_rate": _estimate(line.score.bad),
    }


CSV_COLUMNS = [
    "unit_code",
    "unit_name",
    "level",
    "key",
    "label",
    "n",
    "n_dont_know",
    "suppressed",
    "small_sample",
    "index",
    "index_low",
    "index_high",
    "satisfaction_rate",
    "satisfaction_low",
    "satisfaction_high",
    "bad_rate",
    "unit_quarantined",
    "unit_excluded",
]
# The level of the CSV row holding a unit's overall score with all responses (right after "overall").
ALL_RESPONSES_LEVEL = "overall_all"


def to_csv(report: Report, lang: str = "zh") -> str:
    """One row per unit × scored line, plus an `overall_all` row per unit (its overall score
    with all responses); empty cells where a number is not published; cells defused (csv_writer)."""
    rows: list[list[Any]] = []
    for unit in to_dict(report, lang)["units"]:
        shown = list(unit["scores"])
        if unit["with_all_responses"] is not None:
            shown.insert(1, unit["with_all_responses"] | {"level": ALL_RESPONSES_LEVEL})
        for s in shown:
            index, rate = s["index"], s["satisfaction_rate"]
            rows.append(
                [
                    unit["code"],
                    unit["name"],
                    s["level"],
                    s["key"],
                    s["label"],
                    s["n"],
                    s["n_dont_know"],
                    s["suppressed"],
                    s["small_sample"],
                    *(_fmt(index[k], 1) for k in ("estimate", "low", "high")),
                    *(_fmt(rate[k], 4) for k in ("estimate", "low", "high")),
                    _fmt(s["bad_rate"]["estimate"], 4),
                    unit["quarantined"],
                    unit["excluded"],
                ]
            )
    return csv_writer.text(CSV_COLUMNS, rows, line_end="\n")


def to_table(report: Report, lang: str = "zh") -> str:
    """A plain-text table of each unit's overall and dimension scores, for the terminal."""
    header = f"{_pad('unit', 24)} {_pad('score', 22)} {'n':>5} {_pad('满意率', 7, right=True)} {'index':>6}  95% CI"
    lines = [
        f"{report.campaign_slug}: {report.responses} responses, index {report.index_mapping}"
        + (
            f" (not counted: {report.quarantined} quarantined, {report.excluded} excluded)"
            if report.quarantined or report.excluded
            else ""
        ),
        header,
    ]
    for unit in to_dict(report, lang)["units"]:
        shown = [s for s in unit["scores"] if s["level"] != "item"]
        if unit["with_all_responses"] is not None and (unit["quarantined"] or unit["excluded"]):
            shown.insert(1, unit["with_all_responses"])
        for s in shown:
            index, rate = s["index"], s["satisfaction_rate"]
            interval = "—" if index["estimate"] is None else f"{index['low']:.1f}–{index['high']:.1f}"
            rate_text = "—" if rate["estimate"] is None else f"{100 * rate['estimate']:.1f}%"
            index_text = "—" if index["estimate"] is None else f"{index['estimate']:.1f}"
            name = unit["name"] if s is shown[0] else ""
            label = _pad(s["label"], 22)
            lines.append(f"{_pad(name, 24)} {label} {s['n']:>5} {rate_text:>7} {index_text:>6}  {interval}")
    return "\n".join(lines) + "\n"


def _pad(text: str, width: int, right: bool = False) -> str:
    """Pad to `width` terminal columns; Chinese characters take two, so str.ljust misaligns them."""
    shown, used = "", 0
    for char in text:
        size = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + size > width:
            break
        shown, used = shown + char, used + size
    fill = " " * (width - used)
    return fill + shown if right else shown + fill


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"
