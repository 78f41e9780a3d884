"""A printed sheet number is issued once per campaign and unit: (campaign, unit, number) is unique on paper_sheet.

A separate migration because Piccolo runs a migration's raw statements before its table changes, and the
index needs the table created by survey_app_0016_paper_sheets. Two members printing sheets for one unit at
the same moment cannot both hand out number n + 1: the second insert fails and is asked to try again.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T18:45:13:000000"
VERSION = "1.38.0"
DESCRIPTION = "one printed number per campaign and unit"

STATEMENTS = [
    'CREATE UNIQUE INDEX paper_sheet_campaign_unit_number ON "paper_sheet" ("campaign", "unit", "number")',
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
