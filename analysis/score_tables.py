"""Result records of `score_units`: a `Score` per unit × item / dimension / overall."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .composites import METRICS
from .intervals import Estimate


@dataclass(frozen=True)
class Score:
    """One published number set for one unit and one item, dimension or overall.

    For an item, ``n`` counts valid answers and ``n_dont_know`` "don't know" answers.
    For a composite, ``n`` counts respondents with at least one valid answer among its items
    and ``n_dont_know`` counts "don't know" *answers* to its items. ``awareness`` is the share
    of answers that were not "don't know" (its ``n`` = valid + don't-know answers).
    Rates are 0–1, the index 0–100. When ``suppressed`` (n < min_n) all estimates are NaN.
    """

    n: int
    n_dont_know: int
    awareness: Estimate
    index: Estimate
    satisfaction: Estimate
    top: Estimate
    bad: Estimate
    suppressed: bool
    small_sample: bool


@dataclass(frozen=True)
class ScoreTable:
    """Scores of one level (items, dimensions or overall) as arrays over units × columns.

    ``values[u, c, m]`` holds (estimate, low, high) for metric ``METRICS[m]``; ``n`` and
    ``n_dont_know`` are int arrays (n_units, n_cols); ``answers`` counts valid + don't-know
    answers (the awareness denominator).
    """

    names: tuple[str, ...]
    n: np.ndarray
    n_dont_know: np.ndarray
    answers: np.ndarray
    values: np.ndarray  # (n_units, n_cols, 5, 3)
    methods: tuple[str, ...]  # interval method per metric
    min_n: int
    small_n: int

    def score(self, unit: int, col: int) -> Score:
        """Build the `Score` record of one unit and column."""
        n = int(self.n[unit, col])
        ests = {}
        for k, m in enumerate(METRICS):
            estimate, low, high = (float(v) for v in self.values[unit, col, k])
            count = int(self.answers[unit, col]) if m == "awareness" else n
            ests[m] = Estimate(estimate, low, high, n=count, method=self.methods[k])
        return Score(
            n=n,
            n_dont_know=int(self.n_dont_know[unit, col]),
            suppressed=n < self.min_n,
            small_sample=n < self.small_n,
            **ests,
        )


@dataclass(frozen=True)
class UnitScores:
    """All scores of one scoring run, plus what is needed to reproduce it."""

    n_units: int
    items: ScoreTable
    dimensions: ScoreTable
    overall: ScoreTable
    level_counts: np.ndarray  # (n_units, n_items, n_levels) answers per level, rank 1 first
    mapping_name: str
    item_weights: np.ndarray  # (n_items, D) normalised item weights per dimension
    dimension_weights: np.ndarray  # (D,) normalised
    confidence: float
    n_boot: int
    seed: int
    composite_interval: str = "linearised"  # "linearised", "bootstrap" or "none"

    def item(self, unit: int, item: int) -> Score:
        """Score of one item in one unit."""
        return self.items.score(unit, item)

    def dimension(self, unit: int, dimension: int | str) -> Score:
        """Score of one dimension (by position or name) in one unit."""
        d = self.dimensions.names.index(dimension) if isinstance(dimension, str) else dimension
        return self.dimensions.score(unit, d)

    def overall_score(self, unit: int) -> Score:
        """Overall composite score of one unit."""
        return self.overall.score(unit, 0)

    def rows(self) -> Iterator[tuple[int, str, str, Score]]:
        """Yield (unit, level, name, Score), level in "item" / "dimension" / "overall"."""
        for u in range(self.n_units):
            for level, table in (
                ("item", self.items),
                ("dimension", self.dimensions),
                ("overall", self.overall),
            ):
                for c, name in enumerate(table.names):
                    yield u, level, name, table.score(u, c)
