"""The `minping` command: serve, migrate, demo, links, report, questionnaire and scheme check, assessment."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn

from survey_app import (
    accounts,
    assessments,
    audit,
    campaigns,
    cases,
    db,
    demo,
    quarantine,
    questionnaires,
    reports,
    workdays,
)
from survey_app.questionnaire_format import QuestionnaireError, json_schema, load_file, load_scale_library
from survey_app.scheme_format import Scheme, SchemeError
from survey_app.scheme_format import load_file as load_scheme
from survey_app.settings import SCHEMES_DIR, get_settings
from survey_app.tables import Role

T = TypeVar("T")
SERVED_URL_FILE = "served_url"  # lets `minping links` print the address `serve` listens on
DEMO_ACCOUNTS_FILE = "demo-accounts.txt"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one async step; any failure becomes one clear line and a non-zero exit."""
    try:
        return asyncio.run(coroutine)
    except click.ClickException:
        raise
    except Exception as exc:  # noqa: BLE001 - the CLI's contract is one line, never a traceback
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(message) from exc


class OneLineGroup(click.Group):
    """Turn errors raised outside `run` (e.g. bad settings) into one line too."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # The reader went away (`minping links | head`): stop quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001
            raise click.ClickException(str(exc).strip().splitlines()[0] or type(exc).__name__) from exc


@click.group(cls=OneLineGroup)
@click.version_option(package_name="minping")
def main() -> None:
    """Minping (民评): citizen appraisal surveys from QR code to unit scores."""


async def _prepare_database() -> None:
    """Migrate, then store the bundled questionnaires so campaigns can use them at once."""
    await db.migrate()
    await questionnaires.register_bundled()


@main.command()
def migrate() -> None:
    """Create or update the tables and store the bundled questionnaires (safe when run concurrently)."""
    run(_prepare_database())
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--demo", "with_demo", is_flag=True, help="Create the demo city first if the database is empty.")
def serve(host: str, port: int, workers: int, with_demo: bool) -> None:
    """Serve the web app (migrating first)."""

    settings = get_settings()
    run(_prepare_database())  # once, before workers start
    if with_demo:
        created = run(_demo_if_empty())
        if created:
            click.echo(f"demo city created: {sum(created.values())} responses in {len(created)} campaigns")
            _announce_accounts(run(demo.create_accounts()))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    (settings.data_dir / SERVED_URL_FILE).write_text(url)
    click.echo(f"serving on {url} (data in {settings.data_dir})")
    uvicorn.run(
        "survey_app.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
        log_level="warning",
    )


async def _demo_if_empty() -> dict[str, int]:
    return {} if await campaigns.exist() else await demo.build()


@main.command("demo")
@click.option("--seed", default=2026, show_default=True, help="Random seed of the synthetic responses.")
def make_demo(seed: int) -> None:
    """Create the demo city, campaigns and synthetic responses in an empty database."""

    async def build() -> dict[str, int]:
        await db.migrate()
        if await campaigns.exist():
            raise click.ClickException("the database already has campaigns; the demo needs an empty one")
        return await demo.build(seed=seed)

    for slug, count in run(build()).items():
        click.echo(f"{slug}\t{count} responses")
    _announce_accounts(run(demo.create_accounts()))


def _announce_accounts(passwords: dict[str, str]) -> None:
    """Print the demo accounts once and keep them, readable by the owner only, in the data folder."""
    lines = [f"{user}\t{password}" for user, password in passwords.items()]
    path = get_settings().data_dir / DEMO_ACCOUNTS_FILE
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    click.echo(f"demo staff accounts (sign in at /login; also kept in {path}):", err=True)
    for line in lines:
        click.echo(f"  {line}", err=True)


@main.command()
@click.option("--campaign", "campaign_slug", default=None, help="Only this campaign's links.")
def links(campaign_slug: str | None) -> None:
    """Print one line per active link: public URL, unit, campaign (tab-separated)."""

    async def fetch() -> list[dict[str, Any]]:
        await db.migrate()
        if campaign_slug is not None and await campaigns.by_slug(campaign_slug) is None:
            raise click.ClickException(f"no campaign {campaign_slug!r}")
        return await campaigns.links(campaign_slug)

    settings = get_settings()
    served = settings.data_dir / SERVED_URL_FILE
    base = settings.public_base_url or (served.read_text().strip() if served.exists() else "http://127.0.0.1:8000")
    for row in run(fetch()):
        unit = f"{row['unit_code']} {row['unit_name']}" + (f" · {row['site']}" if row["site"] else "")
        click.echo(f"{campaigns.public_url(base, row['token'])}\t{unit}\t{row['campaign']}")


@main.command()
@click.argument("campaign")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def report(campaign: str, fmt: str, lang: str) -> None:
    """Print a campaign's scores per unit and dimension: n, 满意率, index and 95% interval."""

    async def build() -> reports.Report:
        await db.migrate()
        if await campaigns.by_slug(campaign) is not None:
            await quarantine.flag_campaign(campaign)  # a printed report never counts what the signals flag
        return await reports.build(campaign)

    result = run(build())
    if fmt == "json":
        click.echo(json.dumps(reports.to_dict(result, lang), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(reports.to_csv(result, lang), nl=False)
    else:
        click.echo(reports.to_table(result, lang), nl=False)


@main.command()
@click.argument("campaign")
def flags(campaign: str) -> None:
    """Run the fraud-flag signals over a campaign; newly flagged responses go to quarantine (audited)."""

    async def flag() -> quarantine.FlagPass:
        await db.migrate()
        return await quarantine.flag_campaign(campaign)

    result = run(flag())
    click.echo(
        f"{result.campaign}: {result.checked} responses checked, {result.flagged} flagged, "
        f"{result.quarantined} newly quarantined"
    )


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--unit", "unit_code", default=None, help="Unit code: a worker's (or assessor's) subtree.")
@click.option("--name", "display_name", default="", help="Name shown in the back office.")
def create_user(username: str, role: str, unit_code: str | None, display_name: str) -> None:
    """Create an account, asking for the password (or reading one line from standard input)."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")

    async def create() -> int:
        await db.migrate()
        return await accounts.create(
            username, Role(role), password, unit_code=unit_code, display_name=display_name, actor="cli"
        )

    run(create())
    click.echo(f"created {role} {username}" + (f" for unit {unit_code}" if unit_code else ""))


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command()
def verify() -> None:
    """Check the hash chain of the audit trail; name the first broken entry (exit 1)."""

    async def check() -> audit.ChainCheck:
        await db.migrate()
        return await audit.verify()

    result = run(check())
    if not result.ok:
        raise click.ClickException(f"audit chain broken at entry {result.first_broken}: {result.problem}")
    click.echo(f"audit chain ok: {result.entries} entries, head {result.head}")


@main.group()
def questionnaire() -> None:
    """Questionnaire files: check them, print their JSON Schema."""


@questionnaire.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Validate questionnaire files (and `_*.yaml` scale libraries); exit 1 if any is invalid."""
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
    click.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))


@main.group()
def scheme() -> None:
    """Assessment scheme files: check them."""


@scheme.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_scheme(files: tuple[Path, ...]) -> None:
    """Validate scheme files against the bundled questionnaires; exit 1 if any is invalid."""
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
    path = file or get_settings().holidays_file
    notices = workdays.load_notices(path) if path is not None and path.exists() else {}
    package = workdays.package_years()
    extra = ", ".join(str(y) for y in sorted(notices)) or "none"
    click.echo(f"calendar years: {package[0]}–{package[-1]} (chinesecalendar); from {path}: {extra}")


@holidays.command("redate")
def redate() -> None:
    """Recompute the estimated deadlines of open cases now that the calendar knows their year."""

    async def go() -> list[int]:
        await db.migrate()
        return await cases.redate_estimated("cli")

    changed = run(go())
    click.echo(f"{len(changed)} open cases got their official deadlines" + (f": {changed}" if changed else ""))


@main.group()
def assessment() -> None:
    """Assessment periods: create, close (seal), correct, verify, list."""


def _scheme_from(name: str) -> Scheme:
    """A scheme file path, or the slug of a bundled scheme."""
    path = Path(name)
    if not path.exists():
        path = SCHEMES_DIR / f"{name}.yaml"
        if not path.exists():
            raise click.ClickException(f"no scheme file {name!r} (nor a bundled scheme of that slug)")
    try:
        return load_scheme(path)
    except SchemeError as exc:
        raise click.ClickException(str(exc)) from None


async def _period(slug: str) -> assessments.Period:
    await db.migrate()
    period = await assessments.get(slug)
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
    s = _scheme_from(scheme_name)
    pairs = dict(c.split("=", 1) for c in chosen if "=" in c)
    if len(pairs) != len(chosen):
        raise click.ClickException("--campaign takes QUESTIONNAIRE=CAMPAIGN")

    async def create() -> assessments.Period:
        await db.migrate()
        return await assessments.create(period, s, title, title_en=title_en, actor="cli", campaigns_by_slug=pairs)

    made = run(create())
    sources = ", ".join(f"{q}={c}" for q, c in made.sources.items())
    click.echo(f"created period {made.slug} ({s.slug} v{s.version}; {sources})")


@assessment.command("close")
@click.argument("period")
def close_period(period: str) -> None:
    """Seal a period: snapshot 1 of its scheme, data and result."""

    async def close() -> assessments.Snapshot:
        return await assessments.close(await _period(period), "cli")

    snapshot = run(close())
    click.echo(f"closed {period}: snapshot {snapshot.number}, result {snapshot.result_hash[:16]}")


@assessment.command("correct")
@click.argument("period")
@click.option("--reason", required=True, help="Why the sealed result is corrected (kept in the audit trail).")
def correct_period(period: str, reason: str) -> None:
    """Add a correcting snapshot to a closed period, recomputed from the responses stored now."""

    async def correct() -> assessments.Snapshot:
        return await assessments.correct(await _period(period), "cli", reason)

    snapshot = run(correct())
    click.echo(f"corrected {period}: snapshot {snapshot.number}, result {snapshot.result_hash[:16]}")


@assessment.command("verify")
@click.argument("period")
def verify_period(period: str) -> None:
    """Recompute the latest snapshot from the stored responses; exit 1 naming what differs."""

    async def check() -> assessments.Verification:
        return await assessments.verify(await _period(period))

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

    async def fetch() -> list[tuple[assessments.Period, int]]:
        await db.migrate()
        return await assessments.listing()

    for p, snapshots in run(fetch()):
        click.echo(f"{p.slug}\t{p.status}\t{snapshots} snapshots\t{p.scheme.slug} v{p.scheme.version}\t{p.title}")
