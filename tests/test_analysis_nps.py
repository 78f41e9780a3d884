"""NPS: classes (6 is a detractor), the multinomial variance, edge cases."""

import numpy as np
import pytest

from analysis import nps

NAN = np.nan


def test_hand_computed_nps_and_interval():
    # 10 answers: 9, 10, 10, 9 promote (4); 7, 8 passive (2); 6, 0, 3, 5 detract (4); NaN skipped.
    values = [9, 10, 10, 9, 7, 8, 6, 0, 3, 5, NAN]
    res = nps(values)
    assert (res.promoters, res.passives, res.detractors, res.n) == (4, 2, 4, 10)
    assert res.estimate == 0.0
    # Var = (0.4 + 0.4 − 0²) / 10 = 0.08
    half = 100 * 1.959963984540054 * np.sqrt(0.08)
    assert tuple(res) == pytest.approx((-half, half), rel=1e-12)
    assert res.method == "wald"


def test_six_is_a_detractor_and_seven_is_not():
    assert nps([6, 10]).estimate == 0.0
    assert nps([7, 10]).estimate == 50.0


def test_interval_is_clipped_and_narrows_with_n():
    low, high = nps([10] * 19 + [0])
    assert high == 100.0 and low < 90.0
    wide = nps([10, 8, 3] * 10)
    narrow = nps([10, 8, 3] * 1000)
    assert wide.estimate == narrow.estimate == 0.0
    assert narrow.high - narrow.low < wide.high - wide.low


def test_empty_single_and_invalid():
    empty = nps([NAN, NAN])
    assert empty.n == 0 and np.isnan(empty.estimate) and np.isnan(empty.low)
    one = nps([9])
    assert one.estimate == 100.0 and np.isnan(one.high)
    with pytest.raises(ValueError, match="0..10"):
        nps([11])
    with pytest.raises(ValueError, match="0..10"):
        nps([7.5])
