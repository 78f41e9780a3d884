"""Weighted composites (dimension and overall indices) and their respondent-level bootstrap.

Internal to `scores.score_units`: every composite statistic is a function of per-unit
*sums* of a per-respondent matrix X, so the estimate is ``stats(ones @ X)`` and a bootstrap
replicate is ``stats(counts @ X)`` with multinomial resampling counts. One matrix product per
replicate batch replaces a Python loop over replicates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METRICS = ("awareness", "index", "satisfaction", "top", "bad")
# Cap on resampling-count cells held at once (replicates × respondents); bounds memory
# at ~32 MB however large one unit is, without changing the random stream.
_MAX_BOOT_CELLS = 4_000_000


@dataclass(frozen=True)
class CompositeSpec:
    """Dimension structure resolved to matrices over the items the dimensions use."""

    names: tuple[str, ...]  # dimension names
    used: np.ndarray  # item columns used by any dimension, (u,)
    item_weight: np.ndarray  # (u, D) weights, each column sums to 1 over its items
    member: np.ndarray  # (u, D + 1) 0/1 membership; last column = overall (all used items)
    dimension_weight: np.ndarray  # (D,) sums to 1


def make_spec(
    dimensions: Sequence[tuple[str, Sequence[int], Sequence[float]]],
    dimension_weights: Sequence[float],
    n_items: int,
) -> CompositeSpec:
    """Validate dimensions and weights and normalise each weight set to sum to 1."""
    if len(dimensions) == 0:
        raise ValueError("at least one dimension is needed for composite scores")
    if len(dimension_weights) != len(dimensions):
        raise ValueError("need one dimension weight per dimension")
    dw = np.asarray(dimension_weights, dtype=float)
    if np.any(~(dw > 0)):
        raise ValueError("dimension weights must be positive")
    cols = sorted({int(j) for _, items, _ in dimensions for j in items})
    if cols and (cols[0] < 0 or cols[-1] >= n_items):
        raise ValueError(f"dimension item columns must be in 0..{n_items - 1}")
    pos = {j: i for i, j in enumerate(cols)}
    weight = np.zeros((len(cols), len(dimensions)))
    for d, (name, items, weights) in enumerate(dimensions):
        if len(items) == 0 or len(items) != len(weights):
            raise ValueError(f"dimension {name!r}: need one weight per item, at least one item")
        w = np.asarray(weights, dtype=float)
        if np.any(~(w > 0)):
            raise ValueError(f"dimension {name!r}: item weights must be positive")
        for j, wj in zip(items, w / w.sum(), strict=True):
            weight[pos[int(j)], d] += wj
    member = np.concatenate([weight > 0, np.ones((len(cols), 1), dtype=bool)], axis=1)
    return CompositeSpec(
        names=tuple(str(name) for name, _, _ in dimensions),
        used=np.asarray(cols, dtype=np.intp),
        item_weight=weight,
        member=member.astype(float),
        dimension_weight=dw / dw.sum(),
    )


def respondent_matrix(
    code: np.ndarray, points: np.ndarray, thresholds: tuple[int, int, int], n_levels: int, spec: CompositeSpec
) -> np.ndarray:
    """Build X (rows, 5u + 2(D+1)): per used item valid/sat/top/bad/dk, then a and c·a.

    ``code`` is intp (rows, u) over the used items (0 = no answer, 1..n_levels, n_levels + 1 =
    don't know) and ``points`` the index by code (n_levels + 2 entries, 0 where no answer).
    ``a`` is 1 when the respondent answered at least one item of the composite and ``c`` is
    the respondent's composite: the weighted mean of the items they answered, weights
    renormalised over those items (dimension) or over the dimensions they answered (overall).
    """
    s_lv, t_lv, b_lv = thresholds
    codes = code
    valid = (codes >= 1) & (codes <= n_levels)
    dont_know = codes == n_levels + 1
    index = points[codes]
    vf = valid.astype(float)
    num = index @ spec.item_weight
    den = vf @ spec.item_weight
    answered = den > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        dim = np.where(answered, num / den, 0.0)
    a_dim = answered.astype(float)
    o_den = a_dim @ spec.dimension_weight
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = np.where(o_den > 0, (dim * a_dim) @ spec.dimension_weight / o_den, 0.0)
    a = np.concatenate([a_dim, (o_den > 0)[:, None].astype(float)], axis=1)
    ca = np.concatenate([dim * a_dim, overall[:, None]], axis=1)
    return np.concatenate(
        [
            vf,
            (valid & (codes <= s_lv)).astype(float),
            (valid & (codes <= t_lv)).astype(float),
            (valid & (codes > n_levels - b_lv)).astype(float),
            dont_know.astype(float),
            a,
            ca,
        ],
        axis=1,
    )


def composite_stats(sums: np.ndarray, spec: CompositeSpec) -> tuple[np.ndarray, np.ndarray]:
    """Turn column sums of X (R, m) into estimates (R, D+1, 5 metrics) and counts (R, D+1, 3).

    Counts are (respondents with an answer, "don't know" answers, valid + don't-know answers).
    Composite rates are the weighted mean of the item rates, weights renormalised over items
    with at least one valid answer; the overall rate weights the dimension rates likewise.
    """
    u = spec.used.size
    d1 = spec.member.shape[1]
    valid, sat, top, bad, dk = (sums[:, k * u : (k + 1) * u] for k in range(5))
    a = sums[:, 5 * u : 5 * u + d1]
    ca = sums[:, 5 * u + d1 :]
    out = np.empty((sums.shape[0], d1, len(METRICS)))
    has = valid > 0
    hw = has.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        answers = (valid + dk) @ spec.member
        out[:, :, 0] = (valid @ spec.member) / answers
        out[:, :, 1] = ca / a
        for k, x in enumerate((sat, top, bad), start=2):
            rate = np.where(has, x / np.where(has, valid, 1.0), 0.0)
            dim_rate = (rate @ spec.item_weight) / (hw @ spec.item_weight)
            ok = ~np.isnan(dim_rate)
            out[:, :-1, k] = dim_rate
            out[:, -1, k] = (np.where(ok, dim_rate, 0.0) @ spec.dimension_weight) / (
                ok.astype(float) @ spec.dimension_weight
            )
    counts = np.stack([a, dk @ spec.member, answers], axis=-1)
    return out, counts


def bootstrap_bounds(
    x: np.ndarray, spec: CompositeSpec, n_boot: int, rng: np.random.Generator, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bounds (D+1, 5) from `n_boot` resamples of the rows of one unit's X."""
    n = x.shape[0]
    reps = np.empty((n_boot, spec.member.shape[1], len(METRICS)))
    batch = max(1, min(n_boot, _MAX_BOOT_CELLS // max(n, 1)))
    for start in range(0, n_boot, batch):
        b = min(batch, n_boot - start)
        draw = rng.integers(0, n, size=(b, n))
        draw += (np.arange(b) * n)[:, None]
        counts = np.bincount(draw.ravel(), minlength=b * n).reshape(b, n)
        reps[start : start + b] = composite_stats(counts.astype(float) @ x, spec)[0]
    alpha = 1.0 - confidence
    with warnings.catch_warnings():
        # an all-NaN column (no valid answer in any resample) simply yields NaN bounds
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    return low, high
