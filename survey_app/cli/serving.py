"""Serving and preparing the database: serve, migrate, demo, links."""

from __future__ import annotations

from typing import Any

import click

from survey_app.cli.base import main, run
from survey_app.settings import get_settings, trusted_proxies

SERVED_URL_FILE = "served_url"  # lets `minping links` print the address `serve` listens on
DEMO_ACCOUNTS_FILE = "demo-accounts.txt"


async def _prepare_database() -> None:
    """Migrate, then store the bundled questionnaires so campaigns can use them at once."""
    from survey_app import db
    from survey_app.questionnaires import versions

    await db.migrate()
    await versions.register_bundled()


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
@click.option(
    "--forwarded-allow-ips",
    default=None,
    metavar="ADDRESSES",
    help="The reverse proxies to believe about the client's address (comma-separated addresses or networks; "
    "default MINPING_FORWARDED_ALLOW_IPS, else none: the socket's address is the client's).",
)
def serve(host: str, port: int, workers: int, with_demo: bool, forwarded_allow_ips: str | None) -> None:
    """Serve the web app (migrating first)."""
    import uvicorn

    from survey_app import demo

    settings = get_settings()
    proxies = settings.forwarded_allow_ips
    if forwarded_allow_ips is not None:
        try:
            proxies = trusted_proxies(forwarded_allow_ips, source="--forwarded-allow-ips")
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    run(_prepare_database())  # once, before workers start
    if with_demo:
        created = run(_demo_if_empty())
        if created:
            click.echo(f"demo city created: {sum(created.values())} responses in {len(created)} campaigns")
            _announce_accounts(run(demo.create_accounts()))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    (settings.data_dir / SERVED_URL_FILE).write_text(url)
    trusting = f"; client addresses from the proxies {proxies}" if proxies else ""
    click.echo(f"serving on {url} (data in {settings.data_dir}{trusting})")
    uvicorn.run(
        "survey_app.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Believing X-Forwarded-For from anyone would let a client choose the address that the login
        # throttle and the flood guard count; so only from the proxies named.
        proxy_headers=proxies is not None,
        forwarded_allow_ips=proxies,
        server_header=False,
        log_level="warning",
    )


async def _demo_if_empty() -> dict[str, int]:
    from survey_app import campaigns, demo

    return {} if await campaigns.exist() else await demo.build()


@main.command("demo")
@click.option("--seed", default=2026, show_default=True, help="Random seed of the synthetic responses.")
def make_demo(seed: int) -> None:
    """Create the demo city, campaigns and synthetic responses in an empty database."""
    from survey_app import campaigns, db, demo

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
    from survey_app import campaigns, db

    async def fetch() -> list[dict[str, Any]]:
        await db.require_migrated()
        if campaign_slug is not None and await campaigns.by_slug(campaign_slug) is None:
            raise click.ClickException(f"no campaign {campaign_slug!r}")
        return await campaigns.links(campaign_slug)

    settings = get_settings()
    served = settings.data_dir / SERVED_URL_FILE
    base = settings.public_base_url or (served.read_text().strip() if served.exists() else "http://127.0.0.1:8000")
    for row in run(fetch()):
        unit = f"{row['unit_code']} {row['unit_name']}" + (f" · {row['site']}" if row["site"] else "")
        click.echo(f"{campaigns.public_url(base, row['token'])}\t{unit}\t{row['campaign']}")
