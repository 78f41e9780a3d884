"""Time opening the demo city's bad-rating cases (`cases.workflow.open_missing`) and the whole demo build.

Run from the repository root:

    .venv/bin/python bench/open_cases.py [--database postgresql://…] [--repeat 5] [--seed 2026]

The demo city is built once, timed, in a scratch SQLite data folder, or in the given PostgreSQL
database, which must hold no campaign (its rows are left there). Then, `--repeat` times, every case
and case event is deleted and `open_missing` opens them all again from the demo's responses; the
best of those times is reported, with the number of cases (the same every round, or the script
fails). Like `minping demo`, it runs outside a server: no connection pool, as the CLI does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

from survey_app.cases import workflow


async def clear_cases() -> None:
    from survey_app.tables import CaseContact, CaseEvent, RatingCase

    await RatingCase.update({RatingCase.successor: None}, force=True)
    for table in (CaseContact, CaseEvent, RatingCase):
        await table.delete(force=True)


async def bench(seed: int, repeat: int) -> None:
    from survey_app import campaigns, db, demo
    from survey_app.tables import CaseEvent, RatingCase

    await db.migrate()
    if await campaigns.exist():
        sys.exit("the database already has campaigns; the demo needs an empty one")
    started = time.perf_counter()
    counts = await demo.build(seed=seed)
    build_s = time.perf_counter() - started
    opened_in_build = await RatingCase.count()
    print(f"demo.build: {build_s:.2f} s ({sum(counts.values())} responses, {opened_in_build} cases)")
    times = []
    for _ in range(repeat):
        await clear_cases()
        started = time.perf_counter()
        opened = await workflow.open_missing()
        times.append(time.perf_counter() - started)
        events = await CaseEvent.count()
        if opened != opened_in_build or events != opened:
            sys.exit(f"opened {opened} cases with {events} events; the build opened {opened_in_build}")
    print(
        f"open_missing: best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
        f"over {repeat} rounds ({opened_in_build} cases each)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", help="sqlite (a scratch folder) or a postgresql:// URL")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    os.environ["MINPING_DATA_DIR"] = tempfile.mkdtemp(prefix="minping-bench-cases-")
    os.environ["MINPING_FLAG_INTERVAL"] = "0"
    if args.database != "sqlite":
        os.environ["MINPING_DATABASE_URL"] = args.database
    else:
        os.environ.pop("MINPING_DATABASE_URL", None)
    print(f"database={args.database} data={os.environ['MINPING_DATA_DIR']}")
    asyncio.run(bench(args.seed, args.repeat))


if __name__ == "__main__":
    main()
