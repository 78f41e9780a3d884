"""Early warning: the funnel plot and the EWMA chart by hand, and the chart's false-alarm rate and
detection delay measured on seeded synthetic series (issue 16, item 3).

Run with ``-s`` to see the measured figures: ``pytest -q -s tests/test_analysis_monitoring.py``.
"""

import numpy as np
import pytest
from scipy import stats

from analysis import ewma_chart, funnel

POINTS = np.array([100, 75, 50, 25, 0.0])
STABLE = np.array([0.35, 0.35, 0.15, 0.10, 0.05])  # index 71.25
DROPPED = np.array([0.29, 0.34, 0.17, 0.13, 0.07])  # index 66.25: five points lower
MONTHS = 12
DROP_AT = 6  # the seventh month


def test_funnel_limits_by_hand():
    f = funnel(np.array([70.0, 60.0, 90.0, np.nan]), np.array([2.0, 2.0, 4.0, 1.0]), 75.0)
    q2, q3 = stats.norm.ppf(0.975), stats.norm.ppf(0.999)
    assert f.warning_low[0] == pytest.approx(75 - q2 * 2) and f.alarm_high[2] == pytest.approx(75 + q3 * 4)
    assert f.z[:3] == pytest.approx([-2.5, -7.5, 3.75])
    assert f.signal.tolist() == [-1, -2, 2, 0]
    with pytest.raises(ValueError, match="centre"):
        funnel(np.ones(2), np.ones(2), np.nan)
    with pytest.raises(ValueError, match="ses"):
        funnel(np.ones(2), -np.ones(2), 1.0)


def test_ewma_by_hand_with_a_missing_month():
    x = np.array([70.0, 72.0, 71.0, 60.0, np.nan, 58.0])
    se = np.array([3.0, 3.0, 3.0, 2.0, np.nan, 4.0])
    c = ewma_chart(x, se, lam=0.5, L=2.0, baseline=3)
    target, target_var = 71.0, 3.0**2 / 3
    assert c.target == pytest.approx(target) and c.target_se == pytest.approx(np.sqrt(target_var))
    assert np.isnan(c.ewma[:3]).all()
    z3 = 0.5 * 60 + 0.5 * target
    sd3 = np.sqrt(0.25 * 4 + 0.25 * target_var)
    assert c.ewma[3] == pytest.approx(z3) and c.low[3] == pytest.approx(target - 2 * sd3)
    assert c.ewma[4] == pytest.approx(z3) and c.low[4] == pytest.approx(c.low[3])  # carried forward
    z5 = 0.5 * 58 + 0.5 * z3
    var5 = 0.25 * 16 + 0.25 * (0.25 * 4)
    sd5 = np.sqrt(var5 + 0.75**2 * target_var)
    assert c.ewma[5] == pytest.approx(z5) and c.low[5] == pytest.approx(target - 2 * sd5)
    assert c.signal.tolist() == [0, 0, 0, -1, -1, -1] and c.first_signal == 3


def test_ewma_needs_more_periods_than_its_baseline_and_checks_its_arguments():
    c = ewma_chart(np.array([70.0, np.nan, 71.0]), np.array([2.0, np.nan, 2.0]))
    assert np.isnan(c.target) and c.first_signal == -1 and not c.signal.any()
    for kwargs in ({"lam": 0.0}, {"L": 0.0}, {"baseline": 0}):
        with pytest.raises(ValueError):
            ewma_chart(np.ones(5), np.ones(5), **kwargs)
    with pytest.raises(ValueError, match="shape"):
        ewma_chart(np.ones(5), np.ones(4))


def _series(rng, low_n, high_n, drop_at=None):
    est, se = np.empty(MONTHS), np.empty(MONTHS)
    for t in range(MONTHS):
        n = int(rng.integers(low_n, high_n + 1))
        x = rng.choice(POINTS, n, p=DROPPED if drop_at is not None and t >= drop_at else STABLE)
        est[t], se[t] = x.mean(), x.std(ddof=1) / np.sqrt(n)
    return est, se


def _false_alarms(low_n, high_n, units=1000):
    rng = np.random.default_rng([2026, 16, low_n])
    any_low = charted = low_points = 0
    for _ in range(units):
        c = ewma_chart(*_series(rng, low_n, high_n))
        any_low += bool((c.signal < 0).any())
        charted += int((~np.isnan(c.low)).sum())
        low_points += int((c.signal < 0).sum())
    return any_low / units, low_points / charted


def _delays(low_n, high_n, units=1000):
    rng = np.random.default_rng([2026, 17, low_n])
    delays = []
    for _ in range(units):
        c = ewma_chart(*_series(rng, low_n, high_n, DROP_AT))
        hits = np.flatnonzero(c.signal[DROP_AT:] < 0)
        delays.append(hits[0] + 1 if hits.size else np.inf)  # 1 = flagged in the month of the drop
    return np.array(delays)


def test_false_alarm_rate_on_stable_series():
    """Stable units, 12 months, 15–60 (and 100–200) answers a month, default λ = 0.2, L = 2.5.

    Measured (seeded, 1,000 units each): 15–60 a month: 5.5 % of units flagged low at least once in
    the 9 charted months, 1.6 % of charted months; 100–200 a month: 3.4 % and 1.0 %.
    """
    for low_n, high_n, per_unit_max in ((15, 60, 0.07), (100, 200, 0.07)):
        per_unit, per_month = _false_alarms(low_n, high_n)
        print(f"false alarms, n {low_n}–{high_n}/month: {per_unit:.3f} of units, {per_month:.4f} of months")
        assert 0.005 <= per_unit <= per_unit_max and per_month <= 0.02


def test_detection_delay_for_a_five_point_drop():
    """A drop of 5 index points from month 7 on (71.25 → 66.25), 6 months to see it.

    Measured (seeded, 1,000 units each): 100–200 answers a month: flagged within 6 months in 61.7 %,
    median delay 5 months (3.5 months among those flagged); 15–60 a month: 21.0 %, the median beyond
    6 months (3.5 among those flagged). A 5-point drop is one monthly standard error of a small
    unit: the chart sees it only in large units or after months.
    """
    big = _delays(100, 200)
    small = _delays(15, 60)
    for name, d in (("100–200", big), ("15–60", small)):
        flagged = np.isfinite(d)
        print(
            f"5-point drop, n {name}/month: flagged within 6 months {flagged.mean():.3f}, "
            f"median delay {np.median(d)}, mean delay among flagged {d[flagged].mean():.2f}"
        )
    assert 0.45 <= np.isfinite(big).mean() and np.median(big) <= 6
    assert np.isfinite(small).mean() < np.isfinite(big).mean()  # more answers, earlier warning
