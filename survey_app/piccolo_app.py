"""Piccolo app: the tables and their migrations (`piccolo migrations new survey_app --auto`)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="survey_app",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["survey_app.tables"], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
