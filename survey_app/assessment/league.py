"""League tables: a scheme applied to the answers of its campaigns → score, shrunken score, rank interval,
letter group, grade and points per unit. Pure: rows in, a JSON-ready dict out; statistics come from `analysis`.

The result contains only plain numbers, strings and lists, so `canonical_json` turns it into the
same bytes on every database and platform (see `docs/methodology.md`, "Assessment").
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

import analysis
from survey_app.assessment.schemes import (
    CHANNELS,
    Band,
    ByRank,
    Group,
    Linear,
    Scheme,
    Source,
    StaffChannels,
    Thresholds,
    Weighting,
)
from survey_app.cases.figures import CaseFigures
from survey_app.questionnaires.format import Item, Questionnaire
from survey_app.reporting import campaign_report

# Floats in sealed JSON are rounded to this many decimals: far below any published precision
# (scores show one decimal), far above the last-bit differences between BLAS builds and platforms.
FLOAT_DECIMALS = 6
# Fewer scored units than this: no empirical-Bayes shrinkage (the between-unit variance cannot be
# estimated; analysis.shrink_means needs four).
MIN_UNITS_TO_SHRINK = 4
# A case rate enters the score as 100 × rate with the standard error implied by its Wilson 95 % interval
# (half-width / 1.96): unlike √(p(1 − p)/n) it is not zero when every case was on time.
WILSON_Z = 1.959963984540054
CASE_RATES = {"callback_rate": "called_back", "on_time_rate": "on_time", "rectified_rate": "rectified"}


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, floats rounded to FLOAT_DECIMALS (NaN → null, −0 → 0)."""
    return json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float | np.floating):
        x = float(value)
        return None if not math.isfinite(x) else round(x, FLOAT_DECIMALS) + 0.0  # + 0.0 turns −0.0 into 0.0
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_canonical(v) for v in value]
    raise TypeError(f"cannot seal a {type(value).__name__}")


@dataclass(frozen=True)
class SourceData:
    """One source of a group: its questionnaire and the counted answers of its units."""

    source: Source
    questionnaire: Questionnaire
    unit_codes: list[str]  # unit of each row
    answers: list[dict[str, Any]]
    channels: list[str] | None = None  # channel of each row; needed when the scheme has channel rules


@dataclass(frozen=True)
class UnitName:
    code: str
    name: str
    name_en: str


def score_group(
    scheme: Scheme,
    group: Group,
    units: list[UnitName],
    sources: list[SourceData],
    cases: Mapping[str, CaseFigures] | None = None,
) -> dict[str, Any]:
    """The league table of one unit kind: every unit of `units` (ordered by code), ranked among the scored ones.

    With the group's `case_handling`, `cases` (unit code → figures) adds the chosen case rate as a
    component of the score; a unit with nothing to judge (rate n = 0) is scored on the sources alone.

    With the scheme's `channels` rules only the counted channels' rows score, staff-entered rows over the
    share limit are left out, and each row shows its channel mix per source and its score without staff
    channels (residents' own answers only), so an assessor sees what staff entries changed.
    """
    position = {u.code: n for n, u in enumerate(units)}
    rules = scheme.channels
    applied = [_channel_rules(d, rules, position) for d in sources] if rules is not None else []
    if applied:
        sources = [a[0] for a in applied]
    parts = [_source_scores(scheme, data, position) for data in sources]
    weights = np.array([data.source.weight for data in sources])
    handling = group.case_handling
    rows = []
    for n, unit in enumerate(units):
        estimates = [p["estimate"][n] for p in parts]
        ses = [p["se"][n] for p in parts]
        dfs = [p["n"][n] - 1.0 if p["n"][n] >= 2 else np.nan for p in parts]
        unit_weights = weights
        component = None
        if handling is not None:
            component = _case_component(handling.measure, (cases or {}).get(unit.code))
            if component["n"] > 0:
                estimates.append(component["estimate"])
                ses.append(component["se"])
                dfs.append(np.inf)  # a binomial rate: normal, not t
                unit_weights = np.append(weights / weights.sum() * (1.0 - handling.weight), handling.weight)
        combined, se, df = analysis.combine_independent(
            np.array(estimates), np.array(ses), np.array(dfs), unit_weights, scheme.confidence, scale=100.0
        )
        rows.append(
            {
                "code": unit.code,
                "name": unit.name,
                "name_en": unit.name_en,
                "sources": [_source_row(data, p, n) for data, p in zip(sources, parts, strict=True)],
                "n": min(int(p["n"][n]) for p in parts),
                "score": {"estimate": combined.estimate, "low": combined.low, "high": combined.high},
                "se": se,
                "df": df,
                "suppressed": math.isnan(combined.estimate),
                "small_sample": any(p["n"][n] < scheme.small_n for p in parts),
            }
        )
        if scheme.weighting is not None:
            unweighted = [p["unweighted"][n] for p in parts] + estimates[len(parts) :]  # and the case rate
            rows[-1]["weighting"] = {
                "unweighted": float(np.dot(unit_weights / unit_weights.sum(), unweighted)),
                "n_eff": float(np.min([p["n_eff"][n] for p in parts])),  # NaN when a source has no score
                "problems": _problems(
                    [(d.source.questionnaire, p["problem"][n]) for d, p in zip(sources, parts, strict=True)]
                ),
            }
        if component is not None:
            del component["se"]
            rows[-1]["cases"] = component
    shrinkage = _rank(scheme, [r for r in rows if not r["suppressed"]])
    scored = sorted((r for r in rows if not r["suppressed"]), key=lambda r: (r["rank"], r["code"]))
    unscored = [r for r in rows if r["suppressed"]]
    for r in rows:
        del r["se"], r["df"]
    if rules is not None:
        _add_channel_mix(scheme, group, units, sources, cases, rows, applied)
    table = {
        "kind": group.kind,
        "weights": [{"questionnaire": d.source.questionnaire, "weight": d.source.weight} for d in sources],
        "shrinkage": shrinkage,
        "units": scored + unscored,
    }
    if handling is not None:
        table["case_handling"] = {"measure": handling.measure, "weight": handling.weight}
    return table


ChannelRules = tuple[SourceData, list[dict[str, int]], list[int]]


def _channel_rules(data: SourceData, rules: StaffChannels, position: dict[str, int]) -> ChannelRules:
    """The rows that count under the scheme's channel rules, each unit's channel mix among them, and how many
    staff-entered rows the share limit left out per unit: the latest ones (rows come in id order), so keying
    more cannot push earlier answers out."""
    assert data.channels is not None, "channel rules need each row's channel"
    share = rules.max_staff_share
    residents = [0] * len(position)
    for code, channel in zip(data.unit_codes, data.channels, strict=True):
        if code in position and channel == "qr" and "qr" in rules.counted:
            residents[position[code]] += 1
    # staff ≤ share × (residents + staff)  ⇔  staff ≤ share / (1 − share) × residents
    allowed = [math.inf if share >= 1 else math.floor(share / (1 - share) * r + 1e-9) for r in residents]
    used, left_out = [0] * len(position), [0] * len(position)
    mix: list[dict[str, int]] = [{} for _ in position]
    kept = []
    for i, (code, channel) in enumerate(zip(data.unit_codes, data.channels, strict=True)):
        if code not in position or channel not in rules.counted:
            continue
        u = position[code]
        if channel != "qr":
            if used[u] >= allowed[u]:
                left_out[u] += 1
                continue
            used[u] += 1
        mix[u][channel] = mix[u].get(channel, 0) + 1
        kept.append(i)
    counted = SourceData(
        data.source,
        data.questionnaire,
        [data.unit_codes[i] for i in kept],
        [data.answers[i] for i in kept],
        [data.channels[i] for i in kept],
    )
    return counted, mix, left_out


def _add_channel_mix(
    scheme: Scheme,
    group: Group,
    units: list[UnitName],
    sources: list[SourceData],
    cases: Mapping[str, CaseFigures] | None,
    rows: list[dict[str, Any]],
    applied: list[ChannelRules],
) -> None:
    """Each row's channel mix per source and its score from residents' own answers only (in place)."""
    assert all(d.channels is not None for d in sources)
    residents_only = [
        SourceData(
            d.source,
            d.questionnaire,
            [c for c, ch in zip(d.unit_codes, d.channels or [], strict=True) if ch == "qr"],
            [a for a, ch in zip(d.answers, d.channels or [], strict=True) if ch == "qr"],
        )
        for d in sources
    ]
    plain = msgspec.structs.replace(scheme, channels=None)
    without = {u["code"]: u for u in score_group(plain, group, units, residents_only, cases)["units"]}
    position = {u.code: n for n, u in enumerate(units)}
    for r in rows:
        n = position[r["code"]]
        for source_row, (_, mix, left_out) in zip(r["sources"], applied, strict=True):
            source_row["channels"] = {ch: mix[n][ch] for ch in CHANNELS if mix[n].get(ch)}
            source_row["staff_left_out"] = left_out[n]
        other = without[r["code"]]
        r["without_staff"] = {"n": other["n"], "score": other["score"], "suppressed": other["suppressed"]}


def _source_row(data: SourceData, part: dict[str, Any], n: int) -> dict[str, Any]:
    """One source's share of a unit's row; with weighting also its unweighted estimate and n_eff."""
    row = {"questionnaire": data.source.questionnaire, "n": int(part["n"][n])}
    row |= {key: part[key][n] for key in ("estimate", "low", "high")}
    if "weighted" in part:
        row |= {"unweighted": part["unweighted"][n], "n_eff": part["n_eff"][n], "weighted": bool(part["weighted"][n])}
    return row


def _problems(why_by_source: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Why a unit could not be weighted (an empty margin cell, or no convergence), each with its sources."""
    merged: dict[str, list[str]] = {}
    for questionnaire, why in why_by_source:
        if why:
            merged.setdefault(why, []).append(questionnaire)
    problems = []
    for why, questionnaires in merged.items():
        margin, _, value = why.partition("=")
        problem = {"margin": margin, "value": value} if value else {"reason": why}
        problems.append(problem | {"questionnaires": questionnaires})
    return problems


def _case_component(measure: str, figures: CaseFigures | None) -> dict[str, Any]:
    """The unit's case rate as a 0–100 score with its n (the rate's denominator), Wilson interval and se."""
    if figures is None or getattr(figures, CASE_RATES[measure]).n == 0:
        cases = 0 if figures is None else figures.n
        return {"cases": cases, "n": 0, "estimate": None, "low": None, "high": None, "se": None}
    rate = getattr(figures, CASE_RATES[measure])
    return {
        "cases": figures.n,
        "n": int(rate.n),
        "estimate": 100.0 * rate.estimate,
        "low": 100.0 * rate.low,
        "high": 100.0 * rate.high,
        "se": 100.0 * (rate.high - rate.low) / (2.0 * WILSON_Z),
    }


def _source_scores(scheme: Scheme, data: SourceData, position: dict[str, int]) -> dict[str, np.ndarray]:
    """Each unit's index from one source (NaN below min_n), with n, interval and standard error."""
    q = data.questionnaire
    keep = [i for i, code in enumerate(data.unit_codes) if code in position]
    answers = [data.answers[i] for i in keep]
    if not answers:  # no answers from this source: no score, no interval
        nothing = np.full(len(position), np.nan)
        part: dict[str, Any] = {"estimate": nothing, "low": nothing, "high": nothing, "se": nothing}
        part["n"] = np.zeros(len(position))
        if scheme.weighting is not None:
            no = np.zeros(len(position), dtype=bool)
            part |= {"unweighted": nothing, "n_eff": nothing, "weighted": no, "problem": ("",) * len(position)}
        return part
    unit_of_row = np.array([position[data.unit_codes[i]] for i in keep], dtype=np.int64)
    items = q.rating_items()
    coded = campaign_report.coded_answers(q, answers)
    dimensions, weights = _chosen_dimensions(q, items, data.source)
    scores = analysis.score_units(
        coded,
        unit_of_row,
        len(position),
        dimensions=dimensions,
        dimension_weights=weights,
        confidence=scheme.confidence,
        min_n=scheme.min_n,
        small_n=scheme.small_n,
        item_names=[i.id for i in items],
    )
    index = [scores.overall_score(u).index for u in range(len(position))]
    low = np.array([e.low for e in index])
    high = np.array([e.high for e in index])
    n = np.array([scores.overall_score(u).n for u in range(len(position))])
    estimate = np.array([e.estimate for e in index])
    part = {
        "estimate": estimate,
        "low": low,
        "high": high,
        "n": n,
        "se": analysis.bounded_standard_errors(estimate, low, high, n - 1, confidence=scheme.confidence),
    }
    if scheme.weighting is not None:
        y = analysis.respondent_composites(coded, dimensions, weights)[:, -1]
        _standardise(part, scheme.weighting, scheme.confidence, q, answers, y, unit_of_row)
    return part


def _standardise(
    part: dict[str, Any],
    weighting: Weighting,
    confidence: float,
    q: Questionnaire,
    answers: list[dict[str, Any]],
    y: np.ndarray,
    unit_of_row: np.ndarray,
) -> None:
    """Replace the scored units' estimates by means raked to the scheme's population shares (in place),
    keeping the unweighted estimate, Kish's n_eff, and why a unit could not be weighted."""
    margins: dict[str, tuple[np.ndarray, Mapping[Any, float]]] = {}
    for margin, shares in weighting.margins.items():
        item = next(i for i in q.items if i.demographic == margin)  # the scheme was checked against q
        cell_of = weighting.cell_of(margin)
        values = [a.get(item.id) for a in answers]
        cells = [cell_of.get(v) if isinstance(v, str) else None for v in values]  # None: not answered
        margins[margin] = (np.array(cells, dtype=object), shares)
    means = analysis.standardised_means(
        y, unit_of_row, len(part["n"]), margins, confidence=confidence, max_weight=weighting.max_weight, scale=100.0
    )
    scored = ~np.isnan(part["estimate"])  # min_n decided on the unweighted score; weighting does not revive
    part["unweighted"] = part["estimate"].copy()
    for key in ("estimate", "low", "high", "se", "n_eff"):
        part[key] = np.where(scored, getattr(means, key), np.nan)
    part["weighted"] = means.weighted & scored
    part["problem"] = tuple(why if ok else "" for why, ok in zip(means.problem, scored, strict=True))


def _chosen_dimensions(
    q: Questionnaire, items: list[Item], source: Source
) -> tuple[list[tuple[str, list[int], list[float]]], list[float]]:
    """The scheme's dimensions and weights for this source, or the questionnaire's own."""
    if source.dimensions is None:
        return campaign_report.dimension_spec(q)
    dimensions = []
    for dim in source.dimensions:
        columns = [n for n, i in enumerate(items) if i.dimension == dim]
        dimensions.append((dim, columns, [items[n].weight for n in columns]))
    return dimensions, list(source.dimensions.values())


def _rank(scheme: Scheme, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Shrunken score, rank interval, letter group, grade and points of the scored rows (in place)."""
    k = len(rows)
    score = np.array([r["score"]["estimate"] for r in rows])
    se = np.array([r["se"] for r in rows])
    shrinkage = None
    basis, spread = score, se
    if k >= MIN_UNITS_TO_SHRINK and np.all(se > 0):
        shrunk = analysis.shrink_means(score, se**2)
        shrinkage = {"method": shrunk.method, "overall": shrunk.overall, "tau2": shrunk.prior[1]}
        if scheme.rank_by == "shrunken":
            basis, spread = shrunk.shrunken, shrunk.posterior_sd
    if k >= 2:
        ranks = analysis.rank_intervals(basis, spread, level=scheme.rank_level, seed=scheme.rank_seed)
        letters = analysis.indistinguishable_groups(score, se)
    elif k == 1:
        ranks = analysis.RankIntervals(np.array([1]), np.array([1]), np.array([1]), np.array([1.0]), 1)
        letters = ["a"]
    for n, r in enumerate(rows):
        r["shrunken"] = float(shrunk.shrunken[n]) if shrinkage else None
        r["shrinkage_factor"] = float(shrunk.factor[n]) if shrinkage else None
        r["rank"] = int(ranks.rank[n])
        r["rank_low"], r["rank_high"] = int(ranks.low[n]), int(ranks.high[n])
        r["p_bottom"] = float(ranks.p_bottom[n])
        r["letters"] = letters[n]
        r["grade"] = band_of(scheme.grades, r["score"]["estimate"])
        r["needs_review"] = band_of(scheme.grades, r["score"]["low"]) != band_of(scheme.grades, r["score"]["high"])
        r["points"] = points(scheme.points, r["score"]["estimate"], r["rank"], k)
    return shrinkage


def band_of(grades: Sequence[Band], score: float) -> int:
    """Position of the grade band holding `score`: bands are half-open [min, previous min), best first."""
    for n, band in enumerate(grades):
        if score >= band.min:
            return n
    return len(grades) - 1  # below 0: only an interval bound can be, and it belongs to the lowest band


def points(rule: Linear | Thresholds | ByRank, score: float, rank: int, ranked: int) -> float:
    """Assessment points from a score (0–100) or a rank (1 = best of `ranked`)."""
    if isinstance(rule, Linear):
        return rule.max * score / 100.0
    if isinstance(rule, Thresholds):
        return next(step.points for step in rule.steps if score >= step.min)
    if ranked == 1:
        return rule.max
    return rule.max * (1.0 - (rank - 1) / (ranked - 1) * rule.spread)
