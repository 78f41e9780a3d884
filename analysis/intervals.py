"""Confidence intervals for rates and means: the `Estimate` record every score carries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats

PROPORTION_METHODS = ("wilson", "agresti_coull", "clopper_pearson", "jeffreys", "wald")


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
        `Estimate` with the rate (0–1) and bounds; NaN everything when n == 0.
        Scalar input gives float fields, array input array fields.
    """
    low, high = proportion_bounds(np.asarray(successes), np.asarray(n), method, confidence)
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(m > 0, x / m, np.nan)
    if np.ndim(est) == 0:
        return Estimate(float(est), float(low), float(high), int(m), method)
    return Estimate(est, low, high, m.astype(int), method)  # type: ignore[arg-type]


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
