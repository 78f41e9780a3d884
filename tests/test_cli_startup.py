"""`minping` answers commands that compute nothing without importing the app (issue 17, item 5).

Timing belongs to bench/cli_startup.py; here the cause is checked: what a fresh interpreter has
imported after `--help` ran. A module-level import of the app in any command module fails this.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from survey_app import tokens
from survey_app.cli import tokens as cli_tokens
from survey_app.cli.base import ROLES
from survey_app.tables import Role

HEAVY = ("scipy", "numpy", "litestar", "piccolo", "uvicorn", "analysis", "survey_app.tables", "asyncio")
PROBE = """
import sys
from survey_app.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    assert exit.code == 0, exit.code
print("imported:", ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["links", "--help"],
        ["serve", "--help"],
        ["assessment", "--help"],
        ["assessment", "close", "--help"],
        ["user", "create", "--help"],
        ["questionnaire", "--help"],
        ["holidays", "--help"],
        ["token", "create", "--help"],
        ["import", "wjx", "--help"],
        ["backup", "--help"],
        ["user", "role", "--help"],
    ],
)
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    probe = PROBE.format(heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "imported: "
    assert "Usage:" in done.stdout


def test_choices_spelt_out_for_help_are_the_apps() -> None:
    assert ROLES == tuple(r.value for r in Role)
    assert cli_tokens.WRITES == tuple(sorted(tokens.WRITES))
    assert (cli_tokens.DEFAULT_DAYS, cli_tokens.DEFAULT_MINUTE_LIMIT) == (
        tokens.DEFAULT_DAYS,
        tokens.DEFAULT_MINUTE_LIMIT,
    )
