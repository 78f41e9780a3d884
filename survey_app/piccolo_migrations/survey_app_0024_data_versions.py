"""A change counter per campaign × unit, bumped by triggers in the transaction of every change.

Computed results (league tables, campaign reports, unit pages) are cached per worker and keyed by the
counters of the data they read (survey_app/results.py). A trigger bumps `data_version` for every row
inserted, updated or deleted in `response` and `rating_case` (row's campaign × unit), `campaign_unit`
and `campaign` (campaign × 0) and `unit` (0 × 0, the names every report shows), so no write path (a
domain function, a bulk import, a repair in raw SQL) can leave a stale result behind. Counters only
grow; a campaign's version is the sum of its rows. One row per campaign × unit rather than per
campaign: concurrent submissions to different units do not queue on one row's lock on PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-04T19:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "data_version counters bumped by triggers (result cache keys)"

# table → (campaign expression, unit expression) of the row (NEW, or OLD when deleted)
SOURCES = {
    "response": ("{row}.campaign", "{row}.unit"),
    "rating_case": ("{row}.campaign", "{row}.unit"),
    "campaign_unit": ("{row}.campaign", "0"),
    "campaign": ("{row}.id", "0"),
    "unit": ("0", "0"),
}
UPSERT = (
    'INSERT INTO "data_version" ("campaign", "unit", "version") VALUES ({campaign}, {unit}, 1) '
    'ON CONFLICT ("campaign", "unit") DO UPDATE SET "version" = "data_version"."version" + 1'
)


def _sqlite() -> list[str]:
    statements = [
        'CREATE TABLE "data_version" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "campaign" INTEGER NOT NULL, '
        '"unit" INTEGER NOT NULL, "version" INTEGER NOT NULL DEFAULT 0)'
    ]
    for table, (campaign, unit) in SOURCES.items():
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            upsert = UPSERT.format(campaign=campaign.format(row=row), unit=unit.format(row=row))
            statements.append(
                f'CREATE TRIGGER "{table}_data_version_{event.lower()}" AFTER {event} ON "{table}" '
                f"FOR EACH ROW BEGIN {upsert}; END"
            )
    return statements


def _postgres() -> list[str]:
    statements = [
        'CREATE TABLE "data_version" ("id" SERIAL PRIMARY KEY, "campaign" INTEGER NOT NULL, '
        '"unit" INTEGER NOT NULL, "version" BIGINT NOT NULL DEFAULT 0)'
    ]
    for table, (campaign, unit) in SOURCES.items():
        new = UPSERT.format(campaign=campaign.format(row="NEW"), unit=unit.format(row="NEW"))
        old = UPSERT.format(campaign=campaign.format(row="OLD"), unit=unit.format(row="OLD"))
        statements.append(
            f'CREATE FUNCTION "{table}_data_version"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
            f"IF TG_OP = 'DELETE' THEN {old}; ELSE {new}; END IF; RETURN NULL; END $$"
        )
        statements.append(
            f'CREATE TRIGGER "{table}_data_version" AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
            f'FOR EACH ROW EXECUTE FUNCTION "{table}_data_version"()'
        )
    return statements


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        statements = _postgres() if isinstance(engine, PostgresEngine) else _sqlite()
        statements.insert(1, 'CREATE UNIQUE INDEX "data_version_key" ON "data_version" ("campaign", "unit")')
        for statement in statements:
            await engine.run_ddl(statement)

    manager.add_raw(create)
    return manager
