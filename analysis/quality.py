"""Response-quality signals from arrays: speeders, straight-lining, duplicates, link bursts.

These are signals for review (the integrity workflow decides), not verdicts: a resident who is
truly 非常满意 with everything straight-lines honestly. `suspicious` combines them so that no
single weak signal flags a response on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

# A response faster than this share of the median duration cannot have read the questions.
SPEED_RATIO = 0.3
# Straight-lining and duplicate vectors are only telling with enough answered items.
MIN_ITEMS = 5


def speeders(durations: np.ndarray, ratio: float = SPEED_RATIO) -> np.ndarray:
    """Flag responses faster than `ratio` × the median duration.

    Args:
        durations: seconds per response (n,); NaN = unknown (never flagged, not in the median).
    Returns:
        bool (n,).
    """
    d = np.asarray(durations, dtype=float)
    med = np.nanmedian(d) if np.any(~np.isnan(d)) else np.nan
    return np.asarray(d < ratio * med)


def straight_lining(levels: np.ndarray, min_items: int = MIN_ITEMS) -> np.ndarray:
    """Flag rows whose answered items (at least `min_items`) all hold the same level.

    Args:
        levels: (n, items) ranks, NaN = unanswered. Returns bool (n,).
    """
    x = np.asarray(levels, dtype=float)
    answered = (~np.isnan(x)).sum(axis=1)
    spread = np.nanmax(x, axis=1, initial=-np.inf, where=~np.isnan(x)) - np.nanmin(
        x, axis=1, initial=np.inf, where=~np.isnan(x)
    )
    return np.asarray((answered >= min_items) & (spread == 0))


def identical_vectors(levels: np.ndarray, min_items: int = MIN_ITEMS) -> np.ndarray:
    """Return, per row, how many rows share its exact answer vector (NaN matches NaN).

    Rows with fewer than `min_items` answers get 1 (too short to be telling).
    Args:
        levels: (n, items) ranks. Returns int (n,); > 1 means a duplicate exists.
    """
    x = np.nan_to_num(np.asarray(levels, dtype=float), nan=-1.0)
    _, inverse, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    out = counts[np.asarray(inverse).ravel()]
    enough = (~np.isnan(np.asarray(levels, dtype=float))).sum(axis=1) >= min_items
    return np.where(enough, out, 1)


@dataclass(frozen=True)
class Bursts:
    """Per response: the Poisson p-value of the busiest window it falls in, and the flag."""

    pvalue: np.ndarray  # Bonferroni-adjusted over the link's windows
    flag: np.ndarray
    window: float
    alpha: float


def burst_scan(timestamps: np.ndarray, link: np.ndarray, *, window: float = 600.0, alpha: float = 1e-3) -> Bursts:
    """Scan each link for windows holding far more responses than its normal rate.

    Args:
        timestamps: seconds (n,); link: link (QR code) id per response (n,).
        window: window length in seconds (default 10 minutes).
        alpha: flag windows whose adjusted p-value is below this.

    Returns:
        `Bursts`. For each response starting a window [t, t + window), the count c in it is
        compared with Poisson(rate × window), rate = the link's responses / its active span
        (a burst inflates this rate, which makes the test conservative). p = P(N >= c),
        multiplied by the link's number of windows (Bonferroni). A response is flagged when a
        significant window contains it.
    """
    t = np.asarray(timestamps, dtype=float)
    lk = np.asarray(link)
    p_out = np.ones(t.size)
    for value in np.unique(lk):
        idx = np.flatnonzero(lk == value)
        idx = idx[np.argsort(t[idx], kind="stable")]
        ts = t[idx]
        m = ts.size
        if m < 3:
            continue
        span = max(ts[-1] - ts[0], window)
        expected = m / span * window
        ends = np.searchsorted(ts, ts + window, side="left")
        counts = ends - np.arange(m)
        p = np.minimum(1.0, stats.poisson.sf(counts - 1, expected) * m)
        # each response takes the smallest p of the windows that contain it
        best = np.ones(m)
        for start in np.flatnonzero(p < 1.0):
            seg = slice(start, ends[start])
            best[seg] = np.minimum(best[seg], p[start])
        p_out[idx] = best
    return Bursts(p_out, p_out < alpha, window, alpha)


def suspicious(levels: np.ndarray, durations: np.ndarray, timestamps: np.ndarray, link: np.ndarray) -> np.ndarray:
    """Combine signals: in a burst, or a speeder who also straight-lines or duplicates.

    Returns bool (n,). Speed alone, straight-lining alone or a shared common vector alone
    are too frequent among honest residents to flag.
    """
    fast = speeders(durations)
    pattern = straight_lining(levels) | (identical_vectors(levels) > 1)
    return burst_scan(timestamps, link).flag | (fast & pattern)


# A resident may honestly rate two or three places (a service hall with several windows, a
# department and their own community) but not a whole street's communities.
DEVICE_UNIT_LIMIT = 3


def units_per_device(device: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Return, per row, the number of distinct units its device answered for.

    Args:
        device: device hash per response (n,), object or str; None or "" = unknown (gets 0).
        unit: unit id per response (n,).
    Returns:
        int (n,). A row with `>= DEVICE_UNIT_LIMIT` comes from one device rating many units.
    """
    dev = np.asarray(device, dtype=object)
    un = np.asarray(unit)
    known = np.array([d is not None and d != "" for d in dev], dtype=bool)
    out = np.zeros(dev.size, dtype=np.int64)
    if not known.any():
        return out
    keys = dev[known].astype(str)
    pairs = np.unique(np.stack([keys, un[known].astype(str)], axis=1), axis=0)
    devices, per_device = np.unique(pairs[:, 0], return_counts=True)
    out[known] = per_device[np.searchsorted(devices, keys)]
    return out


# An interview takes at least about five minutes with the walk to the next door; more than this
# many in any hour by one worker cannot have been held. Keying a paper sheet takes about a minute.
INTERVIEWS_PER_HOUR = 12
SHEETS_PER_HOUR = 60
# Door-to-door interviews are not held at night (local time, hours [22, 6)).
NIGHT_HOURS = (22, 6)


def entries_over_rate(timestamps: np.ndarray, worker: np.ndarray, limit: int, window: float = 3600.0) -> np.ndarray:
    """Flag entries in any `window`-second span where one worker keyed more than `limit` entries.

    Args:
        timestamps: seconds (n,); worker: worker id per entry (n,); limit: entries allowed per window.
    Returns:
        bool (n,): every entry inside a span [t, t + window) holding more than `limit` entries
        of the same worker.
    """
    t = np.asarray(timestamps, dtype=float)
    wk = np.asarray(worker)
    flag = np.zeros(t.size, dtype=bool)
    for value in np.unique(wk):
        idx = np.flatnonzero(wk == value)
        idx = idx[np.argsort(t[idx], kind="stable")]
        ts = t[idx]
        ends = np.searchsorted(ts, ts + window, side="left")
        for start in np.flatnonzero(ends - np.arange(ts.size) > limit):
            flag[idx[start : ends[start]]] = True
    return flag


def at_night(local_hours: np.ndarray, night: tuple[int, int] = NIGHT_HOURS) -> np.ndarray:
    """Flag local clock hours (0–23, int (n,)) inside [night[0], 24) ∪ [0, night[1]). Returns bool (n,)."""
    h = np.asarray(local_hours)
    return (h >= night[0]) | (h < night[1])
