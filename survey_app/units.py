"""The unit tree: city → district → street office → community, and city departments."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from survey_app import audit
from survey_app.db import writing
from survey_app.i18n import N_
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


async def descendants(root_id: int, kind: str | None = None) -> list[UnitRecord]:
    """`root_id`'s subtree (itself included) in tree order, keeping only units of `kind` if given."""
    inside = await subtree_ids(root_id)
    return [u for u in await listing(inside) if kind is None or u.kind == kind]


# --- Back office: browsing, adding, editing and importing units -------------------------------

# Codes appear in URLs, file names of QR images and CSV files, so they keep to URL-safe characters.
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MAX_POPULATION = 100_000_000
# A prefecture-level city has a few thousand communities; 2 MB holds about 30,000 rows.
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
KIND_LABELS = {
    UnitKind.city: N_("市"),
    UnitKind.district: N_("区县"),
    UnitKind.street: N_("街道"),
    UnitKind.community: N_("社区"),
    UnitKind.department: N_("部门"),
}
# CSV headers, in English or Chinese, as people type them (lower case, spaces as underscores).
COLUMNS = {
    "code": "code",
    "代码": "code",
    "单位代码": "code",
    "name": "name",
    "名称": "name",
    "单位名称": "name",
    "kind": "kind",
    "类型": "kind",
    "parent_code": "parent_code",
    "parent": "parent_code",
    "上级代码": "parent_code",
    "上级单位代码": "parent_code",
    "name_en": "name_en",
    "英文名称": "name_en",
    "population": "population",
    "人口": "population",
}
REQUIRED_COLUMNS = ("code", "name", "kind", "parent_code")


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
        return (self.name_en if lang == "en" else "") or self.name


@dataclass(frozen=True)
class EditScope:
    """Where a member may add units (`parents`) and which units they may change (`editable`); None = any."""

    parents: set[int] | None
    editable: set[int] | None

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
    """Admins change any unit; a worker adds under their subtree and changes units below their own
    unit (never their unit itself, or it could move out of its parent's reach); assessors only read."""
    if role == "admin":
        return EditScope(parents=None, editable=None)
    if role == "worker" and root_id is not None:
        inside = await subtree_ids(root_id)
        return EditScope(parents=inside, editable=inside - {root_id})
    return EditScope(parents=set(), editable=set())


async def listing(visible: set[int] | None = None) -> list[UnitRecord]:
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


def _audit_view(code: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, **values}


async def add(form: Mapping[str, str], scope: EditScope, actor: str) -> UnitRecord:
    """Add one unit from form fields (code, name, kind, parent_code, name_en, population)."""
    async with writing():
        known = await _codes()
        code, values, problems = _check(form, known, scope, editing=None)
        if problems:
            raise UnitError(problems)
        row = Unit(code=code, **values)
        await row.save()
        await audit.record(actor, "unit.create", "unit", row.id, after=_audit_view(code, _readable(values, known)))
    return await by_code(code)  # type: ignore[return-value]


async def update(unit: UnitRecord, form: Mapping[str, str], scope: EditScope, actor: str) -> UnitRecord:
    """Change a unit's name, English name, kind, parent and population; its code stays."""
    async with writing():
        known = await _codes()
        below = await subtree_ids(unit.id)
        _, values, problems = _check({**form, "code": unit.code}, known, scope, editing=(unit.id, below))
        if problems:
            raise UnitError(problems)
        before = {
            "name": unit.name,
            "name_en": unit.name_en,
            "kind": unit.kind,
            "parent": unit.parent_code,
            "population": unit.population,
        }
        await Unit.update(values).where(Unit.id == unit.id)
        after = _readable(values, known)
        await audit.record(
            actor,
            "unit.update",
            "unit",
            unit.id,
            before=_audit_view(unit.code, before),
            after=_audit_view(unit.code, after),
        )
    return await by_code(unit.code)  # type: ignore[return-value]


async def import_csv(data: bytes, scope: EditScope, actor: str) -> list[str]:
    """Add every unit of a CSV file, or none: return the codes added, or raise UnitError listing each bad row.

    Columns: code, name, kind, parent_code (empty for a top-level unit), optionally name_en and
    population. A parent may be an existing unit or a unit earlier in the same file.
    """
    header, rows = _read_csv(data)
    async with writing():
        known = await _codes()
        problems: list[Problem] = []
        checked: list[tuple[str, dict[str, Any], str | None]] = []
        for number, cells in rows:
            form = {column: cells[n].strip() if n < len(cells) else "" for n, column in enumerate(header) if column}
            code, values, row_problems = _check(form, known, scope, editing=None, in_file=True)
            problems += [Problem(p.column, p.message, p.params, number) for p in row_problems]
            if not row_problems:
                known[code] = -len(checked) - 1  # a placeholder id: later rows may name it as parent
                checked.append((code, values, form.get("parent_code") or None))
        if problems:
            raise UnitError(problems)
        if not checked:
            raise UnitError([Problem("", N_("文件中没有单位。"), row=2)])
        for code, values, parent_code in checked:
            parent = known[parent_code] if parent_code else None  # real by now: parents come first
            row = Unit(code=code, **{**values, "parent": parent})
            await row.save()
            known[code] = row.id
            after = _audit_view(code, {**values, "parent": parent_code})
            await audit.record(actor, "unit.import", "unit", row.id, after=after)
    return [code for code, _, _ in checked]


async def _codes() -> dict[str, int]:
    return {r["code"]: r["id"] for r in await Unit.select(Unit.code, Unit.id)}


def _readable(values: dict[str, Any], known: dict[str, int]) -> dict[str, Any]:
    """`values` with the parent as its code, as the audit trail shows it."""
    codes = {unit_id: code for code, unit_id in known.items()}
    return {**values, "parent": codes.get(values["parent"]) if values["parent"] is not None else None}


def _check(
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


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Decode and split a CSV file; return the canonical column of each header cell ("" to ignore)
    and the non-empty rows with their spreadsheet row numbers (the header is row 1)."""
    if len(data) > MAX_IMPORT_BYTES:
        raise UnitError([Problem("", N_("文件太大（最大 %(n)s MB）。"), {"n": MAX_IMPORT_BYTES // 1024 // 1024}, 1)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves "CSV (comma delimited)" in GBK unless "CSV UTF-8" is chosen.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise UnitError([Problem("", N_("无法识别文件编码，请另存为“CSV UTF-8”。"), row=1)]) from None
    first_line = text.split("\n", 1)[0]
    # Excel in some regions separates with semicolons; a tab-separated export also happens.
    delimiter = max(",;\t", key=first_line.count)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not records or not any(cell.strip() for cell in records[0]):
        raise UnitError([Problem("", N_("第一行须为列名：code, name, kind, parent_code。"), row=1)])
    header: list[str] = []
    problems: list[Problem] = []
    for cell in records[0]:
        name = re.sub(r"[\s_]+", "_", cell.strip().lower())
        column = COLUMNS.get(name, "") if name else ""
        if name and not column:
            problems.append(Problem(cell.strip(), N_("不认识的列名。"), row=1))
        elif column in header:
            problems.append(Problem(cell.strip(), N_("列名重复。"), row=1))
        header.append(column)
    problems += [Problem(c, N_("缺少这一列。"), row=1) for c in REQUIRED_COLUMNS if c not in header]
    rows = [(n, cells) for n, cells in enumerate(records[1:], start=2) if any(c.strip() for c in cells)]
    if len(rows) > MAX_IMPORT_ROWS:
        problems.append(Problem("", N_("行数太多（最多 %(n)s 行）。"), {"n": MAX_IMPORT_ROWS}, 1))
    for number, cells in rows:
        if any(cells[n].strip() for n in range(len(header), len(cells))):
            problems.append(Problem("", N_("这一行的单元格比列名多。"), row=number))
    if problems:
        raise UnitError(problems)
    return header, rows
