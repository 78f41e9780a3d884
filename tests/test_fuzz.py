"""Issue 12, item 2: property-based fuzz of everything a resident or a staff member can send.

Over the resident form post, the device cookie, the call-back, thank-you and receipt pages, every
staff POST route and every page's query string: arbitrary field names and values, encodings, content
types and cookie strings. The property is always the same: no 5xx, and nothing stored unless the
answer was acknowledged (a resident's 303 to the thank-you page; for staff, any refusal (4xx) leaves
no audit entry and no response behind). Runs on whichever database the suite runs on (.ci/run:
SQLite and PostgreSQL).

Bounded: 50 examples for each resident route, 12 for each staff POST route, 5 for each page (with any
query string), derandomized (the same examples every run, so a failure is reproducible and the suite
deterministic), no deadline; one sign-in for all staff routes, which costs more than their fuzz.
The examples each test ran are counted in EXAMPLES (`pytest -s` prints them).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_app import ballots, responses, tokens
from survey_app.app import create_app
from survey_app.ballots import BallotSettings
from survey_app.tables import AuditEntry, CaseContact, RatingCase, Response, Role
from survey_app.web import stores
from tests.test_case_pages import rate

EXAMPLES: Counter[str] = Counter()
FORM = "application/x-www-form-urlencoded"
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STAFF_FUZZ = settings(FUZZ, max_examples=12)

# Names the forms use, and text of any kind: most examples reach the handlers' real branches.
KNOWN_FIELDS = (
    "_form _invite _revise _confirmed _sheet _csrf_token overall efficiency level reasons comment matter one_visit "
    "closes count current decision device_check file invitation_only kind margin new next note opens outcome "
    "password paused phone purpose purpose_en questionnaire reason reply root site slug status target title "
    "title_en to unit username code name name_en parent lang size"
).split()
AWKWARD = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "4",
    "5",
    "9",
    "dk",
    "yes",
    "no",
    "1e400",
    "nan",
    str(2**63),
    "²³",
    "٣",
    "１２",
    "\x00",
    "\ud800",
    "é",
    "排队两小时",
    "=1+1",
    "../../etc/passwd",
    "<script>",
    "%",
    "&",
    "x" * 3000,
]
names = st.one_of(st.sampled_from(KNOWN_FIELDS), st.text(max_size=20))
values = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=60))
fields = st.lists(st.tuples(names, values), max_size=12)
ENCODINGS = ["utf-8", "gbk", "latin-1", "utf-16"]
CONTENT_TYPES = [FORM, FORM, FORM, f"{FORM}; charset=gbk", "multipart/form-data", "application/json", "text/plain", ""]


def encode(pairs: list[tuple[str, str]], encoding: str) -> bytes:
    """A urlencoded body in `encoding` (unencodable characters replaced), percent-encoded as browsers do."""
    return "&".join(
        f"{quote(k.encode(encoding, 'replace'))}={quote(v.encode(encoding, 'replace'))}" for k, v in pairs
    ).encode()


bodies = st.one_of(
    st.builds(encode, fields, st.sampled_from(ENCODINGS)),
    st.binary(max_size=300),  # raw bytes: what no browser sends
)
# Cookie strings: printable ASCII, Latin-1 and UTF-8 bytes, separators, but no CR/LF (not a header then).
cookie_bytes = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(str.encode),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "replace")),
    st.binary(max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)


def count(run, table) -> int:
    return run(table.count().run)


def fresh_limits(client) -> None:
    """The flood guard and the throttles would answer 429 before the handlers after a few dozen examples."""
    for name in (stores.RATE_LIMIT, stores.THROTTLE):
        client.blocking_portal.call(client.app.stores.get(name).delete_all)


def assert_no_5xx(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"


@pytest.fixture
def device_checked(run, world):
    settings_ = BallotSettings(
        device_check=True,
        revision_minutes=30,
        invitation_only=False,
        link_hourly_limit=None,
        campaign_hourly_limit=None,
    )
    run(ballots.change_settings, world.campaign_id, settings_, "test")
    return world


def test_resident_form_post(client, run, device_checked):
    world = device_checked

    @FUZZ
    @given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES), token=st.booleans(), answer=st.booleans())
    def example(body: bytes, content_type: str, token: bool, answer: bool) -> None:
        EXAMPLES["POST /q/<token>"] += 1
        fresh_limits(client)
        client.cookies.clear()  # a new device each time, so a valid answer is not "already answered"
        if token:  # a genuine form token, so the post reaches the answers
            body = b"_form=" + responses.mint_form_token(world.token_a).encode() + (b"&" + body if body else b"")
        if answer:
            body += b"&overall=4&efficiency=5&level=dk"
        before = count(run, Response)
        r = client.post(
            f"/q/{world.token_a}", content=body, headers={"content-type": content_type}, follow_redirects=False
        )
        assert_no_5xx(r, "resident post")
        acknowledged = r.status_code == 303 and r.headers["location"].startswith(f"/q/{world.token_a}/thanks?r=")
        assert count(run, Response) == before + acknowledged

    example()
    assert EXAMPLES["POST /q/<token>"] >= 40


def test_device_cookie(client, run, device_checked):
    world = device_checked
    name = ballots.cookie_name(world.campaign_id).encode()

    @FUZZ
    @given(value=cookie_bytes, named=st.booleans())
    def example(value: bytes, named: bool) -> None:
        EXAMPLES["device cookie"] += 1
        fresh_limits(client)
        client.cookies.clear()
        header = (name + b"=" + value) if named else value
        page = client.get(f"/q/{world.token_a}", headers={"cookie": header})
        assert_no_5xx(page, "form with a cookie")
        match = re.search(r'name="_form" value="([^"]+)"', page.text)
        if match is None:  # "already answered": a forged cookie never matches a device that answered
            assert page.status_code == 200 and "已经回答过" in page.text
            return
        before = count(run, Response)
        body = f"_form={match[1]}&overall=4&efficiency=5&level=dk".encode()
        r = client.post(
            f"/q/{world.token_a}",
            content=body,
            headers={"content-type": FORM, "cookie": header},
            follow_redirects=False,
        )
        assert_no_5xx(r, "post with a cookie")
        assert count(run, Response) == before + (r.status_code == 303)

    example()
    assert EXAMPLES["device cookie"] >= 40


def test_callback_thanks_and_receipt_pages(client, run, world):
    bad = rate(client, world.token_a, 1, comment="排队太久")
    receipts = st.one_of(st.just(bad), st.just(bad.lower()), st.text(max_size=30))

    @FUZZ
    @given(receipt=receipts, pairs=fields, body=bodies, raw=st.booleans())
    def example(receipt: str, pairs: list[tuple[str, str]], body: bytes, raw: bool) -> None:
        EXAMPLES["callback / thanks / r"] += 1
        fresh_limits(client)
        query = urlencode({"r": receipt})
        thanks = client.get(f"/q/{world.token_a}/thanks?{query}")
        assert_no_5xx(thanks, "thanks")
        lookup = client.get(f"/r?{urlencode({'code': receipt})}")
        assert_no_5xx(lookup, "receipt lookup")
        before = [tuple(r.values()) for r in run(CaseContact.select().order_by(CaseContact.id).run)]
        content = body if raw else encode(pairs, "utf-8")
        r = client.post(
            f"/q/{world.token_a}/callback?{query}",
            content=content,
            headers={"content-type": FORM},
            follow_redirects=False,
        )
        assert_no_5xx(r, "callback")
        if r.status_code != 303:
            assert [tuple(r.values()) for r in run(CaseContact.select().order_by(CaseContact.id).run)] == before

    example()
    assert EXAMPLES["callback / thanks / r"] >= 40


def staff_post_routes() -> list[str]:
    """Every POST route but the resident's and logout (which would end the fuzzing member's session)."""
    paths = {route.path for route in create_app().routes if "POST" in getattr(route, "methods", ())}
    return sorted(p for p in paths if not p.startswith("/q/") and p != "/logout")


@pytest.fixture
def staff_world(run, client, staff, world) -> dict[str, list[str]]:
    """An admin signed in, a bad rating with its case, and what to put into each route's parameters."""
    bad = rate(client, world.token_a, 1, comment="排队太久")
    staff.as_role(Role.admin)
    case_id = str(run(RatingCase.select(RatingCase.id).first().run)["id"])
    response_id = str(run(Response.select(Response.id).where(Response.receipt == bad).first().run)["id"])
    return {
        "slug": ["window-rating-test", "no-such-campaign"],
        "token": [world.token_a, "no-such-token"],
        "case_id": [case_id, "0", str(2**31), str(2**63)],
        "response_id": [response_id, "0", str(2**31), str(2**63)],
        "sheet_id": ["1", str(2**31), str(2**63)],
        "period": ["y2026", "x"],
        "unit": ["331102-01-001", "nope"],
        "name": [run(tokens.create, "fuzz-hotline", actor="admin") and "fuzz-hotline", "no-such-token", "令牌" * 40],
        "action": ["pause", "resume", "stop"],  # a webhook's switch (the name above: none is a webhook)
        "delivery_id": ["1", "0", str(2**40), str(2**63)],
        "print_run": ["no-such-run", "令牌" * 40],
    }


def test_every_staff_post_route(client, run, staff_world):
    """One signed-in session for all of them (a sign-in per route would cost more than the fuzz)."""
    routes = staff_post_routes()
    assert len(routes) >= 20
    for route in routes:
        fuzz_staff_post(client, run, staff_world, route)


def fuzz_staff_post(client, run, staff_world: dict[str, list[str]], route: str) -> None:
    placeholders = re.findall(r"\{(\w+):\w+\}", route)
    csrf = client.cookies.get("minping_csrf") or client.get("/staff/").cookies.get("minping_csrf")

    @STAFF_FUZZ
    @given(
        params=st.tuples(*[st.sampled_from(staff_world[name]) for name in placeholders]),
        pairs=fields,
        body=bodies,
        raw=st.booleans(),
        upload=st.one_of(st.none(), st.binary(max_size=400)),
        with_csrf=st.sampled_from([True, True, True, False]),
    )
    def example(
        params: tuple[str, ...],
        pairs: list[tuple[str, str]],
        body: bytes,
        raw: bool,
        upload: bytes | None,
        with_csrf: bool,
    ) -> None:
        EXAMPLES[f"POST {route}"] += 1
        fresh_limits(client)
        path = route
        for name, value in zip(placeholders, params, strict=True):
            path = re.sub(rf"\{{{name}:\w+\}}", value, path)
        headers: dict[str, Any] = {"x-csrftoken": csrf} if with_csrf and csrf else {}
        audited, stored = count(run, AuditEntry), count(run, Response)
        if upload is not None:  # the two upload forms are multipart; the others must refuse it cleanly
            form = {
                k: v
                for k, v in pairs
                if k and "\x00" not in k + v and not any(0xD800 <= ord(c) < 0xE000 for c in k + v)
            }
            r = client.post(
                path, data=form, files={"file": ("x.yaml", upload)}, headers=headers, follow_redirects=False
            )
        else:
            content = body if raw else encode(pairs, "utf-8")
            r = client.post(path, content=content, headers={**headers, "content-type": FORM}, follow_redirects=False)
        assert_no_5xx(r, f"POST {path}")
        if r.status_code >= 400:  # refused: nothing changed
            assert (count(run, AuditEntry), count(run, Response)) == (audited, stored), (path, r.status_code)

    example()
    if route != "/login":  # the fuzz ran signed in (a post ending the session would leave the rest unfuzzed)
        assert client.get("/staff/", follow_redirects=False).status_code == 200
    assert EXAMPLES[f"POST {route}"] >= 10


def get_routes() -> list[str]:
    """Every page and download but the API's (schemathesis fuzzes those, tests/test_api_fuzz.py)."""
    paths = {route.path for route in create_app().routes if "GET" in getattr(route, "methods", ())}
    return sorted(p for p in paths if not p.startswith("/api/"))


QUERY_NAMES = "channel code r revise lang next saved state unit period from to page q unchanged kind status".split()
PAGE_FUZZ = settings(FUZZ, max_examples=5)


def test_any_query_on_any_page(client, run, staff_world):
    """Query values are parsed totally as well: a signed-in admin asking any page with any query."""
    routes = get_routes()
    assert len(routes) >= 40
    for route in routes:
        fuzz_page(client, run, staff_world, route)


def fuzz_page(client, run, staff_world: dict[str, list[str]], route: str) -> None:
    placeholders = re.findall(r"\{(\w+):\w+\}", route)
    extra = {"batch": ["1", "x"], "questionnaire": ["window-rating", "x"], "version": ["1", str(2**63)]}
    extra |= {"code": ["en", "xx"], "size": ["large", "xx"], "path": ["openapi.json"]}
    choices = staff_world | extra

    @PAGE_FUZZ
    @given(
        params=st.tuples(*[st.sampled_from(choices[name]) for name in placeholders]),
        query=st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_NAMES), st.text(max_size=10)), values), max_size=5),
    )
    def example(params: tuple[str, ...], query: list[tuple[str, str]]) -> None:
        EXAMPLES[f"GET {route}"] += 1
        fresh_limits(client)
        path = route
        for name, value in zip(placeholders, params, strict=True):
            path = re.sub(rf"\{{{name}:\w+\}}", quote(value, safe=""), path)
        stored = count(run, Response)
        query_string = urlencode(query, errors="surrogatepass")  # a lone surrogate: invalid UTF-8 on the wire
        r = client.get(f"{path}?{query_string}", follow_redirects=False)
        assert_no_5xx(r, f"GET {path}?{query_string}")
        assert count(run, Response) == stored  # a page never stores an answer

    example()
    assert EXAMPLES[f"GET {route}"] >= 4


def test_zz_report_the_examples_run(capsys):
    """Not a check: prints how many examples each route got (the issue's closing note cites them)."""
    with capsys.disabled():
        for what, n in sorted(EXAMPLES.items()):
            print(f"\nfuzz examples: {n:4d}  {what}", end="")
