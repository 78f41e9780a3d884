"""`minping export CAMPAIGN`: a campaign's responses as CSV, XLSX, JSON, SPSS or Stata, with a codebook beside it."""

from __future__ import annotations

from pathlib import Path

import click

from survey_app.cli.base import main, run

# The app (and scipy, through the reports) is imported inside the command, so `--help` starts at once;
# reporting/statfiles.py names the same two statistics formats.
STATISTICS_FORMATS = ("sav", "dta")
FORMATS = ("csv", "xlsx", "json", *STATISTICS_FORMATS)


@main.command("export")
@click.argument("campaign")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option("--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def export(campaign: str, fmt: str, output: Path, lang: str) -> None:
    """Write every response of CAMPAIGN to OUTPUT, and its codebook to OUTPUT.codebook.json.

    Responses are as staff see them (free text masked, times to the hour); `sav`/`dta` carry variable
    and value labels, with "don't know" declared missing (docs/exports.md).
    """
    import msgspec

    from survey_app import campaigns, db
    from survey_app.questionnaires import versions
    from survey_app.questionnaires.format import Questionnaire
    from survey_app.reporting import codebook, exports, statfiles
    from survey_app.reporting.exports import ResponseRecord

    if output.exists():
        raise click.ClickException(f"{output} exists already; choose a new file name")

    async def build() -> tuple[Questionnaire, list[ResponseRecord]]:
        await db.require_migrated()
        found = await campaigns.by_slug(campaign)
        if found is None:
            raise click.ClickException(f"no campaign {campaign!r}")
        q = await versions.get(found.questionnaire_id)
        return q, await exports.response_records(found.id, q, None, lang)

    q, records = run(build())
    names: dict[str, str] = {}
    if fmt in statfiles.FORMATS:
        names = {v.source: v.name for v in statfiles.write(fmt, q, records, lang, output)}
    elif fmt == "csv":
        output.write_bytes(exports.to_csv(exports.response_table(q, records)))
    elif fmt == "xlsx":
        sheets = [("responses", exports.response_table(q, records)), ("questions", exports.question_table(q, lang))]
        output.write_bytes(exports.to_xlsx(sheets))
    else:
        output.write_bytes(exports.encode_json(records))
    book = {"codebook": codebook.build(q), "variables": names or None}
    codebook_file = output.with_name(output.name + ".codebook.json")
    codebook_file.write_bytes(msgspec.json.format(msgspec.json.encode(book)))
    click.echo(f"wrote {len(records)} responses to {output}; codebook {codebook_file}")
