"""How many responses a unit needs: sample size for a proportion, with finite-population correction."""

from __future__ import annotations

import math

from scipy import stats


def sample_size_for_proportion(
    margin: float, population: int | None = None, *, confidence: float = 0.95, p: float = 0.5
) -> int:
    """Responses needed so a rate's confidence interval has half-width `margin`.

    Cochran's formula n0 = z² p (1 − p) / margin², then the finite-population correction
    n = n0 / (1 + (n0 − 1) / N) when the population N is known. p = 0.5 is the conservative
    choice when the rate is unknown (it maximises p (1 − p)).

    Args:
        margin: half-width of the interval as a proportion, 0 < margin < 1 (0.05 = ±5 points).
        population: adults in the unit (N); None or 0 for an effectively infinite population.
        confidence: two-sided coverage.
        p: the expected proportion, 0 < p < 1.

    Returns:
        The sample size, rounded up; never more than the population.
    """
    if not 0 < margin < 1 or not 0 < p < 1 or not 0 < confidence < 1:
        raise ValueError("margin, p and confidence must lie strictly between 0 and 1")
    z = stats.norm.ppf(0.5 + confidence / 2)
    n0 = z * z * p * (1 - p) / (margin * margin)
    if not population:
        return math.ceil(n0)
    # Round first to 9 places: 384.99999999997 must not become 385 + 1.
    return min(population, math.ceil(round(n0 / (1 + (n0 - 1) / population), 9)))
