"""A link can be paused and resumed (revoking stays permanent); a response's language may be `zh-Hant`.

`link.paused_at` is set while a link's poster is taken down for a while: its page says so and takes no
answers, and resuming clears it. `response.lang` held two-letter codes; Traditional Chinese is `zh-Hant`,
so the column is widened on PostgreSQL (SQLite does not enforce a varchar's length).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-04T04:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "link pause; response.lang long enough for zh-Hant"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Link",
        tablename="link",
        column_name="paused_at",
        db_column_name="paused_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    async def widen_lang() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl('ALTER TABLE "response" ALTER COLUMN "lang" TYPE VARCHAR(8)')

    manager.add_raw(widen_lang)
    return manager
