"""Interval tests against published values (analysis.md B, case R12 and R22)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import mean_ci, proportion_ci
from analysis.intervals import proportion_bounds

# R12: statsmodels results_proportion.py (R binom::binom.confint, tol 1e-8) and
# test_proportion.py (R 4.3.3 DescTools::BinomCI).
R12 = [
    (18, 20, "wilson", 0.6989663548, 0.9721335188),
    (18, 20, "agresti_coull", 0.6867561126, 0.9843437610),
    (18, 20, "clopper_pearson", 0.6830172860, 0.9876514728),
    (18, 20, "jeffreys", 0.7161467427, 0.9786275120),
    (18, 20, "wald", 0.7685216189, 1.0),  # 1.031478 clipped to 1
    (4, 20, "wilson", 0.0806576626, 0.4160174323),
    (4, 20, "agresti_coull", 0.0749115103, 0.4217635846),
    (4, 20, "clopper_pearson", 0.0573339971, 0.4366140030),
    (100, 200, "wilson", 0.4313609, 0.5686391),
    (100, 200, "agresti_coull", 0.4313609, 0.5686391),
    (100, 200, "clopper_pearson", 0.4286584, 0.5713416),
    (100, 200, "jeffreys", 0.4311217, 0.5688783),
    (0, 30, "wilson", 0.0, 0.1135133932),
    (0, 30, "clopper_pearson", 0.0, 0.1157033082),
]


@pytest.mark.parametrize(("x", "n", "method", "low", "high"), R12)
def test_proportion_ci_matches_published_r12(x, n, method, low, high):
    ci = proportion_ci(x, n, method=method)
    tol = 1e-9 if len(str(low)) > 10 else 5e-8  # printed precision of each source
    assert ci.low == pytest.approx(low, abs=tol)
    assert ci.high == pytest.approx(high, abs=tol)
    assert ci.estimate == x / n and ci.n == n and ci.method == method


def test_one_sided_upper_bound_is_the_90_percent_two_sided_bound():
    """R12: one-sided 95 % upper for 100/200 is Wilson 0.557765, Clopper–Pearson 0.560359."""
    assert proportion_ci(100, 200, confidence=0.90).high == pytest.approx(0.557765, abs=5e-7)
    cp = proportion_ci(100, 200, method="clopper_pearson", confidence=0.90)
    assert cp.high == pytest.approx(0.560359, abs=5e-7)


def test_wilson_for_r22_satisfaction_rate():
    """R22: 90 of 100 valid answers satisfied → Wilson 95 % [0.8256, 0.9448]."""
    low, high = proportion_ci(90, 100)
    assert (round(low, 4), round(high, 4)) == (0.8256, 0.9448)


def test_boundaries_are_exact_at_zero_and_all():
    for method in ("wilson", "agresti_coull", "clopper_pearson", "jeffreys", "wald"):
        assert proportion_ci(0, 30, method=method).low == 0.0
        assert proportion_ci(30, 30, method=method).high == 1.0


def test_empty_n_gives_nan_and_bad_input_raises():
    ci = proportion_ci(0, 0)
    assert np.isnan(ci.estimate) and np.isnan(ci.low) and ci.n == 0
    with pytest.raises(ValueError):
        proportion_ci(5, 4)
    with pytest.raises(ValueError):
        proportion_ci(1, 4, method="exact")


def test_proportion_ci_vectorises():
    ci = proportion_ci(np.array([18, 4]), np.array([20, 20]))
    np.testing.assert_allclose(ci.low, [0.6989663548, 0.0806576626], atol=1e-9)


def test_mean_ci_t_interval_ignores_nan():
    """Values 1..5: mean 3, sd sqrt(2.5), t(0.975, 4) = 2.7764451051977987."""
    est = mean_ci(np.array([1.0, 2.0, np.nan, 3.0, 4.0, 5.0]))
    half = 2.7764451051977987 * np.sqrt(2.5) / np.sqrt(5)
    assert est.n == 5 and est.estimate == 3.0 and est.method == "t"
    assert est.low == pytest.approx(3 - half, rel=1e-12)
    assert est.high == pytest.approx(3 + half, rel=1e-12)


def test_mean_ci_edge_cases():
    assert mean_ci(np.array([np.nan])).n == 0
    one = mean_ci(np.array([7.0]))
    assert one.estimate == 7.0 and np.isnan(one.low)
    flat = mean_ci(np.full(4, 50.0))
    assert (flat.low, flat.high) == (50.0, 50.0)


@settings(derandomize=True, deadline=None)
@given(
    st.integers(min_value=1, max_value=5000),
    st.floats(min_value=0, max_value=1),
    st.sampled_from(["wilson", "agresti_coull", "clopper_pearson", "jeffreys", "wald"]),
)
def test_intervals_contain_estimate_and_narrow_with_n(n, p, method):
    x = round(p * n)
    low, high = proportion_ci(x, n, method=method)
    assert 0.0 <= low <= x / n <= high <= 1.0
    low4, high4 = proportion_ci(4 * x, 4 * n, method=method)
    assert high4 - low4 <= high - low + 1e-12


def test_bounds_are_monotone_in_confidence():
    lo90, hi90 = proportion_bounds(np.array(30), np.array(100), "wilson", 0.90)
    lo99, hi99 = proportion_bounds(np.array(30), np.array(100), "wilson", 0.99)
    assert lo99 < lo90 and hi90 < hi99
