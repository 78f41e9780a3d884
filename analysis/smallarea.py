"""Fair comparison of small and large units: empirical-Bayes shrinkage, rank intervals, groups.

A unit with 12 answers and a 100 % 满意率 is not better than one with 900 answers and 96 %:
shrinkage pulls noisy scores towards the overall level in proportion to their noise, and rank
intervals show how uncertain a league-table position is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from .comparisons import p_adjust

# Upper bound on the fitted prior "sample size" α+β: beyond it the units are treated as
# having no between-unit spread (full pooling) instead of letting the fit run off to infinity.
_MAX_PRIOR_N = 1e7


@dataclass(frozen=True)
class Shrinkage:
    """Raw and shrunken score per unit, and the shrinkage factor (k,).

    ``factor[u]`` is the weight on the unit's own data: shrunken = factor × raw +
    (1 - factor) × overall. 1 = no shrinkage, 0 = fully pooled. ``posterior_sd`` is the
    posterior standard deviation used for rank intervals.
    """

    raw: np.ndarray
    shrunken: np.ndarray
    factor: np.ndarray
    posterior_sd: np.ndarray
    overall: float
    method: str
    prior: tuple[float, float]  # (α, β) for rates; (overall mean, τ²) for means


def shrink_rates(successes: np.ndarray, trials: np.ndarray) -> Shrinkage:
    """Beta-binomial empirical Bayes for unit rates (e.g. 满意率).

    Args:
        successes: satisfied answers per unit (k,); trials: valid answers per unit (k,).
            Units with 0 trials get the prior mean and factor 0.

    Returns:
        `Shrinkage` with posterior means ``(x + α)/(n + α + β)``; (α, β) by marginal maximum
        likelihood over units with trials (method "beta-binomial-ml").
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if x.shape != n.shape or np.any((x < 0) | (x > n)):
        raise ValueError("need 0 <= successes <= trials, same shapes")
    ok = n > 0
    if ok.sum() < 2:
        raise ValueError("need at least two units with answers")
    xs, ns = x[ok], n[ok]
    mean = xs.sum() / ns.sum()

    def nll(theta: np.ndarray) -> float:
        mu, s = special.expit(theta[0]), np.exp(theta[1])
        return -float(np.sum(stats.betabinom.logpmf(xs, ns, mu * s, (1 - mu) * s)))

    start = np.array([special.logit(np.clip(mean, 1e-3, 1 - 1e-3)), np.log(10.0)])
    bounds = [(-15, 15), (np.log(1e-3), np.log(_MAX_PRIOR_N))]
    fit = optimize.minimize(nll, start, method="L-BFGS-B", bounds=bounds)
    mu, s = float(special.expit(fit.x[0])), float(np.exp(fit.x[1]))
    a, b = mu * s, (1 - mu) * s
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(ok, x / np.where(ok, n, 1), np.nan)
    post_a, post_b = x + a, n - x + b
    shrunk = post_a / (post_a + post_b)
    var = post_a * post_b / ((post_a + post_b) ** 2 * (post_a + post_b + 1))
    return Shrinkage(raw, shrunk, n / (n + s), np.sqrt(var), mu, "beta-binomial-ml", (a, b))


def shrink_means(means: np.ndarray, variances: np.ndarray, method: str = "fay-herriot") -> Shrinkage:
    """Normal–normal empirical Bayes for unit means (e.g. the 0–100 index).

    Args:
        means: unit means (k,); variances: sampling variances of those means (se², k,).
        method: "fay-herriot" (τ² by the Fay–Herriot 1979 moment equation, unequal variances)
            or "james-stein" (equal variances; positive-part factor 1 - (k-3)σ²/Σ(y-ȳ)²,
            as in Efron & Morris's baseball example).

    Returns:
        `Shrinkage`: ``θ_u = m + B_u (y_u - m)`` with ``B_u = τ²/(τ² + D_u)``.
    """
    y = np.asarray(means, dtype=float)
    d = np.asarray(variances, dtype=float)
    k = y.size
    if d.shape != y.shape or k < 4 or np.any(~(d > 0)):
        raise ValueError("need k >= 4 means with positive variances of the same shape")
    if method == "james-stein":
        if not np.allclose(d, d[0]):
            raise ValueError("james-stein needs equal variances; use fay-herriot")
        m = y.mean()
        factor = np.full(k, max(0.0, 1 - (k - 3) * d[0] / np.sum((y - m) ** 2)))
        tau2 = factor[0] * d[0] / (1 - factor[0]) if factor[0] < 1 else np.inf
    elif method == "fay-herriot":
        tau2 = _fh_tau2(y, d)
        w = 1 / (tau2 + d)
        m = float(np.sum(w * y) / w.sum())
        factor = tau2 / (tau2 + d)
    else:
        raise ValueError(f"unknown method {method!r}")
    shrunk = m + factor * (y - m)
    return Shrinkage(y, shrunk, factor, np.sqrt(factor * d), float(m), method, (float(m), tau2))


def _fh_tau2(y: np.ndarray, d: np.ndarray) -> float:
    # Fay–Herriot: find τ² with Σ (y - m(τ²))²/(τ² + D) = k - 1; τ² = 0 when even 0 is too big.
    def g(t2: float) -> float:
        w = 1 / (t2 + d)
        m = np.sum(w * y) / w.sum()
        return float(np.sum(w * (y - m) ** 2) - (y.size - 1))

    if g(0.0) <= 0:
        return 0.0
    hi = max(float(np.var(y, ddof=1)), 1e-12)
    while g(hi) > 0:
        hi *= 2
    return float(optimize.brentq(g, 0.0, hi, xtol=1e-14))


@dataclass(frozen=True)
class RankIntervals:
    """Rank (1 = best) with a simulation interval and the chance of being in the bottom group."""

    rank: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_bottom: np.ndarray  # P(rank among the worst `bottom` units)
    bottom: int


def rank_intervals(
    estimates: np.ndarray,
    sds: np.ndarray,
    *,
    level: float = 0.90,
    bottom_share: float = 0.1,
    n_sims: int = 4000,
    seed: int = 20261124,
) -> RankIntervals:
    """Rank units (higher estimate = rank 1) with seeded simulation intervals.

    Args:
        estimates: (k,) scores, e.g. `Shrinkage.shrunken`; sds: (k,) their posterior sd.
        level: coverage of the rank interval (analysis.md A.5 suggests 90 %).
        bottom_share: the "bottom decile" share used for `p_bottom`.
        n_sims, seed: draws from independent normals N(estimate, sd²); reruns are identical.

    Returns:
        `RankIntervals`; `rank` is standard competition ranking ("1224") of the estimates.
    """
    est = np.asarray(estimates, dtype=float)
    sd = np.asarray(sds, dtype=float)
    k = est.size
    rng = np.random.default_rng(seed)
    draws = est + sd * rng.standard_normal((n_sims, k))
    ranks = k + 1 - stats.rankdata(draws, axis=1, method="max")  # 1 = best
    a = (1 - level) / 2
    low, high = np.quantile(ranks, [a, 1 - a], axis=0, method="inverted_cdf")
    bottom = max(1, int(np.ceil(bottom_share * k)))
    p_bottom = (ranks > k - bottom).mean(axis=0)
    rank = k + 1 - stats.rankdata(est, method="max")
    return RankIntervals(rank.astype(int), low.astype(int), high.astype(int), p_bottom, bottom)


@dataclass(frozen=True)
class LetterGroups:
    """A compact letter display of all pairwise comparisons between units.

    ``letters[u]`` is unit u's letters in input order ("" for a unit without an estimate);
    ``significant[i, j]`` says whether units i and j differ after adjustment (False where either
    has no estimate); ``pvalues[i, j]`` the adjusted two-sided p-value (NaN where either has no
    estimate, 1 on the diagonal). Two units with estimates share a letter exactly when
    ``significant[i, j]`` is False.
    """

    letters: list[str]
    significant: np.ndarray
    pvalues: np.ndarray
    alpha: float
    adjust: str


def letter_groups(estimates: np.ndarray, ses: np.ndarray, *, alpha: float = 0.05, adjust: str = "holm") -> LetterGroups:
    """Letter groups of units by the insert–absorb algorithm (Piepho 2004, as R ``multcompView``).

    Args:
        estimates: (k,) scores, e.g. the 0–100 index; NaN = no estimate.
        ses: (k,) their standard errors (same unit); NaN = no estimate. A standard error of 0 is
            allowed (a pair of two such units differs when their estimates do).
        alpha: significance level of each adjusted pairwise test.
        adjust: adjustment across the pairs of units with estimates ("holm", "BH", "bonferroni").

    Returns:
        `LetterGroups`. Pairs are compared by z tests of the difference,
        ``(e_i − e_j)/sqrt(se_i² + se_j²)``. The display starts from one letter shared by all; each
        significant pair (taken best first) splits every letter the two share into a copy without
        the one and a copy without the other, and letters whose units are a subset of another
        letter's are absorbed. A final sweep drops a unit's letter where every pair it makes inside
        that letter shares another letter too (Piepho's sweep), so no letter is redundant. Letters
        are a–z, A–Z, then ".a"… (multcompView's set), named in order of their best unit, so the best
        unit carries "a". Unlike runs of consecutive units, this can say that a noisy unit is
        indistinguishable from two units that differ from each other ("ab" between "a" and "b") and
        keeps "share a letter ⇔ not significantly different" true with unequal standard errors.
    """
    est = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    if est.ndim != 1 or se.shape != est.shape:
        raise ValueError("estimates and ses must both have shape (k,)")
    if np.any(se < 0):
        raise ValueError("ses must be non-negative")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    k = est.size
    scored = np.flatnonzero(~np.isnan(est) & ~np.isnan(se))
    pvalues = np.full((k, k), np.nan)
    significant = np.zeros((k, k), dtype=bool)
    letters = [""] * k
    if scored.size:
        order = scored[np.argsort(-est[scored], kind="stable")]  # best first
        e, s = est[order], se[order]
        iu = np.triu_indices(order.size, 1)
        diff = e[iu[0]] - e[iu[1]]
        spread = np.sqrt(s[iu[0]] ** 2 + s[iu[1]] ** 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(spread > 0, diff / np.where(spread > 0, spread, 1.0), np.where(diff == 0, 0.0, np.inf))
        padj = np.ones((order.size, order.size))
        padj[iu] = p_adjust(2 * stats.norm.sf(np.abs(z)), adjust)
        padj.T[iu] = padj[iu]
        sig = padj < alpha
        np.fill_diagonal(sig, False)
        pvalues[np.ix_(order, order)] = padj
        significant[np.ix_(order, order)] = sig
        for pos, text in enumerate(compact_letters(sig)):
            letters[order[pos]] = text
    return LetterGroups(letters, significant, pvalues, alpha, adjust)


def compact_letters(significant: np.ndarray) -> list[str]:
    """Letters for a symmetric (k, k) boolean matrix of significant differences (R ``multcompLetters``).

    Args:
        significant: ``[i, j]`` True where units i and j differ; the diagonal is ignored. Units are
            taken in the given order (multcompView's ``lvl_order``): the first unit carries "a".

    Returns:
        One string per unit; units i ≠ j share a letter exactly when ``significant[i, j]`` is False.
    """
    sig = np.asarray(significant, dtype=bool)
    if sig.ndim != 2 or sig.shape[0] != sig.shape[1] or not np.array_equal(sig, sig.T):
        raise ValueError("significant must be a symmetric (k, k) boolean matrix")
    if sig.shape[0] == 0:
        return []
    member = _insert_absorb(sig)
    return ["".join(_letter(int(c)) for c in np.flatnonzero(row)) for row in member]


def _insert_absorb(sig: np.ndarray) -> np.ndarray:
    """Boolean (k, letters) membership for a symmetric significance matrix, letters named in unit order."""
    k = sig.shape[0]
    member = np.ones((k, 1), dtype=bool)
    for i, j in zip(*np.nonzero(np.triu(sig, 1)), strict=True):
        shared = member[i] & member[j]
        if not shared.any():
            continue
        copies = member[:, shared].copy()
        copies[j] = False
        member[i, shared] = False
        first_copy = member.shape[1]
        member = np.hstack([member, copies])
        touched = np.concatenate([np.flatnonzero(shared), np.arange(first_copy, member.shape[1])])
        member = _absorb(member, touched)
    member = _sweep(member)
    # name letters in order of their units (first unit first, then the next…): the first unit's letter is "a"
    columns = sorted(range(member.shape[1]), key=lambda c: tuple(np.flatnonzero(member[:, c])))
    return member[:, columns]


def _absorb(member: np.ndarray, touched: np.ndarray) -> np.ndarray:
    """Drop every touched letter whose units all carry one other letter too (a subset of it).

    Only letters that just lost a unit or were just copied can have become a subset: an untouched
    letter inside a shrunk or copied one was inside the original already, which absorb excluded.
    """
    # integer product: no BLAS threads for a small product run thousands of times
    m = member.astype(np.int32)
    inter = m[:, touched].T @ m  # (touched, letters): units each touched letter shares with each letter
    size = inter[np.arange(touched.size), touched]
    inside = inter >= size[:, None]
    inside[np.arange(touched.size), touched] = False
    keep = np.ones(member.shape[1], dtype=bool)
    for n, c in enumerate(touched):  # in turn, so that of two equal letters one stays
        if size[n] == 0 or np.any(inside[n] & keep):
            keep[c] = False
    return member[:, keep]


def _sweep(member: np.ndarray) -> np.ndarray:
    """Piepho's sweep: remove a unit from a letter when every pair it makes there is covered elsewhere.

    ``share[u, v]`` counts the letters u and v share, so the pair keeps a letter after removing u
    from one they share exactly when ``share[u, v] >= 2``.
    """
    member = member.copy()
    m = member.astype(np.int64)
    share = m @ m.T
    for c in range(member.shape[1]):
        for unit in np.flatnonzero(member[:, c]):
            mates = np.flatnonzero(member[:, c])
            mates = mates[mates != unit]
            if share[unit, unit] >= 2 and np.all(share[unit, mates] >= 2):
                member[unit, c] = False
                share[unit, mates] -= 1
                share[mates, unit] -= 1
                share[unit, unit] -= 1
    return member[:, member.any(axis=0)]


def indistinguishable_groups(
    estimates: np.ndarray, ses: np.ndarray, *, alpha: float = 0.05, adjust: str = "holm"
) -> list[str]:
    """Letters of `letter_groups`, one string per unit in input order ("" without an estimate)."""
    return letter_groups(estimates, ses, alpha=alpha, adjust=adjust).letters


def _letter(i: int) -> str:
    """multcompView's letter set: a–z, A–Z, then the same with a "." prefix per round."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "." * (i // len(alphabet)) + alphabet[i % len(alphabet)]
