"""Recall and false positives of the staff-entry signals on the synthetic stuffing of tests/test_quarantine.py,
over many seeds: `python bench/staff_signals.py [seeds]` prints the figures the closing notes quote."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MINPING_SECRET_KEY", "bench")

from survey_app import quarantine  # noqa: E402
from survey_app.tables import Channel  # noqa: E402
from tests.test_quarantine import staff_rows  # noqa: E402


def main(seeds: int) -> None:
    caught = stuffed_total = wrong = honest_total = resident_wrong = residents_total = 0
    for seed in range(seeds):
        q, rows, stuffed, honest = staff_rows(seed)
        flagged = set(quarantine.compute_flags(q, rows))
        residents = {r["id"] for r in rows if r["channel"] == Channel.qr}
        caught += len(stuffed & flagged)
        stuffed_total += len(stuffed)
        wrong += len(honest & flagged)
        honest_total += len(honest)
        resident_wrong += len(residents & flagged)
        residents_total += len(residents)
    print(f"seeds {seeds}: recall {caught / stuffed_total:.4f} ({caught}/{stuffed_total} stuffed staff entries)")
    print(f"false positives on honest staff entries {wrong / honest_total:.4f} ({wrong}/{honest_total})")
    print(f"false positives on residents' answers {resident_wrong / residents_total:.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
