"""`minping backup FILE` and `minping restore FILE`: the whole database in one file (docs/deployment.md)."""

from __future__ import annotations

from pathlib import Path

import click

from survey_app.cli.base import main, run


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path) -> None:
    """Copy the database to FILE while the server runs (SQLite: online backup API; PostgreSQL: pg_dump)."""
    from survey_app import backups, db

    async def make() -> str:
        await db.require_migrated()
        return await backups.backup(file)

    click.echo(f"wrote {run(make())}; keep the secret key with it (see docs/deployment.md)")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that already holds data.")
def restore(file: Path, replace: bool) -> None:
    """Restore the database from a backup FILE (stop the server first), then bring it up to date."""
    from survey_app import backups, db

    async def put_back() -> str:
        done = await backups.restore(file, replace=replace)
        await db.migrate()  # a backup of an older version gets this version's migrations
        return done

    click.echo(f"{run(put_back())}; database is up to date")
