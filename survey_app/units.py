"""The unit tree: city → district → street office → community, and city departments."""

from __future__ import annotations

from dataclasses import dataclass

from survey_app.tables import Unit, UnitKind


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    name_en: str
    kind: str

    def display_name(self, lang: str) -> str:
        return (self.name_en if lang == "en" else "") or self.name


async def create(
    code: str,
    name: str,
    kind: UnitKind,
    *,
    parent_code: str | None = None,
    name_en: str = "",
    population: int | None = None,
) -> int:
    """Add a unit under `parent_code`; return its id."""
    parent_id = None
    if parent_code is not None:
        parent = await Unit.select(Unit.id).where(Unit.code == parent_code).first()
        if parent is None:
            raise LookupError(f"no unit with code {parent_code!r}")
        parent_id = parent["id"]
    row = Unit(code=code, name=name, name_en=name_en, kind=kind, parent=parent_id, population=population)
    await row.save()
    return int(row.id)


async def by_ids(ids: list[int]) -> dict[int, UnitInfo]:
    """The units with these ids, keyed by id."""
    if not ids:
        return {}
    rows = await Unit.select(Unit.id, Unit.code, Unit.name, Unit.name_en, Unit.kind).where(Unit.id.is_in(ids))
    return {r["id"]: UnitInfo(**r) for r in rows}


async def ids_by_kind(kind: UnitKind) -> list[int]:
    rows = await Unit.select(Unit.id).where(Unit.kind == kind).order_by(Unit.code)
    return [r["id"] for r in rows]


async def count() -> int:
    return int(await Unit.count())


async def subtree_ids(root_id: int) -> set[int]:
    """`root_id` and every unit below it."""
    rows = await Unit.select(Unit.id, Unit.parent)
    children: dict[int | None, list[int]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row["id"])
    found, todo = set(), [root_id]
    while todo:
        unit_id = todo.pop()
        if unit_id not in found:
            found.add(unit_id)
            todo.extend(children.get(unit_id, []))
    return found


@dataclass(frozen=True)
class TreeUnit:
    id: int
    code: str
    name: str
    kind: str
    depth: int
    population: int | None


async def tree(visible: set[int] | None = None) -> list[TreeUnit]:
    """Units in tree order (each parent before its children, siblings by code), limited to `visible`."""
    rows = await Unit.select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent, Unit.population).order_by(Unit.code)
    children: dict[int | None, list[dict]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row)
    ordered: list[TreeUnit] = []

    def walk(parent: int | None, depth: int) -> None:
        for row in children.get(parent, []):
            if visible is None or row["id"] in visible:
                ordered.append(TreeUnit(row["id"], row["code"], row["name"], row["kind"], depth, row["population"]))
            walk(row["id"], depth + 1)

    walk(None, 0)
    return ordered


async def descendants(root_id: int, kind: str | None = None) -> list[TreeUnit]:
    """`root_id`'s subtree (itself included) in tree order, keeping only units of `kind` if given."""
    inside = await subtree_ids(root_id)
    return [u for u in await tree(inside) if kind is None or u.kind == kind]
