"""Unit scores: per unit × item, unit × dimension and unit overall, each with n and intervals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .coding import CodedItems
from .composites import (
    METRICS,
    CompositeSpec,
    bootstrap_bounds,
    composite_stats,
    make_spec,
    respondent_matrix,
)
from .intervals import Estimate, proportion_bounds, t_bounds

# Rows handled per pass; bounds temporaries to a few MB whatever the number of responses.
_CHUNK_ROWS = 32_768
BOOTSTRAP_METHOD = "percentile-bootstrap"


@dataclass(frozen=True)
class Score:
    """One published number set for one unit and one item, dimension or overall.

    For an item, ``n`` counts valid answers and ``n_dont_know`` "don't know" answers.
    For a composite, ``n`` counts respondents with at least one valid answer among its items
    and ``n_dont_know`` counts "don't know" *answers* to its items. ``awareness`` is the share
    of answers that were not "don't know" (its ``n`` = valid + don't-know answers).
    Rates are 0–1, the index 0–100. When ``suppressed`` (n < min_n) all estimates are NaN.
    """

    n: int
    n_dont_know: int
    awareness: Estimate
    index: Estimate
    satisfaction: Estimate
    top: Estimate
    bad: Estimate
    suppressed: bool
    small_sample: bool


@dataclass(frozen=True)
class ScoreTable:
    """Scores of one level (items, dimensions or overall) as arrays over units × columns.

    ``values[u, c, m]`` holds (estimate, low, high) for metric ``METRICS[m]``; ``n`` and
    ``n_dont_know`` are int arrays (n_units, n_cols); ``answers`` counts valid + don't-know
    answers (the awareness denominator).
    """

    names: tuple[str, ...]
    n: np.ndarray
    n_dont_know: np.ndarray
    answers: np.ndarray
    values: np.ndarray  # (n_units, n_cols, 5, 3)
    methods: tuple[str, ...]  # interval method per metric
    min_n: int
    small_n: int

    def score(self, unit: int, col: int) -> Score:
        """Build the `Score` record of one unit and column."""
        n = int(self.n[unit, col])
        ests = {
            m: Estimate(
                *(float(v) for v in self.values[unit, col, k]),
                n=int(self.answers[unit, col]) if m == "awareness" else n,
                method=self.methods[k],
            )
            for k, m in enumerate(METRICS)
        }
        return Score(
            n=n,
            n_dont_know=int(self.n_dont_know[unit, col]),
            suppressed=n < self.min_n,
            small_sample=n < self.small_n,
            **ests,
        )


@dataclass(frozen=True)
class UnitScores:
    """All scores of one scoring run, plus what is needed to reproduce it."""

    n_units: int
    items: ScoreTable
    dimensions: ScoreTable
    overall: ScoreTable
    level_counts: np.ndarray  # (n_units, n_items, n_levels) answers per level, rank 1 first
    mapping_name: str
    item_weights: np.ndarray  # (n_items, D) normalised item weights per dimension
    dimension_weights: np.ndarray  # (D,) normalised
    confidence: float
    n_boot: int
    seed: int

    def item(self, unit: int, item: int) -> Score:
        """Score of one item in one unit."""
        return self.items.score(unit, item)

    def dimension(self, unit: int, dimension: int | str) -> Score:
        """Score of one dimension (by position or name) in one unit."""
        d = self.dimensions.names.index(dimension) if isinstance(dimension, str) else dimension
        return self.dimensions.score(unit, d)

    def overall_score(self, unit: int) -> Score:
        """Overall composite score of one unit."""
        return self.overall.score(unit, 0)

    def rows(self) -> Iterator[tuple[int, str, str, Score]]:
        """Yield (unit, level, name, Score), level in "item" / "dimension" / "overall"."""
        for u in range(self.n_units):
            for level, table in (
                ("item", self.items),
                ("dimension", self.dimensions),
                ("overall", self.overall),
            ):
                for c, name in enumerate(table.names):
                    yield u, level, name, table.score(u, c)


def _check_unit(unit: np.ndarray, n_rows: int, n_units: int) -> np.ndarray:
    u = np.asarray(unit)
    if u.shape != (n_rows,):
        raise ValueError(f"unit must have shape ({n_rows},), got {u.shape}")
    if u.size and (not np.issubdtype(u.dtype, np.integer) or u.min() < 0 or u.max() >= n_units):
        raise ValueError(f"unit must hold integers in 0..{n_units - 1}")
    return u.astype(np.intp)


def _level_counts(coded: CodedItems, unit: np.ndarray, n_units: int) -> np.ndarray:
    """Count answers per unit × item × code: 0 missing, 1..L levels, L+1 don't know."""
    n_rows, n_items = coded.shape
    width = coded.n_levels + 2
    size = n_units * n_items * width
    counts = np.zeros(size, dtype=np.int64)
    cols = np.arange(n_items)
    for s in range(0, n_rows, _CHUNK_ROWS):
        r = coded.rank[s : s + _CHUNK_ROWS]
        code = np.where(np.isnan(r), 0, r).astype(np.intp)
        code[coded.dont_know[s : s + _CHUNK_ROWS]] = coded.n_levels + 1
        key = (unit[s : s + _CHUNK_ROWS, None] * n_items + cols) * width + code
        counts += np.bincount(key.ravel(), minlength=size)
    return counts.reshape(n_units, n_items, width)


def _item_table(
    coded: CodedItems, counts: np.ndarray, names: tuple[str, ...], confidence: float,
    min_n: int, small_n: int, rate_method: str,
) -> ScoreTable:
    lv = counts[:, :, 1 : coded.n_levels + 1].astype(float)
    n = lv.sum(-1)
    n_dk = counts[:, :, coded.n_levels + 1]
    pts = np.asarray(coded.mapping.points, dtype=float)
    vals = np.full(n.shape + (len(METRICS), 3), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = lv @ pts / n
        # centred sum of squares from the level counts: exact, no cancellation
        ss = (lv * (pts - mean[..., None]) ** 2).sum(-1)
        sd = np.sqrt(ss / (n - 1))
    vals[..., 1, 0] = mean
    vals[..., 1, 1], vals[..., 1, 2] = t_bounds(mean, sd, n, confidence)
    L = coded.n_levels
    hits = {
        0: (n, n + n_dk),
        2: (lv[..., : coded.satisfied_levels].sum(-1), n),
        3: (lv[..., : coded.top_levels].sum(-1), n),
        4: (lv[..., L - coded.bad_levels :].sum(-1), n),
    }
    for k, (x, m) in hits.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            vals[..., k, 0] = np.where(m > 0, x / np.where(m > 0, m, 1), np.nan)
        vals[..., k, 1], vals[..., k, 2] = proportion_bounds(x, m, rate_method, confidence)
    answers = (n + n_dk).astype(np.int64)
    _suppress(vals, n, answers, min_n)
    methods = (rate_method, "t", rate_method, rate_method, rate_method)
    return ScoreTable(names, n.astype(np.int64), n_dk, answers, vals, methods, min_n, small_n)


def _suppress(vals: np.ndarray, n: np.ndarray, answers: np.ndarray, min_n: int) -> None:
    # No score below min_n valid answers: a handful of residents must not decide a unit's grade.
    vals[n < min_n, 1:, :] = np.nan
    vals[answers < min_n, 0, :] = np.nan


def score_units(
    coded: CodedItems,
    unit: np.ndarray,
    n_units: int,
    *,
    dimensions: Sequence[tuple[str, Sequence[int], Sequence[float]]],
    dimension_weights: Sequence[float],
    confidence: float = 0.95,
    min_n: int = 10,
    small_n: int = 30,
    rate_method: str = "wilson",
    n_boot: int = 1000,
    seed: int = 20261124,
    item_names: Sequence[str] | None = None,
) -> UnitScores:
    """Score every unit on every item, dimension and overall, with n and intervals.

    Args:
        coded: output of `code_items`, (n_responses, n_items).
        unit: int array (n_responses,) with values 0..n_units-1 (units may have no responses).
        n_units: number of units.
        dimensions: (name, item columns, item weights) per dimension; weights are
            normalised to sum to 1 within each dimension.
        dimension_weights: one positive weight per dimension, normalised to sum to 1.
        confidence: two-sided coverage of every interval.
        min_n: below this many valid answers estimates are NaN (n still reported).
        small_n: below this many valid answers ``small_sample`` is set.
        rate_method: interval for item rates (see `proportion_ci`).
        n_boot: bootstrap replicates for composite intervals (0 = point estimates only,
            composite bounds NaN).
        seed: bootstrap seed; unit u draws from ``default_rng([seed, u])``, so a unit's
            interval does not depend on the other units and reruns are byte-identical.
        item_names: names for the item columns (default "0", "1", …).

    Returns:
        `UnitScores`. Items: t interval for the mean index, `rate_method` for rates.
        Composites: a respondent's dimension composite is the weighted mean of the items they
        answered (weights renormalised over those items); their overall composite is the
        dimension-weighted mean of the dimensions they answered. The unit's composite index
        is the mean of respondents' composites; composite rates are the weighted mean of item
        rates (renormalised over items with answers). Composite intervals come from a
        percentile bootstrap resampling the unit's respondents.
    """
    n_rows, n_items = coded.shape
    u = _check_unit(unit, n_rows, n_units)
    spec = make_spec(dimensions, dimension_weights, n_items)
    names = tuple(item_names) if item_names is not None else tuple(map(str, range(n_items)))
    if len(names) != n_items:
        raise ValueError("need one item name per item column")
    counts = _level_counts(coded, u, n_units)
    items = _item_table(coded, counts, names, confidence, min_n, small_n, rate_method)
    dims, overall = _composite_tables(
        coded, u, n_units, spec, confidence, min_n, small_n, n_boot, seed
    )
    full_weight = np.zeros((n_items, len(spec.names)))
    full_weight[spec.used] = spec.item_weight
    return UnitScores(
        n_units=n_units,
        items=items,
        dimensions=dims,
        overall=overall,
        level_counts=counts[:, :, 1 : coded.n_levels + 1],
        mapping_name=coded.mapping_name,
        item_weights=full_weight,
        dimension_weights=spec.dimension_weight,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
    )


def _composite_tables(
    coded: CodedItems, u: np.ndarray, n_units: int, spec: CompositeSpec, confidence: float,
    min_n: int, small_n: int, n_boot: int, seed: int,
) -> tuple[ScoreTable, ScoreTable]:
    d1 = spec.member.shape[1]
    vals = np.full((n_units, d1, len(METRICS), 3), np.nan)
    cnt = np.zeros((n_units, d1, 3))
    points = np.concatenate(([0.0], np.asarray(coded.mapping.points, dtype=float)))
    thresholds = (coded.satisfied_levels, coded.top_levels, coded.bad_levels)
    order = np.argsort(u, kind="stable")
    ends = np.cumsum(np.bincount(u, minlength=n_units))
    starts = ends - np.bincount(u, minlength=n_units)
    unit_id = 0
    while unit_id < n_units:
        # a block of whole units holding about _CHUNK_ROWS rows (or one big unit)
        last = int(np.searchsorted(ends, starts[unit_id] + _CHUNK_ROWS, side="right"))
        last = max(last, unit_id + 1)
        rows = order[starts[unit_id] : ends[last - 1]]
        x = respondent_matrix(
            coded.rank[rows], coded.dont_know[rows], points, thresholds, coded.n_levels, spec
        )
        off = starts[unit_id]
        for v in range(unit_id, last):
            xu = x[starts[v] - off : ends[v] - off]
            est, c = composite_stats(xu.sum(axis=0, keepdims=True), spec)
            vals[v, :, :, 0] = est[0]
            cnt[v] = c[0]
            wanted = c[0, :, 0].max() >= min_n or c[0, :, 2].max() >= min_n
            if n_boot > 0 and xu.shape[0] and wanted:
                rng = np.random.default_rng([seed, v])
                low, high = bootstrap_bounds(xu, spec, n_boot, rng, confidence)
                vals[v, :, :, 1], vals[v, :, :, 2] = low, high
        unit_id = last
    n = np.rint(cnt[..., 0]).astype(np.int64)
    n_dk = np.rint(cnt[..., 1]).astype(np.int64)
    answers = np.rint(cnt[..., 2]).astype(np.int64)
    _suppress(vals, n, answers, min_n)
    methods = (BOOTSTRAP_METHOD,) * len(METRICS)
    tables = []
    for sl, names in ((slice(0, d1 - 1), spec.names), (slice(d1 - 1, d1), ("overall",))):
        tables.append(
            ScoreTable(
                names, n[:, sl], n_dk[:, sl], answers[:, sl], vals[:, sl], methods, min_n, small_n
            )
        )
    return tables[0], tables[1]
