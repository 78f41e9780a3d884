"""Shrinkage, rank intervals and indistinguishable groups."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import (
    compact_letters,
    indistinguishable_groups,
    letter_groups,
    p_adjust,
    rank_intervals,
    shrink_means,
    shrink_rates,
)

# Efron & Morris (1975, 1977 Scientific American "Stein's paradox in statistics"): hits in the
# first 45 at-bats of 18 players (Clemente 18 … Alvarado 7).
HITS = np.array([18, 17, 16, 15, 14, 14, 13, 12, 11, 11, 10, 10, 10, 10, 10, 9, 8, 7])


def test_james_stein_reproduces_efron_morris_baseball():
    """Published: ȳ = .265, shrinking factor c = .212, Clemente .400 → .294, Alvarado .156 → .242."""
    y = HITS / 45
    var = y.mean() * (1 - y.mean()) / 45
    res = shrink_means(y, np.full(18, var), method="james-stein")
    assert round(res.overall, 3) == 0.265
    assert round(res.factor[0], 3) == 0.212
    published = [
        0.294,
        0.289,
        0.285,
        0.280,
        0.275,
        0.275,
        0.270,
        0.266,
        0.261,
        0.261,
        0.256,
        0.256,
        0.256,
        0.256,
        0.256,
        0.252,
        0.247,
        0.242,
    ]
    np.testing.assert_array_equal(np.round(res.shrunken, 3), published)


def test_fay_herriot_solves_its_moment_equation():
    rng = np.random.default_rng(1)
    d = rng.uniform(1, 20, 30)
    y = 70 + rng.normal(0, 4, 30) + rng.normal(0, np.sqrt(d))
    res = shrink_means(y, d)
    tau2 = res.prior[1]
    w = 1 / (tau2 + d)
    m = np.sum(w * y) / w.sum()
    assert np.sum(w * (y - m) ** 2) == pytest.approx(29, rel=1e-9)
    np.testing.assert_allclose(res.factor, tau2 / (tau2 + d))
    # noisier units are pulled harder
    assert np.all(np.diff(res.factor[np.argsort(d)]) <= 1e-12)


def test_fay_herriot_pools_fully_without_spread():
    res = shrink_means(np.array([70.0, 70.1, 69.9, 70.0, 70.05]), np.full(5, 25.0))
    assert res.prior[1] == 0.0 and np.allclose(res.shrunken, res.overall)


def test_shrink_rates_posterior_means_and_ml_fit():
    x = np.array([12, 45, 88, 190, 9, 30, 0])
    n = np.array([12, 50, 100, 200, 15, 40, 0])
    res = shrink_rates(x, n)
    a, b = res.prior
    np.testing.assert_allclose(res.shrunken, (x + a) / (n + a + b))
    np.testing.assert_allclose(res.factor, n / (n + a + b))
    assert res.factor[-1] == 0 and np.isnan(res.raw[-1])
    ok = n > 0
    nll = -stats.betabinom.logpmf(x[ok], n[ok], a, b).sum()
    for da, db in ((1.05, 1.0), (0.95, 1.0), (1.0, 1.05), (1.0, 0.95), (1.05, 1.05)):
        assert nll <= -stats.betabinom.logpmf(x[ok], n[ok], a * da, b * db).sum() + 1e-7
    # the 12/12 unit is not ranked above the 190/200 unit after shrinkage
    assert res.shrunken[0] < res.shrunken[3]


@settings(derandomize=True, max_examples=30, deadline=None)
@given(st.integers(0, 2**31))
def test_shrunken_rates_lie_between_raw_and_overall(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 300, 12)
    x = rng.binomial(n, rng.uniform(0.6, 0.95, 12))
    res = shrink_rates(x, n)
    lo = np.minimum(res.raw, res.overall) - 1e-12
    hi = np.maximum(res.raw, res.overall) + 1e-12
    assert np.all((lo <= res.shrunken) & (res.shrunken <= hi))


def test_rank_intervals_are_seeded_and_cover_rank():
    est = np.array([95.0, 85.0, 84.5, 70.0, 60.0])
    sd = np.array([1.0, 3.0, 3.0, 1.0, 1.0])
    a = rank_intervals(est, sd)
    b = rank_intervals(est, sd)
    assert a.low.tobytes() == b.low.tobytes() and a.p_bottom.tobytes() == b.p_bottom.tobytes()
    np.testing.assert_array_equal(a.rank, [1, 2, 3, 4, 5])
    assert a.low[0] == a.high[0] == 1
    assert a.low[1] == 2 and a.high[1] == 3 and a.low[2] == 2 and a.high[2] == 3
    assert a.p_bottom[4] == 1.0 and a.p_bottom[0] == 0.0


def test_indistinguishable_groups_letters():
    est = np.array([90.0, 89.0, 80.0, 79.0, 60.0])
    se = np.full(5, 1.0)
    assert indistinguishable_groups(est, se) == ["a", "a", "b", "b", "c"]
    overlap = indistinguishable_groups(np.array([90.0, 87.0, 84.0]), np.full(3, 1.0))
    assert overlap == ["a", "ab", "b"]


def _sig(k: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    sig = np.zeros((k, k), dtype=bool)
    for i, j in pairs:
        sig[i, j] = sig[j, i] = True
    return sig


def test_compact_letters_as_multcompview():
    # multcompView's help page: dif3 = c("A-B" = FALSE, "A-C" = FALSE, "B-C" = TRUE) → A "ab", B "a", C "b"
    assert compact_letters(_sig(3, [(1, 2)])) == ["ab", "a", "b"]
    # dif4: a-b, a-c, b-d significant, a-d not (unlisted pairs not significant) → "a", "b", "bc", "ac"
    assert compact_letters(_sig(4, [(0, 1), (0, 2), (1, 3)])) == ["a", "b", "bc", "ac"]
    # nothing significant: one letter; everything significant: one letter each
    assert compact_letters(_sig(3, [])) == ["a", "a", "a"]
    assert compact_letters(_sig(3, [(0, 1), (0, 2), (1, 2)])) == ["a", "b", "c"]
    # a chain where only the ends differ
    assert compact_letters(_sig(3, [(0, 2)])) == ["a", "ab", "b"]
    # a ring 0–1–2–3–0 of indistinguishable pairs with both diagonals significant: four letters, one per
    # pair; no display made of runs of consecutive units can express it
    assert compact_letters(_sig(4, [(0, 2), (1, 3)])) == ["ab", "ac", "cd", "bd"]
    assert compact_letters(np.zeros((0, 0), dtype=bool)) == []
    with pytest.raises(ValueError, match="symmetric"):
        compact_letters(np.array([[False, True], [False, False]]))


def test_letters_with_unequal_standard_errors_share_exactly_when_not_significant():
    # A and B are precise and differ; C is noisy and differs from neither. Runs of consecutive units in
    # sorted order gave A "a", B "b", C "b": A and C, not significantly different, shared nothing.
    est = np.array([90.0, 88.0, 86.0])
    se = np.array([0.5, 0.5, 5.0])
    groups = letter_groups(est, se)
    assert groups.significant[0, 1] and not groups.significant[0, 2] and not groups.significant[1, 2]
    assert groups.letters == ["a", "b", "ab"]
    # the adjusted p-values are Holm's over the three z tests
    z = np.array([2 / np.sqrt(0.5), 4 / np.sqrt(25.25), 2 / np.sqrt(25.25)])
    holm = p_adjust(2 * stats.norm.sf(z), "holm")
    assert [groups.pvalues[0, 1], groups.pvalues[0, 2], groups.pvalues[1, 2]] == pytest.approx(holm)


def test_a_unit_without_an_estimate_gets_no_letter_and_does_not_count_as_a_test():
    est = np.array([90.0, np.nan, 80.0, 70.0])
    se = np.array([1.0, 1.0, 1.0, np.nan])
    groups = letter_groups(est, se)
    assert groups.letters == ["a", "", "b", ""]
    assert np.isnan(groups.pvalues[1]).all() and not groups.significant[1].any()
    # one pair only, so no adjustment: Holm of one p-value is itself
    assert groups.pvalues[0, 2] == pytest.approx(2 * stats.norm.sf(10 / np.sqrt(2)))
    assert letter_groups(np.array([np.nan]), np.array([np.nan])).letters == [""]
    assert letter_groups(np.array([]), np.array([])).letters == []
    with pytest.raises(ValueError):
        letter_groups(np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        letter_groups(np.ones(2), -np.ones(2))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(0, 100), st.just(np.nan)),
            st.floats(0.0, 8.0),
        ),
        min_size=0,
        max_size=14,
    )
)
def test_letters_share_exactly_when_not_significant(units):
    est = np.array([u[0] for u in units], dtype=float)
    se = np.array([u[1] for u in units], dtype=float)
    groups = letter_groups(est, se)
    k = est.size
    for i in range(k):
        if np.isnan(est[i]):
            assert groups.letters[i] == ""
            continue
        assert groups.letters[i]  # every unit with an estimate has a letter
        for j in range(k):
            if i != j and not np.isnan(est[j]):
                shares = bool(set(_split(groups.letters[i])) & set(_split(groups.letters[j])))
                assert shares == (not groups.significant[i, j])
    scored = [i for i in range(k) if not np.isnan(est[i])]
    if scored:  # the best unit carries "a"
        best = max(scored, key=lambda i: (est[i], -i))
        assert "a" in _split(groups.letters[best])


def _split(text: str) -> list[str]:
    """Letters of a display string ('.a' is one letter past 'Z')."""
    out, prefix = [], ""
    for ch in text:
        if ch == ".":
            prefix += "."
        else:
            out.append(prefix + ch)
            prefix = ""
    return out


def test_many_letters_use_multcompview_names():
    # 60 units, all different: a..z, A..Z, then .a...
    est = np.arange(60, dtype=float)[::-1] * 10
    letters = indistinguishable_groups(est, np.full(60, 0.01))
    assert letters[0] == "a" and letters[26] == "A" and letters[52] == ".a" and len(set(letters)) == 60


def test_shrink_means_rejects_bad_input():
    with pytest.raises(ValueError):
        shrink_means(np.ones(3), np.ones(3))
    with pytest.raises(ValueError):
        shrink_means(np.ones(5), np.arange(1.0, 6.0), method="james-stein")
