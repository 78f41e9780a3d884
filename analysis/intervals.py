"""Confidence intervals for rates and means: the `Estimate` record every score carries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

PROPORTION_METHODS = ("wilson", "agresti_coull", "clopper_pearson", "jeffreys", "wald")
# Name of the bounded interval for means of values on [0, scale] (the 0–100 index), see `bounded_bounds`.
BOUNDED_METHOD = "logit-t"


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval, the n behind it and the interval method.

    Unpacks as ``(low, high)`` so ``low, high = proportion_ci(81, 263)`` works.
    Fields are floats for scalar input; for array input (see `proportion_ci`) they
    hold arrays of the broadcast shape.
    """

    estimate: float
    low: float
    high: float
    n: int
    method: str

    def __iter__(self) -> Iterator[float]:
        yield self.low
        yield self.high


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def proportion_bounds(
    successes: np.ndarray, n: np.ndarray, method: str = "wilson", confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Return vectorised two-sided interval bounds for binomial rates.

    Args:
        successes: count of successes, any shape (float or int), 0 <= successes <= n.
        n: number of trials, broadcastable to ``successes``.
        method: one of ``PROPORTION_METHODS``.
        confidence: two-sided coverage, e.g. 0.95.

    Returns:
        ``(low, high)`` float arrays in [0, 1]; NaN where ``n == 0`` or either input is NaN.
        Boundary rule: for 0/n the lower bound is exactly 0 and for n/n the upper bound
        is exactly 1, whatever the method (this is the Brown–Cai–DasGupta convention and
        what R ``binom``/``DescTools`` print; Jeffreys would otherwise exclude 0 at 0/n).
    """
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    x, m = np.broadcast_arrays(x, m)
    if np.any((x < 0) | (x > m)):
        raise ValueError("successes must satisfy 0 <= successes <= n")
    if np.any(np.isinf(m)):
        raise ValueError("n must be finite")
    alpha = 1.0 - confidence
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / m
        if method == "wilson":
            denom = m + z * z
            centre = (x + z * z / 2.0) / denom
            half = z / denom * np.sqrt(x * (m - x) / m + z * z / 4.0)
            low, high = centre - half, centre + half
        elif method == "agresti_coull":
            m_t = m + z * z
            p_t = (x + z * z / 2.0) / m_t
            half = z * np.sqrt(p_t * (1.0 - p_t) / m_t)
            low, high = p_t - half, p_t + half
        elif method == "wald":
            half = z * np.sqrt(p * (1.0 - p) / m)
            low, high = p - half, p + half
        elif method == "clopper_pearson":
            low = stats.beta.ppf(alpha / 2.0, x, m - x + 1.0)
            high = stats.beta.ppf(1.0 - alpha / 2.0, x + 1.0, m - x)
        elif method == "jeffreys":
            low = stats.beta.ppf(alpha / 2.0, x + 0.5, m - x + 0.5)
            high = stats.beta.ppf(1.0 - alpha / 2.0, x + 0.5, m - x + 0.5)
        else:
            raise ValueError(f"unknown method {method!r}; use one of {PROPORTION_METHODS}")
    # rounding can leave a bound a hair past the rate itself (tiny or fractional counts): hold it
    with np.errstate(invalid="ignore"):
        low = np.fmin(low, p)
        high = np.fmax(high, p)
    low = np.where(x == 0, 0.0, np.clip(low, 0.0, 1.0))
    high = np.where(x == m, 1.0, np.clip(high, 0.0, 1.0))
    empty = ~(m > 0)  # also catches NaN
    low = np.where(empty | np.isnan(x), np.nan, low)
    high = np.where(empty | np.isnan(x), np.nan, high)
    return low, high


def proportion_ci(
    successes: float | np.ndarray,
    n: float | np.ndarray,
    method: str = "wilson",
    confidence: float = 0.95,
) -> Estimate:
    """Estimate a binomial rate with a confidence interval (Wilson by default).

    Args:
        successes: count of successes (scalar or array).
        n: number of valid answers (scalar or array, broadcastable).
        method: "wilson", "agresti_coull", "clopper_pearson", "jeffreys" or "wald".
            Wald is offered for comparison only; it undercovers for n < 40 or rates near 0/1.
        confidence: two-sided coverage.

    Returns:
        `Estimate` with the rate (0–1) and bounds; NaN everything when n == 0 or either input is
        NaN, and then the `n` field is 0 (no answers to count). Scalar input gives float fields,
        array input array fields.

    Raises:
        ValueError: successes outside [0, n] (see `proportion_bounds`), or an unknown method.
    """
    low, high = proportion_bounds(np.asarray(successes), np.asarray(n), method, confidence)
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    known = ~np.isnan(x) & (m > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(known, x / np.where(known, m, 1.0), np.nan)
    count = np.where(np.isnan(m), 0, m).astype(int)
    if np.ndim(est) == 0:
        return Estimate(float(est), float(low), float(high), int(count), method)
    return Estimate(est, low, high, count, method)  # type: ignore[arg-type]


def t_bounds(
    mean: np.ndarray, sd: np.ndarray, n: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Return vectorised Student-t bounds ``mean ± t(n-1) sd/sqrt(n)``; NaN where n < 2."""
    mean, sd, n = np.broadcast_arrays(np.asarray(mean, float), np.asarray(sd, float), np.asarray(n, float))
    ok = n >= 2
    df = np.where(ok, n - 1.0, 1.0)
    # the quantile per distinct df only: a unit table repeats the same few hundred n many times
    uniq, inverse = np.unique(df, return_inverse=True)
    q = np.asarray(stats.t.ppf(0.5 + confidence / 2.0, uniq))[inverse].reshape(df.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = q * sd / np.sqrt(n)
    return np.where(ok, mean - half, np.nan), np.where(ok, mean + half, np.nan)


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> Estimate:
    """Estimate the mean of `values` with a Student-t interval.

    Args:
        values: array of any shape (flattened), in the unit of the data (e.g. 0–100 index);
            NaN entries are ignored.
        confidence: two-sided coverage.

    Returns:
        `Estimate` with n = number of non-NaN values; estimate NaN when n == 0,
        bounds NaN when n < 2 (no spread to estimate).
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[~np.isnan(v)]
    n = v.size
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, "t")
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else np.nan
    low, high = t_bounds(np.array(mean), np.array(sd), np.array(n), confidence)
    return Estimate(mean, float(low), float(high), n, "t")


def bounded_bounds(
    mean: ArrayLike,
    se: ArrayLike,
    df: ArrayLike,
    n: ArrayLike,
    *,
    scale: float = 100.0,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a mean of values on [0, scale] (the 0–100 index) that never leaves [0, scale].

    The Student-t interval is built on the logit scale and mapped back, as R ``svyciprop``'s
    "logit" method does for a proportion: with ``p = mean/scale``,
    ``scale · expit(logit(p) ± t(df) · se / (scale · p(1 − p)))``. Near the middle of the scale it
    equals the t interval to first order; near the ends it is asymmetric, longer towards the middle
    of the scale: ten residents answering seven 100s, two 75s and a 25 (mean 87.5) get
    [58.8, 97.2] instead of the t interval's [70.1, 104.9]. When the mean sits on an end of the
    scale (every answer 0 or every answer 100) the delta method has nothing to work with, and the
    far bound is Wilson's for n/n (0/n): among values on [0, scale] with that mean, all-or-nothing
    answers have the largest variance, so this bound is conservative. Coverage is measured in
    ``tests/test_analysis_intervals.py::test_bounded_index_interval_covers``
    (seeded simulation of 5-level answers, n = 10, 30, 100, means 50–96): 93.4–98.4 % for a
    nominal 95 %, where the symmetric t interval covers 66–95 % and passes 100 in up to 85 % of
    samples near the ceiling.

    Args:
        mean: estimates on [0, scale], any shape.
        se: their standard errors (same unit), broadcastable.
        df: degrees of freedom of the t quantile (np.inf for a normal quantile), broadcastable.
        n: the number behind each estimate, used only for the end-of-scale bound.
        scale: the top of the scale (100 for the index; 1 for a rate).
        confidence: two-sided coverage.

    Returns:
        ``(low, high)`` float arrays in [0, scale]; NaN where any input is NaN or df < 1
        (fewer than two respondents); equal to the mean where ``se == 0`` inside the scale.
    """
    m, s, d, k = np.broadcast_arrays(
        np.asarray(mean, float), np.asarray(se, float), np.asarray(df, float), np.asarray(n, float)
    )
    ok = (d >= 1) & ~np.isnan(m) & ~np.isnan(s)
    df_ok = np.where(ok, d, 1.0)
    uniq, inverse = np.unique(df_ok, return_inverse=True)
    q = np.asarray(stats.t.ppf(0.5 + confidence / 2.0, uniq))[inverse].reshape(df_ok.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = np.clip(m / scale, 0.0, 1.0)
        half = q * s / (scale * p * (1.0 - p))
        centre = special.logit(p)
        low = scale * special.expit(centre - half)
        high = scale * special.expit(centre + half)
    flat = s == 0
    low = np.where(flat, m, low)
    high = np.where(flat, m, high)
    z2 = float(stats.norm.ppf(0.5 + confidence / 2.0)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        wilson = scale * z2 / (k + z2)  # the Wilson bound for 0/n; n/n mirrors it
    low = np.where(p >= 1.0, scale - wilson, np.where(p <= 0.0, 0.0, low))
    high = np.where(p <= 0.0, wilson, np.where(p >= 1.0, scale, high))
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def bounded_standard_errors(
    estimate: ArrayLike,
    low: ArrayLike,
    high: ArrayLike,
    df: ArrayLike,
    *,
    scale: float = 100.0,
    confidence: float = 0.95,
) -> np.ndarray:
    """Standard errors behind `bounded_bounds` intervals (its inverse inside the scale).

    Args:
        estimate, low, high: the estimates and their `bounded_bounds` interval, any shape.
        df: the intervals' degrees of freedom, broadcastable.
        scale, confidence: as for `bounded_bounds`.

    Returns:
        se, NaN where an input is NaN or df < 1. Inside the scale this is exact:
        ``(logit(high) − logit(low)) / (2 t) · scale · p(1 − p)``. For an estimate on an end of
        the scale (the Wilson bound) it is the half-width over t, so that such a unit still
        carries its uncertainty into comparisons and shrinkage instead of a standard error of 0.
    """
    e, lo, hi, d = np.broadcast_arrays(
        np.asarray(estimate, float), np.asarray(low, float), np.asarray(high, float), np.asarray(df, float)
    )
    ok = d >= 1
    q = stats.t.ppf(0.5 + confidence / 2.0, np.where(ok, d, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = e / scale
        inside = (p > 0.0) & (p < 1.0)
        width = special.logit(hi / scale) - special.logit(lo / scale)
        se = np.where(inside, width / (2.0 * q) * scale * p * (1.0 - p), (hi - lo) / (2.0 * q))
    return np.asarray(np.where(ok, se, np.nan))
