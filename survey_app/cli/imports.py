"""`minping import wjx`: last year's results from a 问卷星 export, with a dry-run report (docs/import.md)."""

from __future__ import annotations

from pathlib import Path

import click

from survey_app.cli.base import main, run


@main.group("import")
def import_group() -> None:
    """Bring in results collected with other tools."""


@import_group.command("wjx")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", required=True, help="Campaign slug; created (closed) when it does not exist yet.")
@click.option("--questionnaire", required=True, help="Questionnaire slug (latest stored version) or slug:version.")
@click.option(
    "--mapping",
    "mapping_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML file: questions onto items, option numbers onto codes, the unit.",
)
@click.option("--title", default="", help="Title of a campaign created by the import.")
@click.option("--dry-run", is_flag=True, help="Check every row and print the report; save nothing.")
def import_wjx(file: Path, campaign: str, questionnaire: str, mapping_file: Path, title: str, dry_run: bool) -> None:
    """Import a 问卷星 All_Data_Original export (.xls, .xlsx or .csv) as channel `import`.

    Every row is checked as a resident's form would be; if any row is refused, nothing is saved.
    Importing the same export again saves nothing twice.
    """
    from survey_app import db, wjx_import

    data, mapping = file.read_bytes(), mapping_file.read_bytes()

    async def check() -> wjx_import.Prepared:
        await db.migrate()
        return await wjx_import.prepare(
            data, file.name, mapping, mapping_file.name, campaign=campaign, questionnaire=questionnaire
        )

    prepared = run(check())
    for line in prepared.plan.report():
        click.echo(line)
    if prepared.plan.refused:
        raise click.ClickException(
            f"{len(prepared.plan.refused)} rows refused; nothing saved (fix the mapping or the file)"
        )
    if dry_run:
        would = "" if prepared.campaign_id else f"; campaign {campaign} would be created (closed)"
        click.echo(f"dry run: nothing saved{would}")
        return
    done = run(wjx_import.run(prepared, title=title))
    created = f"created campaign {campaign} (closed); " if done.campaign_created else ""
    click.echo(f"{created}saved {done.saved} responses, {done.already} already imported")
