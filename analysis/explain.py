"""Why a unit scores as it does: its answer shares against the rest of its group, and its score gap
split by dimension. Pure arrays in, frozen records out.

A unit is compared with the *other* units of its group (not the whole group, which contains it), so
the two samples are independent and the usual two-sample intervals apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .comparisons import diff_proportions_ci
from .intervals import proportion_bounds


@dataclass(frozen=True)
class ShareComparison:
    """Per option: the unit's share, the rest of the group's, and the difference, each with an interval.

    Every array has shape (k,) for k options. Shares are 0–1 of the respondents who answered the
    item (``n`` and ``n_rest``); for a multi item an option's share is the share who ticked it, so
    shares need not sum to 1. ``diff_*`` is unit minus rest (Newcombe hybrid score interval);
    ``different`` is True where that interval excludes 0. NaN (and ``different`` False) where
    either side has no answers.
    """

    unit: np.ndarray
    unit_low: np.ndarray
    unit_high: np.ndarray
    rest: np.ndarray
    rest_low: np.ndarray
    rest_high: np.ndarray
    diff: np.ndarray
    diff_low: np.ndarray
    diff_high: np.ndarray
    different: np.ndarray
    n: int
    n_rest: int


def compare_shares(
    unit_counts: np.ndarray,
    n: int,
    rest_counts: np.ndarray,
    n_rest: int,
    confidence: float = 0.95,
) -> ShareComparison:
    """Compare how often each option was chosen in a unit and in the rest of its group.

    Args:
        unit_counts: (k,) respondents of the unit choosing each option, 0 <= count <= n.
        n: respondents of the unit who answered the item (>= 0).
        rest_counts: (k,) the same for the other units of the group.
        n_rest: respondents of the other units who answered the item (>= 0).
        confidence: two-sided coverage of every interval.

    Returns:
        `ShareComparison`: Wilson intervals for the shares, Newcombe for the differences.

    Raises:
        ValueError: counts of different shapes, not 1-D, negative, or above their n.
    """
    x = np.asarray(unit_counts, dtype=float)
    y = np.asarray(rest_counts, dtype=float)
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError("unit_counts and rest_counts must both have shape (k,)")
    for counts, total, name in ((x, n, "unit_counts"), (y, n_rest, "rest_counts")):
        if total < 0 or np.any((counts < 0) | (counts > total)):
            raise ValueError(f"{name} must lie in 0..its n")
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(n > 0, x / max(n, 1), np.nan)
        rest = np.where(n_rest > 0, y / max(n_rest, 1), np.nan)
    unit_low, unit_high = proportion_bounds(x, np.full(x.shape, float(n)), "wilson", confidence)
    rest_low, rest_high = proportion_bounds(y, np.full(y.shape, float(n_rest)), "wilson", confidence)
    diffs = [
        diff_proportions_ci(float(a), n, float(b), n_rest, confidence=confidence) for a, b in zip(x, y, strict=True)
    ]
    diff = np.array([d.estimate for d in diffs], dtype=float)
    low = np.array([d.low for d in diffs], dtype=float)
    high = np.array([d.high for d in diffs], dtype=float)
    different = ~np.isnan(diff) & ((low > 0) | (high < 0))
    return ShareComparison(unit, unit_low, unit_high, rest, rest_low, rest_high, diff, low, high, different, n, n_rest)


@dataclass(frozen=True)
class GapDecomposition:
    """The unit's overall index minus the rest of the group's, split by dimension.

    ``contribution[d] = weight[d] × (unit[d] − rest[d])`` in index points, with a normal interval
    from the two independent standard errors; ``gap`` is the overall difference with its interval.
    The contributions add up to ``gap`` exactly when every respondent answered every dimension;
    otherwise the overall composite renormalises the weights per respondent and ``residual`` (gap
    minus the sum of contributions) is that part. ``worst`` is the dimension that costs the unit
    most points (the most negative contribution), -1 when no contribution is negative or known.
    Arrays have shape (D,); NaN where a side has no score.
    """

    contribution: np.ndarray
    low: np.ndarray
    high: np.ndarray
    gap: float
    gap_low: float
    gap_high: float
    residual: float
    worst: int


def decompose_gap(
    unit: np.ndarray,
    unit_se: np.ndarray,
    rest: np.ndarray,
    rest_se: np.ndarray,
    weights: np.ndarray,
    overall: tuple[float, float, float, float],
    confidence: float = 0.95,
) -> GapDecomposition:
    """Split the unit's overall gap to the rest of its group into dimension contributions.

    Args:
        unit, unit_se: (D,) the unit's dimension indices (0–100) and their standard errors.
        rest, rest_se: (D,) the same for the other units of the group together.
        weights: (D,) dimension weights, positive; normalised to sum to 1.
        overall: (unit overall index, its se, rest overall index, its se).
        confidence: two-sided coverage (normal quantile: both sides are means of many answers).

    Returns:
        `GapDecomposition`; NaN where an input is NaN.

    Raises:
        ValueError: arrays of different shapes, or a weight that is not positive.
    """
    u, us, r, rs, w = (np.asarray(a, dtype=float) for a in (unit, unit_se, rest, rest_se, weights))
    if not (u.shape == us.shape == r.shape == rs.shape == w.shape) or u.ndim != 1:
        raise ValueError("unit, unit_se, rest, rest_se and weights must all have shape (D,)")
    if np.any(~(w > 0)):
        raise ValueError("weights must be positive")
    w = w / w.sum()
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    contribution = w * (u - r)
    half = z * w * np.sqrt(us**2 + rs**2)
    ou, ous, orr, ors = (float(v) for v in overall)
    gap = ou - orr
    gap_half = z * float(np.sqrt(ous**2 + ors**2))
    residual = gap - float(np.nansum(contribution)) if not np.isnan(contribution).all() else np.nan
    negative = np.where(np.isnan(contribution), np.inf, contribution)
    worst = int(np.argmin(negative)) if negative.size and negative.min() < 0 else -1
    return GapDecomposition(
        contribution, contribution - half, contribution + half, gap, gap - gap_half, gap + gap_half, residual, worst
    )
