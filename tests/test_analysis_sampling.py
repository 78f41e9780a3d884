"""Sample size for a proportion against textbook values."""

import pytest

from analysis.sampling import sample_size_for_proportion


def test_textbook_values():
    # Cochran (1977): ±5 points at 95 % with p = 0.5 needs 385 (1.96² × 0.25 / 0.05² = 384.16).
    assert sample_size_for_proportion(0.05) == 385
    # With N = 1,000 the finite-population correction gives 278 (384.15 / (1 + 383.15 / 1000) = 277.7).
    assert sample_size_for_proportion(0.05, 1000) == 278
    assert sample_size_for_proportion(0.10) == 97
    assert sample_size_for_proportion(0.05, 50) <= 50


def test_wider_margin_or_smaller_population_needs_fewer():
    assert sample_size_for_proportion(0.08, 3000) < sample_size_for_proportion(0.05, 3000)
    assert sample_size_for_proportion(0.05, 500) < sample_size_for_proportion(0.05, 5000)


@pytest.mark.parametrize("margin", [0, 1, -0.1])
def test_impossible_margin_is_refused(margin):
    with pytest.raises(ValueError):
        sample_size_for_proportion(margin)
