"""Migrations run in file order: numbered without gaps, and Piccolo's run order (by ID) is the file order.

Piccolo applies an app's pending migrations sorted by their `ID` and records each ID as applied, so
an ID must never change once released, and a new migration's file takes the next number and an ID
later than every other (docs/operations.md, "Migrations"). Both databases migrate from empty to
head in every run of the suite (the `portal` fixture of conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from piccolo.apps.migrations.commands.base import BaseMigrationManager

from survey_app.piccolo_app import APP_CONFIG

FOLDER = Path(APP_CONFIG.migrations_folder_path)
NAME = re.compile(r"^survey_app_(\d{4})_[a-z0-9_]+\.py$")


def migration_files() -> list[Path]:
    return sorted(p for p in FOLDER.glob("*.py") if p.name != "__init__.py")


def test_every_migration_file_is_numbered_once_without_gaps():
    names = [p.name for p in migration_files()]
    assert all(NAME.match(n) for n in names), [n for n in names if not NAME.match(n)]
    numbers = [int(NAME.match(n)[1]) for n in names]  # type: ignore[index]
    assert numbers == list(range(1, len(numbers) + 1))


def test_piccolo_runs_the_migrations_in_file_order():
    modules = BaseMigrationManager().get_migration_modules(str(FOLDER))
    run_order = [Path(modules[migration_id].__file__ or "").name for migration_id in sorted(modules)]
    assert run_order == [p.name for p in migration_files()]
