"""One counted answer per device, and the indexes the hourly limits and invitation sheets read.

`response_one_per_device` is what makes "one device, one vote" hold under races (survey_app/ballots.py):
a campaign holds at most one live (not superseded) response per device hash, so two simultaneous
submissions from one device cannot both be saved, and a revision must supersede the old row before
its own is inserted. Rows without a device hash (device check off, interviews, paper) hold NULL,
which the partial index leaves out. Partial unique indexes work on SQLite (3.8+) and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T18:48:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one live response per device; hourly-limit and invitation indexes"

STATEMENTS = [
    'CREATE UNIQUE INDEX response_one_per_device ON "response" ("campaign", "device_hash") '
    "WHERE \"device_hash\" IS NOT NULL AND \"status\" <> 'superseded'",
    'CREATE INDEX response_campaign_submitted ON "response" ("campaign", "submitted_at")',
    'CREATE INDEX response_link_submitted ON "response" ("link", "submitted_at")',
    'CREATE INDEX invitation_campaign_batch ON "invitation" ("campaign", "batch")',
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
