"""Design-based estimation: weights, strata, clusters and fpc, as R's `survey` package does it.

Variances are Taylor-linearised: each estimate's influence values are summed within primary
sampling units (PSUs), and ``var = Σ_h (1 - f_h) n_h/(n_h - 1) Σ_k (t_hk - t̄_h)²`` over strata h
with n_h PSUs (R ``svyrecvar``/``onestrat``). Calibrated designs (`post_stratify`, `rake`)
first replace the influence values by their residuals from the calibration, as R does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import special, stats


@dataclass(frozen=True)
class DesignEstimate:
    """A design-based estimate; unpacks as ``(low, high)``.

    ``n`` counts observations with a value and non-zero weight; ``n_eff`` is Kish's
    ``(Σw)²/Σw²`` over them; ``deff`` is R's ``deff=TRUE`` variance ratio (design variance over
    simple-random-sampling-without-replacement variance at the same n and population size).
    ``df`` = number of PSUs minus number of strata (R ``degf``). Like R, ``deff`` reads the
    weights as population counts: with weights summing to the sample size it is infinite.
    """

    estimate: float
    se: float
    low: float
    high: float
    n: int
    n_eff: float
    deff: float
    df: int
    method: str

    def __iter__(self) -> Iterator[float]:
        yield self.low
        yield self.high


@dataclass(frozen=True)
class Calibration:
    """One calibration step kept for variance estimation (R's ``design$postStrata`` entry).

    ``kind`` "post": residualise on post-strata ``cells`` with weights before (``old``) and
    after (``new``). ``kind`` "rake": ``cells``/``new`` hold one entry per margin.
    """

    kind: str
    cells: tuple[np.ndarray, ...]
    new: tuple[np.ndarray, ...]
    old: tuple[np.ndarray, ...] = ()
    report: object = None  # weighting.RakeReport for a rake step


def _codes(labels: np.ndarray | None, n: int, name: str) -> np.ndarray:
    if labels is None:
        return np.zeros(n, dtype=np.intp)
    a = np.asarray(labels)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    return np.unique(a, return_inverse=True)[1].astype(np.intp)


@dataclass(frozen=True, eq=False)
class Design:
    """A survey design: weights, strata, one stage of clusters and finite-population correction.

    Args:
        weights: sampling weights (n,), positive; None = equal weights 1, or N_h/n_h when
            `fpc` is given (as R ``svydesign`` derives them).
        strata: stratum label per observation (n,), None = one stratum.
        clusters: PSU label per observation (n,), None = each observation is its own PSU.
            Clusters are taken as nested in strata (R ``nest=TRUE``).
        fpc: population size per observation (n,): number of units in the stratum, or number
            of clusters in the stratum for a cluster design; constant within a stratum.
            Values below 1 are read as sampling fractions, as R does.
        lonely_psu: "fail" (R default: a stratum with one PSU is an error) or "remove"
            (that stratum adds no variance).
    """

    weights: np.ndarray | None = None
    strata: np.ndarray | None = None
    clusters: np.ndarray | None = None
    fpc: np.ndarray | None = None
    lonely_psu: str = "fail"
    calibration: tuple[Calibration, ...] = ()
    n: int = field(init=False)
    w: np.ndarray = field(init=False, repr=False)
    stratum: np.ndarray = field(init=False, repr=False)
    psu: np.ndarray = field(init=False, repr=False)
    psu_stratum: np.ndarray = field(init=False, repr=False)
    psu_factor: np.ndarray = field(init=False, repr=False)  # (1 - f_h) n_h/(n_h-1) per PSU

    def __post_init__(self) -> None:
        sizes = [np.shape(a)[0] for a in (self.weights, self.strata, self.clusters, self.fpc) if a is not None]
        if not sizes:
            raise ValueError("a design needs at least one of weights, strata, clusters, fpc")
        n = sizes[0]
        h = _codes(self.strata, n, "strata")
        c = _codes(self.clusters, n, "clusters") if self.clusters is not None else np.arange(n)
        # nest clusters in strata: a PSU is a (stratum, cluster) pair
        psu = np.unique(h * (int(c.max()) + 1 if n else 1) + c, return_inverse=True)[1]
        psu_h = np.zeros(int(psu.max()) + 1 if n else 0, dtype=np.intp)
        psu_h[psu] = h
        n_h = np.bincount(psu_h)
        if self.lonely_psu not in ("fail", "remove"):
            raise ValueError("lonely_psu must be 'fail' or 'remove'")
        if self.lonely_psu == "fail" and np.any(n_h == 1):
            raise ValueError("a stratum has only one PSU (use lonely_psu='remove' to ignore it)")
        f = np.ones(n_h.size)
        if self.fpc is not None:
            pop = np.asarray(self.fpc, dtype=float)
            if pop.shape != (n,):
                raise ValueError(f"fpc must have shape ({n},)")
            pop_h = np.full(n_h.size, np.nan)
            pop_h[h] = pop
            if not np.allclose(pop, pop_h[h]):
                raise ValueError("fpc must be constant within each stratum")
            pop_h = np.where(pop_h < 1, n_h / pop_h, pop_h)  # sampling fraction -> size
            if np.any(pop_h < n_h):
                raise ValueError("fpc is smaller than the number of sampled PSUs")
            f = (pop_h - n_h) / pop_h
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(n_h > 1, f * n_h / (n_h - 1), 0.0)
        if self.weights is None:
            # R svydesign: without weights, probabilities are n_h/N_h (or 1 without fpc)
            w = np.ones(n) if self.fpc is None else 1.0 / (1.0 - f[h])
        else:
            w = np.asarray(self.weights, dtype=float)
            if w.shape != (n,) or np.any(~(w >= 0)):
                raise ValueError(f"weights must be non-negative with shape ({n},)")
        for name, value in (
            ("n", n),
            ("w", w),
            ("stratum", h),
            ("psu", psu),
            ("psu_stratum", psu_h),
            ("psu_factor", factor[psu_h]),
        ):
            object.__setattr__(self, name, value)

    @property
    def df(self) -> int:
        """Degrees of freedom: PSUs minus strata (R ``degf``)."""
        return int(self.psu_stratum.size - np.unique(self.stratum).size)

    def with_weights(self, w: np.ndarray, step: Calibration | None) -> Design:
        """Return a copy with new weights and (optionally) one more calibration step."""
        extra = () if step is None else (step,)
        return replace(self, weights=np.asarray(w, float), calibration=self.calibration + extra)

    def variance(self, z: np.ndarray) -> float:
        """Linearised variance of a total whose influence values (n,) are `z`."""
        z = _residualise(np.asarray(z, dtype=float), self.calibration)
        t = np.bincount(self.psu, z, minlength=self.psu_stratum.size)
        h = self.psu_stratum
        mean_h = np.bincount(h, t) / np.bincount(h)
        return float(np.sum(self.psu_factor * (t - mean_h[h]) ** 2))

    def mean(self, y: np.ndarray, confidence: float = 0.95) -> DesignEstimate:
        """Estimate the population mean of `y` (n,); NaN = missing, treated as a domain.

        The interval is normal (R ``confint(svymean(...))``).
        """
        y, w, psum = self._prepare(y)
        est = float(np.sum(w * y) / psum)
        z = w * (y - est) / psum
        var = self.variance(z)
        nobs = np.count_nonzero(w)
        deff = _ratio(var, _svyvar(y, w) * (psum - nobs) / (psum * nobs))
        return self._finish(est, var, w, deff, confidence, "linearised-normal")

    def total(self, y: np.ndarray, confidence: float = 0.95) -> DesignEstimate:
        """Estimate the population total of `y` (n,); NaN = missing (contributes nothing)."""
        y, w, psum = self._prepare(y)
        est = float(np.sum(w * y))
        var = self.variance(w * y)
        nobs = np.count_nonzero(w)
        deff = _ratio(var, _svyvar(y, w) * psum**2 * (psum - nobs) / (psum * nobs))
        return self._finish(est, var, w, deff, confidence, "linearised-normal")

    def proportion(self, y: np.ndarray, confidence: float = 0.95) -> DesignEstimate:
        """Estimate a proportion of a 0/1 `y` with R ``svyciprop(method="logit")`` bounds.

        The interval is ``expit(logit p̂ ± t(df) se/(p̂(1-p̂)))``; it is NaN at p̂ = 0 or 1,
        where the logit interval is undefined.
        """
        vals = np.asarray(y, dtype=float)
        if np.any((vals != 0) & (vals != 1) & ~np.isnan(vals)):
            raise ValueError("proportion needs 0/1 values (NaN = missing)")
        m = self.mean(vals, confidence)
        p = m.estimate
        with np.errstate(divide="ignore", invalid="ignore"):
            half = stats.t.ppf(0.5 + confidence / 2, self.df) * m.se / (p * (1 - p))
            low = float(special.expit(special.logit(p) - half))
            high = float(special.expit(special.logit(p) + half))
        if not 0 < p < 1:
            low = high = np.nan
        return replace(m, low=low, high=high, method="logit")

    def _prepare(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        y = np.asarray(y, dtype=float)
        if y.shape != (self.n,):
            raise ValueError(f"y must have shape ({self.n},), got {y.shape}")
        ok = ~np.isnan(y)
        w = np.where(ok, self.w, 0.0)
        psum = float(w.sum())
        if psum <= 0:
            raise ValueError("no observation with a value and a positive weight")
        return np.where(ok, y, 0.0), w, psum

    def _finish(
        self, est: float, var: float, w: np.ndarray, deff: float, confidence: float, method: str
    ) -> DesignEstimate:
        se = float(np.sqrt(var))
        q = stats.norm.ppf(0.5 + confidence / 2)
        return DesignEstimate(
            estimate=est,
            se=se,
            low=est - q * se,
            high=est + q * se,
            n=int(np.count_nonzero(w)),
            n_eff=kish_n_eff(w),
            deff=float(deff),
            df=self.df,
            method=method,
        )


def kish_n_eff(weights: np.ndarray) -> float:
    """Kish effective sample size ``(Σw)²/Σw²`` of weights (n,); zero weights drop out."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w * w))


def _ratio(a: float, b: float) -> float:
    # R's deff treats the weights as population-scaled: when they sum to the sample size the
    # SRS-without-replacement variance is 0 and R prints Inf; we do the same, without a warning.
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _svyvar(y: np.ndarray, w: np.ndarray) -> float:
    # R svyvar: n/(n-1) times the weighted mean squared deviation, n = non-zero weights
    n = np.count_nonzero(w)
    mean = np.sum(w * y) / w.sum()
    return float(n / (n - 1) * np.sum(w * (y - mean) ** 2) / w.sum())


def _cell_mean(values: np.ndarray, cells: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    if weights is None:
        return np.asarray((np.bincount(cells, values) / np.bincount(cells))[cells])
    return np.asarray((np.bincount(cells, values * weights) / np.bincount(cells, weights))[cells])


def _residualise(z: np.ndarray, steps: tuple[Calibration, ...]) -> np.ndarray:
    """Replace influence values by their residuals from each calibration (R ``svyrecvar``)."""
    for step in steps:
        if step.kind == "post":
            (cells,), (new,), (old,) = step.cells, step.new, step.old
            psw = np.where((new == 0) & (old == 0), 1.0, new)
            # R: rowsum(x*oldw/psw)/sum(oldw) per post-stratum, times psw
            z = z - psw * _cell_mean(z / psw, cells, old)
        else:
            # R approximates the projection on all margins by 10 alternating sweeps
            for _ in range(10):
                for cells, psw in zip(step.cells, step.new, strict=True):
                    z = z - psw * _cell_mean(z / psw, cells, None)
    return z
