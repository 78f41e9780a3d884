"""Piccolo's configuration: the engine chosen by `MINPING_DATABASE_URL` (see settings.py)."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from survey_app.settings import get_settings
from survey_app.sqlite_pool import PooledSQLiteEngine

_settings = get_settings()

DB: PostgresEngine | PooledSQLiteEngine
if _settings.is_postgres:
    DB = PostgresEngine(config={"dsn": _settings.database_url})
else:
    # timeout is SQLite's busy timeout: a writer waits up to 30 s for the lock instead of failing.
    DB = PooledSQLiteEngine(path=str(_settings.sqlite_path), timeout=30)

APP_REGISTRY = AppRegistry(apps=["survey_app.piccolo_app"])
