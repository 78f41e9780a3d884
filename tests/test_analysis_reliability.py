"""Reliability against R psych 2.2.9 (R 4.2.2): tests/data/r_reference/stats.json.

Data: tests/data/r_reference/reliability_data.csv (tests/r/make_reliability_data.py),
200 respondents × 6 Likert items with 5 % missing. R: tests/r/make_stats_reference.R.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import cronbach_alpha, mcdonald_omega, one_factor_loadings

DATA = Path(__file__).parent / "data" / "r_reference"
REF = json.loads((DATA / "stats.json").read_text())
X = np.genfromtxt(DATA / "reliability_data.csv", delimiter=",", skip_header=1)


def test_alpha_pairwise_matches_psych():
    ref = REF["alpha_pairwise"]
    r = cronbach_alpha(X)
    assert r.alpha == pytest.approx(ref["alpha"], rel=1e-12)
    assert (r.low, r.high) == pytest.approx((ref["low"], ref["high"]), rel=1e-10)
    assert r.n == ref["n"] and r.k == 6
    np.testing.assert_allclose(r.alpha_if_deleted, ref["drop"], rtol=1e-10)
    np.testing.assert_allclose(r.item_rest, ref["r_drop"], rtol=1e-10)


def test_alpha_listwise_matches_psych():
    ref = REF["alpha_listwise"]
    r = cronbach_alpha(X, missing="listwise")
    assert r.alpha == pytest.approx(ref["alpha"], rel=1e-12)
    assert (r.low, r.high) == pytest.approx((ref["low"], ref["high"]), rel=1e-10)
    assert r.n == ref["n"]


def test_omega_matches_psych_to_fit_tolerance():
    """psych fits minres with optim; loadings agree to 1e-4 (analysis.md: iterative fits)."""
    np.testing.assert_allclose(one_factor_loadings(X), REF["omega"]["loadings"], atol=1e-4)
    assert mcdonald_omega(X) == pytest.approx(REF["omega"]["omega_total"], abs=1e-5)


def test_alpha_by_hand():
    """Items (1,2,3), (2,3,4)+... : two identical items give α = 1; var 1, cov 1."""
    items = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    assert cronbach_alpha(items).alpha == pytest.approx(1.0)
    # k = 3, item variances 1, all covariances 0.5: α = 3/2 (1 - 3/6) = 0.75
    c = np.array([[1, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 1]])
    rows = np.random.default_rng(0).multivariate_normal(np.zeros(3), c, size=200_000)
    assert cronbach_alpha(rows).alpha == pytest.approx(0.75, abs=0.01)


@settings(derandomize=True, max_examples=20, deadline=None)
@given(st.integers(0, 2**31), st.floats(0.1, 10), st.floats(-5, 5))
def test_alpha_invariant_to_row_order_and_common_linear_rescaling(seed, scale, shift):
    perm = np.random.default_rng(seed).permutation(X.shape[0])
    a = cronbach_alpha(X)
    b = cronbach_alpha(X[perm] * scale + shift)
    assert b.alpha == pytest.approx(a.alpha, rel=1e-9)
    assert a.low <= a.alpha <= a.high


def test_feldt_interval_narrows_with_n():
    small = cronbach_alpha(X[:50], missing="listwise")
    big = cronbach_alpha(np.vstack([X] * 4), missing="listwise")
    assert big.high - big.low < small.high - small.low


def test_bad_input_raises():
    with pytest.raises(ValueError):
        cronbach_alpha(np.ones((5, 1)))
    with pytest.raises(ValueError):
        cronbach_alpha(X, missing="mean")
