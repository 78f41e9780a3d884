"""The change sequence's indexes, and one "created" event for every response, case and unit already stored.

A separate migration because Piccolo runs a migration's raw statements before its table changes,
and these need the table created by survey_app_0015_change_events. The events are in id order per
kind with transaction id 0, so a client that starts a feed from the beginning sees everything
stored before this migration (with its current status) and then everything after it.
"""

from datetime import UTC, datetime

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-04T18:52:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "change_event indexes; events of what is stored"

STATEMENTS = [
    'CREATE INDEX change_event_sequence ON "change_event" ("kind", "tx", "id")',
    'CREATE INDEX change_event_campaign ON "change_event" ("campaign", "kind", "tx", "id")',
]
BACKFILL = [
    ("response", '"response"', '"campaign"', '"unit"', '"status"'),
    ("case", '"rating_case"', '"campaign"', '"unit"', '"state"'),
    ("unit", '"unit"', "NULL", '"id"', "''"),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def index_and_backfill() -> None:
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        # SQLite keeps a timestamptz as ISO 8601 text (Piccolo's adapter).
        at = "now()" if isinstance(engine, PostgresEngine) else f"'{datetime.now(UTC).isoformat()}'"
        for kind, table, campaign, unit, status in BACKFILL:
            await engine.run_ddl(
                'INSERT INTO "change_event" ("tx", "kind", "object_id", "campaign", "unit", "status", "change", "at") '
                f"SELECT 0, '{kind}', id, {campaign}, {unit}, {status}, 'created', {at} FROM {table} ORDER BY id"
            )

    manager.add_raw(index_and_backfill)
    return manager
