"""The `minping` group, and `run`: one async step whose failure is one clear line and a non-zero exit.

The command modules import the app (Piccolo, Litestar, numpy and scipy through `analysis`) inside
each command's body, never at module level: `minping --help`, or a mistyped option, then answers in
a tenth of the time a command that works on the database needs (tests/test_cli_startup.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

T = TypeVar("T")

# survey_app.tables.Role's values, spelt out so that `--help` needs no Piccolo (a test keeps them equal).
ROLES = ("admin", "worker", "assessor")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one async step; any failure becomes one clear line and a non-zero exit."""
    import asyncio  # here, not at the top: it pulls in ssl and subprocess, a third of `--help`'s imports

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
