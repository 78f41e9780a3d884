"""Unit means standardised to common population shares (analysis.standardisation)."""

import numpy as np
import pytest
from scipy import stats

from analysis import Design, post_stratify, rake
from analysis.standardisation import standardised_means

AGE = {"young": 0.6, "old": 0.4}


def test_one_margin_is_post_stratification_by_hand():
    # unit 0: 2 young (mean 50), 6 old (mean 80) → standardised 0.6 × 50 + 0.4 × 80 = 62
    y = np.array([40, 60, 70, 90, 80, 80, 75, 85], dtype=float)
    age = np.array(["young"] * 2 + ["old"] * 6, dtype=object)
    got = standardised_means(y, np.zeros(8, dtype=int), 1, {"age": (age, AGE)})
    assert got.estimate[0] == pytest.approx(62.0)
    assert got.weighted[0] and got.problem == ("",)
    # the same as R's postStratify on the unit (weights 1 → totals share × n), se included
    design = post_stratify(Design(weights=np.ones(8)), age, {"young": 0.6 * 8, "old": 0.4 * 8})
    expected = design.mean(y)
    assert got.se[0] == pytest.approx(expected.se, rel=1e-9)
    t = stats.t.ppf(0.975, 7)
    assert (got.low[0], got.high[0]) == pytest.approx((62 - t * expected.se, 62 + t * expected.se))
    # weights 0.6·8/2 = 2.4 and 0.4·8/6: Kish n_eff = 8² / (2·2.4² + 6·(3.2/6)²)
    assert got.n_eff[0] == pytest.approx(64 / (2 * 2.4**2 + 6 * (3.2 / 6) ** 2))


def test_sample_already_matching_the_shares_changes_nothing_but_the_calibrated_se():
    rng = np.random.default_rng(3)
    y = rng.normal(70, 10, 50)
    age = np.array(["young"] * 30 + ["old"] * 20, dtype=object)
    got = standardised_means(y, np.zeros(50, dtype=int), 1, {"age": (age, AGE)})
    assert got.estimate[0] == pytest.approx(y.mean())
    assert got.n_eff[0] == pytest.approx(50)
    # calibration can only remove the between-group part of the variance
    assert got.se[0] <= y.std(ddof=1) / np.sqrt(50) + 1e-12


def test_not_answering_is_a_category_kept_at_its_sample_share():
    # 4 answered (1 young at 20, 3 old at 80), 4 did not (mean 50): 0.5 × 50 + 0.5 × (0.6·20 + 0.4·80)
    y = np.array([20, 80, 80, 80, 40, 60, 50, 50], dtype=float)
    age = np.array(["young", "old", "old", "old", None, None, None, None], dtype=object)
    got = standardised_means(y, np.zeros(8, dtype=int), 1, {"age": (age, AGE)})
    assert got.estimate[0] == pytest.approx(0.5 * 50 + 0.5 * (0.6 * 20 + 0.4 * 80))
    assert got.weighted[0]


def test_two_margins_rake_each_unit_on_its_own():
    rng = np.random.default_rng(11)
    n = 400
    unit = rng.integers(0, 3, n)
    age = rng.choice(np.array(["young", "old"], dtype=object), n, p=[0.3, 0.7])
    sex = rng.choice(np.array(["m", "f"], dtype=object), n, p=[0.5, 0.5])
    y = 60 + 15 * (age == "old") + 5 * (sex == "f") + rng.normal(0, 8, n)
    sexes = {"m": 0.48, "f": 0.52}
    got = standardised_means(y, unit, 3, {"age": (age, AGE), "sex": (sex, sexes)}, confidence=0.9)
    for u in range(3):
        rows = unit == u
        m = rows.sum()
        totals = {"age": (age[rows], {k: v * m for k, v in AGE.items()})}
        totals["sex"] = (sex[rows], {k: v * m for k, v in sexes.items()})
        raked = rake(Design(weights=np.ones(m)), totals, epsilon=1e-9, max_iter=200)
        expected = raked.mean(y[rows], 0.9)
        assert got.estimate[u] == pytest.approx(expected.estimate, rel=1e-12)
        assert got.se[u] == pytest.approx(expected.se, rel=1e-9)
        assert got.n[u] == m
        # the raked weights reproduce both margins
        w = raked.w
        assert w[age[rows] == "old"].sum() / m == pytest.approx(0.4, abs=1e-8)
        assert w[sex[rows] == "f"].sum() / m == pytest.approx(0.52, abs=1e-8)
    # a sample leaning old with old residents more satisfied: standardising lowers the score
    assert np.all(got.estimate < np.array([y[unit == u].mean() for u in range(3)]))


def test_a_level_nobody_answered_leaves_the_unit_unweighted_and_says_why():
    y = np.array([50, 60, 70, 80, 90, 55], dtype=float)
    unit = np.array([0, 0, 0, 1, 1, 1])
    age = np.array(["old", "old", "old", "old", "young", "old"], dtype=object)
    got = standardised_means(y, unit, 2, {"age": (age, AGE)})
    assert list(got.weighted) == [False, True]
    assert got.problem == ("age=young", "")
    assert got.estimate[0] == pytest.approx(60.0)
    assert got.se[0] == pytest.approx(np.std([50, 60, 70], ddof=1) / np.sqrt(3))
    assert got.n_eff[0] == pytest.approx(3)


def test_trimming_caps_the_weights_of_a_rare_group():
    y = np.arange(20, dtype=float)
    age = np.array(["young"] + ["old"] * 19, dtype=object)
    unit = np.zeros(20, dtype=int)
    raw = standardised_means(y, unit, 1, {"age": (age, AGE)})
    capped = standardised_means(y, unit, 1, {"age": (age, AGE)}, max_weight=3)
    # untrimmed, one young respondent carries 60 % of the unit: weight 12 against a mean of 1
    assert raw.estimate[0] == pytest.approx(0.6 * 0 + 0.4 * np.mean(np.arange(1, 20)))
    assert capped.n_eff[0] > raw.n_eff[0]
    assert capped.estimate[0] > raw.estimate[0]


def test_units_without_two_values_have_no_mean_but_report_n():
    y = np.array([50, np.nan, 60, 70, 80], dtype=float)
    unit = np.array([0, 0, 1, 1, 1])
    age = np.array(["old", "young", "young", "old", "old"], dtype=object)
    got = standardised_means(y, unit, 3, {"age": (age, AGE)})
    assert list(got.n) == [1, 3, 0]
    assert np.isnan(got.estimate[[0, 2]]).all() and not np.isnan(got.estimate[1])


def test_shares_are_normalised_and_must_be_positive():
    y = np.array([10, 20, 30, 40], dtype=float)
    age = np.array(["young", "young", "old", "old"], dtype=object)
    unit = np.zeros(4, dtype=int)
    percent = standardised_means(y, unit, 1, {"age": (age, {"young": 60, "old": 40})})
    share = standardised_means(y, unit, 1, {"age": (age, AGE)})
    assert percent.estimate[0] == pytest.approx(share.estimate[0])
    with pytest.raises(ValueError, match="age"):
        standardised_means(y, unit, 1, {"age": (age, {"young": 0, "old": 0})})
