"""The unit tree: city → district → street office → community, and city departments."""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import Column

from survey_app import audit
from survey_app import changes as change_events
from survey_app.changes import Change, Kind
from survey_app.db import writing
from survey_app.i18n import N_, pick
from survey_app.tables import PeriodRoster, PeriodStatus, Unit, UnitKind


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    name_en: str
    kind: str

    def display_name(self, lang: str) -> str:
        return pick(lang, self.name, self.name_en)


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
    async with writing():
        await row.save()
        await change_events.record(Kind.unit, int(row.id), Change.created)
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


async def descendants(root_id: int, kind: str | None = None) -> list[UnitRecord]:
    """`root_id`'s subtree (itself included) in tree order, keeping only units of `kind` if given."""
    inside = await subtree_ids(root_id)
    return [u for u in await listing(inside) if kind is None or u.kind == kind]


# --- Back office: browsing, adding, editing and importing units -------------------------------

# Codes appear in URLs, file names of QR images and CSV files, so they keep to URL-safe characters.
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MAX_POPULATION = 100_000_000
# A prefecture-level city has a few thousand communities; 2 MB holds about 30,000 rows.
KIND_LABELS = {
    UnitKind.city: N_("市"),
    UnitKind.district: N_("区县"),
    UnitKind.street: N_("街道"),
    UnitKind.community: N_("社区"),
    UnitKind.department: N_("部门"),
}
# CSV headers, in English or Chinese, as people type them (lower case, spaces as underscores).


@dataclass(frozen=True)
class UnitRecord:
    """A unit as the back office shows and edits it."""

    id: int
    code: str
    name: str
    name_en: str
    kind: str
    parent_code: str | None
    population: int | None
    depth: int = 0

    def display_name(self, lang: str) -> str:
        return pick(lang, self.name, self.name_en)


@dataclass(frozen=True)
class EditScope:
    """Where a member may add units (`parents`) and which units they may change (`editable`); None = any.

    `regroups`: whether they may change a unit's kind or parent, which decides the league it is scored in
    (admins only: a unit's own staff must not move it out of its league)."""

    parents: AbstractSet[int] | None
    editable: AbstractSet[int] | None
    regroups: bool = False

    def may_edit(self, unit_id: int) -> bool:
        return self.editable is None or unit_id in self.editable

    def may_add_under(self, parent_id: int | None) -> bool:
        if self.parents is None:
            return True
        return parent_id is not None and parent_id in self.parents


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a unit: the column, a Chinese msgid with %-parameters, and the CSV row."""

    column: str
    message: str
    params: dict[str, object] = field(default_factory=dict)
    row: int | None = None


class UnitError(ValueError):
    """A unit change or import was refused; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.row or '-'} {p.column}: {p.message % p.params}" for p in problems))
        self.problems = problems


async def edit_scope(role: str, root_id: int | None) -> EditScope:
    """Admins change any unit; a worker adds under their subtree and changes the names and population of
    units below their own unit (never their unit itself, never a kind or parent); assessors only read."""
    if role == "admin":
        return EditScope(parents=None, editable=None, regroups=True)
    if role == "worker" and root_id is not None:
        inside = await subtree_ids(root_id)
        return EditScope(parents=inside, editable=inside - {root_id})
    return EditScope(parents=set(), editable=set())


async def listing(visible: AbstractSet[int] | None = None) -> list[UnitRecord]:
    """Units in tree order with their depth below the top of what is shown, limited to `visible`."""
    rows = await Unit.select(
        Unit.id, Unit.code, Unit.name, Unit.name_en, Unit.kind, Unit.parent, Unit.parent.code, Unit.population
    ).order_by(Unit.code)
    children: dict[int | None, list[dict]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row)
    ordered: list[UnitRecord] = []

    def walk(parent: int | None, depth: int) -> None:
        for row in children.get(parent, []):
            shown = visible is None or row["id"] in visible
            if shown:
                ordered.append(_record(row, depth))
            walk(row["id"], depth + 1 if shown else depth)

    walk(None, 0)
    return ordered


async def by_code(code: str) -> UnitRecord | None:
    """The unit with this code, or None."""
    row = await (
        Unit.select(
            Unit.id, Unit.code, Unit.name, Unit.name_en, Unit.kind, Unit.parent, Unit.parent.code, Unit.population
        )
        .where(Unit.code == code)
        .first()
    )
    return None if row is None else _record(row, 0)


def _record(row: dict, depth: int) -> UnitRecord:
    return UnitRecord(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        name_en=row["name_en"],
        kind=row["kind"],
        parent_code=row["parent.code"],
        population=row["population"],
        depth=depth,
    )


def audit_view(code: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, **values}


async def add(form: Mapping[str, str], scope: EditScope, actor: str) -> UnitRecord:
    """Add one unit from form fields (code, name, kind, parent_code, name_en, population)."""
    async with writing():
        known = await known_codes()
        code, values, problems = check_fields(form, known, scope, editing=None)
        if problems:
            raise UnitError(problems)
        row = Unit(code=code, **values)
        await row.save()
        await change_events.record(Kind.unit, int(row.id), Change.created)
        await audit.record(actor, "unit.create", "unit", row.id, after=audit_view(code, _readable(values, known)))
    return await by_code(code)  # type: ignore[return-value]


async def update(unit: UnitRecord, form: Mapping[str, str], scope: EditScope, actor: str) -> UnitRecord:
    """Change a unit's name, English name, kind, parent and population; its code stays."""
    async with writing():
        known = await known_codes()
        below = await subtree_ids(unit.id)
        _, values, problems = check_fields({**form, "code": unit.code}, known, scope, editing=(unit.id, below))
        regrouped = values["kind"] != unit.kind or values["parent"] != known.get(unit.parent_code or "")
        if regrouped and not scope.regroups:
            message = N_("只有管理员可以更改单位的类型或上级单位：这决定单位在哪个组别参加考核。")
            problems.append(Problem("kind", message))
        if problems:
            raise UnitError(problems)
        before = {
            "name": unit.name,
            "name_en": unit.name_en,
            "kind": unit.kind,
            "parent": unit.parent_code,
            "population": unit.population,
        }
        changes: dict[Column | str, Any] = {name: value for name, value in values.items()}
        await Unit.update(changes).where(Unit.id == unit.id)
        await change_events.record(Kind.unit, unit.id, Change.updated)
        after = _readable(values, known)
        if regrouped:  # the open periods' rosters keep the unit where it was: say so in the trail
            after["open_periods_keep_group"] = await _open_periods_holding(unit.id)
        await audit.record(
            actor,
            "unit.regroup" if regrouped else "unit.update",
            "unit",
            unit.id,
            before=audit_view(unit.code, before),
            after=audit_view(unit.code, after),
        )
    return await by_code(unit.code)  # type: ignore[return-value]


async def _open_periods_holding(unit_id: int) -> list[str]:
    """Slugs of the open assessment periods whose frozen roster holds this unit."""
    rows = await PeriodRoster.select(PeriodRoster.period.slug.as_alias("slug")).where(
        (PeriodRoster.unit == unit_id) & (PeriodRoster.period.status == PeriodStatus.open)
    )
    return sorted(r["slug"] for r in rows)


async def known_codes() -> dict[str, int]:
    return {r["code"]: r["id"] for r in await Unit.select(Unit.code, Unit.id)}


def _readable(values: dict[str, Any], known: dict[str, int]) -> dict[str, Any]:
    """`values` with the parent as its code, as the audit trail shows it."""
    codes = {unit_id: code for code, unit_id in known.items()}
    return {**values, "parent": codes.get(values["parent"]) if values["parent"] is not None else None}


def check_fields(
    form: Mapping[str, str],
    known: dict[str, int],
    scope: EditScope,
    *,
    editing: tuple[int, set[int]] | None,
    in_file: bool = False,
) -> tuple[str, dict[str, Any], list[Problem]]:
    """Validate one unit's fields; return its code, the column values to store, and the problems."""
    problems: list[Problem] = []
    code = str(form.get("code", "")).strip()
    name = str(form.get("name", "")).strip()
    name_en = str(form.get("name_en", "")).strip()
    if editing is None:
        if not code:
            problems.append(Problem("code", N_("请填写代码。")))
        elif not CODE.match(code):
            problems.append(Problem("code", N_("代码只能包含字母、数字、点、横线和下划线，最长 32 个字符。")))
        elif code in known:
            where = (
                N_("代码 %(code)s 在文件中重复。") if in_file and known[code] < 0 else N_("代码 %(code)s 已被使用。")
            )
            problems.append(Problem("code", where, {"code": code}))
    if not name:
        problems.append(Problem("name", N_("请填写名称。")))
    elif len(name) > 100:
        problems.append(Problem("name", N_("名称最长 100 个字符。")))
    if len(name_en) > 200:
        problems.append(Problem("name_en", N_("英文名称最长 200 个字符。")))
    kind = _kind(str(form.get("kind", "")))
    if kind is None:
        allowed = ", ".join(k.value for k in UnitKind)
        problems.append(Problem("kind", N_("类型须为以下之一：%(allowed)s。"), {"allowed": allowed}))
    population, population_problem = _population(str(form.get("population", "")))
    if population_problem:
        problems.append(population_problem)
    parent_code = str(form.get("parent_code", "")).strip()
    parent_id = known.get(parent_code) if parent_code else None
    if parent_code and parent_id is None:
        message = N_("上级代码 %(code)s 不存在（上级单位须已存在，或在文件中排在前面）。")
        problems.append(
            Problem("parent_code", message if in_file else N_("上级代码 %(code)s 不存在。"), {"code": parent_code})
        )
    elif editing is not None and parent_id is not None and parent_id in editing[1]:
        problems.append(Problem("parent_code", N_("上级单位不能是本单位或其下级单位。")))
    elif not (parent_id is not None and parent_id < 0) and not scope.may_add_under(parent_id):
        # (A negative id is a unit earlier in the file, already checked to be in scope.)
        message = (
            N_("您只能在自己负责的单位之下添加或移动单位。") if parent_code else N_("只有管理员可以添加顶级单位。")
        )
        problems.append(Problem("parent_code", message))
    values = {"name": name, "name_en": name_en, "kind": kind, "parent": parent_id, "population": population}
    return code, values, problems


# Words people write for a kind besides the English value and the labels above.
_KIND_WORDS = {"区": UnitKind.district, "县": UnitKind.district, "乡镇": UnitKind.street, "村": UnitKind.community}


def _kind(text: str) -> UnitKind | None:
    text = text.strip()
    if text.lower() in UnitKind.__members__:
        return UnitKind(text.lower())
    by_label = {label: kind for kind, label in KIND_LABELS.items()}
    return by_label.get(text) or _KIND_WORDS.get(text)


def _population(text: str) -> tuple[int | None, Problem | None]:
    # Spreadsheets may write thousands separators, or 12345.0 for a whole number.
    text = text.strip().replace(",", "").replace("，", "").replace(" ", "")
    if not text:
        return None, None
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not number.is_integer() or not 0 <= number <= MAX_POPULATION:
        return None, Problem("population", N_("人口须为 0 到 1 亿之间的整数，或留空。"))
    return int(number), None
