"""The questionnaire pages: the catalogue with campaign use, the exact preview, and uploads."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from survey_app.questionnaires import versions
from survey_app.settings import QUESTIONNAIRES_DIR
from survey_app.tables import AuditEntry, Role
from tests.conftest import csrf_token

WINDOW_RATING = (QUESTIONNAIRES_DIR / "window-rating.yaml").read_text(encoding="utf-8")


def upload(client, content: bytes | str, name="window-rating.yaml"):
    token = csrf_token(client.get("/staff/questionnaires/upload").text)
    data = content.encode() if isinstance(content, str) else content
    files = {"file": (name, data, "application/yaml")}
    return client.post("/staff/questionnaires/upload", data={"_csrf_token": token}, files=files, follow_redirects=False)


def uploads(run):
    async def fetch():
        rows = await AuditEntry.select(AuditEntry.payload).where(AuditEntry.action == "questionnaire.upload")
        return [json.loads(r["payload"]) for r in rows]

    return run(fetch)


def error_text(response) -> str:
    return BeautifulSoup(response.text, "html.parser").select_one(".notice code").get_text()


def catalogue_rows(client) -> dict[str, list[str]]:
    soup = BeautifulSoup(client.get("/staff/questionnaires").text, "html.parser")
    return {
        f"{tds[1].get_text()} v{tds[2].get_text()}": [a.get_text() for a in tds[4].select("a")]
        for tds in (row.select("td") for row in soup.select("tbody tr"))
    }


def test_the_catalogue_lists_every_bundled_version_with_its_campaigns(world, staff, client):
    staff.as_role(Role.admin)
    rows = catalogue_rows(client)
    bundled = sorted(p.stem for p in QUESTIONNAIRES_DIR.glob("*.yaml") if not p.name.startswith("_"))
    assert sorted(key.split(" ")[0] for key in rows) == bundled
    assert rows["window-rating v1"] == ["窗口服务评价"]
    assert rows["safe-community v2"] == []  # version 2 since issue 14 (paged)


def test_campaigns_outside_the_members_units_are_not_listed(world, staff, client, run):
    from survey_app import units

    run(units.create, "331102-02", "紫金街道", "street", parent_code="331102")
    staff.as_role(Role.worker, "331102-02")
    assert catalogue_rows(client)["window-rating v1"] == []


def test_preview_shows_the_residents_questions_exactly_and_cannot_submit(world, staff, client):
    staff.as_role(Role.admin)
    preview = BeautifulSoup(client.get("/staff/questionnaires/window-rating/1").text, "html.parser")
    resident = BeautifulSoup(client.get(f"/q/{world.token_a}").text, "html.parser")
    assert [str(q) for q in preview.select("div.q")] == [str(q) for q in resident.select("div.q")]
    assert preview.select_one(".preview-banner") is not None
    assert preview.select_one("main form button[type=submit]").has_attr("disabled")
    assert not resident.select_one("main form button[type=submit]").has_attr("disabled")
    assert preview.select_one("style").get_text() == resident.select_one("style").get_text()


def test_preview_of_an_unknown_version_is_404(world, staff, client):
    staff.as_role(Role.worker, "331102-01")
    assert client.get("/staff/questionnaires/window-rating/99").status_code == 404
    assert client.get("/staff/questionnaires/window-rating/1").status_code == 200


def test_preview_in_english(world, staff, client):
    staff.as_role(Role.assessor)
    page = client.get("/staff/questionnaires/window-rating/1?lang=en").text
    assert "Preview" in page and "You cannot submit answers in a preview." in page


def test_an_admin_uploads_a_new_version_and_it_is_audited(world, staff, client, run):
    staff.as_role(Role.admin)
    response = upload(client, WINDOW_RATING.replace("version: 1", "version: 2", 1), name="window-rating v2.yaml")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/questionnaires/window-rating/2"
    assert "好差评" in client.get(response.headers["location"]).text
    [entry] = uploads(run)
    assert entry["actor"] == "admin-all"
    assert entry["after"]["slug"] == "window-rating" and entry["after"]["version"] == 2
    assert entry["after"]["file"] == "window-rating v2.yaml"
    assert "window-rating v2" in catalogue_rows(client)
    assert run(versions.find, "window-rating", 2).version == 2


def test_uploading_a_stored_version_again_changes_nothing(world, staff, client, run):
    staff.as_role(Role.admin)
    response = upload(client, WINDOW_RATING)
    assert response.headers["location"] == "/staff/questionnaires/window-rating/1?unchanged=true"
    assert "这个版本已经保存过" in client.get(response.headers["location"]).text
    assert uploads(run) == []


def test_a_stored_version_with_other_content_is_refused(world, staff, client, run):
    staff.as_role(Role.admin)
    response = upload(client, WINDOW_RATING.replace("只需一分钟", "只需两分钟", 1))
    assert response.status_code == 422
    assert error_text(response).startswith("window-rating.yaml: version: window-rating version 1 is a")
    assert "new version number" in error_text(response)
    assert uploads(run) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("slug: ok-slug\n", "upload.yaml: object missing required field version"),
        ("items: [\n", "upload.yaml: line 2: "),
        ("- just a list\n", "upload.yaml: the file must hold a mapping"),
        (
            WINDOW_RATING.replace("version: 1", "version: 3", 1).replace("scale: satisfaction", "scale: nope", 1),
            "upload.yaml: items.0.scale: unknown scale 'nope'",
        ),
        ("x" * (versions.MAX_UPLOAD_BYTES + 1), "upload.yaml: the file is larger than 256 KB"),
    ],
)
def test_an_invalid_file_shows_the_checkers_message(world, staff, client, run, content, message):
    staff.as_role(Role.admin)
    response = upload(client, content, name="upload.yaml")
    assert response.status_code == 422
    assert error_text(response).startswith(message)
    assert uploads(run) == []


def test_a_new_questionnaire_file_can_be_uploaded(world, staff, client, run):
    staff.as_role(Role.admin)
    source = WINDOW_RATING.replace("slug: window-rating", "slug: window-rating-lite", 1)
    assert upload(client, source, name="lite.yaml").status_code == 303
    rows = catalogue_rows(client)
    assert "window-rating-lite v1" in rows
    soup = BeautifulSoup(client.get("/staff/questionnaires").text, "html.parser")
    lite = next(r for r in soup.select("tbody tr") if "window-rating-lite" in r.get_text())
    assert "上传" in lite.select("td")[3].get_text()


def test_an_admin_imports_an_xlsform_sees_the_report_then_saves_and_previews_it(world, staff, client, run):
    from tests.test_questionnaire_import import CHOICES, SETTINGS, SURVEY, workbook

    staff.as_role(Role.admin)
    response = upload(client, workbook(SURVEY, CHOICES, SETTINGS), name="window_visit.xlsx")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    rows = [(tr.td.text, tr["data-outcome"]) for tr in soup.select("tbody tr")]
    assert ("survey 第 13 行", "dropped") in rows and ("survey 第 11 行", "dropped") in rows  # geopoint; a condition
    assert soup.select_one("[role=alert]") is not None  # something was dropped: checked before saving
    assert uploads(run) == [] and run(versions.find, "window-visit", 2024031501) is None  # nothing stored yet
    token = csrf_token(response.text)
    saved = client.post(
        "/staff/questionnaires/upload",
        data={
            "_csrf_token": token,
            "source": soup.select_one("textarea[name=source]").text,
            "source_name": "window-visit.yaml",
        },
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/questionnaires/window-visit/2024031501"
    preview = BeautifulSoup(client.get(saved.headers["location"]).text, "html.parser")
    assert preview.select("input[name=sat]") and preview.select("input[name=age]")  # every page in the preview
    assert uploads(run)[0]["after"]["file"] == "window-visit.yaml"


def test_an_import_that_cannot_be_read_is_refused_with_its_reason(world, staff, client):
    staff.as_role(Role.admin)
    response = upload(client, b"not a workbook", name="form.xlsx")
    assert response.status_code == 422
    assert "form.xlsx: pyxform refuses the form" in BeautifulSoup(response.text, "html.parser").select_one("code").text
