"""Every table's rows, for the tests: emptied between tests, and the demo city put back from a snapshot.

Building the demo city (survey_app/demo.py) takes seconds; the tests that need it get it from rows
taken once per session and inserted again with their ids, which costs a fraction of that on both
databases. The table order comes from the foreign keys, so a new table needs no change here.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from piccolo.columns import Column, ForeignKey
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from survey_app import db, results
from survey_app.piccolo_app import APP_CONFIG
from survey_app.settings import get_settings

# Rows per INSERT: far below the 32,766 parameters SQLite and asyncpg accept in one statement.
INSERT_BATCH = 200
# Rows in all tables above which PostgreSQL truncates rather than deletes (see `delete_all`).
TRUNCATE_ABOVE = 1000


def _references(table: type[Table]) -> set[type[Table]]:
    return {fk._foreign_key_meta.resolved_references for fk in table._meta.foreign_key_columns} - {table}


def tables_parents_first() -> list[type[Table]]:
    """Every table of the app, each after the tables its foreign keys reference."""
    ordered: list[type[Table]] = []
    remaining = sorted(APP_CONFIG.table_classes, key=lambda t: t._meta.tablename)
    while remaining:
        ready = [t for t in remaining if _references(t) <= set(ordered)]
        assert ready, f"foreign keys form a cycle among {[t._meta.tablename for t in remaining]}"
        ordered += ready
        remaining = [t for t in remaining if t not in ready]
    return ordered


def _self_references(table: type[Table]) -> list[ForeignKey[Any]]:
    return [fk for fk in table._meta.foreign_key_columns if fk._foreign_key_meta.resolved_references is table]


async def delete_all() -> None:
    """Empty every table.

    Row by row, each deleted row has its foreign keys checked against the tables that reference it,
    a scan where the referencing column has no index (a revision's `replaces`): seconds for the
    demo city. SQLite enforces foreign keys per connection, so a plain connection of its own (where
    they are off) empties each table at once. PostgreSQL truncates the tables together, which checks
    nothing, when they hold many rows; TRUNCATE costs a tenth of a second however few, so small
    tables are deleted from instead. Ids restart on SQLite and go on on PostgreSQL, as after DELETE.
    """
    results.clear()  # ids are reused, and restored rows take their counters back (survey_app/results.py)
    tables = tables_parents_first()
    if not isinstance(db.engine(), PostgresEngine):
        with contextlib.closing(sqlite3.connect(get_settings().sqlite_path, timeout=30)) as connection, connection:
            for table in reversed(tables):
                connection.execute(f'DELETE FROM "{table._meta.tablename}"')
        return
    names = [f'"{t._meta.tablename}"' for t in reversed(tables)]
    counted = await tables[0].raw("SELECT " + " + ".join(f"(SELECT COUNT(*) FROM {n})" for n in names) + " AS n")
    if counted[0]["n"] > TRUNCATE_ABOVE:
        await tables[0].raw(f"TRUNCATE {', '.join(names)}")
        return
    for table in tables:
        for fk in _self_references(table):  # the unit tree, revisions and the cases they carry on
            await table.update({fk: None}, force=True)
    for table in reversed(tables):
        await table.delete(force=True)


@dataclass(frozen=True)
class Snapshot:
    """Rows per table, as stored (JSON columns as text)."""

    rows: dict[type[Table], list[dict[str, Any]]]


async def take() -> Snapshot:
    return Snapshot({table: await table.select().order_by(table._meta.primary_key) for table in tables_parents_first()})


async def restore(snapshot: Snapshot) -> None:
    """Insert the snapshot's rows with their ids into empty tables; self-references are set once all rows exist."""
    results.clear()
    async with db.writing():
        for table, rows in snapshot.rows.items():
            later = [fk._meta.name for fk in _self_references(table)]
            columns = [c._meta.db_column_name for c in table._meta.columns]
            names = ", ".join(f'"{c}"' for c in columns)
            for start in range(0, len(rows), INSERT_BATCH):  # as stored: no Table objects to build
                batch = rows[start : start + INSERT_BATCH]
                values = ", ".join("(" + ", ".join("{}" for _ in columns) + ")" for _ in batch)
                args = [None if c in later else row[c] for row in batch for c in columns]
                await table.raw(f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES {values}', *args)
            for name in later:
                column: Column = table._meta.get_column_by_name(name)
                for row in rows:
                    if row[name] is not None:
                        await table.update({column: row[name]}).where(table._meta.primary_key == row["id"])
    if isinstance(db.engine(), PostgresEngine):  # explicit ids leave the sequences behind
        for table in snapshot.rows:
            name = table._meta.tablename
            next_id = f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{name}")'
            await table.raw(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), {next_id}, false)")
