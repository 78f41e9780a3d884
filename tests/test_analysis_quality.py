"""Response-quality signals, and a synthetic-fraud test measuring recall and false positives."""

import numpy as np

from analysis import (
    at_night,
    burst_scan,
    entries_over_rate,
    identical_vectors,
    speeders,
    straight_lining,
    suspicious,
    units_per_device,
)

NAN = np.nan


def test_speeders_relative_to_median():
    d = np.array([100.0, 120, 140, 20, NAN, 41])
    np.testing.assert_array_equal(speeders(d), [False, False, False, True, False, False])


def test_straight_lining_needs_enough_items():
    levels = np.array([[1, 1, 1, 1, 1, NAN], [2, 2, 2, 2, NAN, NAN], [1, 2, 1, 1, 1, 1.0]])
    np.testing.assert_array_equal(straight_lining(levels), [True, False, False])


def test_identical_vectors_counts_nan_as_a_value():
    levels = np.array(
        [
            [1, 2, 3, 4, 5, NAN],
            [1, 2, 3, 4, 5, NAN],
            [1, 2, 3, 4, 5, 1.0],
            [1, NAN, NAN, NAN, NAN, NAN],
            [1, NAN, NAN, NAN, NAN, NAN],
        ]
    )
    np.testing.assert_array_equal(identical_vectors(levels), [2, 2, 1, 1, 1])


def test_burst_scan_by_hand():
    """Link "a": 30 responses spread over 30 000 s plus 12 within 60 s. Rate 42/30 000 s →
    0.84 expected per 600 s; P(N >= 12) is ~1e-10, far below 1e-3 after ×42."""
    t = np.concatenate([np.linspace(0, 30_000, 30), 15_000.5 + np.arange(12) * 5.0])
    res = burst_scan(t, np.array(["a"] * 42))
    assert res.flag[30:].all()
    assert res.flag[:30].sum() <= 2  # at most the regular responses sitting inside the burst


def _synthetic(seed):
    """30 days, 20 links, 4000 honest responses (Poisson arrivals, lognormal durations with
    median 150 s, answers from a one-factor model), plus 3 injected ballot-stuffing bursts of
    40 responses each in 10 minutes, fast (median 25 s) and copied or straight-lined."""
    rng = np.random.default_rng(seed)
    n, items, links = 4000, 12, 20
    link = rng.integers(0, links, n)
    t = rng.uniform(0, 30 * 86400, n)
    dur = rng.lognormal(np.log(150), 0.5, n)
    mood = rng.normal(0, 1, (n, 1))
    levels = np.clip(np.round(2.2 - 0.9 * mood + rng.normal(0, 0.8, (n, items))), 1, 5)
    levels[rng.random(levels.shape) < 0.05] = NAN
    fake = []
    for b in range(3):
        start = rng.uniform(0, 29 * 86400)
        m = 40
        flink = np.full(m, b)
        ft = start + np.sort(rng.uniform(0, 600, m))
        fdur = rng.lognormal(np.log(25), 0.3, m)
        template = np.ones((m, items)) if b != 1 else np.tile(levels[0], (m, 1))
        fake.append((flink, ft, fdur, template))
    link = np.concatenate([link] + [f[0] for f in fake])
    t = np.concatenate([t] + [f[1] for f in fake])
    dur = np.concatenate([dur] + [f[2] for f in fake])
    levels = np.vstack([levels] + [f[3] for f in fake])
    truth = np.arange(link.size) >= n
    return levels, dur, t, link, truth


def test_synthetic_fraud_recall_and_false_positive_rate():
    recalls, fprs = [], []
    for seed in range(5):
        levels, dur, t, link, truth = _synthetic(seed)
        flag = suspicious(levels, dur, t, link)
        recalls.append(flag[truth].mean())
        fprs.append(flag[~truth].mean())
    assert min(recalls) >= 0.95, recalls
    assert max(fprs) <= 0.01, fprs


def test_units_per_device_counts_distinct_units_and_ignores_unknown_devices():
    device = np.array(["d1", "d1", "d1", "d2", "d2", None, "", "d3"], dtype=object)
    unit = np.array([1, 2, 2, 5, 5, 1, 2, 3])
    np.testing.assert_array_equal(units_per_device(device, unit), [2, 2, 2, 1, 1, 0, 0, 1])
    assert units_per_device(np.array([None, None], dtype=object), np.array([1, 2])).tolist() == [0, 0]


def test_entries_over_rate_flags_the_crowded_hour_of_one_worker_only():
    # Worker 7: 13 interviews within 50 minutes (over 12/hour), then one two hours later.
    # Worker 8: 12 interviews in the same hour (at the limit, not over it).
    t7 = np.concatenate([np.arange(13) * 250.0, [10_000.0]])
    t8 = np.arange(12) * 250.0
    t = np.concatenate([t7, t8])
    worker = np.array([7] * 14 + [8] * 12)
    flag = entries_over_rate(t, worker, limit=12)
    assert flag[:13].all() and not flag[13] and not flag[14:].any()


def test_at_night_wraps_midnight():
    hours = np.arange(24)
    assert hours[at_night(hours)].tolist() == [0, 1, 2, 3, 4, 5, 22, 23]
