"""A paper sheet counts once: (campaign, sheet) is unique on response (see survey_app/entries.py).

A separate migration because Piccolo runs a migration's raw statements before its column changes,
and the index needs the `sheet` column added by survey_app_0005_paper_entry. Rows without a sheet
(QR, interviews) hold NULL, which unique indexes on SQLite and PostgreSQL never treat as equal.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T17:14:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "one response per paper sheet"

STATEMENTS = [
    'CREATE UNIQUE INDEX response_campaign_sheet ON "response" ("campaign", "sheet")',
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
