"""Unit scores: per unit × item, unit × dimension and unit overall, each with n and intervals."""

from __future__ import annotations

from collections.abc import Sequence
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
from .intervals import BOUNDED_METHOD, bounded_bounds, proportion_bounds
from .linearisation import RATES, SUMS, block_sums, composite_bounds, workspace_size
from .score_tables import Score, ScoreTable, UnitScores

__all__ = ["COMPOSITE_INTERVALS", "Score", "ScoreTable", "UnitScores", "respondent_composites", "score_units"]

# Rows handled per block; bounds temporaries to a few MB whatever the number of responses.
_CHUNK_ROWS = 16384
BOOTSTRAP_METHOD = "percentile-bootstrap"
LINEARISED_RATE_METHOD = "linearised-wilson"
COMPOSITE_INTERVALS = ("linearised", "bootstrap", "none")
# Interval method per metric (awareness, index, satisfaction, top, bad) for each choice.
_COMPOSITE_METHODS = {
    "linearised": (LINEARISED_RATE_METHOD, BOUNDED_METHOD) + (LINEARISED_RATE_METHOD,) * 3,
    "bootstrap": (BOOTSTRAP_METHOD,) * len(METRICS),
    "none": ("none",) * len(METRICS),
}


@dataclass(frozen=True)
class _Options:
    interval: str
    confidence: float
    min_n: int
    small_n: int
    n_boot: int
    seed: int


def _check_unit(unit: np.ndarray, n_rows: int, n_units: int) -> np.ndarray:
    u = np.asarray(unit)
    if u.shape != (n_rows,):
        raise ValueError(f"unit must have shape ({n_rows},), got {u.shape}")
    if u.size and (not np.issubdtype(u.dtype, np.integer) or u.min() < 0 or u.max() >= n_units):
        raise ValueError(f"unit must hold integers in 0..{n_units - 1}")
    return u.astype(np.intp)


def _item_table(
    coded: CodedItems,
    counts: np.ndarray,
    names: tuple[str, ...],
    confidence: float,
    min_n: int,
    small_n: int,
    rate_method: str,
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
    with np.errstate(invalid="ignore", divide="ignore"):
        se = sd / np.sqrt(n)
    vals[..., 1, 1], vals[..., 1, 2] = bounded_bounds(mean, se, n - 1, n, confidence=confidence)
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
    methods = (rate_method, BOUNDED_METHOD, rate_method, rate_method, rate_method)
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
    composite_interval: str = "linearised",
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
        composite_interval: "linearised" (default: logit-t on respondents' composites for the index,
            delta-method Wilson for composite rates, see `linearisation.composite_bounds`),
            "bootstrap" (seeded percentile bootstrap of respondents, `n_boot` replicates) or
            "none" (composite bounds NaN).
        n_boot: bootstrap replicates; 0 means no composite intervals, as "none".
        seed: bootstrap seed; unit u draws from ``default_rng([seed, u])``, so a unit's
            interval does not depend on the other units and reruns are byte-identical.
        item_names: names for the item columns (default "0", "1", …).

    Returns:
        `UnitScores`. Items: logit-t interval for the mean index (`intervals.bounded_bounds`:
        never outside 0–100), `rate_method` for rates.
        Composites: a respondent's dimension composite is the weighted mean of the items they
        answered (weights renormalised over those items); their overall composite is the
        dimension-weighted mean of the dimensions they answered. The unit's composite index
        is the mean of respondents' composites; composite rates are the weighted mean of item
        rates (renormalised over items with answers). Point estimates do not depend on
        `composite_interval`. Working memory is a few MB per block of units plus 16 bytes per
        response (the sort order by unit), whatever the number of responses.
    """
    if composite_interval not in COMPOSITE_INTERVALS:
        raise ValueError(f"composite_interval must be one of {COMPOSITE_INTERVALS}, got {composite_interval!r}")
    n_rows, n_items = coded.shape
    u = _check_unit(unit, n_rows, n_units)
    spec = make_spec(dimensions, dimension_weights, n_items)
    names = tuple(item_names) if item_names is not None else tuple(map(str, range(n_items)))
    if len(names) != n_items:
        raise ValueError("need one item name per item column")
    interval = "none" if n_boot <= 0 else composite_interval
    options = _Options(interval, confidence, min_n, small_n, n_boot, seed)
    counts, dims, overall = _composite_tables(coded, u, n_units, spec, options)
    items = _item_table(coded, counts, names, confidence, min_n, small_n, rate_method)
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
        composite_interval=interval,
    )


def _composite_tables(
    coded: CodedItems,
    u: np.ndarray,
    n_units: int,
    spec: CompositeSpec,
    options: _Options,
) -> tuple[np.ndarray, ScoreTable, ScoreTable]:
    """One pass over blocks of whole units: level counts, composite estimates and intervals."""
    n_items = coded.shape[1]
    L = coded.n_levels
    width = L + 2
    d1 = spec.member.shape[1]
    counts = np.zeros((n_units, n_items, width), dtype=np.int64)
    est = np.full((n_units, d1, len(METRICS)), np.nan)
    cnt = np.zeros((n_units, d1, 3))
    low = np.full_like(est, np.nan)
    high = np.full_like(est, np.nan)
    luts = {
        "points": coded.lookup(coded.mapping.points, missing=0.0),
        "valid": coded.lookup(np.ones(L), missing=0.0),
        "answered": np.concatenate((coded.lookup(np.ones(L), missing=0.0)[:-1], [1.0])),
    }
    for rate in RATES:
        luts[rate] = coded.lookup(coded.level_flags(rate), missing=0.0)
    size = np.bincount(u, minlength=n_units)
    ends = np.cumsum(size)
    starts = ends - size
    # numpy's stable sort is a radix sort for 16-bit keys: 5x faster than on int64 unit ids
    order = np.argsort(u.astype(np.uint16) if n_units <= 2**16 else u, kind="stable")
    all_used = np.array_equal(spec.used, np.arange(n_items))
    blocks = []
    first = 0
    while first < n_units:
        # a block of whole units holding about _CHUNK_ROWS rows (or one big unit)
        last = max(int(np.searchsorted(ends, starts[first] + _CHUNK_ROWS, side="right")), first + 1)
        blocks.append((first, last))
        first = last
    most = max((int(ends[last - 1] - starts[first]) for first, last in blocks), default=0)
    work = np.empty(workspace_size(most, spec))
    all_sums = np.zeros((n_units, len(SUMS), d1))
    for first, last in blocks:
        block = slice(first, last)
        code = coded.code[order[starts[first] : ends[last - 1]]].astype(np.intp)
        sizes = size[block]
        local = np.repeat(np.arange(last - first), sizes)
        key = (local[:, None] * n_items + np.arange(n_items)) * width + code
        counts[block] = np.bincount(key.ravel(), minlength=(last - first) * n_items * width).reshape(
            last - first, n_items, width
        )
        if not all_used:
            code = code[:, spec.used]
            key = (local[:, None] * spec.used.size + np.arange(spec.used.size)) * width + code
        sums = block_sums(code, key, sizes, counts[block], spec, luts, L, work)
        est[block], cnt[block] = composite_stats(_stat_sums(counts[block], sums, spec, luts, L), spec)
        all_sums[block] = sums
        if options.interval == "bootstrap":
            thresholds = (coded.satisfied_levels, coded.top_levels, coded.bad_levels)
            x = respondent_matrix(code, luts["points"], thresholds, L, spec)
            off = 0
            for k, v in enumerate(range(first, last)):
                if sums[k, 0].max() >= options.min_n or cnt[v, :, 2].max() >= options.min_n:
                    rng = np.random.default_rng([options.seed, v])
                    xv = x[off : off + sizes[k]]
                    low[v], high[v] = bootstrap_bounds(xv, spec, options.n_boot, rng, options.confidence)
                off += sizes[k]
    if options.interval == "linearised":
        # once for all units: the t and normal quantiles cost more than the arithmetic
        valid = counts[:, spec.used, 1 : L + 1].sum(-1) @ spec.member
        low, high = composite_bounds(all_sums, est, valid, cnt[..., 2], options.confidence)
    vals = np.stack([est, low, high], axis=-1)
    n = np.rint(cnt[..., 0]).astype(np.int64)
    n_dk = np.rint(cnt[..., 1]).astype(np.int64)
    answers = np.rint(cnt[..., 2]).astype(np.int64)
    _suppress(vals, n, answers, options.min_n)
    methods = _COMPOSITE_METHODS[options.interval]
    tables = []
    for sl, names in ((slice(0, d1 - 1), spec.names), (slice(d1 - 1, d1), ("overall",))):
        tables.append(
            ScoreTable(
                names, n[:, sl], n_dk[:, sl], answers[:, sl], vals[:, sl], methods, options.min_n, options.small_n
            )
        )
    return counts, tables[0], tables[1]


def _stat_sums(
    counts: np.ndarray, sums: np.ndarray, spec: CompositeSpec, luts: dict[str, np.ndarray], L: int
) -> np.ndarray:
    """Rebuild the column sums of the bootstrap's respondent matrix from counts and `block_sums`.

    Point estimates then come from the very same `composite_stats` whichever interval is used.
    """
    lv = counts[:, spec.used, 1 : L + 1].astype(float)
    parts = [lv.sum(-1)] + [lv @ luts[rate][1 : L + 1] for rate in RATES]
    parts.append(counts[:, spec.used, L + 1].astype(float))
    return np.concatenate(parts + [sums[:, 0], sums[:, 1]], axis=1)


def respondent_composites(
    coded: CodedItems,
    dimensions: Sequence[tuple[str, Sequence[int], Sequence[float]]],
    dimension_weights: Sequence[float],
) -> np.ndarray:
    """Each respondent's dimension and overall composite index, as `score_units` forms them.

    Args:
        coded: output of `code_items`, (n_responses, n_items).
        dimensions, dimension_weights: as for `score_units`.

    Returns:
        float (n_responses, D + 1): columns are the dimensions in order, then the overall
        composite; NaN where the respondent gave no valid answer to any of its items. The mean
        of a column over one unit's respondents is that unit's composite index, so a Welch test
        on two periods' columns (`diff_means_ci`) tests the change of the published index.
    """
    spec = make_spec(dimensions, dimension_weights, coded.shape[1])
    code = coded.code[:, spec.used].astype(np.intp)
    thresholds = (coded.satisfied_levels, coded.top_levels, coded.bad_levels)
    x = respondent_matrix(code, coded.lookup(coded.mapping.points, missing=0.0), thresholds, coded.n_levels, spec)
    u, d1 = spec.used.size, spec.member.shape[1]
    answered = x[:, 5 * u : 5 * u + d1] > 0
    return np.where(answered, x[:, 5 * u + d1 :], np.nan)
