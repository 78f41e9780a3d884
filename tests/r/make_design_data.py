"""Write tests/data/r_reference/design_data.csv: a deterministic synthetic survey for R.

Run from the repository root: ``.venv/bin/python tests/r/make_design_data.py``; then
``Rscript tests/r/make_reference.R`` computes the reference values the tests read.
"""

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "data" / "r_reference" / "design_data.csv"


def main() -> None:
    rng = np.random.default_rng(20261124)
    sizes = {"d1": 80, "d2": 100, "d3": 100, "d4": 120}
    fpc_clusters = {"d1": 12, "d2": 15, "d3": 20, "d4": 25}
    fpc_units = {"d1": 8000, "d2": 12000, "d3": 9000, "d4": 15000}
    lines = ["id,district,cluster,fpc_cl,fpc_el,age,sex,agesex,w,y,sat,y_na"]
    i = 0
    for d, size in sizes.items():
        for _ in range(size):
            cluster = f"{d}c{int(rng.integers(1, 6))}"
            age = str(rng.choice(["18-39", "40-59", "60+"], p=[0.2, 0.35, 0.45]))
            sex = str(rng.choice(["m", "f"], p=[0.4, 0.6]))
            w = round(float(rng.uniform(50, 150)), 2)
            shift = {"18-39": 0.8, "40-59": 0.3, "60+": -0.2}[age] + (0.3 if d == "d2" else 0)
            rank = int(np.clip(np.round(rng.normal(2.6 + shift, 1.1)), 1, 5))
            y = (5 - rank) * 25
            y_na = "NA" if rng.random() < 0.08 else str(y)
            i += 1
            lines.append(
                f"{i},{d},{cluster},{fpc_clusters[d]},{fpc_units[d]},{age},{sex},{age}|{sex},"
                f"{w},{y},{int(y >= 50)},{y_na}"
            )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
