"""Linearised composite intervals: exact on one-item composites, by-hand delta method, bootstrap agreement."""

import numpy as np
import pytest

from analysis import code_items, proportion_ci, score_units

NAN = np.nan
METRICS = ("awareness", "index", "satisfaction", "top", "bad")


def _correlated_survey(seed, n, items=6, units=1):
    """Answers driven by a respondent-level mood, so items correlate as in real surveys."""
    rng = np.random.default_rng(seed)
    mood = rng.normal(0, 1, (n, 1))
    latent = mood + rng.normal(0, 1, (n, items))
    levels = np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]).astype(float) + 1.0
    dk = rng.random((n, items)) < 0.05
    levels[dk | (rng.random((n, items)) < 0.08)] = NAN
    return levels, dk, rng.integers(0, units, n)


def test_one_item_composite_reproduces_the_item_intervals():
    levels, dk, unit = _correlated_survey(1, 400, items=1, units=3)
    s = score_units(code_items(levels, dont_know=dk), unit, 3, dimensions=[("a", [0], [1])], dimension_weights=[1])
    for u in range(3):
        item, dim = s.item(u, 0), s.dimension(u, 0)
        for m in METRICS:
            a, b = getattr(item, m), getattr(dim, m)
            assert (b.estimate, b.low, b.high) == pytest.approx((a.estimate, a.low, a.high), rel=1e-12, abs=1e-14)


def test_composite_rate_matches_a_delta_method_written_out():
    """Σ_j w_j p_j with Var = Σ_i (Σ_j w_j v_ij (y_ij − p_j) / n_j)², then Wilson at n_eff = R(1−R)/Var."""
    levels = np.array(
        [
            [1, 1, 3],
            [2, 4, 2],
            [3, 3, NAN],
            [4, 2, 1],
            [5, 5, 5],
            [1, NAN, 2],
            [2, 2, 4],
            [NAN, 1, 3],
            [3, 4, 4],
            [1, 2, 5],
        ]
    )
    w = np.array([1.0, 2.0, 1.0]) / 4
    s = score_units(
        code_items(levels), np.zeros(10, int), 1, dimensions=[("d", [0, 1, 2], [1, 2, 1])], dimension_weights=[1]
    )
    v = ~np.isnan(levels)
    y = v & (np.nan_to_num(levels) <= 3)
    n = v.sum(0)
    p = y.sum(0) / n
    rate = float(w @ p)
    z = (v * (y - p) / n) @ w
    n_eff = rate * (1 - rate) / float(z @ z)
    expected = proportion_ci(rate * n_eff, n_eff)
    got = s.dimension(0, 0).satisfaction
    assert got.estimate == pytest.approx(rate, rel=1e-12)
    assert (got.low, got.high) == pytest.approx((expected.low, expected.high), rel=1e-12)


def test_no_spread_falls_back_to_the_respondents():
    """Every answer satisfied: Var = 0, so n_eff = respondents and the upper bound is 1."""
    levels = np.array([[1.0, 2.0]] * 12)
    s = score_units(code_items(levels), np.zeros(12, int), 1, dimensions=[("d", [0, 1], [1, 1])], dimension_weights=[1])
    sat = s.dimension(0, 0).satisfaction
    assert sat.estimate == 1.0 and sat.high == 1.0
    assert sat.low == pytest.approx(proportion_ci(12, 12).low, rel=1e-12)


@pytest.mark.parametrize("seed", [3, 4])
def test_linearised_agrees_with_bootstrap_on_large_n(seed):
    """n = 3,000 respondents: each bound within 12 % of the interval's half-width (bootstrap noise ~3 %)."""
    levels, dk, unit = _correlated_survey(seed, 3000)
    dims = [("a", [0, 1, 2], [1, 2, 3]), ("b", [3, 4, 5], [1, 1, 1])]
    kw = {"dimensions": dims, "dimension_weights": [2, 1]}
    coded = code_items(levels, dont_know=dk)
    lin = score_units(coded, unit, 1, **kw)
    boot = score_units(coded, unit, 1, composite_interval="bootstrap", n_boot=2000, **kw)
    for a, b in ((lin.dimensions, boot.dimensions), (lin.overall, boot.overall)):
        np.testing.assert_array_equal(a.values[..., 0], b.values[..., 0])
        half = (a.values[..., 2] - a.values[..., 1]) / 2
        assert np.all(np.abs(a.values[..., 1:] - b.values[..., 1:]) <= 0.12 * half[..., None])


def test_coverage_of_composite_intervals_is_near_nominal():
    """Draw 300 samples of 150 respondents from a finite population; count intervals holding its value."""
    levels, dk, _ = _correlated_survey(9, 60_000)
    coded = code_items(levels, dont_know=dk)
    kw = {"dimensions": [("a", [0, 1, 2], [1, 2, 3]), ("b", [3, 4, 5], [1, 1, 1])], "dimension_weights": [2, 1]}
    truth = score_units(coded, np.zeros(60_000, int), 1, **kw).overall.values[0, 0, :, 0]
    rng = np.random.default_rng(10)
    hits = np.zeros(5)
    reps = 300
    for _ in range(reps):
        pick = rng.integers(0, 60_000, 150)
        sample = code_items(levels[pick], dont_know=dk[pick])
        v = score_units(sample, np.zeros(150, int), 1, **kw).overall.values[0, 0]
        hits += (v[:, 1] <= truth) & (truth <= v[:, 2])
    assert np.all(hits / reps >= 0.91) and np.all(hits / reps <= 0.99)


def test_point_estimates_do_not_depend_on_the_interval_choice():
    levels, dk, unit = _correlated_survey(5, 800, units=4)
    coded = code_items(levels, dont_know=dk)
    kw = {"dimensions": [("a", [0, 1, 2], [1, 1, 1]), ("b", [3, 4, 5], [3, 1, 1])], "dimension_weights": [1, 1]}
    runs = [
        score_units(coded, unit, 4, composite_interval=c, n_boot=50, **kw) for c in ("linearised", "bootstrap", "none")
    ]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.overall.values[..., 0], runs[0].overall.values[..., 0])
        np.testing.assert_array_equal(r.dimensions.values[..., 0], runs[0].dimensions.values[..., 0])
    assert np.all(np.isnan(runs[2].overall.values[..., 1:]))
    with pytest.raises(ValueError, match="composite_interval"):
        score_units(coded, unit, 4, composite_interval="jackknife", **kw)
