"""Comparisons between units and periods, with multiplicity control across a report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .intervals import Estimate, proportion_bounds


@dataclass(frozen=True)
class ChiSquareResult:
    """Pearson χ² test of a units × levels table.

    ``residuals`` are adjusted standardized residuals (≈ N(0, 1) under independence), which
    show which cells drive a significant result; ``cramers_v`` is the effect size.
    """

    statistic: float
    pvalue: float
    dof: int
    expected: np.ndarray
    residuals: np.ndarray
    cramers_v: float


@dataclass(frozen=True)
class KruskalDunn:
    """Kruskal–Wallis H (tie-corrected) with Dunn's pairwise z tests.

    ``pairwise[i, j]`` is the adjusted two-sided p-value for groups i and j (1 on the
    diagonal); ``z[i, j]`` is Dunn's z for mean rank i minus mean rank j.
    """

    statistic: float
    pvalue: float
    pairwise: np.ndarray
    z: np.ndarray
    adjust: str


@dataclass(frozen=True)
class MeanDifference:
    """Welch difference in means (first minus second) with its t interval; unpacks (low, high)."""

    estimate: float
    low: float
    high: float
    df: float
    pvalue: float
    method: str = "welch"

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self.low
        yield self.high


def chi_square(table: np.ndarray) -> ChiSquareResult:
    """Test independence in a table of counts (rows: units, columns: answer levels).

    Args:
        table: (r, c) non-negative finite counts; all-zero rows/columns are dropped first.

    Returns:
        `ChiSquareResult`, without continuity correction (Pearson's statistic as published), on
        the table without its all-zero rows and columns (``expected`` and ``residuals`` have that
        shape). Nothing to test (an all-zero or empty table, or one row or column left): statistic,
        p-value and Cramér's V are NaN and dof is 0.

    Raises:
        ValueError: ``table`` is not 2-D or holds a negative, NaN or infinite count.
    """
    t = np.asarray(table, dtype=float)
    if t.ndim != 2:
        raise ValueError(f"table must be 2-D (units × levels), got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("table must hold non-negative finite counts")
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if min(t.shape) < 2:
        nothing = np.full(t.shape, np.nan)
        return ChiSquareResult(np.nan, np.nan, 0, t.copy(), nothing, np.nan)
    stat, p, dof, expected = stats.chi2_contingency(t, correction=False)
    n = t.sum()
    row = t.sum(axis=1, keepdims=True) / n
    col = t.sum(axis=0, keepdims=True) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        resid = (t - expected) / np.sqrt(expected * (1 - row) * (1 - col))
    v = float(np.sqrt(stat / (n * (min(t.shape) - 1)))) if min(t.shape) > 1 else np.nan
    return ChiSquareResult(float(stat), float(p), int(dof), np.asarray(expected), resid, v)


def p_adjust(pvalues: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple testing as R ``p.adjust`` ("holm", "BH", "bonferroni").

    NaN p-values are kept as NaN and do not count towards the number of tests.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    if method == "bonferroni":
        adj = np.minimum(1.0, q * m)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
        adj = np.empty(m)
        adj[order] = adj_sorted
    elif method in ("BH", "fdr"):
        order = np.argsort(q, kind="stable")[::-1]
        ranks = m - np.arange(m)
        adj_sorted = np.minimum(1.0, np.minimum.accumulate(m / ranks * q[order]))
        adj = np.empty(m)
        adj[order] = adj_sorted
    else:
        raise ValueError(f"unknown method {method!r}")
    out[ok] = adj
    return out


def benjamini_hochberg(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg FDR-adjusted p-values (R ``p.adjust(p, "BH")``) for a whole report."""
    return p_adjust(pvalues, "BH")


def kruskal_dunn(groups: Sequence[np.ndarray], adjust: str = "holm") -> KruskalDunn:
    """Kruskal–Wallis test across groups, then Dunn's post-hoc z tests.

    Args:
        groups: k 1-D arrays of ordinal answers (e.g. 0–100 index per respondent); NaN dropped.
        adjust: p-value adjustment across the k(k-1)/2 pairs ("holm", "BH", "bonferroni").

    Returns:
        `KruskalDunn`. H uses the tie correction (as scipy/R); Dunn's variance uses the same
        tie term ``Σ(t³ - t)/(12(N - 1))`` (Dunn 1964).
    """
    gs = [np.asarray(g, dtype=float)[~np.isnan(np.asarray(g, dtype=float))] for g in groups]
    if len(gs) < 2 or any(g.size == 0 for g in gs):
        raise ValueError("need at least two non-empty groups")
    h, p = stats.kruskal(*gs)
    allv = np.concatenate(gs)
    ranks = stats.rankdata(allv)
    n_total = allv.size
    _, ties = np.unique(allv, return_counts=True)
    tie = np.sum(ties**3 - ties) / (12.0 * (n_total - 1))
    sizes = np.array([g.size for g in gs])
    mean_rank = np.array([r.mean() for r in np.split(ranks, np.cumsum(sizes)[:-1])])
    k = len(gs)
    z = np.zeros((k, k))
    iu = np.triu_indices(k, 1)
    se = np.sqrt((n_total * (n_total + 1) / 12.0 - tie) * (1 / sizes[iu[0]] + 1 / sizes[iu[1]]))
    z[iu] = (mean_rank[iu[0]] - mean_rank[iu[1]]) / se
    z = z - z.T
    raw = 2 * stats.norm.sf(np.abs(z[iu]))
    padj = np.ones((k, k))
    padj[iu] = p_adjust(raw, adjust)
    padj.T[iu] = padj[iu]
    return KruskalDunn(float(h), float(p), padj, z, adjust)


def diff_proportions_ci(
    x1: float,
    n1: float,
    x2: float,
    n2: float,
    method: str = "newcombe",
    confidence: float = 0.95,
) -> Estimate:
    """Interval for a change in a rate, p1 - p2 (e.g. this period minus last).

    Args:
        x1, n1: successes and valid answers in the first sample; x2, n2 likewise.
        method: "newcombe" (hybrid score, Newcombe 1998 method 10: Wilson limits of each
            rate combined) or "wald".
        confidence: two-sided coverage.

    Returns:
        `Estimate` of p1 - p2 (n = n1 + n2); NaN when either n is 0 or any input is NaN (then
        n counts the known sample sizes only).

    Raises:
        ValueError: a count outside [0, its n], or an unknown method.
    """
    if method not in ("newcombe", "wald"):
        raise ValueError(f"unknown method {method!r}")
    for x, n, name in ((x1, n1, "x1"), (x2, n2, "x2")):
        if (x < 0) or (x > n):
            raise ValueError(f"{name} must satisfy 0 <= {name} <= n{name[1]}")
    if not (n1 > 0 and n2 > 0) or np.isnan(x1) or np.isnan(x2):
        known = sum(int(n) for n in (n1, n2) if n > 0)
        return Estimate(np.nan, np.nan, np.nan, known, method)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    if method == "newcombe":
        l1, u1 = proportion_bounds(np.array(x1), np.array(n1), "wilson", confidence)
        l2, u2 = proportion_bounds(np.array(x2), np.array(n2), "wilson", confidence)
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    elif method == "wald":
        z = stats.norm.ppf(0.5 + confidence / 2)
        half = z * np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        low, high = d - half, d + half
    else:
        raise ValueError(f"unknown method {method!r}")
    return Estimate(float(d), float(low), float(high), int(n1 + n2), method)


def diff_means_ci(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> MeanDifference:
    """Welch interval and test for mean(a) - mean(b) (e.g. index this period minus last).

    Args:
        a, b: 1-D arrays of respondent values (0–100 index); NaN dropped; each needs n >= 2.
        confidence: two-sided coverage.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if x.size < 2 or y.size < 2:
        raise ValueError("each sample needs at least two values")
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = np.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    d = x.mean() - y.mean()
    q = stats.t.ppf(0.5 + confidence / 2, df)
    p = 2 * stats.t.sf(abs(d / se), df)
    return MeanDifference(float(d), float(d - q * se), float(d + q * se), float(df), float(p))
