"""Write tests/data/r_reference/reliability_data.csv: 200 × 6 one-factor Likert items, NaN 5 %.

Run from the repository root before ``Rscript tests/r/make_stats_reference.R``.
"""

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "data" / "r_reference" / "reliability_data.csv"


def main() -> None:
    rng = np.random.default_rng(7)
    n, k = 200, 6
    loadings = np.array([0.8, 0.7, 0.7, 0.6, 0.5, 0.4])
    f = rng.normal(size=n)
    latent = f[:, None] * loadings + rng.normal(size=(n, k)) * np.sqrt(1 - loadings**2)
    items = np.clip(np.round(3 + 1.2 * latent), 1, 5)
    items[rng.random((n, k)) < 0.05] = np.nan
    rows = [",".join(f"i{j + 1}" for j in range(k))]
    rows += [",".join("NA" if np.isnan(v) else str(int(v)) for v in r) for r in items]
    OUT.write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
