"""No staff page, download or report command shows more of a resident than privacy.py allows.

Residents answer with a known user agent and forwarded address and write a phone number and an
ID-card number into the comment; the answers are then dated to a known minute. Every GET route of
the app (from its route table) is fetched as an admin, in Chinese and English, and the outputs of
`minping report` are read: none may hold the agent, the address, the minute of submission, or the
numbers. The response table must have no column that could hold them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from survey_app import accounts, campaigns, entries, paper_sheets, quarantine, responses
from survey_app.tables import Response, ResponseStatus, Role
from tests.conftest import csrf_token
from tests.test_authorization import app_routes

AGENT = "Mozilla/5.0 (Linux; Android 9; PrivacyProbe-7f3e) Mobile"
ADDRESS = "203.0.113.77"
PHONE, ID_NUMBER = "13812345678", "33010219900101123X"
COMMENT = f"窗口态度差，请回电 {PHONE}，身份证 {ID_NUMBER}"
# 14:37:21 in Lishui: the page may say "14:00", never the minute or second.
MOMENT = datetime(2025, 3, 5, 6, 37, 21, tzinfo=UTC)
FORBIDDEN_TIMES = ["2025-03-05 06:37", "2025-03-05 14:37", "06:37:21", "14:37:21", "2025-03-05T06:37", "T14:37"]


def resident_answers(client, token: str) -> None:
    form = client.get(f"/q/{token}", headers={"User-Agent": AGENT, "X-Forwarded-For": ADDRESS}).text
    data = {"_form": form.split('name="_form" value="')[1].split('"')[0], "overall": "1", "comment": COMMENT}
    sent = client.post(
        f"/q/{token}", data=data, headers={"User-Agent": AGENT, "X-Forwarded-For": ADDRESS}, follow_redirects=False
    )
    assert sent.status_code == 303


def key_sheet_twice(run, token: str, first_id: int, second_id: int) -> int:
    link = run(campaigns.find_link, token)
    batch = run(paper_sheets.issue, link.campaign_id, link.unit_id, 1, "test")
    serial = run(paper_sheets.batch_sheets, link.campaign_id, batch)[1][0].serial
    for member_id, comment in ((first_id, COMMENT), (second_id, COMMENT + "。")):
        member = run(accounts.get, member_id)
        form = entries.PaperForm(serial, None, {"overall": 1, "comment": comment}, {})
        outcome = run(
            entries.key_paper, member, link, responses.read_form_token(token, responses.mint_form_token(token)), form
        )
    return outcome.keying_id


async def date_every_response() -> None:
    await Response.update({Response.submitted_at: MOMENT, Response.started_at: MOMENT}, force=True)


async def quarantine_all_but_one() -> list[int]:
    ids = [r["id"] for r in await Response.select(Response.id).order_by(Response.id)]
    await Response.update({Response.status: ResponseStatus.quarantined, Response.flags: ["burst"]}).where(
        Response.id.is_in(ids[1:])
    )
    return ids[1:]


@pytest.fixture
def crawled(run, world, client, staff, cli):
    admin = staff.create("admin-all", Role.admin)
    other = staff.create("admin-two", Role.admin)
    for _ in range(2):
        resident_answers(client, world.token_a)
    client.cookies.clear()
    assert staff.login("admin-all").status_code == 303
    form = client.get(f"/staff/links/{world.token_a}/interview").text
    token = form.split('name="_form" value="')[1].split('"')[0]
    data = {"_csrf_token": csrf_token(form), "_form": token, "overall": "2", "comment": COMMENT}
    assert client.post(f"/staff/links/{world.token_a}/interview", data=data, follow_redirects=False).status_code == 303
    sheet_id = key_sheet_twice(run, world.token_a, other, admin)
    run(date_every_response)
    quarantined = run(quarantine_all_but_one)
    sheet_page = client.get(f"/staff/sheets/{sheet_id}")
    assert "＊＊＊" in sheet_page.text and PHONE not in sheet_page.text  # the two keyings' differing comments
    resolve = {"_csrf_token": csrf_token(sheet_page.text), "comment": "second"}
    assert client.post(f"/staff/sheets/{sheet_id}", data=resolve, follow_redirects=False).status_code == 303
    run(quarantine.flag_campaign, "window-rating-test")
    values = {"{token:str}": world.token_a, "{slug:str}": "window-rating-test", "{code:str}": "en"}
    values |= {"{unit:str}": "331102-01-001", "{questionnaire:str}": "window-rating", "{version:int}": "1"}
    values["{sheet_id:int}"] = str(sheet_id)
    pages = {}
    for method, path in sorted(app_routes(client.app)):
        if method != "GET":
            continue
        filled = [path.replace("{response_id:int}", str(i)) for i in quarantined] if "{response_id" in path else [path]
        for url in filled:
            for placeholder, value in values.items():
                url = url.replace(placeholder, value)
            for suffix in ("?lang=zh", "?lang=en", "?show=reviewed&lang=zh"):
                response = client.get(url + suffix, follow_redirects=False)
                assert response.status_code < 500, url
                pages[url + suffix] = response.content.decode("utf-8", "replace")
    for fmt in ("table", "json", "csv"):
        done = cli("report", "window-rating-test", "--format", fmt)
        assert done.returncode == 0, done.stderr
        pages[f"minping report --format {fmt}"] = done.stdout
    return pages, quarantined


def test_no_staff_page_or_report_shows_what_identifies_a_resident(crawled):
    pages, quarantined = crawled
    assert "窗口态度差，请回电 ＊＊＊，身份证 ＊＊＊" in pages[f"/staff/quarantine/{quarantined[0]}?lang=zh"]  # masked
    assert "14:00" in pages["/staff/quarantine?lang=zh"]  # the hour is shown
    assert len(pages) > 60
    for url, text in pages.items():
        for secret in (AGENT, "PrivacyProbe", ADDRESS, PHONE, ID_NUMBER, *FORBIDDEN_TIMES):
            assert secret not in text, f"{url} shows {secret!r}"


def test_the_response_table_cannot_hold_an_address_or_agent(run, world, client):
    resident_answers(client, world.token_a)
    columns = {c._meta.db_column_name for c in Response._meta.columns}
    suspect = {"ip", "addr", "address", "agent", "ua", "useragent", "host", "header", "remote", "forwarded"}
    assert not {c for c in columns if suspect & set(c.split("_"))}
    stored = json.dumps(run(Response.select().output(load_json=True).run), default=str, ensure_ascii=False)
    assert AGENT not in stored and "PrivacyProbe" not in stored and ADDRESS not in stored
