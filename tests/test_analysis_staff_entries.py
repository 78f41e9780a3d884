"""analysis.staff_entries: the signals of staff-entered answers, on small arrays whose answer is known."""

from __future__ import annotations

import numpy as np

import analysis
from analysis.staff_entries import channel_shift, keying_bursts, low_variance_workers, serial_runs


def two_groups(rng: np.random.Generator, staff_mean: float, staff_sd: float) -> tuple[np.ndarray, ...]:
    residents = np.clip(rng.normal(3.5, 0.8, 60), 1, 5)
    staff = np.clip(rng.normal(staff_mean, staff_sd, 30), 1, 5)
    scores = np.concatenate([residents, staff, [np.nan]])  # one entry without any rating answered
    unit = np.zeros(scores.size, dtype=int)
    worker = np.concatenate([np.full(60, -1), np.full(31, 7)])
    is_staff = worker > 0
    return scores, unit, worker, is_staff


def test_a_shift_either_way_is_found_and_the_unanswered_entry_is_never_flagged():
    rng = np.random.default_rng(1)
    for mean in (4.9, 2.1):  # praise or damnation: the same signal
        scores, unit, worker, staff = two_groups(rng, mean, 0.3)
        found = channel_shift(scores, unit, worker, staff)
        assert list(found.groups) == ["0/7"] and found.n.tolist() == [30] and found.p_adjusted[0] < 1e-6
        assert found.flag[60:90].all() and not found.flag[:60].any() and not found.flag[90]


def test_honest_entries_are_not_shifted_and_small_groups_are_not_tested():
    rng = np.random.default_rng(2)
    scores, unit, worker, staff = two_groups(rng, 3.5, 0.8)
    assert not channel_shift(scores, unit, worker, staff).flag.any()
    few = channel_shift(scores[:65], unit[:65], worker[:65], staff[:65])  # 5 staff entries: below MIN_GROUP
    assert few.groups.size == 0 and not few.flag.any()


def test_uniform_entries_need_significance_and_a_large_effect_and_ignore_direction():
    rng = np.random.default_rng(3)
    scores, unit, worker, staff = two_groups(rng, 4.8, 0.05)
    found = low_variance_workers(scores, unit, worker, staff)
    assert found.flag[60:90].all() and found.effect[0] < analysis.staff_entries.FAR_LESS_VARIABLE
    mirrored = low_variance_workers(6 - scores, unit, worker, staff)
    assert np.allclose(mirrored.p, found.p) and (mirrored.flag == found.flag).all()
    honest = low_variance_workers(*two_groups(rng, 3.5, 0.8))
    assert not honest.flag.any()


def test_keying_bursts_count_one_workers_entries_in_ten_minutes():
    t = np.concatenate([np.arange(16) * 30.0, 5000 + np.arange(16) * 60.0])  # 16 in 8 min; 16 in 16 min
    worker = np.array([1] * 16 + [2] * 16)
    flag = keying_bursts(t, worker, analysis.SHEETS_PER_TEN_MINUTES)
    assert flag[:16].all() and not flag[16:].any()


def test_serial_runs_need_consecutive_numbers_alike_answers_and_a_long_enough_chain():
    same = np.tile([5.0, 5.0, 4.0, np.nan], (8, 1))
    numbers = np.array([1, 2, 3, 4, 5, 7, 8, 9], dtype=float)  # a gap after 5: the chain breaks there
    worker = np.ones(8, dtype=int)
    unit = np.zeros(8, dtype=int)
    flag = serial_runs(same, worker, unit, numbers)
    assert flag.tolist() == [True] * 5 + [False] * 3
    varied = same.copy()
    varied[2] = [1.0, 2.0, 5.0, np.nan]  # one sheet that differs breaks the run into two short ones
    assert not serial_runs(varied, worker, unit, numbers).any()
    unknown = serial_runs(same, worker, unit, np.full(8, np.nan))  # no printed numbers: never flagged
    assert not unknown.any()
    assert (serial_runs(6 - same, worker, unit, numbers) == flag).all()  # mirrored: the same
