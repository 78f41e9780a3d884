"""A period's snapshots are numbered 1, 2, … once each: (period, number) is unique on assessment_snapshot.

A separate migration because Piccolo runs a migration's raw statements before its table changes,
and the index needs the table created by survey_app_0008_assessment. Two admins correcting a
period at the same moment cannot both write snapshot n + 1: the second insert fails.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T18:45:27:000000"
VERSION = "1.38.0"
DESCRIPTION = "one snapshot per period and number"

STATEMENTS = [
    'CREATE UNIQUE INDEX assessment_snapshot_period_number ON "assessment_snapshot" ("period", "number")',
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
