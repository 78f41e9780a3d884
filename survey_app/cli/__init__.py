"""The `minping` command: each module adds its commands to the one group, `main` (the entry point)."""

from survey_app.cli import assessment, backups, exporting, files, imports, records, serving, tokens  # noqa: F401 - each registers its commands
from survey_app.cli.base import main

__all__ = ["main"]
