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
# Codes are one byte: 0 = missing, 1..n_levels, n_levels + 1 = don't know.
_MAX_LEVELS = 254

LINEAR_5 = linear_mapping(5)  # 100 / 75 / 50 / 25 / 0
# A common local point table (好差评 star scores ×20); localities set their own, so it is data.
POINTS_100_20 = IndexMapping("points-100-20", (100.0, 80.0, 60.0, 40.0, 20.0))


@dataclass(frozen=True)
class CodedItems:
    """Answers coded for scoring: one byte per answer, (n_responses, n_items).

    ``code`` holds 0 = no answer, 1..n_levels = rank after reversal (1 = best) and
    n_levels + 1 = "don't know". One byte per cell (a ninth of the float input) is all that
    is stored, so scoring a million responses holds no float copy of the data; ``rank``,
    ``dont_know``, ``index``, ``satisfied``, ``top`` and ``bad`` are derived on first access.
    """

    code: np.ndarray  # uint8, see above; read-only
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
        rows, columns = self.code.shape
        return rows, columns

    @cached_property
    def rank(self) -> np.ndarray:
        """Float rank, 1 = best … n_levels = worst after reversal; NaN = missing or don't know."""
        return _readonly(self.lookup(np.arange(1.0, self.n_levels + 1))[self.code])

    @cached_property
    def dont_know(self) -> np.ndarray:
        """Bool, "don't know / not applicable" (rank is NaN there)."""
        return _readonly(self.code == self.n_levels + 1)

    @cached_property
    def index(self) -> np.ndarray:
        """0–100 index per answer (float, NaN where missing)."""
        return _readonly(self.lookup(self.mapping.points)[self.code])

    @cached_property
    def satisfied(self) -> np.ndarray:
        """1.0 when rank <= satisfied_levels (基本满意 and above), 0.0 otherwise, NaN missing."""
        return _readonly(self.lookup(self.level_flags("satisfied"))[self.code])

    @cached_property
    def top(self) -> np.ndarray:
        """1.0 for the top `top_levels` levels (top-2-box), 0.0 otherwise, NaN missing."""
        return _readonly(self.lookup(self.level_flags("top"))[self.code])

    @cached_property
    def bad(self) -> np.ndarray:
        """1.0 for the worst `bad_levels` levels (差评), 0.0 otherwise, NaN missing."""
        return _readonly(self.lookup(self.level_flags("bad"))[self.code])

    def level_flags(self, rate: str) -> np.ndarray:
        """1.0/0.0 per level (rank 1 first) for the rate "satisfied", "top" or "bad"."""
        r = np.arange(1, self.n_levels + 1)
        hit = {
            "satisfied": r <= self.satisfied_levels,
            "top": r <= self.top_levels,
            "bad": r > self.n_levels - self.bad_levels,
        }[rate]
        return hit.astype(float)

    def lookup(self, per_level: Sequence[float] | np.ndarray, missing: float = np.nan) -> np.ndarray:
        """Table indexed by code: `missing` for codes 0 and n_levels + 1, `per_level` between."""
        return np.concatenate(([missing], np.asarray(per_level, dtype=float), [missing]))

    def points_lookup(self) -> np.ndarray:
        """Index value by code: missing and "don't know" -> NaN, code r -> points[r-1]."""
        return self.lookup(self.mapping.points)


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
    src = np.asarray(levels, dtype=float)
    if src.ndim != 2:
        raise ValueError(f"levels must be 2-D (n_responses, n_items), got shape {src.shape}")
    if not 2 <= n_levels <= _MAX_LEVELS:
        raise ValueError(f"n_levels must be in 2..{_MAX_LEVELS}, got {n_levels}")
    if len(mapping.points) != n_levels:
        raise ValueError(f"mapping {mapping.name!r} has {len(mapping.points)} points for {n_levels} levels")
    for name, k in (("satisfied", satisfied_levels), ("top", top_levels), ("bad", bad_levels)):
        if not 1 <= k <= n_levels:
            raise ValueError(f"{name}_levels must be in 1..{n_levels}, got {k}")
    dk_all = None if dont_know is None else np.asarray(dont_know, dtype=bool)
    if dk_all is not None and dk_all.shape != src.shape:
        raise ValueError(f"dont_know shape {dk_all.shape} differs from levels {src.shape}")
    rev = np.zeros(src.shape[1], dtype=bool) if reverse is None else np.asarray(reverse, dtype=bool)
    if rev.shape != (src.shape[1],):
        raise ValueError(f"reverse needs one flag per item ({src.shape[1]})")
    code = np.empty(src.shape, dtype=np.uint8)
    # validate and code in row chunks so temporaries stay small for a million responses
    for s in range(0, src.shape[0], _CHUNK_ROWS):
        r = src[s : s + _CHUNK_ROWS]
        answered = ~np.isnan(r)
        bad = answered & ((r != np.round(r)) | (r < 1) | (r > n_levels))
        if np.any(bad):
            raise ValueError(f"levels must be integers in 1..{n_levels} or NaN")
        c = np.where(answered, r, 0.0).astype(np.uint8)
        if rev.any():
            c[:, rev] = np.where(answered[:, rev], n_levels + 1 - c[:, rev], 0)
        if dk_all is not None:
            dk = dk_all[s : s + _CHUNK_ROWS]
            if np.any(dk & answered):
                raise ValueError("a cell marked dont_know also holds a rank; it must be NaN")
            c[dk] = n_levels + 1
        code[s : s + _CHUNK_ROWS] = c
    return CodedItems(
        code=_readonly(code),
        mapping=mapping,
        n_levels=n_levels,
        satisfied_levels=satisfied_levels,
        top_levels=top_levels,
        bad_levels=bad_levels,
    )
