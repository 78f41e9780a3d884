"""Checking the files Minping reads: questionnaires, assessment schemes, holiday notices."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from survey_app.cli.base import main, run
from survey_app.settings import get_settings


@main.group()
def questionnaire() -> None:
    """Questionnaire files: check them, print their JSON Schema."""


@questionnaire.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Validate questionnaire files (and `_*.yaml` scale libraries); exit 1 if any is invalid."""
    from survey_app.questionnaires.format import QuestionnaireError, load_file, load_scale_library

    failed = False
    for path in files:
        try:
            if path.name.startswith("_"):  # a shared scale library, not a questionnaire
                scales = load_scale_library(path)
                click.echo(f"{path.name}: ok (scale library: {', '.join(scales)})")
            else:
                q = load_file(path)
                click.echo(f"{path.name}: ok ({q.slug} v{q.version}, {len(q.items)} items)")
        except QuestionnaireError as exc:
            failed = True
            click.echo(str(exc), err=True)
    sys.exit(1 if failed else 0)


@questionnaire.command()
def schema() -> None:
    """Print the JSON Schema of questionnaire files (for editors)."""
    from survey_app.questionnaires.format import json_schema

    click.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))


@main.group()
def scheme() -> None:
    """Assessment scheme files: check them."""


@scheme.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_scheme(files: tuple[Path, ...]) -> None:
    """Validate scheme files against the bundled questionnaires; exit 1 if any is invalid."""
    from survey_app.assessment.schemes import SchemeError
    from survey_app.assessment.schemes import load_file as load_scheme
    from survey_app.questionnaires.format import QuestionnaireError

    failed = False
    for path in files:
        try:
            s = load_scheme(path)
            kinds = ", ".join(g.kind for g in s.groups)
            click.echo(f"{path.name}: ok ({s.slug} v{s.version}, {kinds}; min n {s.min_n})")
        except (SchemeError, QuestionnaireError) as exc:
            failed = True
            click.echo(str(exc), err=True)
    sys.exit(1 if failed else 0)


@main.group()
def holidays() -> None:
    """The official holiday calendar behind case deadlines (working days)."""


@holidays.command("check")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_holidays(file: Path | None) -> None:
    """Validate a holidays file (default: the configured one) and say which years deadlines know."""
    from survey_app.cases import workdays

    path = file or get_settings().holidays_file
    notices = workdays.load_notices(path) if path is not None and path.exists() else {}
    package = workdays.package_years()
    extra = ", ".join(str(y) for y in sorted(notices)) or "none"
    click.echo(f"calendar years: {package[0]}–{package[-1]} (chinesecalendar); from {path}: {extra}")


@holidays.command("redate")
def redate() -> None:
    """Recompute the estimated deadlines of open cases now that the calendar knows their year."""
    from survey_app import db
    from survey_app.cases import workflow

    async def go() -> list[int]:
        await db.migrate()
        return await workflow.redate_estimated("cli")

    changed = run(go())
    click.echo(f"{len(changed)} open cases got their official deadlines" + (f": {changed}" if changed else ""))
