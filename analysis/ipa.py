"""Importance–performance analysis (IPA): which items most drive overall satisfaction, and how they do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .intervals import _z

# Martilla & James (1977) quadrant labels, with the Chinese terms used in local reports.
QUADRANTS = (
    "concentrate here (重点改进)",  # high importance, low performance
    "keep up the good work (继续保持)",  # high importance, high performance
    "low priority (次要改进)",  # low importance, low performance
    "possible overkill (过度投入)",  # low importance, high performance
)
# Fieller, Hartley & Pearson (1957): Var(atanh r_s) ≈ 1.06/(n − 3) for Spearman's r_s.
_SPEARMAN_VARIANCE_FACTOR = 1.06


@dataclass(frozen=True)
class IPAResult:
    """Derived importance (correlation with overall) and performance (mean index) per item.

    Arrays have one entry per item; ``quadrant`` holds a `QUADRANTS` label per item.
    """

    names: tuple[str, ...]
    importance: np.ndarray  # correlation with the overall item/composite, −1..1
    low: np.ndarray  # Fisher-z interval for the importance
    high: np.ndarray
    n: np.ndarray  # respondents with both the item and overall answered
    performance: np.ndarray  # mean 0–100 index over the item's valid answers
    importance_cut: float
    performance_cut: float
    quadrant: tuple[str, ...]
    method: str


def ipa(
    items: np.ndarray,
    overall: np.ndarray,
    *,
    method: str = "pearson",
    cuts: tuple[float, float] | None = None,
    confidence: float = 0.95,
    names: Sequence[str] | None = None,
) -> IPAResult:
    """Importance–performance analysis of items against an overall satisfaction measure.

    Args:
        items: float (n_respondents, n_items), the 0–100 index of each answer (e.g.
            ``CodedItems.index``); NaN = no valid answer.
        overall: float (n_respondents,), overall satisfaction: an overall item's index or a
            respondent composite; NaN = missing.
        method: "pearson" (default) or "spearman" correlation as derived importance.
        cuts: (importance cut, performance cut) for the quadrants; default the means over items
            of importance and of performance (the data-centred grid of Martilla & James 1977).
        confidence: coverage of the importance intervals.
        names: item names (default "0", "1", …).

    Returns:
        `IPAResult`. Correlations use the respondents who answered both (pairwise deletion);
        the interval is Fisher's z: tanh(atanh r ± z_α · s / sqrt(n − 3)), s = 1 for Pearson and
        sqrt(1.06) for Spearman. Fewer than 4 pairs, or no spread, gives NaN importance; such an
        item gets an empty quadrant label "" and is left out of the default cut.
    """
    x = np.asarray(items, dtype=float)
    y = np.asarray(overall, dtype=float)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"items must be (n, k) and overall (n,), got {x.shape} and {y.shape}")
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    k = x.shape[1]
    label = tuple(names) if names is not None else tuple(map(str, range(k)))
    if len(label) != k:
        raise ValueError("need one name per item column")
    z = _z(confidence)
    spread = np.sqrt(_SPEARMAN_VARIANCE_FACTOR) if method == "spearman" else 1.0
    r = np.full(k, np.nan)
    n = np.zeros(k, dtype=np.int64)
    for j in range(k):
        both = ~np.isnan(x[:, j]) & ~np.isnan(y)
        n[j] = both.sum()
        a, b = x[both, j], y[both]
        if n[j] >= 4 and np.ptp(a) > 0 and np.ptp(b) > 0:
            if method == "spearman":
                a, b = stats.rankdata(a), stats.rankdata(b)
            r[j] = np.corrcoef(a, b)[0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * spread / np.sqrt(n - 3.0)
        fz = np.arctanh(np.clip(r, -1.0, 1.0))
    low, high = np.tanh(fz - half), np.tanh(fz + half)
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(x)
        perf = np.where(valid.any(0), np.nansum(x, 0) / np.maximum(valid.sum(0), 1), np.nan)
    ok = ~np.isnan(r) & ~np.isnan(perf)
    if cuts is None:
        cut_i = float(r[ok].mean()) if ok.any() else np.nan
        cut_p = float(perf[ok].mean()) if ok.any() else np.nan
    else:
        cut_i, cut_p = float(cuts[0]), float(cuts[1])
    quadrant = tuple(
        "" if not ok[j] else QUADRANTS[(0 if r[j] >= cut_i else 2) + (1 if perf[j] >= cut_p else 0)] for j in range(k)
    )
    return IPAResult(label, r, low, high, n, perf, cut_i, cut_p, quadrant, method)
