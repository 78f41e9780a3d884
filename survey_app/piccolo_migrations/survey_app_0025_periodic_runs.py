"""When each periodic job last started, so that several nodes run it once per interval (survey_app/periodic.py).

One row per job name: a node claims a run with one conditional UPDATE (the row's start time older than
nine tenths of the interval), so of the nodes whose timers fire in one interval exactly one runs it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T19:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "periodic_run: one claim per job and interval across nodes"


def _params(**changed: object) -> dict[str, object]:
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    } | changed


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)
    manager.add_table(class_name="PeriodicRun", tablename="periodic_run", schema=None, columns=None)
    columns = [
        ("name", Varchar, _params(default="", length=64, unique=True)),
        ("started_at", Timestamptz, _params(default=None, null=True)),
        ("node", Varchar, _params(default="", length=200)),
        ("runs", Integer, _params(default=0)),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="PeriodicRun",
            tablename="periodic_run",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
