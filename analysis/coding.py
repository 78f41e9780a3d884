"""Coding of scale answers: ranks to a 0–100 index and to 满意率 / top-box / 差评 indicators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class IndexMapping:
    """How scale levels map to a 0–100 index; reports name the mapping that produced a score.

    ``points[0]`` is the index for the best level (rank 1), ``points[-1]`` for the worst.
    """

    name: str
    points: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ValueError("a mapping needs at least two levels")
        if any(not 0.0 <= p <= 100.0 for p in self.points):
            raise ValueError(f"mapping {self.name!r}: points must lie in [0, 100]")


def linear_mapping(n_levels: int) -> IndexMapping:
    """Return the linear (ACSI-style) mapping ``S = (k - r)/(k - 1) × 100`` for k levels."""
    k = n_levels
    return IndexMapping("linear", tuple(100.0 * (k - r) / (k - 1) for r in range(1, k + 1)))


# Rows validated per pass; bounds temporaries whatever the number of responses.
_CHUNK_ROWS = 32_768

LINEAR_5 = linear_mapping(5)  # 100 / 75 / 50 / 25 / 0
# A common local point table (好差评 star scores ×20); localities set their own, so it is data.
POINTS_100_20 = IndexMapping("points-100-20", (100.0, 80.0, 60.0, 40.0, 20.0))


@dataclass(frozen=True)
class CodedItems:
    """Answers coded for scoring: (n_responses, n_items) arrays, NaN where no valid answer.

    Only the ranks are stored (one array the size of the input); the derived arrays
    ``index``, ``satisfied``, ``top`` and ``bad`` are computed on first access so that
    scoring a million responses does not hold five copies of the data.
    """

    rank: np.ndarray  # float, 1 = best … n_levels = worst after reversal; NaN = missing
    dont_know: np.ndarray  # bool, "don't know / not applicable" (rank is NaN there)
    mapping: IndexMapping
    n_levels: int
    satisfied_levels: int
    top_levels: int
    bad_levels: int

    @property
    def mapping_name(self) -> str:
        """Name of the index mapping, for the report's audit trail."""
        return self.mapping.name

    @property
    def shape(self) -> tuple[int, int]:
        """(n_responses, n_items)."""
        return self.rank.shape  # type: ignore[return-value]

    @cached_property
    def index(self) -> np.ndarray:
        """0–100 index per answer (float, NaN where missing)."""
        return _readonly(self.points_lookup()[_codes(self.rank)])

    @cached_property
    def satisfied(self) -> np.ndarray:
        """1.0 when rank <= satisfied_levels (基本满意 and above), 0.0 otherwise, NaN missing."""
        return _readonly(_indicator(self.rank, self.rank <= self.satisfied_levels))

    @cached_property
    def top(self) -> np.ndarray:
        """1.0 for the top `top_levels` levels (top-2-box), 0.0 otherwise, NaN missing."""
        return _readonly(_indicator(self.rank, self.rank <= self.top_levels))

    @cached_property
    def bad(self) -> np.ndarray:
        """1.0 for the worst `bad_levels` levels (差评), 0.0 otherwise, NaN missing."""
        return _readonly(_indicator(self.rank, self.rank > self.n_levels - self.bad_levels))

    def points_lookup(self) -> np.ndarray:
        """Index value by integer code: code 0 (missing) -> NaN, code r -> points[r-1]."""
        return np.concatenate(([np.nan], np.asarray(self.mapping.points, dtype=float)))


def _codes(rank: np.ndarray) -> np.ndarray:
    return np.nan_to_num(rank, nan=0.0).astype(np.intp)


def _indicator(rank: np.ndarray, hit: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(rank), np.nan, hit.astype(float))


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def code_items(
    levels: np.ndarray,
    *,
    dont_know: np.ndarray | None = None,
    n_levels: int = 5,
    satisfied_levels: int = 3,
    top_levels: int = 2,
    bad_levels: int = 2,
    reverse: Sequence[bool] | np.ndarray | None = None,
    mapping: IndexMapping = LINEAR_5,
) -> CodedItems:
    """Code scale answers for scoring.

    Args:
        levels: float array (n_responses, n_items): rank of the chosen level, 1 = best
            (非常满意 / 安全) … n_levels = worst; NaN = no valid answer (skipped or don't know).
        dont_know: bool array of the same shape marking "don't know / not applicable"
            (不清楚/不了解). Those cells must be NaN in `levels`: "don't know" is missing, never
            a low score, and is counted separately for the awareness rate. None = no such cells.
        n_levels: number of scale levels (5 for 好差评, 4 for 安全感).
        satisfied_levels: ranks 1..satisfied_levels count as satisfied (3 = 基本满意 and above).
        top_levels: ranks 1..top_levels form the top box (2 = top-2-box).
        bad_levels: the worst `bad_levels` ranks are a bad rating (2 = 不满意 + 非常不满意).
        reverse: bool per item; for a reverse-worded item rank r becomes n_levels + 1 - r.
        mapping: index mapping with `n_levels` points, best level first.

    Returns:
        Frozen `CodedItems`. Raises ValueError on ranks outside 1..n_levels, non-integer
        ranks, a "don't know" cell holding a rank, or a mapping of the wrong length.
    """
    rank = np.array(levels, dtype=float, copy=True)
    if rank.ndim != 2:
        raise ValueError(f"levels must be 2-D (n_responses, n_items), got shape {rank.shape}")
    if len(mapping.points) != n_levels:
        raise ValueError(
            f"mapping {mapping.name!r} has {len(mapping.points)} points for {n_levels} levels"
        )
    for name, k in (("satisfied", satisfied_levels), ("top", top_levels), ("bad", bad_levels)):
        if not 1 <= k <= n_levels:
            raise ValueError(f"{name}_levels must be in 1..{n_levels}, got {k}")
    if dont_know is None:
        dk = np.zeros(rank.shape, dtype=bool)
    else:
        dk = np.array(dont_know, dtype=bool, copy=True)
        if dk.shape != rank.shape:
            raise ValueError(f"dont_know shape {dk.shape} differs from levels {rank.shape}")
    # validate in row chunks so temporaries stay small for a million responses
    for s in range(0, rank.shape[0], _CHUNK_ROWS):
        r = rank[s : s + _CHUNK_ROWS]
        answered = ~np.isnan(r)
        bad = answered & ((r != np.round(r)) | (r < 1) | (r > n_levels))
        if np.any(bad):
            raise ValueError(f"levels must be integers in 1..{n_levels} or NaN")
        if np.any(dk[s : s + _CHUNK_ROWS] & answered):
            raise ValueError("a cell marked dont_know also holds a rank; it must be NaN")
    if reverse is not None:
        rev = np.asarray(reverse, dtype=bool)
        if rev.shape != (rank.shape[1],):
            raise ValueError(f"reverse needs one flag per item ({rank.shape[1]})")
        rank[:, rev] = n_levels + 1 - rank[:, rev]
    return CodedItems(
        rank=_readonly(rank),
        dont_know=_readonly(dk),
        mapping=mapping,
        n_levels=n_levels,
        satisfied_levels=satisfied_levels,
        top_levels=top_levels,
        bad_levels=bad_levels,
    )
