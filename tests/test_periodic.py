"""A worker's background jobs keep running through a failed run, and 0 seconds means never."""

from __future__ import annotations

import asyncio
import logging

from survey_app import periodic
from survey_app.tables import PeriodicRun


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


def test_a_job_across_nodes_runs_once_per_interval(run):
    """Claims within nine tenths of the interval find it taken; after the interval the next one runs it."""
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    assert run(periodic.run_once_across_nodes, "test-job", 0.3, job)
    assert not run(periodic.run_once_across_nodes, "test-job", 0.3, job)  # another worker, same interval
    run(asyncio.sleep, 0.3)
    assert run(periodic.run_once_across_nodes, "test-job", 0.3, job)
    assert run(periodic.run_once_across_nodes, "other-job", 0.3, job)  # each job has its own
    assert len(runs) == 3
    row = run(lambda: PeriodicRun.select().where(PeriodicRun.name == "test-job").first())
    assert row["runs"] == 2 and row["node"] == periodic.NODE


def test_a_run_still_going_is_not_started_beside_itself(run):
    """While one run holds the lease (longer than its interval), another worker's tick skips it."""
    started: list[str] = []

    async def both() -> list[bool]:
        release = asyncio.Event()

        async def slow() -> None:
            started.append("slow")
            await release.wait()

        async def quick() -> None:
            started.append("quick")

        first = asyncio.create_task(periodic.run_once_across_nodes("long-job", 0.01, slow))
        while not started:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the interval has long passed: only the lease keeps the second out
        second = await periodic.run_once_across_nodes("long-job", 0.01, quick)
        release.set()
        return [await first, second]

    assert run(both) == [True, False]
    assert started == ["slow"]
