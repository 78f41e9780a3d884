"""Hostile and malformed posts to the resident form: always a 4xx (or the form again with a message
and the answers kept), never a 5xx, and nothing saved that should not be."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from survey_app.app import MAX_BODY_BYTES

FORM = "application/x-www-form-urlencoded"


def form_token(client, token: str) -> str:
    html = client.get(f"/q/{token}").text
    return re.search(r'name="_form" value="([^"]+)"', html)[1]


def post(client, token: str, body: bytes | str, content_type: str = FORM, path_suffix: str = "/"):
    content = body.encode() if isinstance(body, str) else body
    return client.post(
        f"/q/{token}{path_suffix}", content=content, headers={"content-type": content_type}, follow_redirects=False
    )


def saved(world) -> list[dict]:
    return world.responses()


def test_a_valid_post_is_saved(client, world):
    """The baseline the other tests deviate from."""
    response = post(client, world.token_a, f"_form={form_token(client, world.token_a)}&overall=4")
    assert response.status_code == 303 and len(saved(world)) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "页面已过期"),  # nothing at all: no token, no answers
        ("overall=4", "页面已过期"),  # answers without the form token
        ("{form}", "请回答此题"),  # token but the required answer missing
        ("{form}&overall=abc", "请从列出的选项中选择"),  # wrong type
        ("{form}&overall=9", "请从列出的选项中选择"),  # out of the scale
        ("{form}&overall=4&matter=spaceship", "请从列出的选项中选择"),  # unknown choice
        ("{form}&overall=1&reasons=wait&reasons=bogus", "请从列出的选项中选择"),  # unknown option among good ones
        ("{form}&overall=4&one_visit=maybe", "请选择"),  # yes/no that is neither
        ("{form}&overall=4&overall=2", "此题只能有一个答案"),  # duplicate single answer: which one was meant?
        ("{form}&overall=4%00", "请从列出的选项中选择"),  # NUL byte in a value
        ("_form=not.a.token&overall=4", "页面已过期"),  # forged token
        ("_form={form}&_form=x&overall=4", "页面已过期"),  # duplicated token
    ],
)
def test_bad_answers_get_the_form_again_with_a_message(client, world, body, message):
    body = body.replace("{form}", f"_form={form_token(client, world.token_a)}")
    response = post(client, world.token_a, body)
    assert response.status_code == 422, response.text[:300]
    assert message in response.text
    assert saved(world) == []


def test_answers_are_kept_when_the_form_comes_back(client, world):
    body = (
        f"_form={form_token(client, world.token_a)}&overall=1&reasons=wait&reasons=bogus&comment={quote('排队两小时')}"
    )
    response = post(client, world.token_a, body)
    assert response.status_code == 422
    assert "排队两小时" in response.text and re.search(r'value="1"[^>]*checked', response.text)


def test_answers_for_another_campaigns_questions_are_not_stored(client, world):
    safety = world.campaign("safe-community", slug="safety-test")
    other_link = world.tokens(safety)[0]
    other_token = form_token(client, other_link)
    # A token minted for another campaign's link does not admit answers here.
    response = post(client, world.token_a, f"_form={other_token}&overall=4")
    assert response.status_code == 422 and saved(world) == []
    # Fields that are no item of this questionnaire are dropped, not stored.
    body = f"_form={form_token(client, world.token_a)}&overall=4&safety_overall=5&{'x' * 5000}=1&__proto__=1"
    assert post(client, world.token_a, body).status_code == 303
    assert [r["answers"] for r in saved(world)] == [{"overall": 4}]


def test_a_text_answer_loses_control_characters(client, world):
    body = f"_form={form_token(client, world.token_a)}&overall=1&comment=%00%01bad%00 service%0D%0Ahere"
    assert post(client, world.token_a, body).status_code == 303
    assert saved(world)[0]["answers"]["comment"] == "bad service\nhere"


def test_extremely_long_field_names_and_many_fields(client, world):
    names = "&".join(f"f{n}{'y' * 200}=1" for n in range(1000))
    body = f"_form={form_token(client, world.token_a)}&overall=4&{names}"
    assert len(body) < MAX_BODY_BYTES
    assert post(client, world.token_a, body).status_code == 303
    assert [r["answers"] for r in saved(world)] == [{"overall": 4}]


def test_a_body_over_the_cap_is_refused(client, world):
    body = f"_form={form_token(client, world.token_a)}&overall=4&comment={'x' * MAX_BODY_BYTES}"
    response = post(client, world.token_a, body)
    assert response.status_code == 413
    assert saved(world) == []


def test_invalid_utf8_percent_encoded_in_a_text_answer_is_stored_as_valid_text(client, world):
    """No browser sends this; the broken bytes become U+FFFD and the rest is kept, never a 500."""
    token = form_token(client, world.token_a)
    assert post(client, world.token_a, f"_form={token}&overall=1&comment=bad%FF%FE%FDservice").status_code == 303
    comment = saved(world)[0]["answers"]["comment"]
    assert comment.startswith("bad") and comment.endswith("service") and "\ufffd" in comment


@pytest.mark.parametrize("raw", [b"\xff\xfe\xfd", "排队".encode(), "排队".encode("gbk")])
def test_raw_bytes_outside_ascii_are_refused_not_stored_garbled(client, world, raw):
    """Browsers percent-encode; raw bytes have an unknown charset (Litestar would read them as Latin-1)."""
    token = form_token(client, world.token_a).encode()
    response = post(client, world.token_a, b"_form=" + token + b"&overall=1&comment=" + raw)
    assert response.status_code == 400 and saved(world) == []


def test_invalid_utf8_in_a_choice_or_a_name_is_refused(client, world):
    token = form_token(client, world.token_a).encode()
    response = post(client, world.token_a, b"_form=" + token + b"&overall=%C0%AF&%C3%28=1")
    assert response.status_code == 422 and saved(world) == []


@pytest.mark.parametrize(
    "url",
    [
        "/q/%FF%FE%FD%FC%FB%FA%F9%F8%F7%F6%F5%F4/",
        "/q/{token}/?lang=%FF%FE",
        "/q/{token}/thanks?r=%FF%00",
        "/q/%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00/",
    ],
)
def test_invalid_bytes_in_path_and_query(client, world, url):
    url = url.replace("{token}", world.token_a)
    for method in ("GET", "POST"):
        response = client.request(method, url, content=b"overall=4", headers={"content-type": FORM})
        assert response.status_code < 500, (method, url, response.status_code)
    assert saved(world) == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", '{"overall": 4, "_form": "x"}'),
        ("text/plain", "overall=4"),
        ("application/xml", "<overall>4</overall>"),
        (
            "multipart/form-data; boundary=xyz",
            '--xyz\r\nContent-Disposition: form-data; name="overall"\r\n\r\n4\r\n--xyz--\r\n',
        ),
        ("multipart/form-data", "garbage"),
        ("", "overall=4"),
    ],
)
def test_other_content_types_are_refused_without_saving(client, world, content_type, body):
    body = body.replace("overall=4", f"_form={form_token(client, world.token_a)}&overall=4")  # valid but for the type
    response = post(client, world.token_a, body, content_type)
    assert response.status_code == 415 and "提交的格式不对" in response.text
    assert saved(world) == []


def test_a_valid_form_in_multipart_is_refused_too(client, world):
    """Browsers post this form urlencoded; a multipart post is not from the form, so it is not saved."""
    token = form_token(client, world.token_a)
    response = client.post(f"/q/{world.token_a}/", files={"overall": (None, "4"), "_form": (None, token)})
    assert response.status_code == 415 and saved(world) == []


def test_a_client_hanging_up_mid_body_is_no_server_error(client, world, portal, caplog):
    """The resident's phone loses signal while sending: Litestar raises a 500 for it; we log it as
    information and answer 499 (nobody is listening), and nothing is saved."""
    body = f"_form={form_token(client, world.token_a)}&overall=4".encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/q/{world.token_a}/",
        "raw_path": f"/q/{world.token_a}/".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver.local"), (b"content-type", FORM.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    events = [
        {"type": "http.request", "body": body[:20], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return events.pop(0) if events else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    caplog.clear()
    portal.call(client.app, scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert saved(world) == []


STAFF_ADDRESSES = [
    "/reports/a%00b",
    "/reports/a%00b/units.csv",
    "/staff/campaigns/a%00b",
    "/staff/campaigns/a%00b/responses.csv",
    "/staff/units/a%00b/edit",
    "/staff/questionnaires/a%00b/1",
    "/staff/links/a%00bcdefghijklmnopqrstuvw/interview",
    "/api/v1/campaigns/a%00b/scores",
    "/api/v1/campaigns/a%00b/responses",
    "/api/v1/units?lang=%00",
]


def test_nul_in_staff_addresses_and_login_is_a_client_error(client, world, staff):
    """PostgreSQL cannot hold NUL in text: a lookup with one must be refused before it, not fail."""
    from survey_app.tables import Role
    from tests.conftest import csrf_token

    data = {"_csrf_token": csrf_token(client.get("/login").text), "username": "ad\x00min", "password": "x" * 12}
    assert client.post("/login", data=data).status_code == 401
    staff.as_role(Role.admin)
    for url in STAFF_ADDRESSES:
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)
    assert client.get("/api/v1/campaigns/a%00b/scores").json()["status"] == 400
