"""AHP weights (analysis.md R23)."""

import numpy as np
import pytest

from analysis import ahp_group, ahp_weights


def test_consistent_matrix_r23():
    """R23: [[1,2,4],[1/2,1,2],[1/4,1/2,1]] → weights 4/7, 2/7, 1/7, λ_max 3, CI = CR = 0."""
    res = ahp_weights(np.array([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]]))
    np.testing.assert_allclose(res.weights, [4 / 7, 2 / 7, 1 / 7], rtol=1e-12)
    assert res.lambda_max == pytest.approx(3.0)
    assert abs(res.ci) < 1e-12 and abs(res.cr) < 1e-12 and res.acceptable


def test_inconsistent_matrix_by_hand():
    """A cycle 1>2, 2>3, 3>1 (each 3×): by symmetry weights are equal; the eigenvalue of a
    circulant with first row (1, 3, 1/3) is 1 + 3 + 1/3 = 13/3, so CI = (13/3 - 3)/2 = 2/3
    and CR = (2/3)/0.58 — far above 0.10."""
    res = ahp_weights(np.array([[1, 3, 1 / 3], [1 / 3, 1, 3], [3, 1 / 3, 1]]))
    np.testing.assert_allclose(res.weights, [1 / 3] * 3)
    assert res.lambda_max == pytest.approx(13 / 3)
    assert res.cr == pytest.approx((2 / 3) / 0.58) and not res.acceptable


def test_group_ahp_geometric_mean():
    a = np.array([[1, 2], [1 / 2, 1]])
    b = np.array([[1, 8], [1 / 8, 1]])
    res = ahp_group([a, b])  # geometric mean of 2 and 8 is 4
    np.testing.assert_allclose(res.weights, [0.8, 0.2])


def test_rejects_non_reciprocal():
    with pytest.raises(ValueError, match="reciprocal"):
        ahp_weights(np.array([[1, 2], [2, 1]]))
