"""Benchmark `score_units` against a plain numpy pass over the same arrays.

Run from the repository root:  .venv/bin/python bench/analysis_scores.py
(defaults: 1,000,000 responses × 20 items × 1,000 units, 5 dimensions, 1,000 bootstrap
replicates). The plain pass computes per unit × item valid n and mean index with bincount:
the least any scorer must do. Peak memory is measured with tracemalloc (numpy reports its
allocations to it) beyond the input arrays, which are built before tracing starts.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from analysis import code_items, score_units


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


def measure(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--boot", type=int, default=1_000)
    args = parser.parse_args()
    rng = np.random.default_rng(20261124)
    levels = rng.integers(1, 6, (args.rows, args.items)).astype(float)
    dont_know = rng.random(levels.shape) < 0.03
    levels[dont_know | (rng.random(levels.shape) < 0.05)] = np.nan
    unit = rng.integers(0, args.units, args.rows)
    per = args.items // 5
    dims = [(f"d{d}", list(range(d * per, (d + 1) * per)), [1.0] * per) for d in range(5)]
    input_mb = (levels.nbytes + dont_know.nbytes + unit.nbytes) / 2**20

    _, t_plain, m_plain = measure(plain_pass, levels, unit, args.units)
    coded, t_code, m_code = measure(code_items, levels, dont_know=dont_know)
    _, t_score, m_score = measure(
        score_units, coded, unit, args.units, dimensions=dims, dimension_weights=[1.0] * 5,
        n_boot=args.boot,
    )
    _, t_point, m_point = measure(
        score_units, coded, unit, args.units, dimensions=dims, dimension_weights=[1.0] * 5,
        n_boot=0,
    )
    print(f"input: {args.rows:,} responses × {args.items} items × {args.units:,} units "
          f"({input_mb:.0f} MB), {args.boot} bootstrap replicates")
    print(f"plain numpy pass : {t_plain:8.2f} s   peak {m_plain / 2**20:7.1f} MB")
    print(f"code_items       : {t_code:8.2f} s   peak {m_code / 2**20:7.1f} MB")
    print(f"score_units      : {t_score:8.2f} s   peak {m_score / 2**20:7.1f} MB")
    print(f"score_units n_boot=0 (items with intervals, composite points): {t_point:.2f} s "
          f"peak {m_point / 2**20:.1f} MB; ratio {(t_code + t_point) / t_plain:.1f}x")
    total = t_code + t_score
    print(f"ratio (code+score)/plain: {total / t_plain:.1f}x "
          f"(target 3x; the composite bootstrap dominates, see docs/methodology.md)")


if __name__ == "__main__":
    main()
