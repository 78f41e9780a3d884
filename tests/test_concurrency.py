"""Submissions under real concurrency: a real `minping serve` with two workers, requests fired together.

The TestClient runs one request at a time, so races between requests (and between worker
processes) only show against a real server. It serves the suite's own database (SQLite or
PostgreSQL), so `world` fills it and the assertions read it back.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from survey_app import ballots, db, invitations
from survey_app.ballots import BallotSettings
from survey_app.settings import get_settings
from survey_app.tables import Invitation, Response, ResponseStatus

from .servers import Server, serving

pytestmark = pytest.mark.slow

FORM_TOKEN = re.compile(r'name="_form" value="([^"]+)"')
RADIO = re.compile(r'<input type="radio" name="([^"]+)" value="([^"]+)"')


@pytest.fixture(scope="module")
def server(portal: object) -> Iterator[Server]:
    """Two workers on a free loopback port, on the suite's database (already migrated by `portal`).

    Its own data folder keeps its `served_url` file away from the CLI tests.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="minping-concurrency-"))
    env = {**os.environ, "MINPING_DATABASE_URL": get_settings().database_url}
    # Every post here comes from 127.0.0.1, hundreds a minute: the flood guard is not what is tested (and
    # with Redis its count is shared by the workers, so the default would be reached).
    env["MINPING_RESIDENT_POSTS_PER_MINUTE"] = "100000"
    with serving(data_dir, env, "--workers", "2") as s:
        yield s


def answers_for(html: str, rng: random.Random) -> dict[str, str]:
    """The form token and one valid choice per radio group (every required item is one)."""
    groups: dict[str, list[str]] = {}
    for name, value in RADIO.findall(html):
        groups.setdefault(name, []).append(value)
    match = FORM_TOKEN.search(html)
    assert match and groups, "no questionnaire form on the page"
    return {"_form": match.group(1), **{name: rng.choice(values) for name, values in groups.items()}}


def fire(
    url: str, posts: list[tuple[str, dict[str, str]]], cookies: httpx.Cookies | None = None
) -> list[httpx.Response]:
    """POST every (path, fields) at once, each on its own connection (all with `cookies`: one device)."""

    async def go() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(posts), max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, cookies=cookies) as client:
            return await asyncio.gather(*(client.post(path, data=fields) for path, fields in posts))

    return asyncio.run(go())


# These two come first, before the module's server exists: with a 1 ms busy timeout, any write by
# another process (the server's periodic link counters) would rightly fail them.


def test_sqlite_writers_in_one_process_queue_instead_of_busy_waiting(run, world, monkeypatch):
    """With a busy timeout far shorter than the queue, no writer of this process is refused.

    Before writers queued on a lock, each waited in SQLite's busy handler, and with a short
    timeout fifty simultaneous ones failed with "database is locked".
    """
    engine = db.engine()
    if get_settings().is_postgres:
        pytest.skip("SQLite's writer lock")
    monkeypatch.setitem(engine.connection_kwargs, "timeout", 0.001)

    async def insert(n: int) -> None:
        async with db.writing():
            await Response.insert(
                Response(submission_id=f"{n:032d}", receipt=f"R{n:07d}", campaign=world.campaign_id, unit=world.unit_a)
            )

    async def insert_all() -> None:
        await asyncio.gather(*(insert(n) for n in range(50)))

    run(insert_all)
    assert len(world.responses()) == 50


def test_sqlite_writers_wait_for_another_process_on_the_lock_file_not_in_the_busy_handler(run, world, monkeypatch):
    """Another process in `writing()` holds the lock file and SQLite's write lock for 0.3 s; with a
    1 ms busy timeout, a writer here still succeeds: it waits on the file, which the kernel hands
    over at once, instead of sleeping in SQLite's busy handler until the timeout refuses it."""
    engine = db.engine()
    if get_settings().is_postgres:
        pytest.skip("SQLite's writer lock")
    monkeypatch.setitem(engine.connection_kwargs, "timeout", 0.001)
    path = get_settings().sqlite_path
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sqlite3, sys, time\n"
            f"lock = open({str(path.with_suffix('.write-lock'))!r}, 'a')\n"
            "fcntl.flock(lock, fcntl.LOCK_EX)\n"
            f"conn = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "conn.execute('BEGIN IMMEDIATE')\n"
            "print('holding', flush=True)\n"
            "time.sleep(0.3)\n"
            "conn.execute('COMMIT')\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"

        async def insert() -> float:
            start = time.monotonic()
            async with db.writing():
                await Response.insert(
                    Response(submission_id="w" * 32, receipt="WAITED01", campaign=world.campaign_id, unit=world.unit_a)
                )
            return time.monotonic() - start

        waited = run(insert)
    finally:
        holder.wait(timeout=10)
    assert waited > 0.1 and len(world.responses()) == 1


def test_a_writer_cancelled_while_waiting_for_the_lock_file_leaves_it_free(run):
    if get_settings().is_postgres:
        pytest.skip("SQLite's writer lock")
    lock = os.open(get_settings().sqlite_path.with_suffix(".write-lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)  # another descriptor: it conflicts like another process

    async def cancelled_writer() -> None:
        task = asyncio.ensure_future(db.writing().__aenter__())
        await asyncio.sleep(0.2)
        assert not task.done()  # waiting for the lock file
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        run(cancelled_writer)
    finally:
        os.close(lock)  # the waiting thread now gets the lock, and gives it back at once

    async def free_soon() -> bool:
        for _ in range(100):
            probe = os.open(get_settings().sqlite_path.with_suffix(".write-lock"), os.O_RDWR)
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                await asyncio.sleep(0.01)
            finally:
                os.close(probe)
        return False

    assert run(free_soon)

    async def write_again() -> None:  # and this process's writers are not stuck either
        async with db.writing():
            pass

    run(lambda: asyncio.wait_for(write_again(), 5))


def test_nested_writing_reuses_the_outer_transaction(run, world):
    async def nested() -> None:
        async with db.writing():
            async with db.writing():  # must not wait for the lock its own outer block holds
                await Response.insert(
                    Response(submission_id="n" * 32, receipt="NESTED01", campaign=world.campaign_id, unit=world.unit_a)
                )

    run(lambda: asyncio.wait_for(nested(), 10))
    assert len(world.responses()) == 1


def receipt_of(reply: httpx.Response) -> str:
    """The receipt of a thank-you redirect (which also carries the page's call-back token)."""
    return reply.headers["location"].split("r=")[1].split("&")[0]


def test_fifty_simultaneous_posts_of_one_submission_make_one_row_and_one_receipt(world, server):
    path = f"/q/{world.token_a}"
    fields = answers_for(httpx.get(server.url + path).text, random.Random(5))

    replies = fire(server.url, [(path, fields)] * 50)

    assert [r.status_code for r in replies] == [303] * 50
    receipts = {receipt_of(r) for r in replies}
    assert len(receipts) == 1
    rows = world.responses()
    assert len(rows) == 1
    assert receipts == {rows[0]["receipt"]}
    assert all(r.headers["location"].startswith(f"/q/{world.token_a}/thanks?r=") for r in replies)


def test_one_submission_raced_with_two_answer_sets_keeps_one_and_refuses_the_other(world, server):
    path = f"/q/{world.token_a}"
    first = answers_for(httpx.get(server.url + path).text, random.Random(1))
    second = {**first, "overall": "1" if first["overall"] != "1" else "2"}  # same token, another answer

    replies = fire(server.url, [(path, first if i % 2 else second) for i in range(20)])

    rows = world.responses()
    assert len(rows) == 1
    kept = first if rows[0]["answers"]["overall"] == int(first["overall"]) else second
    for i, reply in enumerate(replies):
        if (first if i % 2 else second) is kept:
            assert reply.status_code == 303
            assert receipt_of(reply) == rows[0]["receipt"]
        else:
            assert reply.status_code == 409


def test_many_different_submissions_at_once_are_all_saved(world, server):
    """200 residents at once, each loading the form and sending it: none refused, none lost."""
    tokens = [world.token_a, world.token_b]

    async def resident(client: httpx.AsyncClient, n: int) -> httpx.Response:
        path = f"/q/{tokens[n % 2]}"
        page = await client.get(path)
        return await client.post(path, data=answers_for(page.text, random.Random(n)))

    async def go() -> list[httpx.Response]:
        # No keep-alive: a pooled connection the server closes as idle just as a POST is written is a
        # transport race (browsers resend), not a refusal, and would make the test flaky on a busy machine.
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as c:
            return await asyncio.gather(*(resident(c, n) for n in range(200)))

    replies = asyncio.run(go())

    assert [r.status_code for r in replies] == [303] * 200
    receipts = {receipt_of(r) for r in replies}
    assert len(receipts) == 200
    assert {row["receipt"] for row in world.responses()} == receipts
    log = server.log_text()
    assert "database is locked" not in log and "Traceback" not in log


def switch_on(run, world, *, device_check: bool = False, invitation_only: bool = False) -> None:
    settings = BallotSettings(device_check, 30, invitation_only, None, None)
    run(ballots.change_settings, world.campaign_id, settings, "test")


def test_twenty_simultaneous_uses_of_one_invitation_code_admit_exactly_one(run, world, server):
    """Twenty residents, each with their own form, send the same code at once: one answer counts."""
    switch_on(run, world, invitation_only=True)
    batch = run(invitations.create_batch, world.campaign_id, world.unit_a, 2, "test")

    async def the_code() -> dict:
        return await Invitation.select().where(Invitation.batch == batch).order_by(Invitation.id).first()

    code = run(the_code)["code"]
    path = f"/q/{world.token_a}"
    posts = [
        (path, {**answers_for(httpx.get(server.url + path).text, random.Random(n)), "_invite": code}) for n in range(20)
    ]

    replies = fire(server.url, posts)

    assert sorted(r.status_code for r in replies) == [303] + [409] * 19
    assert all("已经使用过" in r.text for r in replies if r.status_code == 409)
    [row] = world.responses()
    spent = run(the_code)
    assert spent["response"] == row["id"] and spent["used_at"] is not None
    assert "Traceback" not in server.log_text()


def test_simultaneous_answers_from_one_device_make_one_counted_row(run, world, server):
    """One phone sends twenty different forms at once (double taps, several tabs): one answer counts."""
    switch_on(run, world, device_check=True)
    path = f"/q/{world.token_a}"
    first = httpx.get(server.url + path)
    device = httpx.Cookies(
        {ballots.cookie_name(world.campaign_id): first.cookies[ballots.cookie_name(world.campaign_id)]}
    )
    forms = [httpx.get(server.url + path, cookies=device).text for _ in range(20)]
    posts = [(path, answers_for(form, random.Random(n))) for n, form in enumerate(forms)]

    replies = fire(server.url, posts, cookies=device)

    assert sorted(r.status_code for r in replies) == [303] + [409] * 19
    [row] = world.responses()
    assert row["status"] == ResponseStatus.counted and row["device_hash"]
    assert "Traceback" not in server.log_text()


def test_simultaneous_revisions_from_one_device_replace_the_answer_once(run, world, server):
    switch_on(run, world, device_check=True)
    path = f"/q/{world.token_a}"
    page = httpx.get(server.url + path)
    device = httpx.Cookies(
        {ballots.cookie_name(world.campaign_id): page.cookies[ballots.cookie_name(world.campaign_id)]}
    )
    fire(server.url, [(path, answers_for(page.text, random.Random(0)))], cookies=device)
    forms = [httpx.get(server.url + path + "?revise=1", cookies=device).text for _ in range(10)]
    posts = [(path, {**answers_for(form, random.Random(n)), "_revise": "1"}) for n, form in enumerate(forms)]

    replies = fire(server.url, posts, cookies=device)

    assert sorted(r.status_code for r in replies) == [303] + [409] * 9
    rows = world.responses()
    assert [r["status"] for r in rows] == [ResponseStatus.superseded, ResponseStatus.counted]
    assert rows[1]["replaces"] == rows[0]["id"]
