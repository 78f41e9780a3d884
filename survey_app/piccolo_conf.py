"""Piccolo's configuration: the engine chosen by `MINPING_DATABASE_URL` (see settings.py)."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from survey_app.settings import get_settings

_settings = get_settings()

DB: PostgresEngine | SQLiteEngine
if _settings.is_postgres:
    DB = PostgresEngine(config={"dsn": _settings.database_url})
else:
    # timeout is SQLite's busy timeout: a writer waits up to 30 s for the lock instead of failing.
    DB = SQLiteEngine(path=str(_settings.sqlite_path), timeout=30)

APP_REGISTRY = AppRegistry(apps=["survey_app.piccolo_app"])
