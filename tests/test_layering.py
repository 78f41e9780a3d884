"""analysis/ is pure statistics: it imports neither the web app nor the web or database frameworks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ANALYSIS = Path(__file__).resolve().parent.parent / "analysis"
FORBIDDEN = ("survey_app", "litestar", "piccolo", "jinja2", "msgspec")


@pytest.mark.parametrize("path", sorted(ANALYSIS.glob("*.py")), ids=lambda p: p.name)
def test_analysis_module_imports_only_numerics(path):
    tree = ast.parse(path.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert not {name for name in imported if name.split(".")[0] in FORBIDDEN}
