"""Importance–performance analysis on hand-computed data."""

import math

import numpy as np
import pytest

from analysis import QUADRANTS, ipa

NAN = np.nan
OVERALL = np.array([0, 25, 50, 75, 100, 50.0])
# Item 0: deviations from its mean match overall's except two swapped → r = 5625 / 6250 = 0.9.
# Item 1: Σ (x − x̄)(y − ȳ) = 0 → r = 0. Row 5 is skipped by both (pairwise deletion), and
# overall's last value is then unused.
ITEMS = np.array([[0, 50], [50, 100], [25, 0], [75, 50], [100, 75], [NAN, NAN]])


def test_hand_computed_importance_performance_and_quadrants():
    res = ipa(ITEMS, OVERALL, names=["窗口", "环境"])
    np.testing.assert_allclose(res.importance, [0.9, 0.0], atol=1e-12)
    np.testing.assert_array_equal(res.n, [5, 5])
    half = 1.959963984540054 / math.sqrt(2)
    assert res.low[0] == pytest.approx(math.tanh(math.atanh(0.9) - half), rel=1e-12)
    assert res.high[0] == pytest.approx(math.tanh(math.atanh(0.9) + half), rel=1e-12)
    assert (res.low[1], res.high[1]) == pytest.approx((math.tanh(-half), math.tanh(half)), rel=1e-12)
    np.testing.assert_allclose(res.performance, [50.0, 55.0])
    assert res.importance_cut == pytest.approx(0.45) and res.performance_cut == pytest.approx(52.5)
    assert res.quadrant == (QUADRANTS[0], QUADRANTS[3])
    assert res.names == ("窗口", "环境")


def test_configurable_cuts_and_spearman():
    res = ipa(ITEMS, OVERALL, cuts=(0.5, 40.0))
    assert res.quadrant == (QUADRANTS[1], QUADRANTS[3])
    sp = ipa(ITEMS, OVERALL, method="spearman")
    # ranks of item 0 vs overall: 1,3,2,4,5 vs 1,2,3,4,5 → r_s = 1 − 6·2/(5·24) = 0.9
    assert sp.importance[0] == pytest.approx(0.9, rel=1e-12)
    half = 1.959963984540054 * math.sqrt(1.06) / math.sqrt(2)
    assert sp.high[0] == pytest.approx(math.tanh(math.atanh(0.9) + half), rel=1e-12)


def test_too_few_pairs_or_no_spread_gives_nan_and_no_quadrant():
    items = np.column_stack([ITEMS[:, 0], [50, 50, 50, 50, 50, NAN], [0, 100, NAN, NAN, NAN, NAN]])
    res = ipa(items, OVERALL)
    assert np.isnan(res.importance[1]) and np.isnan(res.importance[2])
    assert res.quadrant[1] == res.quadrant[2] == ""
    assert res.importance_cut == pytest.approx(0.9)
    with pytest.raises(ValueError, match="method"):
        ipa(ITEMS, OVERALL, method="kendall")
    with pytest.raises(ValueError, match="overall"):
        ipa(ITEMS, OVERALL[:3])
