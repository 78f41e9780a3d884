"""Small-cell suppression for breakdowns, with complementary suppression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Cells with fewer respondents than this are not published (analysis.md A.5: 5, at least 3).
DEFAULT_K = 5


@dataclass(frozen=True)
class Suppressed:
    """A breakdown table made safe to publish.

    ``published`` is the table with suppressed cells NaN; ``primary`` marks cells with
    0 < n < k; ``complementary`` marks cells hidden only so the primary ones cannot be
    recovered from row and column totals.
    """

    published: np.ndarray
    primary: np.ndarray
    complementary: np.ndarray
    k: int

    @property
    def mask(self) -> np.ndarray:
        """All suppressed cells."""
        return np.asarray(self.primary | self.complementary)


def suppress_cells(counts: np.ndarray, k: int = DEFAULT_K) -> Suppressed:
    """Suppress cells with 0 < n < k and add complementary suppressions.

    Args:
        counts: (rows, cols) respondent counts of a breakdown (e.g. district × age band) whose
            row and column totals are published.
        k: threshold; k >= 2.

    Returns:
        `Suppressed`. Complementary rule: while a row or column has exactly one hidden cell,
        hide its smallest other published cell (a non-zero one if any). Afterwards no line
        has a single hidden cell, so no hidden cell equals "total minus the published rest".
        This is the standard heuristic; it does not solve the full linear-programming audit.
    """
    c = np.asarray(counts)
    if c.ndim != 2 or np.any(c < 0):
        raise ValueError("counts must be a 2-D table of non-negative counts")
    if k < 2:
        raise ValueError("k must be at least 2")
    primary = (c > 0) & (c < k)
    hidden = primary.copy()
    changed = True
    while changed:
        changed = False
        for axis in (1, 0):
            lines = hidden if axis == 1 else hidden.T
            values = c if axis == 1 else c.T
            for i in np.flatnonzero(lines.sum(axis=1) == 1):
                open_cells = np.flatnonzero(~lines[i])
                if open_cells.size == 0:
                    continue
                v = values[i, open_cells].astype(float)
                v[v == 0] = np.inf if np.any(v > 0) else 0  # prefer non-zero partners
                lines[i, open_cells[int(np.argmin(v))]] = True
                changed = True
    published = np.where(hidden, np.nan, c.astype(float))
    return Suppressed(published, primary, hidden & ~primary, k)
