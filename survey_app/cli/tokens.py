"""API tokens for other systems: `minping token create|list|revoke` (the back office has the same)."""

from __future__ import annotations

import click

from survey_app.cli.base import main, run

# survey_app.tokens' WRITES, DEFAULT_DAYS and DEFAULT_MINUTE_LIMIT, spelt out so that `--help` needs no
# Piccolo (tests/test_cli_startup.py keeps them equal).
WRITES = ("cases.callback", "cases.reply")
DEFAULT_DAYS = 90
DEFAULT_MINUTE_LIMIT = 120


@main.group()
def token() -> None:
    """API tokens for other systems (Authorization: Bearer); see docs/api.md."""


@token.command("create")
@click.argument("name")
@click.option("--unit", "unit_code", default=None, help="Unit code: the token sees this subtree only (default: all).")
@click.option("--no-read", is_flag=True, help="The token may not read, only make its writes.")
@click.option(
    "--write",
    "writes",
    multiple=True,
    type=click.Choice(WRITES),
    help="A named write it may make; repeat for several.",
)
@click.option("--days", type=int, default=DEFAULT_DAYS, show_default=True, help="Days until it expires.")
@click.option("--per-minute", type=int, default=DEFAULT_MINUTE_LIMIT, show_default=True)
def create_token(
    name: str, unit_code: str | None, no_read: bool, writes: tuple[str, ...], days: int, per_minute: int
) -> None:
    """Create a token and print it once: it cannot be shown again (only its keyed hash is kept)."""
    from survey_app import db, tokens

    async def create() -> str:
        await db.migrate()
        return await tokens.create(
            name,
            actor="cli",
            unit_code=unit_code,
            can_read=not no_read,
            writes=writes,
            days=days,
            minute_limit=per_minute,
        )

    click.echo(run(create()))


@token.command("list")
def list_tokens() -> None:
    """Every token: name, prefix, scope, state and dates (never the token itself)."""
    from survey_app import db, localtime, tokens

    async def listing() -> list[tokens.TokenInfo]:
        await db.require_migrated()
        return await tokens.listing()

    for t in run(listing()):
        scope = ("read" if t.can_read else "-") + ("," + ",".join(t.writes) if t.writes else "")
        used = localtime.format_local(t.last_used_at) if t.last_used_at else "never used"
        click.echo(
            f"{t.name}\tmp_{t.prefix}_…\t{t.unit_code or 'all units'}\t{scope}\t{t.state()}\t"
            f"expires {localtime.format_local(t.expires_at)}\t{used}"
        )


@token.command("revoke")
@click.argument("name")
def revoke_token(name: str) -> None:
    """Revoke a token (by name or prefix) at once; audited."""
    from survey_app import db, tokens

    async def revoke() -> None:
        await db.migrate()
        await tokens.revoke(name, actor="cli")

    run(revoke())
    click.echo(f"revoked {name}")
