"""Signals for staff-entered answers (interviews, keyed paper sheets): the rated unit's own staff may stuff.

Each signal is symmetric, as the residents' signals are: it looks at how answers are distributed, how
variable, how fast and how alike, never at which way they go, so mirroring every rating (v → max + min − v)
flags the same entries. They are signals for review (quarantine), not verdicts.

Inputs are per entry: `scores` is each answer's mean rating level over its answered rating items (float
(n,), NaN when none was answered: such an entry takes part in no score-based signal and is never flagged
by one); `unit`, `worker` ids (n,); `staff` bool (n,) marks staff-entered rows (the rest are residents'
own answers); timestamps are seconds. Signals that test groups control the family-wise error over the
groups tested in one call (Holm), so a campaign with many units does not flag more honest entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .comparisons import p_adjust
from .quality import entries_over_rate

# Fewer answers than this on either side (or by one worker): no test; too few to tell chance from intent.
MIN_GROUP = 8
# Family-wise error rate of each signal over the (unit, worker) pairs tested in one campaign, Holm-adjusted.
# One flagged pair sends all of a worker's entries for a unit to review, so the rate is kept low: stuffing
# that matters (dozens of entries of one kind) gives p-values far below it (1e-10 and less in the tests).
STAFF_ALPHA = 0.001
# Keying a sheet takes about a minute and an interview at least five: more than this many by one worker
# within ten minutes cannot have been read off paper or asked at a door.
SHEETS_PER_TEN_MINUTES = 15
# "Far less variable": a worker's variance below this share of the residents' (a standard deviation under
# half theirs), as well as significantly smaller. Significance alone would, over many pairs, now and then
# send an honest keyer whose residents happened to disagree a lot to review.
FAR_LESS_VARIABLE = 0.25
INTERVIEWS_PER_TEN_MINUTES = 4
# Consecutive printed sheets whose answers differ by at most this many levels per item on average, in a run
# of at least SERIAL_RUN sheets, look filled in by one hand.
NEAR_IDENTICAL = 0.25
SERIAL_RUN = 5


@dataclass(frozen=True)
class GroupTest:
    """One test per group (unit or worker) and the entries it flags.

    groups: ids tested (k,); n: entries per group (k,); p, p_adjusted: raw and Holm-adjusted p-values (k,);
    effect: the test's effect size (k,), NaN where the test has none; flag: bool (n_entries,) for every staff
    entry of a group whose adjusted p is below `alpha` (and, where the test asks for one, large enough an effect).
    """

    groups: np.ndarray
    n: np.ndarray
    p: np.ndarray
    p_adjusted: np.ndarray
    effect: np.ndarray
    flag: np.ndarray
    alpha: float


def channel_shift(
    scores: np.ndarray,
    unit: np.ndarray,
    worker: np.ndarray,
    staff: np.ndarray,
    *,
    alpha: float = STAFF_ALPHA,
    min_n: int = MIN_GROUP,
) -> GroupTest:
    """Workers whose entries for a unit are distributed differently from that unit's own residents' answers.

    Per (unit, worker) with at least `min_n` scored staff entries, against the unit's residents' scores (at
    least `min_n` too): the two-sided Mann–Whitney U test (a shift either way counts), Holm-adjusted over the
    pairs tested. Tested per worker, so one worker's stuffing does not flag another's honest keying of the
    same unit. `groups` holds "unit/worker" labels; every entry of a flagged pair is flagged.
    """
    s = np.asarray(scores, dtype=float)
    u = np.asarray(unit)
    w = np.asarray(worker)
    st = np.asarray(staff, dtype=bool)
    ok = ~np.isnan(s)
    pair = np.array([f"{a}/{b}" for a, b in zip(u, w, strict=True)], dtype=object)
    tested: list[object] = []
    sizes: list[int] = []
    pvalues: list[float] = []
    for value in np.unique(pair[st & ok]):
        mine = s[st & ok & (pair == value)]
        unit_of_pair = u[st & ok & (pair == value)][0]
        residents = s[ok & ~st & (u == unit_of_pair)]
        if mine.size < min_n or residents.size < min_n:
            continue
        tested.append(value)
        sizes.append(mine.size)
        pvalues.append(float(stats.mannwhitneyu(mine, residents, alternative="two-sided").pvalue))
    effects = [np.nan] * len(tested)
    return _group_flags(pair, st & ok, tested, sizes, pvalues, effects, [True] * len(tested), alpha)


def low_variance_workers(
    scores: np.ndarray,
    unit: np.ndarray,
    worker: np.ndarray,
    staff: np.ndarray,
    *,
    alpha: float = STAFF_ALPHA,
    min_n: int = MIN_GROUP,
    far_less: float = FAR_LESS_VARIABLE,
) -> GroupTest:
    """Workers whose entries for a unit vary far less than that unit's residents' own answers do.

    Per (unit, worker) with at least `min_n` scored staff entries, against the unit's residents' scores (at
    least `min_n` of them, not all equal; otherwise no test): the Brown–Forsythe test of equal spread, one-
    sided (the worker's answers too alike), Holm-adjusted over the pairs; flagged when also the variance ratio
    (`effect`, worker / residents) is below `far_less`. Within a unit, so the spread between
    units' qualities does not make an honest keyer of one unit look uniform. Variance does not change when
    ratings are mirrored. `groups` holds "unit/worker" labels.
    """
    s = np.asarray(scores, dtype=float)
    u = np.asarray(unit)
    w = np.asarray(worker)
    st = np.asarray(staff, dtype=bool)
    ok = ~np.isnan(s)
    pair = np.array([f"{a}/{b}" for a, b in zip(u, w, strict=True)], dtype=object)
    tested: list[object] = []
    sizes: list[int] = []
    pvalues: list[float] = []
    effects: list[float] = []
    for value in np.unique(pair[st & ok]):
        where = st & ok & (pair == value)
        mine = s[where]
        residents = s[ok & ~st & (u == u[where][0])]
        if mine.size < min_n or residents.size < min_n:
            continue
        if np.ptp(residents) == 0:
            continue
        # Brown–Forsythe (Levene about the median): robust to the skewed, bounded scores ratings give;
        # one-sided, small spread only: half the two-sided p when the worker's spread is the smaller.
        two_sided = float(stats.levene(mine, residents, center="median").pvalue)
        smaller = np.mean(np.abs(mine - np.median(mine))) < np.mean(np.abs(residents - np.median(residents)))
        tested.append(value)
        sizes.append(mine.size)
        pvalues.append(two_sided / 2 if smaller else 1 - two_sided / 2)
        effects.append(float(np.var(mine, ddof=1)) / max(float(np.var(residents, ddof=1)), 1e-12))
    strong = [ratio < far_less for ratio in effects]
    return _group_flags(pair, st & ok, tested, sizes, pvalues, effects, strong, alpha)


def _group_flags(
    group_of: np.ndarray,
    eligible: np.ndarray,
    tested: list[object],
    sizes: list[int],
    pvalues: list[float],
    effects: list[float],
    strong: list[bool],
    alpha: float,
) -> GroupTest:
    adjusted = p_adjust(np.array(pvalues), "holm") if pvalues else np.array([])
    flag = np.zeros(group_of.size, dtype=bool)
    for value, p, big in zip(tested, adjusted, strong, strict=True):
        if p < alpha and big:
            flag |= eligible & (group_of == value)
    groups = np.array(tested)
    sizes_ = np.array(sizes, dtype=int)
    return GroupTest(groups, sizes_, np.array(pvalues), adjusted, np.array(effects, dtype=float), flag, alpha)


def keying_bursts(timestamps: np.ndarray, worker: np.ndarray, limit: int, window: float = 600.0) -> np.ndarray:
    """Flag entries inside any `window`-second span holding more than `limit` entries by one worker.

    timestamps: seconds (n,); worker: id per entry (n,). Returns bool (n,). (The hourly rates of
    `analysis.entries_over_rate` miss forty sheets keyed in half a second; this window does not.)
    """
    return entries_over_rate(timestamps, worker, limit, window)


def serial_runs(
    levels: np.ndarray,
    worker: np.ndarray,
    unit: np.ndarray,
    number: np.ndarray,
    *,
    tolerance: float = NEAR_IDENTICAL,
    run: int = SERIAL_RUN,
) -> np.ndarray:
    """Flag paper sheets one worker keyed in printed-number order with near-identical answers.

    levels: float (n, items), NaN = not answered; worker, unit: ids (n,); number: printed sheet number (n,),
    numbered per unit, NaN or negative when unknown (never flagged). One worker's sheets of one unit are
    sorted by number; neighbours with consecutive numbers are "alike" when both answered the same items (at
    least two) and their levels differ by at most `tolerance` on average. A chain of at least `run` sheets,
    each alike its predecessor, is flagged whole. Returns bool (n,).
    """
    x = np.asarray(levels, dtype=float)
    num = np.asarray(number, dtype=float)
    pair = np.array([f"{a}/{b}" for a, b in zip(np.asarray(worker), np.asarray(unit), strict=True)], dtype=object)
    flag = np.zeros(x.shape[0], dtype=bool)
    known = ~np.isnan(num) & (num >= 0)
    for value in np.unique(pair[known]):
        idx = np.flatnonzero(known & (pair == value))
        idx = idx[np.argsort(num[idx], kind="stable")]
        chain = [idx[0]] if idx.size else []
        for prev, cur in zip(idx[:-1], idx[1:], strict=True):
            if num[cur] - num[prev] == 1 and _alike(x[prev], x[cur], tolerance):
                chain.append(cur)
                continue
            if len(chain) >= run:
                flag[chain] = True
            chain = [cur]
        if len(chain) >= run:
            flag[chain] = True
    return flag


def _alike(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    both = ~np.isnan(a) & ~np.isnan(b)
    same_items = bool(np.array_equal(np.isnan(a), np.isnan(b)))
    return same_items and int(both.sum()) >= 2 and float(np.mean(np.abs(a[both] - b[both]))) <= tolerance
