"""A worker's background jobs keep running through a failed run, and 0 seconds means never."""

from __future__ import annotations

import asyncio
import logging

from survey_app import periodic


def test_a_failed_run_is_logged_and_the_next_one_still_comes(caplog):
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database went away")

    async def main() -> None:
        async with periodic.every(0.01, job, "test job"):
            while len(runs) < 3:
                await asyncio.sleep(0.005)

    with caplog.at_level(logging.ERROR, logger="survey_app.periodic"):
        asyncio.run(asyncio.wait_for(main(), timeout=5))
    assert runs[:3] == [0, 1, 2]
    assert [r.getMessage() for r in caplog.records] == ["test job failed"]


def test_zero_seconds_runs_nothing():
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    async def main() -> None:
        async with periodic.every(0, job, "never"):
            await asyncio.sleep(0.05)

    asyncio.run(main())
    assert runs == []
