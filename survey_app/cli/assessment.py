"""Assessment periods: create, close (seal), correct, verify, list."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from survey_app.cli.base import main, run
from survey_app.settings import SCHEMES_DIR

if TYPE_CHECKING:
    from survey_app.assessment import periods
    from survey_app.assessment.schemes import Scheme


@main.group()
def assessment() -> None:
    """Assessment periods: create, close (seal), correct, verify, list."""


def _scheme_from(name: str) -> Scheme:
    """A scheme file path, or the slug of a bundled scheme."""
    from survey_app.assessment.schemes import SchemeError
    from survey_app.assessment.schemes import load_file as load_scheme

    path = Path(name)
    if not path.exists():
        path = SCHEMES_DIR / f"{name}.yaml"
        if not path.exists():
            raise click.ClickException(f"no scheme file {name!r} (nor a bundled scheme of that slug)")
    try:
        return load_scheme(path)
    except SchemeError as exc:
        raise click.ClickException(str(exc)) from None


async def _period(slug: str, *, changes: bool) -> periods.Period:
    """The period `slug`; a command that `changes` it migrates first, one that reads only requires migrations."""
    from survey_app import db
    from survey_app.assessment import periods

    await (db.migrate() if changes else db.require_migrated())
    period = await periods.get(slug)
    if period is None:
        raise click.ClickException(f"no assessment period {slug!r}")
    return period


@assessment.command("create")
@click.argument("period")
@click.option("--scheme", "scheme_name", required=True, help="Scheme file, or the slug of a bundled scheme.")
@click.option("--title", required=True, help="Title in Chinese, e.g. 2026 年度考核.")
@click.option("--title-en", default="", help="Title in English.")
@click.option(
    "--campaign",
    "chosen",
    multiple=True,
    metavar="QUESTIONNAIRE=CAMPAIGN",
    help="The campaign scored for a questionnaire (needed when several campaigns use it).",
)
def create_period(period: str, scheme_name: str, title: str, title_en: str, chosen: tuple[str, ...]) -> None:
    """Open an assessment period under a scheme."""
    from survey_app import db
    from survey_app.assessment import periods

    s = _scheme_from(scheme_name)
    pairs = dict(c.split("=", 1) for c in chosen if "=" in c)
    if len(pairs) != len(chosen):
        raise click.ClickException("--campaign takes QUESTIONNAIRE=CAMPAIGN")

    async def create() -> periods.Period:
        await db.migrate()
        return await periods.create(period, s, title, title_en=title_en, actor="cli", campaigns_by_slug=pairs)

    made = run(create())
    sources = ", ".join(f"{q}={c}" for q, c in made.sources.items())
    click.echo(f"created period {made.slug} ({s.slug} v{s.version}; {sources})")


@assessment.command("close")
@click.argument("period")
def close_period(period: str) -> None:
    """Seal a period: snapshot 1 of its scheme, data and result."""
    from survey_app.assessment import periods

    async def close() -> periods.Snapshot:
        return await periods.close(await _period(period, changes=True), "cli")

    snapshot = run(close())
    click.echo(f"closed {period}: snapshot {snapshot.number}, result {snapshot.result_hash[:16]}")


@assessment.command("correct")
@click.argument("period")
@click.option("--reason", required=True, help="Why the sealed result is corrected (kept in the audit trail).")
def correct_period(period: str, reason: str) -> None:
    """Add a correcting snapshot to a closed period, recomputed from the responses stored now."""
    from survey_app.assessment import periods

    async def correct() -> periods.Snapshot:
        return await periods.correct(await _period(period, changes=True), "cli", reason)

    snapshot = run(correct())
    click.echo(f"corrected {period}: snapshot {snapshot.number}, result {snapshot.result_hash[:16]}")


@assessment.command("verify")
@click.argument("period")
def verify_period(period: str) -> None:
    """Recompute the latest snapshot from the stored responses; exit 1 naming what differs."""
    from survey_app.assessment import periods

    async def check() -> periods.Verification:
        return await periods.verify(await _period(period, changes=False))

    result = run(check())
    if not result.ok:
        raise click.ClickException(
            f"{period} snapshot {result.snapshot} does not verify: {'; '.join(result.differences)}"
        )
    note = f" ({result.note})" if result.note else ""
    click.echo(f"ok {period} snapshot {result.snapshot}: recomputed result identical byte for byte{note}")


@assessment.command("list")
def list_periods() -> None:
    """One line per period: slug, status, snapshots, scheme, title."""
    from survey_app import db
    from survey_app.assessment import periods

    async def fetch() -> list[tuple[periods.Period, int]]:
        await db.require_migrated()
        return await periods.listing()

    for p, snapshots in run(fetch()):
        click.echo(f"{p.slug}\t{p.status}\t{snapshots} snapshots\t{p.scheme.slug} v{p.scheme.version}\t{p.title}")
