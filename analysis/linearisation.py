"""Analytic (linearised) intervals for composite scores: one pass, no resampling.

Internal to `scores.score_units`. Rows arrive in blocks of whole units, sorted by unit. For each
respondent we compute the quantities whose per-unit sums give every composite interval:

* the respondent's composite (index) and whether they answered it, for a (logit-)t interval on
  respondents' composites: the composite index *is* their mean, so this is its exact estimator;
* the linearised contribution of the respondent to each composite rate (满意率, top box, 差评) and
  to the composite awareness rate. A composite rate is a weighted mean of item rates
  ``R = Σ_j w_j x_j / n_j``; to first order ``R̂ − R = Σ_i z_i`` with
  ``z_i = Σ_j w_j v_ij (y_ij − p̂_j) / n_j`` (v = answered item j, y = counted as a hit), so
  ``Var(R̂) ≈ Σ_i z_i²``: the delta method (Taylor linearisation, Binder 1983) with the
  respondent as the sampling unit, which accounts for one person answering several items.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .composites import CompositeSpec
from .intervals import bounded_bounds, proportion_bounds

# Centre for the sum of squared composites: mid-scale keeps the one-pass variance free of
# cancellation (composites lie in 0–100, so (c − 50)² ≤ 2500).
_CENTRE = 50.0
RATES = ("satisfied", "top", "bad")
# Quantities per answer cell in `block_sums`' table: points, valid, answered, one per rate.
_CELL = 3 + len(RATES)
# Per-unit sums returned by `block_sums`, in this order along axis 1.
SUMS = ("a", "c", "c2", "z2_awareness", "z2_satisfied", "z2_top", "z2_bad", "answering")


def block_sums(
    code: np.ndarray,
    key: np.ndarray,
    sizes: np.ndarray,
    counts: np.ndarray,
    spec: CompositeSpec,
    luts: dict[str, np.ndarray],
    n_levels: int,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Per-unit sums (n_block_units, len(SUMS), D + 1) for one block of whole units.

    Args:
        code: intp codes (rows, n_used_items) of the block's used items, rows sorted by unit
            (0 = no answer, 1..n_levels, n_levels + 1 = don't know; see `CodedItems`).
        key: intp (rows, n_used_items), the flat position of each answer in ``counts`` (unit in
            the block × item × code).
        sizes: rows per unit in the block (n_block_units,), summing to ``rows``.
        counts: level counts (n_block_units, n_items, n_levels + 2) of the same units.
        spec: composite structure.
        luts: by-code tables: "points" (index, 0 where no answer), "valid", "answered" (valid or
            don't know) and one 0/1 table per entry of `RATES`.
        n_levels: scale levels.
        work: optional float64 scratch of at least ``workspace_size(rows, spec)`` elements,
            reused across blocks so the big temporaries are not re-faulted into memory each time.

    Returns:
        Sums over each unit's rows; "c2" is Σ (c − 50)² over respondents with an answer, "z2_*"
        the sums of squared linearised contributions, "answering" the respondents with a valid
        or "don't know" answer to the composite.
    """
    nb = sizes.size
    u = spec.used.size
    d = spec.item_weight.shape[1]
    d1 = d + 1
    width = n_levels + 2
    lu = np.repeat(np.arange(nb), sizes)
    used = counts[:, spec.used]
    lv = used[:, :, 1 : n_levels + 1].astype(float)
    n_item = lv.sum(-1)  # (nb, u) valid answers per item
    has = n_item > 0
    inv_n = np.where(has, 1.0 / np.where(has, n_item, 1.0), 0.0)
    # One table over (unit, item, code) of everything a cell contributes: index points, valid,
    # answered, and per rate e = v (y − p̂_j) / n_j. A single gather and a single matrix product
    # then give every per-respondent quantity (far cheaper than one pass per quantity).
    table = np.empty((nb, u, width, _CELL))
    table[..., 0] = luts["points"]
    table[..., 1] = luts["valid"]
    table[..., 2] = luts["answered"]
    for k, rate in enumerate(RATES):
        p = (lv @ luts[rate][1 : n_levels + 1]) * inv_n
        table[..., 3 + k] = (luts[rate] - p[:, :, None] * luts["valid"]) * inv_n[:, :, None]
    rows = lu.size
    combine = _combine(spec)
    if work is None or work.size < workspace_size(rows, spec):
        work = np.empty(workspace_size(rows, spec))
    # Gather whole cells (six floats) as single 48-byte items: ~6x faster than take(axis=0).
    cell = np.dtype((np.void, _CELL * table.itemsize))
    cells = table.reshape(-1).view(cell).take(key).view(np.float64).reshape(rows, u * _CELL)
    start = rows * len(SUMS) * d1  # `out` below comes first
    per_row = work[start : start + rows * combine.shape[1]].reshape(rows, combine.shape[1])  # rows may be 0
    np.matmul(cells, combine, out=per_row)
    num, den = per_row[:, :d], per_row[:, d : 2 * d]
    valid_c, t = per_row[:, 2 * d : 2 * d + d1], per_row[:, 2 * d + d1 : 2 * d + 2 * d1]
    a_dim = (den > 0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        dim = np.where(den > 0, num / den, 0.0)
        o_den = a_dim @ spec.dimension_weight
        overall = np.where(o_den > 0, (dim * a_dim) @ spec.dimension_weight / o_den, 0.0)
    out = work[: rows * len(SUMS) * d1].reshape(rows, len(SUMS), d1)
    out[:, 0, :-1] = a_dim
    out[:, 0, -1] = o_den > 0
    out[:, 1, :-1] = dim
    out[:, 1, -1] = overall
    out[:, 2] = (out[:, 1] - _CENTRE) ** 2 * out[:, 0]

    weight = has @ spec.item_weight  # renormalising weight over items with answers
    ok = weight > 0
    inv_w = np.where(ok, 1.0 / np.where(ok, weight, 1.0), 0.0)[lu]
    dw_ok = ok * spec.dimension_weight
    dw_sum = dw_ok.sum(-1, keepdims=True)
    # the overall contribution is the dimension-weighted mean of the dimension contributions
    to_overall = np.where(dw_sum > 0, dw_ok / np.where(dw_sum > 0, dw_sum, 1.0), 0.0)[lu]
    first_z = 2 * d + 2 * d1
    z = per_row[:, first_z : first_z + len(RATES) * d].reshape(rows, len(RATES), d) * inv_w[:, None, :]
    out[:, 4 : 4 + len(RATES), :-1] = z * z
    zo = np.einsum("rkd,rd->rk", z, to_overall)
    out[:, 4 : 4 + len(RATES), -1] = zo * zo

    dk = used[:, :, n_levels + 1].astype(float)
    valid_u = n_item @ spec.member
    total_u = (n_item + dk) @ spec.member
    with np.errstate(invalid="ignore", divide="ignore"):
        aware = np.where(total_u > 0, valid_u / total_u, 0.0)[lu]
        inv_t = np.where(total_u > 0, 1.0 / total_u, 0.0)[lu]
    z = (valid_c - aware * t) * inv_t
    out[:, 3] = z * z
    out[:, 7] = t > 0
    # per-unit sums as a sparse (units × rows) indicator product: much faster than reduceat
    segments = sparse.csr_matrix(
        (np.ones(rows), np.arange(rows), np.concatenate(([0], np.cumsum(sizes)))), shape=(nb, rows)
    )
    return np.asarray(segments @ out.reshape(lu.size, len(SUMS) * d1)).reshape(nb, len(SUMS), d1)


def workspace_size(rows: int, spec: CompositeSpec) -> int:
    """Float64 elements of scratch `block_sums` needs for a block of `rows` rows."""
    d = int(spec.item_weight.shape[1])
    k = 2 * d + 2 * (d + 1) + len(RATES) * d
    return rows * (len(SUMS) * (d + 1) + k)


def _combine(spec: CompositeSpec) -> np.ndarray:
    """Matrix (u × _CELL, K) turning a row's gathered cells into num, den, valid, answered, z per rate.

    Output columns: index numerator (D), weight of answered items (D), valid answers (D + 1),
    valid + don't-know answers (D + 1), then D linearised contributions per rate.
    """
    u, d = spec.item_weight.shape
    d1 = d + 1
    m = np.zeros((u, _CELL, 2 * d + 2 * d1 + len(RATES) * d))
    m[:, 0, :d] = spec.item_weight
    m[:, 1, d : 2 * d] = spec.item_weight
    m[:, 1, 2 * d : 2 * d + d1] = spec.member
    m[:, 2, 2 * d + d1 : 2 * d + 2 * d1] = spec.member
    for k in range(len(RATES)):
        m[:, 3 + k, 2 * d + 2 * d1 + k * d : 2 * d + 2 * d1 + (k + 1) * d] = spec.item_weight
    return m.reshape(u * _CELL, -1)


def composite_bounds(
    sums: np.ndarray, est: np.ndarray, valid_answers: np.ndarray, answers: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Interval bounds (units, D + 1, 5 metrics) from `block_sums` sums and point estimates.

    Args:
        sums: (units, len(SUMS), D + 1) from `block_sums`.
        est: (units, D + 1, 5) point estimates in `composites.METRICS` order (rates 0–1,
            index 0–100).
        valid_answers: (units, D + 1) valid answers to the composite's items (all respondents).
        answers: (units, D + 1) valid + "don't know" answers to the composite's items.
        confidence: two-sided coverage.

    Returns:
        ``(low, high)``; NaN where the estimate is NaN or fewer than two respondents answered.
        Index: Student-t on respondents' composites (df = n − 1), built on the logit scale so it
        stays inside 0–100 (`intervals.bounded_bounds`). Rates: Wilson with the
        effective sample size n_eff = R(1 − R)/Var(R̂) (Kish's design-effect idea; Kott & Carr
        1997, Korn & Graubard 1998), so a one-item composite gets exactly its item's Wilson
        interval. n_eff is capped at the number of answers (a composite cannot carry more
        information than its answers counted as independent); where the sample shows no spread
        (Var = 0, e.g. every answer satisfied) n_eff falls back to the respondents.
    """
    low = np.full(est.shape, np.nan)
    high = np.full(est.shape, np.nan)
    n = sums[:, 0]
    mean = est[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (sums[:, 2] - n * (mean - _CENTRE) ** 2) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.maximum(var, 0.0) / n)
    low[..., 1], high[..., 1] = bounded_bounds(mean, se, n - 1, n, confidence=confidence)
    for k, row, fallback, cap in (
        (0, 3, sums[:, 7], answers),
        (2, 4, n, valid_answers),
        (3, 5, n, valid_answers),
        (4, 6, n, valid_answers),
    ):
        r = est[..., k]
        v = sums[:, row]
        with np.errstate(invalid="ignore", divide="ignore"):
            # r(1 − r) = 0 with v > 0 happens when rounding leaves a tiny v (49 · (1/49) ≠ 1):
            # that is "no spread" as well, not an interval of nothing.
            spread = r * (1.0 - r)
            n_eff = np.where((v > 0) & (spread > 0), spread / np.where(v > 0, v, 1.0), fallback)
        n_eff = np.minimum(n_eff, cap)
        n_eff = np.where(np.isnan(r) | (fallback < 2), np.nan, n_eff)
        low[..., k], high[..., k] = proportion_bounds(r * n_eff, n_eff, "wilson", confidence)
    return low, high
