"""Units in the back office: browse the tree, add and edit units, import a unit list from CSV.

Everyone signed in browses the units they may see. Admins add and change units anywhere; a worker
only inside their own unit's subtree and never their unit itself; assessors only read. A unit the
member may not change answers 404, as any object outside their scope does.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from survey_app import accounts, unit_import, units
from survey_app.accounts import StaffMember
from survey_app.tables import Role
from survey_app.units import EditScope, UnitError, UnitRecord
from survey_app.web.auth import requires

EDITORS = (Role.admin, Role.worker)
# The import form carries the file and the CSRF token; the file itself is checked against
# unit_import.MAX_IMPORT_BYTES, so the body may be a little larger.
IMPORT_BODY_BYTES = unit_import.MAX_IMPORT_BYTES + 64 * 1024


async def provide_edit_scope(request: Request[StaffMember, Any, Any]) -> EditScope:
    return await units.edit_scope(request.user.role, request.user.unit_id)


async def provide_editable_unit(unit: FromPath[str], edit_scope: NamedDependency[EditScope]) -> UnitRecord:
    found = await units.by_code(unit)
    if found is None or not edit_scope.may_edit(found.id):
        raise NotFoundException()
    return found


class UnitController(Controller):
    path = "/staff/units"
    include_in_schema = False
    guards = [requires(Role.admin, Role.worker, Role.assessor)]
    dependencies = {"edit_scope": Provide(provide_edit_scope), "unit_record": Provide(provide_editable_unit)}

    @get("/", name="units:list")
    async def list_units(
        self, request: Request[StaffMember, Any, Any], edit_scope: NamedDependency[EditScope]
    ) -> Template:
        """The units the member may see, as an indented tree, with add and edit links where allowed."""
        visible = await accounts.visible_unit_ids(request.user)
        context = {"units": await units.listing(visible), "scope": edit_scope, "kinds": units.KIND_LABELS}
        return Template("staff/units.html", context=context)

    @get("/new", name="units:new", guards=[requires(*EDITORS)])
    async def new_unit(self, edit_scope: NamedDependency[EditScope], parent: FromQuery[str] = "") -> Template:
        return await _form_page(None, {"parent_code": parent}, edit_scope)

    @post("/new", name="units:create", guards=[requires(*EDITORS)])
    async def create_unit(
        self,
        request: Request[StaffMember, Any, Any],
        edit_scope: NamedDependency[EditScope],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Add a unit, or show the form again with what to correct."""
        try:
            await units.add(_fields(data), edit_scope, request.user.username)
        except UnitError as exc:
            return await _form_page(None, data, edit_scope, exc)
        return Redirect(path="/staff/units", status_code=303)

    @get("/{unit:str}/edit", name="units:edit", guards=[requires(*EDITORS)])
    async def edit_unit(
        self, edit_scope: NamedDependency[EditScope], unit_record: NamedDependency[UnitRecord]
    ) -> Template:
        values = {
            "name": unit_record.name,
            "name_en": unit_record.name_en,
            "kind": unit_record.kind,
            "parent_code": unit_record.parent_code or "",
            "population": "" if unit_record.population is None else str(unit_record.population),
        }
        return await _form_page(unit_record, values, edit_scope)

    @post("/{unit:str}/edit", name="units:update", guards=[requires(*EDITORS)])
    async def update_unit(
        self,
        request: Request[StaffMember, Any, Any],
        edit_scope: NamedDependency[EditScope],
        unit_record: NamedDependency[UnitRecord],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """Save a unit's changes, or show the form again with what to correct."""
        try:
            await units.update(unit_record, _fields(data), edit_scope, request.user.username)
        except UnitError as exc:
            return await _form_page(unit_record, data, edit_scope, exc)
        return Redirect(path="/staff/units", status_code=303)

    @get("/import", name="units:import_form", guards=[requires(*EDITORS)])
    async def import_form(self) -> Template:
        return Template("staff/unit_import.html", context={"error": None, "added": None})

    @post("/import", name="units:import", guards=[requires(*EDITORS)], request_max_body_size=IMPORT_BODY_BYTES)
    async def import_units(
        self,
        request: Request[StaffMember, Any, Any],
        edit_scope: NamedDependency[EditScope],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template:
        """Add every unit of the uploaded CSV file, or none, listing each row's problems."""
        upload = data.get("file")
        content = await upload.read() if isinstance(upload, UploadFile) else b""
        try:
            added = await unit_import.import_csv(content, edit_scope, request.user.username)
        except UnitError as exc:
            return Template(
                "staff/unit_import.html",
                context={"error": exc, "added": None},
                status_code=HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return Template("staff/unit_import.html", context={"error": None, "added": added})


def _fields(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(data.get(k, "")) for k in ("code", "name", "name_en", "kind", "parent_code", "population")}


async def _form_page(
    unit: UnitRecord | None, values: dict[str, Any], scope: EditScope, error: UnitError | None = None
) -> Template:
    """The add or edit form; the parent list holds the units the member may put a unit under."""
    parents = [u for u in await units.listing(scope.parents) if unit is None or u.code != unit.code]
    context = {
        "unit": unit,
        "values": values,
        "parents": parents,
        "top_level_allowed": scope.parents is None,
        # a unit's kind and parent decide its league: only admins change them (units.EditScope.regroups)
        "fixed_group": unit is not None and not scope.regroups,
        "kinds": units.KIND_LABELS,
        "problems": {p.column: p for p in error.problems} if error else {},
    }
    return Template(
        "staff/unit_form.html", context=context, status_code=HTTP_422_UNPROCESSABLE_ENTITY if error else 200
    )
