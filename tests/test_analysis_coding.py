"""Coding tests: mappings, thresholds, reverse items, don't-know handling (analysis.md R22)."""

import numpy as np
import pytest

from analysis import LINEAR_5, POINTS_100_20, IndexMapping, code_items, linear_mapping

NAN = np.nan


def _r22_column():
    """R22 counts: 非常满意 40, 满意 30, 基本满意 20, 不满意 7, 非常不满意 3, 不清楚 10."""
    ranks = np.repeat([1.0, 2.0, 3.0, 4.0, 5.0, NAN], [40, 30, 20, 7, 3, 10])
    dk = np.isnan(ranks)
    return ranks[:, None], dk[:, None]


def test_r22_linear_and_points_index_and_rates():
    """R22: linear mean 74.25, 100/80/60/40/20 mean 79.4, 满意率 90 %, top-2 70 %, 差评 10 %."""
    levels, dk = _r22_column()
    coded = code_items(levels, dont_know=dk)
    assert np.nanmean(coded.index) == pytest.approx(74.25, rel=1e-12)
    assert np.nanmean(coded.satisfied) == pytest.approx(0.90)
    assert np.nanmean(coded.top) == pytest.approx(0.70)
    assert np.nanmean(coded.bad) == pytest.approx(0.10)
    # the trap: counting 不清楚 in the denominator would give 81.8 % / 63.6 %
    assert np.nansum(coded.satisfied) / len(levels) == pytest.approx(0.818, abs=1e-3)
    gov = code_items(levels, dont_know=dk, mapping=POINTS_100_20)
    assert np.nanmean(gov.index) == pytest.approx(79.4, rel=1e-12)
    assert gov.mapping_name == "points-100-20" and coded.mapping_name == "linear"
    assert coded.dont_know.sum() == 10


def test_linear_mapping_tables():
    assert LINEAR_5.points == (100.0, 75.0, 50.0, 25.0, 0.0)
    assert linear_mapping(4).points == pytest.approx((100.0, 200 / 3, 100 / 3, 0.0))


def test_reverse_item_flips_rank():
    coded = code_items(np.array([[1.0, 1.0], [5.0, 2.0], [NAN, 4.0]]), reverse=[False, True])
    np.testing.assert_array_equal(coded.rank, [[1, 5], [5, 4], [NAN, 2]])
    np.testing.assert_array_equal(coded.index[:, 1], [0.0, 25.0, 75.0])


def test_indicators_are_nan_where_missing():
    coded = code_items(np.array([[3.0], [4.0], [NAN]]))
    np.testing.assert_array_equal(coded.satisfied[:, 0], [1.0, 0.0, NAN])
    np.testing.assert_array_equal(coded.bad[:, 0], [0.0, 1.0, NAN])
    np.testing.assert_array_equal(coded.top[:, 0], [0.0, 0.0, NAN])


def test_four_level_security_scale():
    """安全感: 安全/基本安全/不太安全/不安全; 安全感率 counts the first two."""
    coded = code_items(
        np.array([[1.0], [2.0], [3.0], [4.0]]),
        n_levels=4,
        satisfied_levels=2,
        top_levels=1,
        bad_levels=2,
        mapping=linear_mapping(4),
    )
    np.testing.assert_array_equal(coded.satisfied[:, 0], [1, 1, 0, 0])


def test_coded_arrays_are_read_only():
    coded = code_items(np.array([[1.0]]))
    with pytest.raises(ValueError):
        coded.index[0, 0] = 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"levels": np.array([[6.0]])}, "integers in 1..5"),
        ({"levels": np.array([[2.5]])}, "integers in 1..5"),
        ({"levels": np.array([[0.0]])}, "integers in 1..5"),
        ({"levels": np.array([1.0])}, "2-D"),
        ({"levels": np.array([[1.0]]), "dont_know": np.array([[True]])}, "must be NaN"),
        ({"levels": np.array([[1.0]]), "mapping": IndexMapping("x", (100.0, 0.0))}, "2 points"),
        ({"levels": np.array([[1.0]]), "reverse": [True, False]}, "one flag per item"),
        ({"levels": np.array([[1.0]]), "bad_levels": 0}, "bad_levels"),
    ],
)
def test_invalid_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        code_items(**kwargs)


def test_codes_are_one_byte_per_answer():
    """0 = no answer, 1..5 = rank after reversal, 6 = don't know: a ninth of the float input."""
    levels = np.array([[1.0, NAN], [4.0, 2.0], [NAN, NAN]])
    coded = code_items(levels, dont_know=np.array([[0, 0], [0, 0], [1, 0]], bool), reverse=[False, True])
    assert coded.code.dtype == np.uint8
    np.testing.assert_array_equal(coded.code, [[1, 0], [4, 4], [6, 0]])
    np.testing.assert_array_equal(coded.rank, [[1, NAN], [4, 4], [NAN, NAN]])
