"""Weighted sums of independent estimates: one unit's score built from several campaigns.

Each campaign asks different residents, so its index is independent of the others'. The combined
score is the weighted sum; its interval is Student-t with Welch–Satterthwaite degrees of freedom
(on the logit scale for scores on a bounded scale, `intervals.bounded_bounds`), which gives back
a single source's own interval exactly when there is one source.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .intervals import BOUNDED_METHOD, Estimate, bounded_bounds

COMBINED_METHOD = "welch-satterthwaite-t"


def combine_independent(
    estimates: np.ndarray,
    ses: np.ndarray,
    dfs: np.ndarray,
    weights: np.ndarray,
    confidence: float = 0.95,
    *,
    scale: float | None = None,
) -> tuple[Estimate, float, float]:
    """Weighted sum of independent estimates with a Welch–Satterthwaite t interval.

    Args:
        estimates, ses, dfs: (k,) the parts, their standard errors and degrees of freedom.
        weights: (k,) positive; normalised to sum to 1.
        confidence: two-sided coverage.
        scale: when the parts lie on [0, scale] (100 for the index), the interval is
            `intervals.bounded_bounds` (method "logit-t" suffixed, never outside the scale);
            None gives the plain symmetric t interval.

    Returns:
        (`Estimate` with n = the smallest part's df + 1, the combined se, the combined df).
        All NaN when any part is NaN: a score missing one of its parts is not a score.
    """
    e = np.asarray(estimates, float)
    s = np.asarray(ses, float)
    d = np.asarray(dfs, float)
    w = np.asarray(weights, float)
    if not (e.shape == s.shape == d.shape == w.shape) or e.ndim != 1 or e.size == 0 or np.any(~(w > 0)):
        raise ValueError("need (k,) estimates, ses, dfs and positive weights of the same shape")
    w = w / w.sum()
    if np.any(np.isnan(e) | np.isnan(s) | np.isnan(d)):
        return Estimate(np.nan, np.nan, np.nan, 0, COMBINED_METHOD), np.nan, np.nan
    var_parts = (w * s) ** 2
    se = float(np.sqrt(var_parts.sum()))
    est = float(w @ e)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = float(var_parts.sum() ** 2 / np.sum(var_parts**2 / d)) if se > 0 else float(d.min())
    n = int(d.min()) + 1 if np.isfinite(d.min()) else 0
    if scale is not None:
        low, high = bounded_bounds(est, se, df, d.min() + 1, scale=scale, confidence=confidence)
        method = f"{COMBINED_METHOD}/{BOUNDED_METHOD}"
        return Estimate(est, float(low), float(high), n, method), se, df
    half = float(stats.t.ppf(0.5 + confidence / 2.0, df)) * se
    return Estimate(est, est - half, est + half, n, COMBINED_METHOD), se, df
