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


def indistinguishable_groups(
    estimates: np.ndarray, ses: np.ndarray, *, alpha: float = 0.05, adjust: str = "holm"
) -> list[str]:
    """Letter groups (as in compact letter displays): units sharing a letter do not differ.

    Pairs are compared by z tests of the difference, ``(e_i - e_j)/sqrt(se_i² + se_j²)``,
    adjusted across all pairs. Units are sorted best first; each letter marks a maximal run
    of consecutive units with no significant pair inside it.

    Returns:
        One string of letters per unit, in input order (e.g. ["a", "ab", "b"]).
    """
    est = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    k = est.size
    iu = np.triu_indices(k, 1)
    z = (est[iu[0]] - est[iu[1]]) / np.sqrt(se[iu[0]] ** 2 + se[iu[1]] ** 2)
    sig = np.zeros((k, k), dtype=bool)
    sig[iu] = p_adjust(2 * stats.norm.sf(np.abs(z)), adjust) < alpha
    sig |= sig.T
    order = np.argsort(-est, kind="stable")
    runs: list[tuple[int, int]] = []
    for start in range(k):
        end = start
        while end + 1 < k and not sig[np.ix_(order[start : end + 2], order[start : end + 2])].any():
            end += 1
        if not runs or end > runs[-1][1]:
            runs.append((start, end))
    labels = [""] * k
    for letter, (start, end) in enumerate(runs):
        for pos in range(start, end + 1):
            labels[order[pos]] += _letter(letter)
    return labels


def _letter(i: int) -> str:
    return chr(ord("a") + i) if i < 26 else f"g{i}"
