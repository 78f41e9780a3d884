"""Every public analysis function is total on its documented domain (issue 16, item 6).

NaN in gives NaN out, or a ValueError that names the argument, as each docstring says; never an
unrelated exception from deep inside numpy or scipy. Property tests are seeded (derandomize=True).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import (
    chi_square,
    cronbach_alpha,
    diff_proportions_ci,
    mcdonald_omega,
    one_factor_loadings,
    proportion_ci,
)
from analysis.sampling import sample_size_for_proportion

PROPERTY = settings(max_examples=120, deadline=None, derandomize=True)


# --- proportion intervals ------------------------------------------------------------------------


def test_proportion_interval_with_a_nan_n_is_nan_with_n_zero():
    ci = proportion_ci(5, np.nan)
    assert math.isnan(ci.estimate) and math.isnan(ci.low) and math.isnan(ci.high) and ci.n == 0
    arr = proportion_ci(np.array([5.0, 3.0, np.nan]), np.array([np.nan, 10.0, 10.0]))
    assert np.isnan(arr.estimate[[0, 2]]).all() and arr.estimate[1] == 0.3
    assert arr.n.tolist() == [0, 10, 10]
    with pytest.raises(ValueError, match="n must be finite"):
        proportion_ci(1, np.inf)


@PROPERTY
@given(
    st.one_of(st.floats(0, 500), st.just(np.nan)),
    st.one_of(st.floats(0, 500), st.just(np.nan)),
    st.sampled_from(["wilson", "agresti_coull", "clopper_pearson", "jeffreys", "wald"]),
)
def test_proportion_interval_is_total(x, n, method):
    if not np.isnan(x) and not np.isnan(n) and x > n:
        with pytest.raises(ValueError, match="successes"):
            proportion_ci(x, n, method=method)
        return
    ci = proportion_ci(x, n, method=method)
    if np.isnan(x) or np.isnan(n) or n == 0:
        assert math.isnan(ci.estimate) and math.isnan(ci.low) and math.isnan(ci.high)
    else:
        assert 0.0 <= ci.low <= ci.estimate <= ci.high <= 1.0


@PROPERTY
@given(st.floats(-5, 60), st.floats(-5, 60), st.floats(-5, 60), st.floats(-5, 60))
def test_difference_of_rates_is_total(x1, n1, x2, n2):
    bad = (x1 < 0 or x1 > n1) or (x2 < 0 or x2 > n2)
    if bad:
        with pytest.raises(ValueError, match="x1|x2"):
            diff_proportions_ci(x1, n1, x2, n2)
        return
    d = diff_proportions_ci(x1, n1, x2, n2)
    if n1 > 0 and n2 > 0:
        assert -1.0 <= d.low <= d.estimate <= d.high <= 1.0
    else:
        assert math.isnan(d.estimate)


def test_difference_of_rates_with_nan_is_nan():
    d = diff_proportions_ci(3, np.nan, 4, 10)
    assert math.isnan(d.estimate) and d.n == 10
    with pytest.raises(ValueError, match="unknown method"):
        diff_proportions_ci(1, 2, 1, 2, method="exact")


# --- chi-square ----------------------------------------------------------------------------------


def test_chi_square_on_an_all_zero_table_is_nan_not_an_exception():
    result = chi_square(np.zeros((3, 5)))
    assert math.isnan(result.statistic) and math.isnan(result.pvalue) and result.dof == 0
    assert math.isnan(result.cramers_v)
    one_unit = chi_square(np.array([[3, 4, 0], [0, 0, 0]]))  # a single row left: nothing to compare
    assert math.isnan(one_unit.pvalue) and one_unit.dof == 0
    for bad in (np.array([[1, -1], [2, 3]]), np.array([[1, np.nan], [2, 3]]), np.ones(3)):
        with pytest.raises(ValueError, match="table"):
            chi_square(bad)


@PROPERTY
@given(
    st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=5), min_size=1, max_size=5).filter(
        lambda rows: len({len(r) for r in rows}) == 1
    )
)
def test_chi_square_is_total_on_count_tables(rows):
    result = chi_square(np.array(rows))
    if math.isnan(result.statistic):
        assert result.dof == 0
    else:
        assert result.statistic >= 0 and 0 <= result.pvalue <= 1 and result.dof >= 1
        assert 0 <= result.cramers_v <= 1 + 1e-12


# --- sample size ---------------------------------------------------------------------------------


def test_negative_or_fractional_population_is_refused_by_name():
    for population in (-100, 12.5, np.nan):
        with pytest.raises(ValueError, match="population"):
            sample_size_for_proportion(0.05, population)
    with pytest.raises(ValueError, match="margin"):
        sample_size_for_proportion(-0.05)
    with pytest.raises(ValueError, match="margin"):
        sample_size_for_proportion(np.nan)
    with pytest.raises(ValueError, match="confidence"):
        sample_size_for_proportion(0.05, confidence=1.5)
    assert sample_size_for_proportion(0.05) == 385 == sample_size_for_proportion(0.05, 0)


@PROPERTY
@given(st.floats(0.005, 0.5), st.one_of(st.none(), st.integers(0, 10**6)))
def test_sample_size_is_positive_and_never_above_the_population(margin, population):
    n = sample_size_for_proportion(margin, population)
    assert n >= 1 or population == 0
    if population:
        assert n <= population


# --- reliability ---------------------------------------------------------------------------------


def test_omega_with_a_constant_item_is_nan():
    rng = np.random.default_rng(16)
    x = rng.integers(1, 6, size=(40, 3)).astype(float)
    x[:, 1] = 4.0  # every respondent gave the same answer
    assert math.isnan(mcdonald_omega(x))
    assert np.isnan(one_factor_loadings(x)).all()
    a = cronbach_alpha(x)  # α itself is defined (the total still varies); the constant item's r is not
    assert np.isfinite(a.alpha) and math.isnan(a.item_rest[1])
    with pytest.raises(ValueError, match="items"):
        mcdonald_omega(np.ones(5))


def test_alpha_interval_counts_rows_with_at_least_one_answer():
    x = np.array([[1, 2], [2, 2], [3, 4], [4, 5], [np.nan, np.nan], [5, np.nan]], dtype=float)
    pairwise = cronbach_alpha(x)
    assert pairwise.n == 5  # the all-missing row is not counted, the half-answered one is
    listwise = cronbach_alpha(x, missing="listwise")
    assert listwise.n == 4
    flat = cronbach_alpha(np.full((6, 3), 3.0))
    assert math.isnan(flat.alpha) and math.isnan(flat.low) and math.isnan(flat.high)
    few = cronbach_alpha(np.array([[1.0, 2.0]]))
    assert math.isnan(few.low)


@PROPERTY
@given(
    st.lists(
        st.lists(st.one_of(st.integers(1, 5).map(float), st.just(np.nan)), min_size=3, max_size=3),
        min_size=0,
        max_size=25,
    )
)
def test_reliability_is_total(rows):
    x = np.array(rows, dtype=float).reshape(-1, 3)
    a = cronbach_alpha(x)
    assert a.n <= x.shape[0]
    if np.isfinite(a.low):
        assert a.low <= a.alpha <= a.high
    omega = mcdonald_omega(x)
    assert math.isnan(omega) or omega <= 1 + 1e-9
