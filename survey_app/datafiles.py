"""Reading the data files Minping is configured with (questionnaires, schemes, holiday notices).

Each is YAML (or JSON) decoded into frozen msgspec structures; every error names the file and the
field, as `file: path.to.field: message`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
import yaml


class PlainLoader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: `2026-13-01` stays text, so the field's type checks it
    and the error names its path (PyYAML would raise a bare ValueError while parsing)."""


PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# Bounds checked before a file is built into Python objects. The bundled questionnaires and schemes
# are under 12 KB and 6 levels deep. Deeper nesting would make PyYAML's recursive composer raise
# RecursionError; aliases can make a small file expand exponentially (a "billion laughs"), and no data
# file needs them, so they are refused.
MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 32


def read_yaml(source: bytes | str, name: str, error: type[ValueError], fields: str) -> Any:
    """Parse YAML (or JSON) holding a mapping; `error` is raised as `name: message`.

    :param fields: the top-level fields the file should hold, named when it holds something else.
    """
    if len(source) > MAX_YAML_BYTES:
        raise error(f"{name}: the file is larger than {MAX_YAML_BYTES // 1024} KB")
    try:
        _check_shape(source, name, error)
        raw = yaml.load(source, Loader=PlainLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise error(f"{name}: {where}{problem}") from None
    if not isinstance(raw, dict):
        raise error(f"{name}: the file must hold a mapping ({fields})")
    return raw


def _check_shape(source: bytes | str, name: str, error: type[ValueError]) -> None:
    """Refuse nesting deeper than MAX_YAML_DEPTH and aliases, from the parser's events: PyYAML parses
    with an explicit stack (no recursion), so this holds for any input."""
    depth = 0
    for event in yaml.parse(source, Loader=PlainLoader):  # noqa: S506 (a SafeLoader)
        line = event.start_mark.line + 1 if event.start_mark else "?"
        if isinstance(event, yaml.AliasEvent):
            raise error(f"{name}: line {line}: aliases (*name) are not allowed")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise error(f"{name}: line {line}: nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def msgspec_message(exc: msgspec.ValidationError, enums: Mapping[str, tuple[str, ...]]) -> str:
    """Turn "Expected `int`, got `str` - at `$.items[2].weight`" into "items.2.weight: expected int, got str"."""
    text = str(exc)
    match = re.match(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", text, re.S)
    assert match is not None  # the pattern matches any string
    path = re.sub(r"\[(\d+)\]", r".\1", match["path"] or "").lstrip(".")
    message = match["msg"].replace("`", "")
    message = message[0].lower() + message[1:] if message else message
    allowed = enums.get(path.rsplit(".", 1)[-1])
    if message.startswith("invalid enum value") and allowed:
        message += f" (allowed: {', '.join(allowed)})"
    return f"{path}: {message}" if path else message


def duplicates(where: str, values: list[str]) -> list[str]:
    """An error `where.N: duplicate 'x'` for each value seen before at position N."""
    seen: set[str] = set()
    errors = []
    for n, value in enumerate(values):
        if value in seen:
            errors.append(f"{where}.{n}: duplicate {value!r}")
        seen.add(value)
    return errors
