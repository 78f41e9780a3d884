"""Benchmark `score_units` against a plain numpy pass over the same arrays, in the same run.

Run from the repository root:  .venv/bin/python bench/analysis_scores.py
(defaults: 1,000,000 responses × 20 items × 1,000 units, 5 dimensions). It scores everything of
issue 3 item 2 with intervals: per unit × item, dimension and overall the mean index, 满意率,
top-2-box, 差评率 and awareness, each with n and a 95 % interval (composite intervals linearised,
the default). The plain pass computes per unit × item valid n and mean index with bincount: the
least any scorer must do. Times are the best of ``--repeat`` interleaved rounds (the machine may be shared);
peak memory is measured in a separate run with tracemalloc (numpy reports its allocations to
it) beyond the input arrays, which are built before tracing starts. ``--bootstrap`` also times
the seeded percentile bootstrap (1,000 replicates per unit), which is much slower.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

# One BLAS thread, set before numpy loads: the plain pass is single-threaded, so both sides get
# the same resources, and on a shared machine multithreaded BLAS on small products only spins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402 (must follow the BLAS thread setting)

from analysis import code_items, score_units  # noqa: E402 (imports numpy)


def plain_pass(levels: np.ndarray, unit: np.ndarray, n_units: int) -> np.ndarray:
    """Per unit × item valid count and mean linear index, one bincount pair per item."""
    out = np.empty((n_units, levels.shape[1], 2))
    for j in range(levels.shape[1]):
        col = levels[:, j]
        ok = ~np.isnan(col)
        n = np.bincount(unit[ok], minlength=n_units)
        s = np.bincount(unit[ok], (5 - col[ok]) * 25.0, minlength=n_units)
        out[:, j, 0] = n
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j, 1] = s / n
    return out


def best_times(repeat: int, calls: list[Callable[[], Any]]) -> list[float]:
    """Shortest wall time of each call over `repeat` rounds, the calls interleaved in each round
    so that load from other processes on a shared machine hits them alike."""
    best = [float("inf")] * len(calls)
    for _ in range(repeat):
        for k, call in enumerate(calls):
            start = time.perf_counter()
            call()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def peak_bytes(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """Peak traced allocation of one call, in bytes."""
    tracemalloc.start()
    fn(*args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bootstrap", action="store_true", help="also time composite_interval='bootstrap'")
    parser.add_argument("--boot", type=int, default=1_000, help="bootstrap replicates with --bootstrap")
    args = parser.parse_args()
    rng = np.random.default_rng(20261124)
    levels = rng.integers(1, 6, (args.rows, args.items)).astype(float)
    dont_know = rng.random(levels.shape) < 0.03
    levels[dont_know | (rng.random(levels.shape) < 0.05)] = np.nan
    unit = rng.integers(0, args.units, args.rows)
    per = args.items // 5
    dims = [(f"d{d}", list(range(d * per, (d + 1) * per)), [1.0] * per) for d in range(5)]
    shape = {"dimensions": dims, "dimension_weights": [1.0] * 5}
    input_bytes = levels.nbytes + dont_know.nbytes + unit.nbytes

    coded = code_items(levels, dont_know=dont_know)
    t_plain, t_code, t_score = best_times(
        args.repeat,
        [
            lambda: plain_pass(levels, unit, args.units),
            lambda: code_items(levels, dont_know=dont_know),
            lambda: score_units(coded, unit, args.units, **shape),
        ],
    )
    m_plain = peak_bytes(plain_pass, levels, unit, args.units)
    m_code = peak_bytes(code_items, levels, dont_know=dont_know)
    m_score = peak_bytes(score_units, coded, unit, args.units, **shape)
    mb = 2**20
    print(
        f"input: {args.rows:,} responses × {args.items} items × {args.units:,} units ({input_bytes / mb:.0f} MB); "
        f"best of {args.repeat}"
    )
    print(f"plain numpy pass   : {t_plain:7.2f} s   peak {m_plain / mb:7.1f} MB")
    print(f"code_items         : {t_code:7.2f} s   peak {m_code / mb:7.1f} MB (holds the 1-byte codes)")
    print(f"score_units        : {t_score:7.2f} s   peak {m_score / mb:7.1f} MB (linearised composite intervals)")
    print(f"time ratio   (code_items + score_units) / plain pass : {(t_code + t_score) / t_plain:5.2f}x (target 3x)")
    print(f"memory ratio peak(code_items, score_units) / input   : {max(m_code, m_score) / input_bytes:5.2f}")
    if args.bootstrap:
        (t_boot,) = best_times(
            1, [lambda: score_units(coded, unit, args.units, composite_interval="bootstrap", n_boot=args.boot, **shape)]
        )
        print(f"score_units, bootstrap {args.boot}: {t_boot:7.2f} s; ratio {(t_code + t_boot) / t_plain:5.1f}x")


if __name__ == "__main__":
    main()
