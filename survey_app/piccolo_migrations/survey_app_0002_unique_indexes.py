"""Composite uniqueness as unique indexes (see survey_app/tables.py).

Unique indexes work on SQLite and PostgreSQL alike; Piccolo's composite constraints do not run on
SQLite. The one on response is what makes a resent submission a no-op.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"

STATEMENTS = [
    'CREATE UNIQUE INDEX questionnaire_slug_version ON "questionnaire" ("slug", "version")',
    'CREATE UNIQUE INDEX campaign_unit_campaign_unit ON "campaign_unit" ("campaign", "unit")',
    'CREATE UNIQUE INDEX response_campaign_submission ON "response" ("campaign", "submission_id")',
    'CREATE INDEX response_campaign_unit ON "response" ("campaign", "unit")',
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
