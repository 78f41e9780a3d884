"""AHP (Saaty) weights from pairwise comparisons, with the consistency ratio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Saaty's random consistency index RI for n = 1..10 (Saaty 1980).
RANDOM_INDEX = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49)
# Saaty's rule: judgements with CR >= 0.10 are too inconsistent to use.
MAX_CONSISTENCY_RATIO = 0.10


@dataclass(frozen=True)
class AHPResult:
    """Weights (n,) summing to 1, λ_max, CI = (λ_max - n)/(n - 1), CR = CI/RI."""

    weights: np.ndarray
    lambda_max: float
    ci: float
    cr: float
    acceptable: bool  # CR < 0.10


def ahp_weights(matrix: np.ndarray) -> AHPResult:
    """Derive weights from a reciprocal pairwise-comparison matrix (principal eigenvector).

    Args:
        matrix: (n, n) positive, ``a[i, j]`` = how much more important i is than j (1–9
            scale), ``a[j, i] = 1/a[i, j]``; n <= 10 (Saaty's RI table).
    """
    a = np.asarray(matrix, dtype=float)
    n = a.shape[0]
    if a.shape != (n, n) or not 1 <= n <= len(RANDOM_INDEX) or np.any(~(a > 0)):
        raise ValueError("need a positive square matrix with 1..10 rows")
    if not np.allclose(a * a.T, 1.0):
        raise ValueError("matrix must be reciprocal: a[j, i] = 1/a[i, j]")
    values, vectors = np.linalg.eig(a)
    top = int(np.argmax(values.real))
    w = np.abs(vectors[:, top].real)
    w = w / w.sum()
    lam = float(values[top].real)
    ci = (lam - n) / (n - 1) if n > 2 else 0.0
    cr = ci / RANDOM_INDEX[n - 1] if n > 2 else 0.0
    return AHPResult(w, lam, ci, cr, cr < MAX_CONSISTENCY_RATIO)


def ahp_group(matrices: Sequence[np.ndarray]) -> AHPResult:
    """Combine several experts' matrices by their element-wise geometric mean, then weigh."""
    stack = np.stack([np.asarray(m, dtype=float) for m in matrices])
    return ahp_weights(np.exp(np.log(stack).mean(axis=0)))
