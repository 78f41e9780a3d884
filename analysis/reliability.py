"""Reliability of multi-item dimensions: Cronbach's α (Feldt interval), item diagnostics, ω."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


@dataclass(frozen=True)
class Reliability:
    """Cronbach's α with its Feldt interval; unpacks as ``(low, high)``.

    ``alpha_if_deleted[j]`` is α without item j; ``item_rest[j]`` is the corrected
    item–total correlation (item j against the sum of the others), as R psych ``r.drop``.
    """

    alpha: float
    low: float
    high: float
    n: int
    k: int
    missing: str
    alpha_if_deleted: np.ndarray
    item_rest: np.ndarray

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self.low
        yield self.high


def _covariance(x: np.ndarray) -> np.ndarray:
    """Pairwise-complete covariance matrix (pandas/R ``use="pairwise"``)."""
    k = x.shape[1]
    c = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ok = ~np.isnan(x[:, i]) & ~np.isnan(x[:, j])
            c[i, j] = c[j, i] = np.cov(x[ok, i], x[ok, j])[0, 1] if ok.sum() > 1 else np.nan
    return c


def _correlation(x: np.ndarray) -> np.ndarray:
    """Pairwise-complete correlations, each pair on its own rows (R ``cor(use="pairwise")``).

    NaN for a pair with fewer than two common rows or a constant item on them.
    """
    k = x.shape[1]
    r = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            ok = ~np.isnan(x[:, i]) & ~np.isnan(x[:, j])
            a, b = x[ok, i], x[ok, j]
            if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
                r[i, j] = r[j, i] = np.nan
            else:
                r[i, j] = r[j, i] = np.corrcoef(a, b)[0, 1]
    return r


def _alpha(c: np.ndarray) -> float:
    k = c.shape[0]
    total = c.sum()
    if not total > 0:  # no variance in the total score (or NaN): α is undefined
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(c) / total))


def cronbach_alpha(items: np.ndarray, missing: str = "pairwise", confidence: float = 0.95) -> Reliability:
    """Compute Cronbach's α of a dimension's items.

    Args:
        items: (n_respondents, k) answers on a common scale, NaN = missing; k >= 2.
        missing: "pairwise" (covariances on pairwise-complete rows: R psych and pingouin; the
            interval's n counts the rows with at least one answer, a row with none carries no
            information) or "listwise" (only rows with every item, n = those rows).
        confidence: coverage of the Feldt interval
            ``1 - (1 - α) F_{(1±c)/2}(n - 1, (n - 1)(k - 1))``.

    Returns:
        `Reliability`. NaN where undefined: α when the total score does not vary (or a pair of
        items shares fewer than two rows), the interval when n < 2 or α > 1 (pairwise deletion on
        few rows can give a covariance matrix no complete data could, and α as R computes it
        then passes 1), an item–rest correlation for a constant item, α-if-deleted when k = 2.

    Raises:
        ValueError: ``items`` is not (n, k >= 2), or an unknown `missing`.
    """
    x = np.asarray(items, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError("items must be (n_respondents, k >= 2)")
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    elif missing != "pairwise":
        raise ValueError("missing must be 'pairwise' or 'listwise'")
    x = x[~np.isnan(x).all(axis=1)]
    n, k = x.shape
    c = _covariance(x)
    a = _alpha(c)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    if n >= 2 and a <= 1:  # α > 1 only from a pairwise matrix no data set can have: no interval
        low = 1 - (1 - a) * stats.f.isf((1 - confidence) / 2, df1, df2)
        high = 1 - (1 - a) * stats.f.isf((1 + confidence) / 2, df1, df2)
    else:
        low = high = np.nan
    keep = [np.delete(np.arange(k), j) for j in range(k)]
    drop = np.array([_alpha(c[np.ix_(r, r)]) if k > 2 else np.nan for r in keep])
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = np.array([c[j, r].sum() / np.sqrt(c[j, j] * c[np.ix_(r, r)].sum()) for j, r in enumerate(keep)])
    return Reliability(a, float(low), float(high), n, k, missing, drop, rest)


def one_factor_loadings(items: np.ndarray) -> np.ndarray:
    """Fit one common factor by minimum residuals (R psych ``fa(fm="minres")``).

    Minimises the squared off-diagonal residuals of the pairwise correlation matrix;
    returns loadings (k,) with a positive sum, all NaN when a correlation is undefined (a constant
    item, or two items with fewer than two common rows).

    Raises:
        ValueError: ``items`` is not (n, k >= 2).
    """
    x = np.asarray(items, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError("items must be (n_respondents, k >= 2)")
    r = _correlation(x)
    if np.isnan(r).any():
        return np.full(r.shape[0], np.nan)
    iu = np.triu_indices(r.shape[0], 1)

    def resid(lam: np.ndarray) -> np.ndarray:
        return (r - np.outer(lam, lam))[iu]

    start = np.sqrt(np.clip(np.abs(r).sum(axis=0) - 1, 0.01, None) / (r.shape[0] - 1))
    lam = optimize.least_squares(resid, start, xtol=1e-14, ftol=1e-14, gtol=1e-14).x
    return lam if lam.sum() >= 0 else -lam


def mcdonald_omega(items: np.ndarray) -> float:
    """McDonald's ω total from a one-factor model: ``1 - Σ(1 - λ²) / 1'R1``.

    Args:
        items: (n_respondents, k) answers, NaN = missing (pairwise correlations).

    Returns:
        ω as R psych ``omega(nfactors=1)$omega.tot`` computes it (denominator: the sum of the
        observed correlation matrix). Report it next to α, which assumes equal loadings. NaN
        when a correlation is undefined: a constant item (every respondent gave the same answer)
        has no correlation with the others, so the one-factor model cannot be fitted; and when
        the pairwise correlations form a matrix that is not positive semi-definite (pairwise
        deletion on few rows), which no complete data could give.

    Raises:
        ValueError: ``items`` is not (n, k >= 2).
    """
    x = np.asarray(items, dtype=float)
    lam = one_factor_loadings(x)
    if np.isnan(lam).any():
        return float("nan")
    r = _correlation(x)
    if np.linalg.eigvalsh(r)[0] < -1e-9:
        return float("nan")
    return float(1 - np.sum(1 - lam**2) / r.sum())
