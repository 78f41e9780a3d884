"""Unit means standardised to one population: each unit's respondents raked to common margin shares.

Units are compared as if each had been rated by the same mix of residents (e.g. the district's age
and sex structure from the census): a community whose door-to-door sample leans old is neither
rewarded nor punished for it. This is direct standardisation done by raking (`weighting.rake`), so
several margins can be used at once without the joint table, and the standard error is R
``survey``'s linearised one for a raked design (`Design.mean`).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .design import Design
from .intervals import bounded_bounds
from .weighting import RakeWarning, rake, trim_weights

# Raking stops when no cell of the joint sample table moves by more than this fraction of the
# unit's n between passes (R ``rake`` reads epsilon < 1 the same way). R's default (1 respondent)
# is too coarse for sealed numbers printed to one decimal.
EPSILON = 1e-9
MAX_PASSES = 200


@dataclass(frozen=True)
class StandardisedMeans:
    """Per-unit means of a `standardised_means` call; every array has shape (n_units,).

    ``estimate``/``se``/``low``/``high``: the raked mean, its linearised standard error and the
    Student-t interval ``estimate ± t(n − 1)·se`` (with ``scale``, the logit-t interval of
    `intervals.bounded_bounds`, inside [0, scale]); NaN where n < 2. ``n``: respondents with a
    value; ``n_eff``: Kish's effective n of the final weights (= n when unweighted).
    ``weighted``: False where the unit could not be raked, and then the numbers are the plain
    unweighted mean and t interval; ``problem`` says why ("" where weighted), e.g.
    ``"age_band=70-plus"`` for a level with a population share but no respondent.
    """

    estimate: np.ndarray
    se: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray
    n_eff: np.ndarray
    weighted: np.ndarray
    problem: tuple[str, ...]


def standardised_means(
    y: np.ndarray,
    unit: np.ndarray,
    n_units: int,
    margins: Mapping[str, tuple[np.ndarray, Mapping[Any, float]]],
    *,
    confidence: float = 0.95,
    max_weight: float | None = None,
    scale: float | None = None,
) -> StandardisedMeans:
    """Mean of `y` per unit, each unit's respondents raked to the same population shares.

    Args:
        y: (n,) values, e.g. respondents' overall composite index (0–100); NaN = no value, and
            such respondents take no part (neither in the mean nor in the raking).
        unit: (n,) int unit of each respondent, 0..n_units-1.
        n_units: number of units (units may have no respondents: all NaN, n 0).
        margins: name → (labels (n,), {level: population share}). Shares are normalised to sum
            to 1. A label that is not a level (None for "not answered") is its own category,
            kept at its sample share: the answered respondents are raked to the shares, those
            who did not answer keep their weight in total.
        confidence: two-sided coverage of the intervals.
        max_weight: if given, weights above this × the mean weight are trimmed after raking
            (R ``trimWeights``, strict; the excess is shared among the others), so that a
            handful of respondents in a rare group cannot carry a unit's score.
        scale: when `y` lies on [0, scale] (100 for the index), intervals are built on the logit
            scale and stay inside it; None gives the symmetric t interval.

    Returns:
        `StandardisedMeans`. A unit is left unweighted (``weighted`` False) when a level with a
        positive share has no respondent in it, or raking does not converge.
    """
    y = np.asarray(y, dtype=float)
    unit = np.asarray(unit)
    if y.ndim != 1 or unit.shape != y.shape:
        raise ValueError("y and unit must both have shape (n,)")
    shares = {name: _normalised(name, levels) for name, (_, levels) in margins.items()}
    labels = {name: np.asarray(lab, dtype=object) for name, (lab, _) in margins.items()}
    for name, lab in labels.items():
        if lab.shape != y.shape:
            raise ValueError(f"labels of margin {name!r} must have shape {y.shape}")
    out = {k: np.full(n_units, np.nan) for k in ("estimate", "se", "low", "high", "n_eff")}
    n = np.zeros(n_units, dtype=np.int64)
    weighted = np.zeros(n_units, dtype=bool)
    problems = [""] * n_units
    valid = ~np.isnan(y)
    for u in range(n_units):
        rows = np.flatnonzero(valid & (unit == u))
        n[u] = rows.size
        if rows.size < 2:
            continue
        design, problems[u] = _raked(
            Design(weights=np.ones(rows.size)), {k: lab[rows] for k, lab in labels.items()}, shares
        )
        if not problems[u] and max_weight is not None:
            design = trim_weights(design, max_ratio=max_weight, strict=True)[0]
        weighted[u] = not problems[u]
        m = design.mean(y[rows], confidence)
        out["estimate"][u], out["se"][u], out["n_eff"][u] = m.estimate, m.se, m.n_eff
        if scale is not None:
            low, high = bounded_bounds(m.estimate, m.se, rows.size - 1, rows.size, scale=scale, confidence=confidence)
            out["low"][u], out["high"][u] = float(low), float(high)
        else:
            half = float(stats.t.ppf(0.5 + confidence / 2.0, rows.size - 1)) * m.se
            out["low"][u], out["high"][u] = m.estimate - half, m.estimate + half
    return StandardisedMeans(
        out["estimate"], out["se"], out["low"], out["high"], n, out["n_eff"], weighted, tuple(problems)
    )


def _normalised(name: str, levels: Mapping[Hashable, float]) -> dict[Hashable, float]:
    total = float(sum(levels.values()))
    if not levels or total <= 0 or any(v < 0 for v in levels.values()):
        raise ValueError(f"margin {name!r} needs non-negative shares with a positive sum")
    return {level: float(v) / total for level, v in levels.items()}


def _raked(
    design: Design, labels: Mapping[str, np.ndarray], shares: Mapping[str, Mapping[Hashable, float]]
) -> tuple[Design, str]:
    """The design raked to the shares × the unit's answered count, or (the design, why not)."""
    margins = {}
    for name, lab in labels.items():
        answered = np.array([x in shares[name] for x in lab])
        for level, share in shares[name].items():
            if share > 0 and not np.any(lab[answered] == level):
                return design, f"{name}={level}"
        missing = object()  # one category for every label that is not a level
        cells = lab.copy()
        cells[~answered] = missing
        totals = {level: share * answered.sum() for level, share in shares[name].items()}
        if not answered.all():
            totals[missing] = float((~answered).sum())
        margins[name] = (cells, totals)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RakeWarning)
        try:
            return rake(design, margins, epsilon=EPSILON, max_iter=MAX_PASSES), ""
        except RakeWarning:
            return design, "no convergence"
