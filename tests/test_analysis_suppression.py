"""Small-cell suppression: primary cells 0 < n < k and complementary suppression."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis import suppress_cells


def test_hand_table():
    """Row 0 has one small cell (3): its smallest partner (20) is hidden too; then column 0
    and column 1 each hold one hidden cell, so their smallest partners (row 2) are hidden."""
    table = np.array([[3, 20, 40], [50, 60, 70], [30, 25, 90]])
    res = suppress_cells(table)
    np.testing.assert_array_equal(res.primary, [[1, 0, 0], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(res.mask, [[1, 1, 0], [0, 0, 0], [1, 1, 0]])
    assert np.isnan(res.published[0, 0]) and res.published[1, 1] == 60


def test_zero_cells_are_not_primary():
    res = suppress_cells(np.array([[0, 10], [12, 14]]))
    assert not res.mask.any()


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(2, 6), st.integers(2, 6)), elements=st.integers(0, 30)), st.integers(2, 10)
)
def test_never_publishes_small_cells_nor_single_hidden_cell_in_a_line(table, k):
    res = suppress_cells(table, k)
    shown = ~res.mask
    assert not np.any(shown & (table > 0) & (table < k))
    for lines in (res.mask, res.mask.T):
        assert not np.any(lines.sum(axis=1) == 1)
