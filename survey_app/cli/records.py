"""What the stored data says: a campaign's report, its fraud flags, the audit trail; staff accounts."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from survey_app.cli.base import ROLES, main, run

if TYPE_CHECKING:
    from survey_app import audit, quarantine
    from survey_app.reporting import campaign_report


@main.command()
@click.argument("campaign")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def report(campaign: str, fmt: str, lang: str) -> None:
    """Print a campaign's scores per unit and dimension: n, 满意率, index and 95% interval.

    It reads and never writes: responses count as they stand (the server's periodic flag pass, or
    `minping flags CAMPAIGN`, sends what the fraud signals flag to quarantine first).
    """
    from survey_app import db
    from survey_app.assessment import rules
    from survey_app.reporting import campaign_report

    async def build() -> campaign_report.Report:
        await db.require_migrated()
        return await campaign_report.build(campaign, rule=await rules.of_campaign(campaign))

    result = run(build())
    if fmt == "json":
        click.echo(json.dumps(campaign_report.to_dict(result, lang), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(campaign_report.to_csv(result, lang), nl=False)
    else:
        click.echo(campaign_report.to_table(result, lang), nl=False)


@main.command()
@click.argument("campaign")
def flags(campaign: str) -> None:
    """Run the fraud-flag signals over a campaign; newly flagged responses go to quarantine (audited)."""
    from survey_app import db, quarantine

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
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--unit", "unit_code", default=None, help="Unit code: a worker's (or assessor's) subtree.")
@click.option("--name", "display_name", default="", help="Name shown in the back office.")
def create_user(username: str, role: str, unit_code: str | None, display_name: str) -> None:
    """Create an account, asking for the password (or reading one line from standard input)."""
    from survey_app import accounts, db
    from survey_app.tables import Role

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


@user.command("disable")
@click.argument("username")
def disable_user(username: str) -> None:
    """Disable an account: no more sign-ins, and its open sessions end at once."""
    from survey_app import accounts, db

    async def disable() -> None:
        await db.require_migrated()
        await accounts.disable(username, actor="cli")

    run(disable())
    click.echo(f"disabled {username}; its sessions have ended")


@user.command("role")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--unit", "unit_code", default=None, help="Unit code: a worker's (or assessor's) subtree.")
def change_role(username: str, role: str, unit_code: str | None) -> None:
    """Give an account another role or unit; its open sessions end at once."""
    from survey_app import accounts, db
    from survey_app.tables import Role

    async def change() -> None:
        await db.require_migrated()
        await accounts.change_role(username, Role(role), unit_code=unit_code, actor="cli")

    run(change())
    click.echo(
        f"{username} is now {role}" + (f" for unit {unit_code}" if unit_code else "") + "; its sessions have ended"
    )


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command()
def verify() -> None:
    """Check the hash chain of the audit trail; name the first broken entry (exit 1)."""
    from survey_app import audit, db

    async def check() -> audit.ChainCheck:
        await db.require_migrated()
        return await audit.verify()

    result = run(check())
    if not result.ok:
        raise click.ClickException(f"audit chain broken at entry {result.first_broken}: {result.problem}")
    click.echo(f"audit chain ok: {result.entries} entries, head {result.head}")
