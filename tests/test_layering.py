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


SURVEY_APP = ANALYSIS.parent / "survey_app"
# Packages of survey_app whose modules count as one node of the import graph.
PACKAGES = {p.name for p in SURVEY_APP.iterdir() if (p / "__init__.py").exists() and p.name != "piccolo_migrations"}


def _node(module: str) -> str | None:
    """The graph node of a module: `web`, `cases`, … for a package's modules, the module for the others."""
    parts = module.split(".")
    return parts[1] if parts[0] == "survey_app" and len(parts) > 1 else None


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            base = node.module
            names |= {f"{base}.{alias.name}" for alias in node.names} if base == "survey_app" else {base}
    return names


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SURVEY_APP.rglob("*.py"):
        relative = path.relative_to(SURVEY_APP.parent).with_suffix("")
        if "piccolo_migrations" in relative.parts or relative.parts == ("survey_app", "__init__"):
            continue
        source = _node(".".join(relative.parts))
        assert source is not None
        targets = {_node(name) for name in _imports(path)} - {None, source}
        graph.setdefault(source, set()).update(t for t in targets if t is not None)
    return graph


def test_no_import_cycles_between_the_modules_and_packages_of_survey_app():
    graph, cycles = _graph(), []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(node)

    done: set[str] = set()
    for node in sorted(graph):
        if node not in done:
            visit(node, [node])
    assert not cycles, cycles


def test_only_the_wiring_imports_the_web_layer():
    """Domain modules never reach up into the HTTP layer: `web` is imported by `app` alone (and `cli`
    starts the server by naming `app`)."""
    graph = _graph()
    assert "web" in PACKAGES and {node for node, targets in graph.items() if "web" in targets} == {"app"}


def test_the_web_layer_never_queries_a_table():
    """Controllers call domain functions; from `survey_app.tables` they take enums (Role, Channel…) only."""
    from piccolo.table import Table

    from survey_app import tables

    for path in (SURVEY_APP / "web").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "survey_app.tables":
                imported = [getattr(tables, alias.name) for alias in node.names]
                assert not [t for t in imported if isinstance(t, type) and issubclass(t, Table)], path.name
