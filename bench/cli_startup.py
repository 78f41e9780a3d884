"""How long `minping` takes to answer commands that compute nothing, against a bare `python -c pass`.

Run from the repository root:  .venv/bin/python bench/cli_startup.py [--runs 10]
Each round runs every command once, interleaved, so load from other processes on a shared machine
hits them alike; the table gives the median of `--runs` rounds and its ratio to `python -c pass` in
the same run (issue 17 asks for under 0.3 s). `-X importtime` shows what a command still imports:
    .venv/bin/python -X importtime -c "import survey_app.cli" 2>&1 | sort -t'|' -k2 -n | tail
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

ENTRY = "import sys; from survey_app.cli import main; sys.exit(main())"  # what the `minping` script runs
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "minping --help": ["-c", ENTRY, "--help"],
    "minping links --help": ["-c", ENTRY, "links", "--help"],
    "minping assessment --help": ["-c", ENTRY, "assessment", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["python -c pass"])
    print(f"median of {args.runs} runs (interleaved)")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:<28} {median * 1000:8.1f} ms   {median / base:6.1f}x python -c pass")


if __name__ == "__main__":
    main()
