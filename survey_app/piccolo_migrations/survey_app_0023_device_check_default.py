"""One device, one answer by default: a new campaign has the device check on (campaign.device_check).

Existing campaigns keep what they were set to; a campaign that turns the check off says so on its form.
Rows are inserted with the table class's default (survey_app/tables.py), so the column's own default only
matters to SQL written by hand: it is changed on PostgreSQL, and SQLite cannot alter a column's default.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-04T19:16:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "device check on by default"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def default_on() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl('ALTER TABLE "campaign" ALTER COLUMN "device_check" SET DEFAULT true')

    manager.add_raw(default_on)
    return manager
