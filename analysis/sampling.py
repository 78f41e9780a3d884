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

    Raises:
        ValueError: naming the argument, for a margin, p or confidence outside (0, 1) or NaN, or
        a population that is negative or not a whole number.
    """
    for name, value in (("margin", margin), ("p", p), ("confidence", confidence)):
        if not 0 < value < 1:  # also NaN
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    if population is not None and (
        isinstance(population, bool) or not float(population).is_integer() or population < 0
    ):
        raise ValueError(f"population must be a whole number >= 0 (0 or None: unknown), got {population!r}")
    z = stats.norm.ppf(0.5 + confidence / 2)
    n0 = z * z * p * (1 - p) / (margin * margin)
    if not population:
        return math.ceil(n0)
    # Round first to 9 places: 384.99999999997 must not become 385 + 1.
    return min(population, math.ceil(round(n0 / (1 + (n0 - 1) / population), 9)))
