"""Comparisons: published scipy examples (analysis.md R15, R19), Newcombe (1998) and R.

R values in tests/data/r_reference/stats.json come from tests/r/make_stats_reference.R
(R 4.2.2: t.test, p.adjust).
"""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import (
    benjamini_hochberg,
    chi_square,
    diff_means_ci,
    diff_proportions_ci,
    kruskal_dunn,
    p_adjust,
)

REF = json.loads((Path(__file__).parent / "data" / "r_reference" / "stats.json").read_text())


def test_chi_square_r19():
    """R19: [[10,10,20],[20,20,20]] → χ² 2.7777777777777777, p 0.24935220877729619, dof 2."""
    res = chi_square(np.array([[10, 10, 20], [20, 20, 20]]))
    assert res.statistic == pytest.approx(2.7777777777777777, rel=1e-14)
    assert res.pvalue == pytest.approx(0.24935220877729619, rel=1e-12)
    assert res.dof == 2
    np.testing.assert_allclose(res.expected, [[12, 12, 16], [18, 18, 24]])
    assert res.cramers_v == pytest.approx(np.sqrt(2.7777777777777777 / 100))


def test_chi_square_drops_empty_levels():
    a = chi_square(np.array([[10, 0, 10, 20], [20, 0, 20, 20]]))
    assert a.dof == 2 and a.statistic == pytest.approx(2.7777777777777777)


@pytest.mark.parametrize(
    ("groups", "h", "p"),
    [
        ([[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]], 0.2727272727272734, 0.6015081344405895),
        ([[1, 1, 1], [2, 2, 2], [2, 2]], 7.0, 0.0301973834223185),
    ],
)
def test_kruskal_r15(groups, h, p):
    res = kruskal_dunn([np.array(g, dtype=float) for g in groups])
    assert res.statistic == pytest.approx(h, rel=1e-12)
    assert res.pvalue == pytest.approx(p, rel=1e-12)


def test_dunn_by_hand():
    """Groups [1,1,1], [2,2,2], [2,2]: ranks 2,2,2 | 6,6,6 | 6,6; N = 8; ties 3 and 5 →
    tie term (24 + 120)/(12·7) = 12/7; var = (8·9/12 - 12/7) = 30/7.
    z(1,2) = (2 - 6)/sqrt(30/7 · 2/3) = -2.3664319; z(1,3) = -4/sqrt(30/7 · 5/6) = -2.1166010.
    Holm over 3 pairs: p = 3·p(1,2), 2·p(1,3), pair (2,3) has z = 0 → 1.
    """
    from scipy.stats import norm

    res = kruskal_dunn([np.array([1.0, 1, 1]), np.array([2.0, 2, 2]), np.array([2.0, 2])])
    assert res.z[0, 1] == pytest.approx(-4 / np.sqrt(30 / 7 * 2 / 3))
    assert res.z[0, 2] == pytest.approx(-4 / np.sqrt(30 / 7 * 5 / 6))
    p12, p13 = (2 * norm.sf(abs(res.z[0, j])) for j in (1, 2))
    assert res.pairwise[0, 1] == pytest.approx(3 * p12)
    assert res.pairwise[1, 0] == res.pairwise[0, 1]
    assert res.pairwise[0, 2] == pytest.approx(max(2 * p13, 3 * p12))
    assert res.pairwise[1, 2] == 1.0


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_newcombe_hybrid_score_published(x1, n1, x2, n2, low, high):
    """Newcombe (1998), Statistics in Medicine 17:873–890, Table II, method 10."""
    est = diff_proportions_ci(x1, n1, x2, n2)
    assert (round(est.low, 4), round(est.high, 4)) == (low, high)
    assert est.estimate == pytest.approx(x1 / n1 - x2 / n2)


def test_welch_matches_r_t_test():
    ref = REF["welch"]
    res = diff_means_ci(np.array(ref["a"]), np.array(ref["b"]))
    assert res.estimate == pytest.approx(ref["estimate"], rel=1e-12)
    assert (res.low, res.high) == pytest.approx((ref["low"], ref["high"]), rel=1e-10)
    assert res.df == pytest.approx(ref["df"], rel=1e-10)
    assert res.pvalue == pytest.approx(ref["p"], rel=1e-9)


@pytest.mark.parametrize("method", ["BH", "holm"])
def test_p_adjust_matches_r(method):
    ref = REF["p_adjust"]
    np.testing.assert_allclose(p_adjust(ref["p"], method), ref[method], rtol=1e-12)


def test_bh_keeps_nan_out_of_the_count():
    out = benjamini_hochberg([0.01, np.nan, 0.04])
    np.testing.assert_allclose(out, [0.02, np.nan, 0.04])


@settings(derandomize=True, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_adjusted_p_values_bound_raw_and_preserve_order(p):
    raw = np.array(p)
    for method in ("BH", "holm", "bonferroni"):
        adj = p_adjust(raw, method)
        assert np.all(adj >= raw - 1e-15) and np.all(adj <= 1)
        order = np.argsort(raw, kind="stable")
        assert np.all(np.diff(adj[order]) >= -1e-15)


@settings(derandomize=True, deadline=None)
@given(st.integers(1, 200), st.integers(1, 200), st.floats(0, 1), st.floats(0, 1))
def test_newcombe_contains_difference(n1, n2, p1, p2):
    x1, x2 = round(p1 * n1), round(p2 * n2)
    est = diff_proportions_ci(x1, n1, x2, n2)
    assert -1 <= est.low <= est.estimate <= est.high <= 1
