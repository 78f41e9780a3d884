"""The unit pages: the tree each member sees, adding and editing within scope, and CSV import."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from survey_app import units
from survey_app.tables import AuditEntry, Role, Unit
from tests.conftest import csrf_token


def audit_entries(run, action):
    async def fetch():
        rows = await AuditEntry.select(AuditEntry.payload).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return [json.loads(r["payload"]) for r in rows]

    return run(fetch)


def unit_row(run, code):
    return run(units.by_code, code)


def post_form(client, page, url, **fields):
    token = csrf_token(client.get(page).text)
    return client.post(url, data={"_csrf_token": token, **fields}, follow_redirects=False)


def import_csv(client, content: bytes, name="units.csv"):
    token = csrf_token(client.get("/staff/units/import").text)
    files = {"file": (name, content, "text/csv")}
    return client.post("/staff/units/import", data={"_csrf_token": token}, files=files, follow_redirects=False)


def new_unit(**overrides):
    return {"code": "331102-01-003", "name": "新华社区", "kind": "community", "parent_code": "331102-01", **overrides}


def test_the_tree_shows_the_members_scope_indented(world, staff, client):
    staff.as_role(Role.worker, "331102-01")
    page = BeautifulSoup(client.get("/staff/units").text, "html.parser")
    assert [r.td.get_text() for r in page.select("table.tree tbody tr")] == ["万象街道", "　大洋社区", "　中山社区"]
    edit_links = [a["href"] for a in page.select("a")]
    assert "/staff/units/331102-01/edit" not in edit_links  # never their own unit
    assert "/staff/units/331102-01-001/edit" in edit_links


def test_admin_sees_every_unit_and_assessor_gets_no_edit_links(world, staff, client):
    staff.as_role(Role.admin)
    rows = BeautifulSoup(client.get("/staff/units").text, "html.parser").select("tbody tr")
    assert [r.td.get_text() for r in rows][:2] == ["莲都区", "　万象街道"]
    client.cookies.clear()
    staff.as_role(Role.assessor)
    page = client.get("/staff/units").text
    assert "莲都区" in page and "/edit" not in page and "/staff/units/new" not in page


def test_admin_adds_a_unit_and_the_change_is_audited(world, staff, client):
    staff.as_role(Role.admin)
    response = post_form(client, "/staff/units/new", "/staff/units/new", **new_unit(population="8,200"))
    assert response.status_code == 303
    added = unit_row(world.run, "331102-01-003")
    assert (added.name, added.parent_code, added.population) == ("新华社区", "331102-01", 8200)
    [entry] = audit_entries(world.run, "unit.create")
    assert entry["actor"] == "admin-all"
    assert entry["after"] == {
        "code": "331102-01-003",
        "name": "新华社区",
        "name_en": "",
        "kind": "community",
        "parent": "331102-01",
        "population": 8200,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": "331102-01-001"}, "代码 331102-01-001 已被使用。"),
        ({"code": "a b"}, "代码只能包含字母"),
        ({"name": ""}, "请填写名称。"),
        ({"kind": "village"}, "类型须为以下之一"),
        ({"parent_code": "nope"}, "上级代码 nope 不存在。"),
        ({"population": "-3"}, "人口须为 0 到 1 亿之间的整数"),
    ],
)
def test_a_wrong_field_is_shown_next_to_it(world, staff, client, fields, message):
    staff.as_role(Role.admin)
    response = post_form(client, "/staff/units/new", "/staff/units/new", **new_unit(**fields))
    assert response.status_code == 422
    assert message in BeautifulSoup(response.text, "html.parser").select_one("p.err").get_text()
    assert unit_row(world.run, "331102-01-003") is None


def test_a_worker_adds_and_edits_only_inside_their_subtree(world, staff, client):
    staff.as_role(Role.worker, "331102-01")
    assert post_form(client, "/staff/units/new", "/staff/units/new", **new_unit()).status_code == 303
    outside = post_form(client, "/staff/units/new", "/staff/units/new", **new_unit(code="x1", parent_code="331102"))
    assert outside.status_code == 422 and "您只能在自己负责的单位之下添加或移动单位。" in outside.text
    top = post_form(client, "/staff/units/new", "/staff/units/new", **new_unit(code="x2", parent_code=""))
    assert top.status_code == 422 and "只有管理员可以添加顶级单位。" in top.text
    assert client.get("/staff/units/331102-01/edit").status_code == 404  # their own unit
    assert client.get("/staff/units/331102/edit").status_code == 404  # above them
    fields = {"name": "大洋社区居委会", "kind": "community", "parent_code": "331102", "population": ""}
    moved_out = post_form(client, "/staff/units/331102-01-001/edit", "/staff/units/331102-01-001/edit", **fields)
    assert moved_out.status_code == 422
    assert unit_row(world.run, "331102-01-001").name == "大洋社区"


def test_editing_records_before_and_after(world, staff, client):
    staff.as_role(Role.worker, "331102-01")
    page = client.get("/staff/units/331102-01-001/edit")
    assert 'value="大洋社区"' in page.text
    fields = {"name": "大洋社区居委会", "name_en": "Dayang", "kind": "community", "parent_code": "331102-01"}
    response = post_form(client, "/staff/units/331102-01-001/edit", "/staff/units/331102-01-001/edit", **fields)
    assert response.status_code == 303
    [entry] = audit_entries(world.run, "unit.update")
    assert entry["before"]["name"] == "大洋社区" and entry["after"]["name"] == "大洋社区居委会"
    assert entry["after"]["name_en"] == "Dayang" and entry["object_id"] == str(world.unit_a)


def test_a_unit_cannot_move_under_itself(world, staff, client):
    staff.as_role(Role.admin)
    fields = {"name": "万象街道", "kind": "street", "parent_code": "331102-01-001"}
    response = post_form(client, "/staff/units/331102-01/edit", "/staff/units/331102-01/edit", **fields)
    assert response.status_code == 422 and "上级单位不能是本单位或其下级单位。" in response.text


GOOD_CSV = (
    "code,name,kind,parent_code,name_en,population\r\n"
    "331102-03,岩泉街道,street,331102,Yanquan Subdistrict,\r\n"
    '331102-03-001,"岩泉社区",社区,331102-03,,"8,200"\r\n'
    ",,,,,\r\n"  # Excel writes empty rows like this
).encode()


@pytest.mark.parametrize(
    "content",
    [GOOD_CSV, b"\xef\xbb\xbf" + GOOD_CSV, GOOD_CSV.decode().encode("gbk")],
    ids=["utf-8", "utf-8 with BOM (Excel CSV UTF-8)", "GBK (Excel on Chinese Windows)"],
)
def test_import_adds_every_row_with_parents_from_the_same_file(world, staff, client, content):
    staff.as_role(Role.admin)
    response = import_csv(client, content)
    assert response.status_code == 200, response.text
    assert "已导入 2 个单位。" in response.text
    community = unit_row(world.run, "331102-03-001")
    assert (community.name, community.kind, community.parent_code, community.population) == (
        "岩泉社区",
        "community",
        "331102-03",
        8200,
    )
    assert unit_row(world.run, "331102-03").name_en == "Yanquan Subdistrict"
    entries = audit_entries(world.run, "unit.import")
    assert [e["after"]["code"] for e in entries] == ["331102-03", "331102-03-001"]
    assert entries[1]["after"]["parent"] == "331102-03"


def test_import_with_chinese_headers_and_semicolons(world, staff, client):
    staff.as_role(Role.admin)
    content = "代码;名称;类型;上级代码\n331102-04;白云街道;街道;331102\n".encode()
    assert import_csv(client, content).status_code == 200
    assert unit_row(world.run, "331102-04").kind == "street"


def test_import_lists_every_bad_row_and_adds_nothing(world, staff, client):
    staff.as_role(Role.admin)
    content = (
        "code,name,kind,parent_code\n"
        "331102-05,紫金街道,street,331102\n"  # fine on its own
        "331102-05-001,,community,331102-05\n"  # row 3: no name
        "331102-06-001,新村社区,community,331102-06\n"  # row 4: parent comes later
        "331102-06,新村街道,town,331102\n"  # row 5: unknown kind
        "331102-05,紫金街道,street,331102\n"  # row 6: duplicate code
        "331102-01-001,大洋社区,community,331102-01\n"  # row 7: exists already
    ).encode()
    response = import_csv(client, content)
    assert response.status_code == 422
    rows = BeautifulSoup(response.text, "html.parser").select(".notice tbody tr")
    problems = [tuple(td.get_text() for td in row.select("td"))[:2] for row in rows]
    assert problems == [
        ("3", "name"),
        ("4", "parent_code"),
        ("5", "kind"),
        ("6", "code"),
        ("7", "code"),
    ]
    assert "在文件中重复" in rows[3].get_text() and "已被使用" in rows[4].get_text()
    assert unit_row(world.run, "331102-05") is None
    assert audit_entries(world.run, "unit.import") == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", ("1", "", "第一行须为列名")),
        (b"code,name,kind\n", ("1", "parent_code", "缺少这一列。")),
        (b"code,name,kind,parent_code,colour\n", ("1", "colour", "不认识的列名。")),
        (b"code,name,kind,parent_code\n", ("2", "", "文件中没有单位。")),
        (b"code,name,kind,parent_code\nx,y,city,,extra\n", ("2", "", "这一行的单元格比列名多。")),
        (b"\xff\xfe\x00\x00\xff\xff", ("1", "", "无法识别文件编码")),
    ],
)
def test_import_file_level_problems(world, staff, client, content, expected):
    staff.as_role(Role.admin)
    response = import_csv(client, content)
    assert response.status_code == 422
    first = BeautifulSoup(response.text, "html.parser").select_one(".notice tbody tr")
    row, column, message = (td.get_text() for td in first.select("td"))
    assert (row, column) == expected[:2] and expected[2] in message


def test_a_worker_imports_only_under_their_subtree(world, staff, client):
    staff.as_role(Role.worker, "331102-01")
    content = (
        "code,name,kind,parent_code\n331102-01-007,七里社区,community,331102-01\n331102-09,别处街道,street,331102\n"
    ).encode()
    response = import_csv(client, content)
    assert response.status_code == 422 and "您只能在自己负责的单位之下添加或移动单位。" in response.text
    assert unit_row(world.run, "331102-01-007") is None
    assert import_csv(client, content.rsplit(b"331102-09", 1)[0]).status_code == 200
    assert unit_row(world.run, "331102-01-007").parent_code == "331102-01"


def test_units_domain_keeps_the_tree_order(world, run):
    run(units.create, "331102-00", "白云街道", "street", parent_code="331102")
    codes = [u.code for u in run(units.listing)]
    assert codes == ["331102", "331102-00", "331102-01", "331102-01-001", "331102-01-002"]

    async def count():
        return await Unit.count()

    assert run(count) == 5
