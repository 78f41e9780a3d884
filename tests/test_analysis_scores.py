"""Unit score tests: a hand-computed table, a brute-force cross-check and properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import code_items, proportion_ci, score_units

NAN = np.nan
DK = -1.0  # marker used only in these literals: "don't know"


def _code(rows):
    a = np.array(rows, dtype=float)
    dk = a == DK
    a[dk] = NAN
    return code_items(a, dont_know=dk)


# Unit 0, items A, B, C (linear 100/75/50/25/0). Row 6 skipped B, row 8 said "don't know"
# to A, row 9 skipped A and C.
HAND = [
    [1, 1, 2],
    [1, 2, 2],
    [2, 2, 2],
    [2, 3, 2],
    [3, 3, 2],
    [3, 3, 2],
    [4, NAN, 2],
    [5, 5, 2],
    [DK, 1, 2],
    [NAN, 2, NAN],
]
DIMS = [("service", [0, 1], [1.0, 3.0]), ("place", [2], [1.0])]


def _hand_scores(**kw):
    coded = _code(HAND)
    return score_units(
        coded,
        np.zeros(10, dtype=int),
        2,
        dimensions=DIMS,
        dimension_weights=[0.6, 0.4],
        min_n=5,
        **kw,
    )


def test_item_scores_by_hand():
    """A: 100,100,75,75,50,50,25,0 → n 8, mean 59.375, 满意率 6/8, 差评 2/8, awareness 8/9.

    B: 100,75,75,50,50,50,0,100,75 → n 9, mean 575/9.
    """
    s = _hand_scores()
    a = s.item(0, 0)
    assert (a.n, a.n_dont_know) == (8, 1)
    assert a.index.estimate == pytest.approx(59.375)
    sd = np.std([100, 100, 75, 75, 50, 50, 25, 0], ddof=1)
    # logit-t: t(7) = 2.364624251592785 on the logit scale at p = 0.59375, mapped back
    half = 2.364624251592785 * sd / np.sqrt(8) / (100 * 0.59375 * 0.40625)
    logit = np.log(0.59375 / 0.40625)
    assert a.index.low == pytest.approx(100 / (1 + np.exp(-(logit - half))), rel=1e-12)
    assert a.index.high == pytest.approx(100 / (1 + np.exp(-(logit + half))), rel=1e-12)
    assert a.satisfaction.estimate == 0.75 and a.bad.estimate == 0.25 and a.top.estimate == 0.5
    assert (a.satisfaction.low, a.satisfaction.high) == tuple(proportion_ci(6, 8))
    assert a.awareness.estimate == pytest.approx(8 / 9) and a.awareness.n == 9
    assert s.item(0, 1).index.estimate == pytest.approx(575 / 9)
    assert a.small_sample and not a.suppressed


def test_composites_by_hand():
    """Respondent composites of "service" (A weight 1/4, B 3/4, renormalised over answers):
    100, 81.25, 75, 56.25, 50, 50, 25 (A only), 0, 100 (B only), 75 (B only) → mean 61.25.
    Overall = 0.6 service + 0.4 place; row 9 has no place answer so its overall is 75:
    (0.6 × 537.5 + 0.4 × 75 × 9 + 75) / 10 = 66.75.
    Composite 满意率: service 0.25 × 6/8 + 0.75 × 8/9; overall 0.6 × that + 0.4 × 1.
    """
    s = _hand_scores()
    svc = s.dimension(0, "service")
    assert svc.n == 10 and svc.index.estimate == pytest.approx(61.25)
    assert svc.satisfaction.estimate == pytest.approx(0.25 * 0.75 + 0.75 * 8 / 9)
    assert svc.awareness.estimate == pytest.approx(17 / 18) and svc.n_dont_know == 1
    ov = s.overall_score(0)
    assert ov.n == 10 and ov.index.estimate == pytest.approx(66.75)
    assert ov.satisfaction.estimate == pytest.approx(0.6 * (0.25 * 0.75 + 0.75 * 8 / 9) + 0.4)
    assert ov.index.method == "logit-t" and svc.satisfaction.method == "linearised-wilson"
    assert ov.index.low <= ov.index.estimate <= ov.index.high
    # the composite index interval is the logit-t interval on the respondents' composites
    composites = [100, 81.25, 75, 56.25, 50, 50, 25, 0, 100, 75]
    half = 2.2621571627982053 * np.std(composites, ddof=1) / np.sqrt(10) / (100 * 0.6125 * 0.3875)
    logit = np.log(0.6125 / 0.3875)
    expected = (100 / (1 + np.exp(-(logit - half))), 100 / (1 + np.exp(-(logit + half))))
    assert (svc.index.low, svc.index.high) == pytest.approx(expected, rel=1e-12)


def test_empty_unit_and_suppression():
    s = _hand_scores()
    empty = s.overall_score(1)
    assert empty.n == 0 and empty.suppressed and np.isnan(empty.index.estimate)
    assert s.item(1, 0).n == 0 and np.isnan(s.item(1, 0).satisfaction.low)
    coded = _code(HAND)
    hi = score_units(coded, np.zeros(10, dtype=int), 1, dimensions=DIMS, dimension_weights=[1, 1], min_n=9)
    a = hi.item(0, 0)
    assert a.suppressed and a.n == 8 and np.isnan(a.index.estimate) and np.isnan(a.bad.high)
    assert not hi.item(0, 1).suppressed


def test_all_nan_column_and_rows_listing():
    levels = np.full((12, 2), NAN)
    levels[:, 0] = 1.0
    s = score_units(
        code_items(levels),
        np.zeros(12, dtype=int),
        1,
        dimensions=[("d", [0, 1], [1, 1])],
        dimension_weights=[1],
    )
    assert s.item(0, 1).n == 0 and np.isnan(s.item(0, 1).index.estimate)
    assert s.dimension(0, 0).index.estimate == 100.0
    rows = list(s.rows())
    assert [(r[1], r[2]) for r in rows] == [("item", "0"), ("item", "1"), ("dimension", "d"), ("overall", "overall")]


def _brute_force(levels, unit, u, dims, dw):
    """Straight loops over respondents: the composite definition written out plainly."""
    pts = {1: 100, 2: 75, 3: 50, 4: 25, 5: 0}
    rows = levels[unit == u]
    dim_vals = []
    for _, cols, w in dims:
        vals = []
        for r in rows:
            got = [(pts[int(r[c])], wc) for c, wc in zip(cols, w, strict=True) if not np.isnan(r[c])]
            vals.append(sum(v * wc for v, wc in got) / sum(wc for _, wc in got) if got else NAN)
        dim_vals.append(vals)
    overall = []
    for i in range(len(rows)):
        got = [(dim_vals[d][i], dw[d]) for d in range(len(dims)) if not np.isnan(dim_vals[d][i])]
        overall.append(sum(v * w for v, w in got) / sum(w for _, w in got) if got else NAN)
    return [np.nanmean(v) for v in dim_vals], np.nanmean(overall)


def _random_survey(seed, n=600, items=6, units=5):
    rng = np.random.default_rng(seed)
    levels = rng.integers(1, 6, (n, items)).astype(float)
    levels[rng.random((n, items)) < 0.15] = NAN
    return levels, rng.integers(0, units, n)


def test_composites_match_brute_force():
    levels, unit = _random_survey(7)
    dims = [("a", [0, 1, 2], [1.0, 2.0, 3.0]), ("b", [3, 4, 5], [1.0, 1.0, 2.0])]
    s = score_units(
        code_items(levels),
        unit,
        5,
        dimensions=dims,
        dimension_weights=[2, 1],
        n_boot=200,
        composite_interval="bootstrap",
    )
    for u in range(5):
        dim_means, overall = _brute_force(levels, unit, u, dims, [2, 1])
        for d in range(2):
            assert s.dimension(u, d).index.estimate == pytest.approx(dim_means[d], rel=1e-12)
        assert s.overall_score(u).index.estimate == pytest.approx(overall, rel=1e-12)


def test_rerun_is_byte_identical_and_seed_matters():
    levels, unit = _random_survey(3)
    dims = [("a", [0, 1, 2], [1, 1, 1]), ("b", [3, 4, 5], [1, 1, 1])]
    run = [
        score_units(
            code_items(levels),
            unit,
            5,
            dimensions=dims,
            dimension_weights=[1, 1],
            n_boot=300,
            seed=seed,
            composite_interval="bootstrap",
        )
        for seed in (1, 1, 2)
    ]
    assert run[0].overall.values.tobytes() == run[1].overall.values.tobytes()
    assert run[0].dimensions.values.tobytes() == run[1].dimensions.values.tobytes()
    assert run[0].overall.values.tobytes() != run[2].overall.values.tobytes()


def test_unit_interval_does_not_depend_on_other_units():
    levels, unit = _random_survey(4)
    dims = [("a", [0, 1, 2, 3, 4, 5], [1] * 6)]
    full = score_units(
        code_items(levels), unit, 5, dimensions=dims, dimension_weights=[1], n_boot=200, composite_interval="bootstrap"
    )
    keep = unit <= 1
    part = score_units(
        code_items(levels[keep]),
        unit[keep],
        5,
        dimensions=dims,
        dimension_weights=[1],
        n_boot=200,
        composite_interval="bootstrap",
    )
    np.testing.assert_array_equal(full.overall.values[:2], part.overall.values[:2])


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**31), st.floats(min_value=0.1, max_value=50))
def test_point_estimates_invariant_to_row_order_and_weight_scale(seed, scale):
    levels, unit = _random_survey(seed, n=120, items=4, units=3)
    perm = np.random.default_rng(seed).permutation(len(unit))
    dims = [("a", [0, 1], [1.0, 2.0]), ("b", [2, 3], [3.0, 1.0])]
    kw = {"n_boot": 20, "min_n": 1}
    a = score_units(code_items(levels), unit, 3, dimensions=dims, dimension_weights=[1, 2], **kw)
    scaled = [(n, c, [w * scale for w in ws]) for n, c, ws in dims]
    b = score_units(
        code_items(levels[perm]), unit[perm], 3, dimensions=scaled, dimension_weights=[scale, 2 * scale], **kw
    )
    np.testing.assert_array_equal(a.items.values, b.items.values)
    for t1, t2 in ((a.dimensions, b.dimensions), (a.overall, b.overall)):
        np.testing.assert_allclose(t1.values[..., 0], t2.values[..., 0], rtol=1e-12)
        np.testing.assert_array_equal(t1.n, t2.n)


def test_item_intervals_contain_estimates():
    levels, unit = _random_survey(11, n=2000)
    s = score_units(code_items(levels), unit, 5, dimensions=[("a", [0], [1])], dimension_weights=[1], n_boot=100)
    v = s.items.values
    assert np.all(v[..., 1] <= v[..., 0]) and np.all(v[..., 0] <= v[..., 2])


def test_bootstrap_agrees_with_t_for_a_single_item_dimension():
    """With one item the composite is the item, so the bootstrap should be close to t."""
    levels, unit = _random_survey(5, n=2500, items=1, units=2)
    s = score_units(
        code_items(levels), unit, 2, dimensions=[("a", [0], [1])], dimension_weights=[1], composite_interval="bootstrap"
    )
    for u in range(2):
        item, dim = s.item(u, 0), s.dimension(u, 0)
        assert dim.index.estimate == pytest.approx(item.index.estimate, rel=1e-12)
        assert dim.index.low == pytest.approx(item.index.low, abs=0.4)
        assert dim.index.high == pytest.approx(item.index.high, abs=0.4)
        assert dim.satisfaction.low == pytest.approx(item.satisfaction.low, abs=0.006)


def test_invalid_unit_raises():
    coded = code_items(np.ones((3, 1)))
    dims = [("a", [0], [1])]
    with pytest.raises(ValueError, match="unit must hold"):
        score_units(coded, np.array([0, 1, 2]), 2, dimensions=dims, dimension_weights=[1])
    with pytest.raises(ValueError, match="item columns"):
        score_units(coded, np.zeros(3, int), 1, dimensions=[("a", [3], [1])], dimension_weights=[1])


def test_respondent_composites_by_hand():
    """The per-respondent composites of the hand table: their column means are the unit's indices."""
    from analysis import respondent_composites

    per_row = respondent_composites(_code(HAND), DIMS, [0.6, 0.4])
    service = [100, 81.25, 75, 56.25, 50, 50, 25, 0, 100, 75]
    place = [75] * 9 + [NAN]
    overall = [0.6 * s + 0.4 * p for s, p in zip(service[:9], place[:9], strict=True)] + [75]
    assert per_row.shape == (10, 3)
    np.testing.assert_allclose(per_row[:, 0], service)
    np.testing.assert_allclose(per_row[:, 1], place)
    np.testing.assert_allclose(per_row[:, 2], overall)
    s = _hand_scores()
    assert np.nanmean(per_row[:, 2]) == pytest.approx(s.overall_score(0).index.estimate)
    assert np.nanmean(per_row[:, 1]) == pytest.approx(s.dimension(0, "place").index.estimate)


def test_no_responses_at_all():
    """A campaign before its first answer: every unit has n = 0 and no estimate, and nothing fails."""
    empty = code_items(np.empty((0, 3)))
    s = score_units(empty, np.zeros(0, dtype=int), 2, dimensions=DIMS, dimension_weights=[0.6, 0.4])
    assert s.overall_score(1).n == 0 and s.overall_score(1).suppressed
    assert np.isnan(s.dimension(0, "service").index.estimate)


def test_composite_rate_of_one_has_an_interval():
    """49 satisfied answers of 49: 49 · (1/49) is not exactly 1 in floating point, which left a
    tiny variance and an empty interval; the rate of 1 gets the respondents' Wilson interval."""
    rows = [[1, 2]] * 49 + [[3, NAN]] * 1
    s = score_units(
        _code(rows), np.zeros(50, dtype=int), 1, dimensions=[("d", [0, 1], [1.0, 1.0])], dimension_weights=[1]
    )
    rate = s.dimension(0, "d").satisfaction
    assert rate.estimate == 1.0
    assert rate.high == 1.0 and 0.9 < rate.low < 1.0
