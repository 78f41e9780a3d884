"""Net Promoter Score for 0–10 "would you recommend" items, with its interval."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .intervals import _z

# Reichheld's classes on the 0–10 scale: 9–10 promote, 0–6 detract (6 *is* a detractor).
PROMOTER_MIN = 9
DETRACTOR_MAX = 6
SCALE_MAX = 10


@dataclass(frozen=True)
class NPSResult:
    """NPS in points (−100..100) with its interval and class counts; unpacks as ``(low, high)``."""

    estimate: float
    low: float
    high: float
    n: int
    method: str
    promoters: int
    passives: int
    detractors: int

    def __iter__(self) -> Iterator[float]:
        yield self.low
        yield self.high


def nps(values: np.ndarray, confidence: float = 0.95) -> NPSResult:
    """Net Promoter Score = 100 × (share of promoters − share of detractors), with a Wald interval.

    Args:
        values: answers on the 0–10 scale, any shape (flattened); NaN = no answer or "don't know",
            excluded from n. Other values must be integers 0..10 (ValueError otherwise).
        confidence: two-sided coverage.

    Returns:
        `NPSResult` in points. The promoter and detractor shares p_P, p_D come from one
        multinomial sample, so Var(p_P − p_D) = [p_P + p_D − (p_P − p_D)²] / n (the variance of a
        difference of multinomial proportions); the interval is estimate ± z·100·sqrt(Var),
        clipped to [−100, 100]. n = 0 gives NaN everywhere; n = 1 NaN bounds. With every answer
        in one class the variance is 0 and the interval collapses to the point: read small-n
        NPS with care (the report's minimum-n rule applies).
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[~np.isnan(v)]
    if np.any((v != np.round(v)) | (v < 0) | (v > SCALE_MAX)):
        raise ValueError(f"NPS values must be integers 0..{SCALE_MAX} or NaN")
    z = _z(confidence)
    n = v.size
    promoters = int(np.count_nonzero(v >= PROMOTER_MIN))
    detractors = int(np.count_nonzero(v <= DETRACTOR_MAX))
    passives = n - promoters - detractors
    if n == 0:
        return NPSResult(np.nan, np.nan, np.nan, 0, "wald", 0, 0, 0)
    p_p, p_d = promoters / n, detractors / n
    est = 100.0 * (p_p - p_d)
    if n < 2:
        return NPSResult(est, np.nan, np.nan, n, "wald", promoters, passives, detractors)
    half = 100.0 * z * np.sqrt(max(p_p + p_d - (p_p - p_d) ** 2, 0.0) / n)
    low, high = max(est - half, -100.0), min(est + half, 100.0)
    return NPSResult(est, float(low), float(high), n, "wald", promoters, passives, detractors)
