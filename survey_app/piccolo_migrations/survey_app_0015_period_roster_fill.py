"""A unit is on a period's roster once; periods opened before rosters existed get every unit as it stands now.

A separate migration because Piccolo runs a migration's raw statements before its table changes, and these
need the table created by survey_app_0014_period_roster. For a period opened earlier, the units' grouping
at migration time is the best record left; from here on it never follows later edits.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T18:40:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "one roster row per period and unit; rosters of existing periods"

STATEMENTS = [
    'CREATE UNIQUE INDEX period_roster_period_unit ON "period_roster" ("period", "unit")',
    'INSERT INTO "period_roster" ("period", "unit", "kind", "parent", "population") '
    'SELECT p."id", u."id", u."kind", u."parent", u."population" FROM "assessment_period" p CROSS JOIN "unit" u',
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def fill() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(fill)
    return manager
