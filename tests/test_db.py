"""Migrations and persistence on the configured engine: concurrent migrate, no cascades, uniqueness."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from survey_app import db, responses
from survey_app.responses import FormToken
from survey_app.settings import get_settings
from survey_app.tables import Campaign, QuestionnaireVersion, Response, Unit


def insert_response(run, world, submission_id: str) -> None:
    async def insert() -> None:
        row = Response(
            submission_id=submission_id,
            receipt=uuid.uuid4().hex[:8].upper(),
            campaign=world.campaign_id,
            unit=world.unit_a,
            answers={"overall": 5},
        )
        async with db.writing():
            await row.save()

    run(insert)


def test_submission_id_is_unique_per_campaign_in_the_database(run, world):
    insert_response(run, world, "a" * 32)
    with pytest.raises(Exception, match="(?i)unique"):
        insert_response(run, world, "a" * 32)
    assert len(world.responses()) == 1


def test_same_submission_id_in_another_campaign_is_a_different_response(run, world):
    other = world.campaign("window-rating", slug="second")
    token = FormToken("b" * 32, 0)
    for campaign_id in (world.campaign_id, other):
        run(
            responses.record,
            campaign_id=campaign_id,
            unit_id=world.unit_a,
            link_id=None,
            token=token,
            answers={"overall": 3},
        )
    assert len(world.responses()) == 2


@pytest.mark.parametrize("table", [Campaign, Unit, QuestionnaireVersion])
def test_deleting_what_responses_refer_to_is_refused(run, world, table):
    insert_response(run, world, "c" * 32)

    async def delete() -> None:
        await table.delete(force=True)

    with pytest.raises(Exception, match="(?i)foreign key|violates"):
        run(delete)
    assert len(world.responses()) == 1


def test_answers_round_trip_with_their_types(run, world):
    answers = {
        "overall": 2,
        "efficiency": "dk",
        "reasons": ["wait", "rules"],
        "comment": '排队 "两" 小时 <b>',
        "n": 2.5,
        "one_visit": False,
    }
    run(
        responses.record,
        campaign_id=world.campaign_id,
        unit_id=world.unit_a,
        link_id=None,
        token=FormToken("d" * 32, 0),
        answers=answers,
    )
    assert world.responses()[0]["answers"] == answers


def test_insert_row_and_insert_store_exactly_what_piccolos_save_stores(run, world):
    """db.insert_row and db.insert are save() for a new row without the query builder: same values, same types."""
    from datetime import UTC, datetime

    from survey_app.tables import CaseState, Channel, RatingCase, ResponseStatus

    at = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)

    def response(n: int) -> Response:
        return Response(
            submission_id=f"{n}" * 32,
            receipt=f"SAME{n}XYZ",
            campaign=world.campaign_id,
            unit=world.unit_a,
            answers={"overall": 1, "reasons": ["wait"], "comment": '排队 "两" 小时', "one_visit": False, "n": 2.5},
            channel=Channel.paper,
            started_at=None,
            submitted_at=at,
            duration_s=12.5,
            status=ResponseStatus.quarantined,
            flags=["burst"],
        )

    case = {
        "campaign": world.campaign_id,
        "unit": world.unit_a,
        "trigger": "overall=1",
        "state": CaseState.verified,
        "opened_at": at,
        "verify_due": at,
        "close_due": at,
        "due_estimated": True,
    }

    async def insert_both() -> tuple[Response, Response, int]:
        saved, inserted = response(1), response(2)
        async with db.writing():
            await saved.save()
            await db.insert_row(inserted)
            await RatingCase(response=saved.id, **case).save()
            case_id = await db.insert(RatingCase, {"response": inserted.id, **case})
        return saved, inserted, case_id

    saved, inserted, case_id = run(insert_both)
    assert inserted.id == saved.id + 1 and inserted._exists_in_db
    first, second = world.responses()
    differing = {"id", "submission_id", "receipt"}
    assert {k: v for k, v in first.items() if k not in differing} == {
        k: v for k, v in second.items() if k not in differing
    }
    assert second["answers"]["comment"] == '排队 "两" 小时' and second["flags"] == ["burst"]
    assert second["submitted_at"] == at and second["status"] == "quarantined" and second["channel"] == "paper"

    async def case_rows() -> list[dict]:
        return await RatingCase.select().order_by(RatingCase.id)

    by_save, by_insert = run(case_rows)
    assert by_insert["id"] == case_id
    assert {k: v for k, v in by_save.items() if k not in ("id", "response")} == {
        k: v for k, v in by_insert.items() if k not in ("id", "response")
    }
    assert by_insert["state"] == "verified" and by_insert["due_estimated"] is True and by_insert["opened_at"] == at
    assert by_insert["reply"] == "" and by_insert["closed_at"] is None  # Piccolo's defaults for what was not given
    with pytest.raises(ValueError, match="no column"):
        run(db.insert, RatingCase, {"response": inserted.id, "colour": "red", **case})


def test_migrating_again_changes_nothing_and_keeps_data(run, world):
    insert_response(run, world, "e" * 32)
    run(db.migrate)
    run(db.migrate)
    assert len(world.responses()) == 1


def test_concurrent_migrations_on_a_fresh_database_all_succeed(tmp_path):
    """Three `minping migrate` processes start together on an empty database: none may fail."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINPING_")}
    env["MINPING_DATA_DIR"] = str(tmp_path)
    env["MINPING_SECRET_KEY"] = "x"
    fresh_pg = None
    if get_settings().is_postgres:
        fresh_pg = f"minping_migrate_{uuid.uuid4().hex[:8]}"
        admin = get_settings().database_url.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {fresh_pg}"], check=True)
        env["MINPING_DATABASE_URL"] = get_settings().database_url.rsplit("/", 1)[0] + "/" + fresh_pg
    minping = Path(sys.executable).parent / "minping"
    try:
        procs = [
            subprocess.Popen(
                [str(minping), "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outputs
        assert all(o.strip() == "database is up to date" for o in outputs)
    finally:
        if fresh_pg:
            subprocess.run(["psql", admin, "-qc", f"DROP DATABASE {fresh_pg}"], check=True)


def test_sqlite_runs_in_wal_mode(run):
    if get_settings().is_postgres:
        pytest.skip("SQLite only: PostgreSQL has no journal mode")

    async def mode() -> str:
        return (await db.engine().run_ddl("PRAGMA journal_mode"))[0]["journal_mode"]

    assert run(mode) == "wal"


def test_pooled_sqlite_runs_a_statement_in_one_trip_and_keeps_foreign_keys(tmp_path, monkeypatch):
    """Each trip to aiosqlite's thread waits for the GIL under load; a statement makes exactly one,
    and dropping Piccolo's per-statement pragma does not switch foreign keys off."""
    import asyncio
    import sqlite3

    import aiosqlite
    from piccolo.querystring import QueryString

    from survey_app.sqlite_pool import PooledSQLiteEngine

    trips = []
    execute = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        trips.append(getattr(fn, "__name__", fn))
        return await execute(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    path = tmp_path / "pool.sqlite3"

    async def scenario() -> None:
        engine = PooledSQLiteEngine(path=str(path))
        engine.open_pool()
        try:
            await engine.run_ddl("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            await engine.run_ddl("CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id))")
            trips.clear()
            assert await engine.run_querystring(QueryString("INSERT INTO parent (id) VALUES (1) RETURNING id")) == [
                {"id": 1}
            ]
            assert await engine.run_querystring(QueryString("SELECT id FROM parent")) == [{"id": 1}]
            assert len(trips) == 2  # one per statement: no pragma, no separate fetch, no commit
            with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
                await engine.run_querystring(QueryString("INSERT INTO child (parent) VALUES (99)"))
            with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
                async with engine.transaction():
                    await engine.run_querystring(QueryString("INSERT INTO child (parent) VALUES (1)"))
                    await engine.run_querystring(QueryString("INSERT INTO child (parent) VALUES (98)"))
        finally:
            await engine.close_pool()

    asyncio.run(scenario())
    with sqlite3.connect(path) as check:  # the write outside a transaction was committed, the failed one rolled back
        assert check.execute("SELECT id FROM parent").fetchall() == [(1,)]
        assert check.execute("SELECT count(*) FROM child").fetchall() == [(0,)]


def _scratch_engine(path):
    from survey_app.sqlite_pool import PooledSQLiteEngine

    engine = PooledSQLiteEngine(path=str(path), timeout=5)
    engine.open_pool()
    return engine


def _count_trips(monkeypatch) -> list:
    import aiosqlite

    trips: list = []
    execute = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        trips.append(getattr(fn, "__name__", fn))
        return await execute(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


def test_quick_statements_and_transactions_run_on_the_loops_thread_with_foreign_keys(tmp_path, monkeypatch):
    import asyncio
    import sqlite3

    from piccolo.engine.sqlite import TransactionType
    from piccolo.querystring import QueryString

    trips = _count_trips(monkeypatch)
    path = tmp_path / "quick.sqlite3"

    async def scenario() -> None:
        engine = _scratch_engine(path)
        try:
            await engine.run_ddl("PRAGMA journal_mode=WAL")
            await engine.run_ddl("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            await engine.run_ddl("CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id))")
            trips.clear()
            with db.quick():
                async with engine.transaction(TransactionType.immediate):
                    await engine.run_querystring(QueryString("INSERT INTO parent (id) VALUES (1)"))
                    rows = await engine.run_querystring(
                        QueryString("INSERT INTO child (parent) VALUES (1) RETURNING id")
                    )
                assert rows == [{"id": 1}]
                assert await engine.run_querystring(QueryString("SELECT count(*) AS n FROM child")) == [{"n": 1}]
                with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
                    await engine.run_querystring(QueryString("INSERT INTO child (parent) VALUES (99)"))
                with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
                    async with engine.transaction(TransactionType.immediate):
                        await engine.run_querystring(QueryString("INSERT INTO child (parent) VALUES (1)"))
                        await engine.run_querystring(QueryString("INSERT INTO child (parent) VALUES (98)"))
            assert trips == []  # not one hand-over to a connection thread
            assert await engine.run_querystring(QueryString("SELECT count(*) AS n FROM child")) == [{"n": 1}]
            assert trips  # outside quick(): the thread, as before
        finally:
            await engine.close_pool()

    asyncio.run(scenario())
    with sqlite3.connect(path) as check:  # committed, and the failed transaction rolled back
        assert check.execute("SELECT count(*) FROM child").fetchall() == [(1,)]


def test_a_quick_transaction_waits_for_another_writer_in_a_thread_and_the_loop_runs_on(tmp_path, monkeypatch):
    """Another process (here: another connection) holds SQLite's write lock for 0.3 s. A quick
    transaction must not wait on the loop's thread: it moves to a thread connection, which waits
    with the engine's busy timeout, while the loop keeps serving; reads meanwhile stay inline (WAL)."""
    import asyncio
    import sqlite3
    import threading
    import time

    from piccolo.engine.sqlite import TransactionType
    from piccolo.querystring import QueryString

    trips = _count_trips(monkeypatch)
    path = tmp_path / "busy.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    holding, released = threading.Event(), threading.Event()

    def hold_write_lock() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (v) VALUES ('other')")
        holding.set()
        time.sleep(0.3)
        other.execute("COMMIT")
        released.set()
        other.close()

    async def scenario() -> tuple[int, bool]:
        engine = _scratch_engine(path)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while not released.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        try:
            threading.Thread(target=hold_write_lock).start()
            await asyncio.to_thread(holding.wait, 5)
            trips.clear()
            with db.quick():
                assert await engine.run_querystring(QueryString("SELECT count(*) AS n FROM t")) == [{"n": 0}]
                assert trips == []  # a read passes the writer inline
                ticking = asyncio.ensure_future(ticker())
                async with engine.transaction(TransactionType.immediate):
                    waited_for_other = released.is_set()
                    await engine.run_querystring(QueryString("INSERT INTO t (v) VALUES ('mine')"))
                await ticking
            return ticks, waited_for_other
        finally:
            await engine.close_pool()

    ticks, waited_for_other = asyncio.run(scenario())
    assert waited_for_other and trips  # it got the lock after the other writer, through a thread
    assert ticks >= 10  # and the loop ran on meanwhile (0.3 s at 10 ms a tick)
    with sqlite3.connect(path) as check:
        assert [v for (v,) in check.execute("SELECT v FROM t ORDER BY id")] == ["other", "mine"]


def test_the_postgres_pool_skips_the_reset_round_trip_but_still_ends_a_forgotten_transaction(run):
    if not get_settings().is_postgres:
        pytest.skip("PostgreSQL's connection pool")
    import asyncpg

    async def scenario() -> tuple[str, bool]:
        options = {**db.POOL_OPTIONS, "min_size": 1, "max_size": 1}  # the same connection comes back
        pool = await asyncpg.create_pool(get_settings().database_url, **options)
        try:
            async with pool.acquire() as connection:
                await connection.execute("SET application_name = 'minping-not-reset'")
                await connection.execute("BEGIN")  # and never committed
            async with pool.acquire() as connection:
                return await connection.fetchval("SELECT current_setting('application_name')"), (
                    connection.is_in_transaction()
                )
        finally:
            await pool.close()

    name, in_transaction = run(scenario)
    assert name == "minping-not-reset"  # no RESET ALL ran: no round trip on release
    assert not in_transaction  # asyncpg rolled the forgotten transaction back all the same
