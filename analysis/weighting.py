"""Post-stratification, raking and weight trimming, returning calibrated `Design`s.

Each step records what R's ``survey`` records in ``design$postStrata`` so that standard errors
account for the calibration (`design.Design.variance`).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from .design import Calibration, Design


class RakeWarning(UserWarning):
    """Raking stopped at `max_iter` before the margins converged."""


@dataclass(frozen=True)
class RakeReport:
    """How raking went: full passes over the margins, convergence and the worst margin gap."""

    iterations: int
    converged: bool
    max_margin_error: float  # max |weighted margin total - population total|


@dataclass(frozen=True)
class TrimReport:
    """What trimming did: the cap, share of observations capped, and passes needed."""

    cap: float
    trimmed_share: float
    iterations: int


def _cells(labels: np.ndarray, totals: Mapping[Hashable, float], n: int) -> tuple[np.ndarray, np.ndarray]:
    lab = np.asarray(labels, dtype=object)
    if lab.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {lab.shape}")
    keys = list(totals)
    pos = {k: i for i, k in enumerate(keys)}
    missing = {x for x in lab if x not in pos}
    if missing:
        raise ValueError(f"labels with no population total: {sorted(map(str, missing))}")
    cells = np.fromiter((pos[x] for x in lab), dtype=np.intp, count=n)
    return cells, np.array([float(totals[k]) for k in keys])


def _post_step(w: np.ndarray, cells: np.ndarray, pop: np.ndarray) -> np.ndarray:
    have = np.bincount(cells, w, minlength=pop.size)
    empty = (have == 0) & (pop > 0)
    if np.any(empty):
        raise ValueError("a post-stratum with a population total has no sample weight")
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(have > 0, pop / have, 0.0)
    return np.asarray(w * g[cells])


def post_stratify(design: Design, labels: np.ndarray, totals: Mapping[Hashable, float]) -> Design:
    """Post-stratify: scale weights in each cell so they sum to its population total.

    Args:
        design: the design to calibrate.
        labels: cell label per observation (n,), e.g. "莲都|18-39|女" for district × age × sex.
        totals: population count per label. Every sample label needs a total, and every
            total > 0 needs sample weight (R ``postStratify`` with ``partial=FALSE``).

    Returns:
        A new `Design` whose variances use residuals from the cell means (R ``svyrecvar``).
    """
    cells, pop = _cells(labels, totals, design.n)
    old = design.w
    new = _post_step(old, cells, pop)
    return design.with_weights(new, Calibration("post", (cells,), (new,), (old,)))


def rake(
    design: Design,
    margins: Mapping[str, tuple[np.ndarray, Mapping[Hashable, float]]],
    *,
    epsilon: float = 1.0,
    max_iter: int = 10,
) -> Design:
    """Rake (iterative proportional fitting) the weights to several population margins.

    Args:
        design: the design to calibrate.
        margins: name -> (labels (n,), {level: population total}).
        epsilon: stop when no cell of the joint sample table of all margin variables moves by
            more than this between passes; below 1 it is a fraction of the total weight.
            With `max_iter` these are R ``rake``'s defaults, so results match R out of the box.
        max_iter: maximum passes; a `RakeWarning` is issued when they run out.

    Returns:
        A new `Design`; ``design.calibration[-1].report`` is a `RakeReport`. Standard errors
        follow R: influence values are swept over the margins ten times before the
        stratified PSU variance.
    """
    if not margins:
        raise ValueError("rake needs at least one margin")
    parsed = [_cells(labels, totals, design.n) for labels, totals in margins.values()]
    joint = np.unique(np.stack([c for c, _ in parsed], axis=1), axis=0, return_inverse=True)[1]
    joint = np.asarray(joint).ravel()
    w = design.w.copy()
    tol = epsilon * w.sum() if epsilon < 1 else epsilon
    old_table = np.bincount(joint, w)
    converged, passes = False, 0
    while passes < max_iter:
        steps = []
        for cells, pop in parsed:
            w = _post_step(w, cells, pop)
            steps.append(w)
        passes += 1
        new_table = np.bincount(joint, w, minlength=old_table.size)
        if np.max(np.abs(old_table - new_table)) < tol:
            converged = True
            break
        old_table = new_table
    if not converged:
        warnings.warn(f"raking did not converge after {passes} passes", RakeWarning, stacklevel=2)
    gap = max(float(np.max(np.abs(np.bincount(c, w, minlength=p.size) - p))) for c, p in parsed)
    step = Calibration(
        "rake",
        tuple(c for c, _ in parsed),
        tuple(steps),
        report=RakeReport(passes, converged, gap),
    )
    return design.with_weights(w, step)


def trim_weights(
    design: Design,
    *,
    max_ratio: float | None = None,
    upper: float = np.inf,
    lower: float = -np.inf,
    strict: bool = False,
    max_iter: int = 1000,
) -> tuple[Design, TrimReport]:
    """Trim weights into [lower, upper] as R ``trimWeights`` does, keeping the total weight.

    Args:
        design: the design whose weights to trim.
        max_ratio: if given, ``upper = max_ratio × mean weight`` (e.g. 5, analysis.md A.4).
        upper, lower: absolute bounds.
        strict: repeat until no weight lies outside (R ``strict=TRUE``); otherwise one pass,
            after which weights that received the redistributed excess may exceed `upper`.
        max_iter: safety bound on strict passes.

    Returns:
        (new design, `TrimReport`). The trimmed-off amount is shared *equally* among the
        weights that were inside the bounds (R's rule). Calibration steps are kept for the
        variance, as R keeps ``postStrata``; trimming moves calibrated margins slightly.
    """
    w = design.w.copy()
    if max_ratio is not None:
        if max_ratio <= 1:
            raise ValueError("max_ratio must exceed 1")
        upper = max_ratio * float(w.mean())
    touched = np.zeros(w.size, dtype=bool)
    passes = 0
    while passes < (max_iter if strict else 1):
        outside = (w < lower) | (w > upper)
        if not np.any(outside):
            break
        passes += 1
        touched |= outside
        clipped = np.clip(w, lower, upper)
        w = np.where(outside, clipped, clipped + np.sum(w - clipped) / np.sum(~outside))
    report = TrimReport(float(upper), float(touched.mean()), passes)
    return replace(design, weights=w), report
