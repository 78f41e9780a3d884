"""Every page, in a real browser: no axe-core violation (WCAG 2.0/2.1 A and AA), no horizontal scrolling at
360 px, 44 px tap targets, no English left on a Chinese page, and the resident pages at 200 % text in 大字版.

The pages are found, not listed: an admin's browser crawls the demo city from the home page and the staff
home, following every same-site link, and the app's own route table says which routes render HTML (their
handlers return a Template). The test fails when such a route was never reached, so a page another change
adds is covered as soon as something links to it (a page nothing links to is a bug of its own). One
browser serves the whole module; each language and text size is one browser context, visiting one URL per
route. axe-core comes from the npm registry (`.ci/run` installs it and sets MINPING_AXE_JS).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.response import Template

from survey_app import receipts
from survey_app.app import create_app
from survey_app.ballots import DEVICE_COOKIE_PREFIX
from tests.conftest import MINPING, ROOT
from tests.servers import clean_environment
from tests.test_browser import CHROMIUM, SHOTS, playwright, prepared_server

pytestmark = pytest.mark.browser  # its own SQLite folder: the suite's database does not matter
AXE_JS = Path(os.environ.get("MINPING_AXE_JS", ROOT / "node_modules" / "axe-core" / "axe.min.js"))
if not AXE_JS.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs axe-core at {AXE_JS} (.ci/run installs it with npm)")
    pytest.skip(f"no axe-core at {AXE_JS} (npm install axe-core; set MINPING_AXE_JS)", allow_module_level=True)

PASSWORD = "an admin's long password"
PHONE = {"width": 360, "height": 640}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
# Words a Chinese page may show in Latin letters: file formats, statistical methods named after people,
# the command's name. Codes, slugs and tokens (with digits, "-", "_" or ".") are data, not words.
LATIN_ALLOWED = {
    "CSV", "Excel", "JSON", "PNG", "SVG", "ZIP", "PDF", "UTC", "Wilson", "Holm", "Welch", "Satterthwaite",
    "Fay", "Herriot", "Kish", "raking", "minping", "assessment", "verify", "Asia", "Shanghai", "English", "eff",
    "YAML", "Cronbach", "Feldt",
    # the tools whose files the back office imports, by their own names
    "XLSForm", "KoboToolbox", "ODK", "LimeSurvey", "Newcombe", "Piepho", "multcompView", "logit", "EWMA",
    # keys and values typed into files (questionnaire YAML, the units CSV), which must stay as they are
    "version", "code", "name", "kind", "population", "city", "district", "street", "community", "department",
    # the HTTP header an API client sends as it stands (Authorization: Bearer <token>)
    "Bearer",
}  # fmt: skip
LATIN_WORD = re.compile(r"(?<![\w./:@-])[A-Za-z]{3,}(?![\w./:@-])")

CHECK_PAGE = "".join(
    line
    for line in (Path(__file__).parent / "page_checks.js").read_text().splitlines(True)
    if not line.startswith("//")
)


FIRST_OF_EACH = "rs => rs.forEach(r => { if (r === document.getElementsByName(r.name)[0]) r.checked = true; })"


@dataclass
class Route:
    """A GET route whose handler renders a template, as a pattern over paths."""

    path: str
    pattern: re.Pattern[str]
    url: str | None = None  # the first URL of it the crawl reached


def html_routes() -> list[Route]:
    """The app's GET routes that render HTML, most specific first (static segments before parameters)."""
    found = []
    for route in create_app().routes:
        for handler in getattr(route, "route_handlers", []):
            returns = str(handler.parsed_fn_signature.return_type.annotation)
            # A file route (a QR image) that answers a revoked link with its HTML notice is not a page.
            if "GET" in handler.http_methods and Template.__name__ in returns and "bytes" not in returns:
                regex = re.sub(r"\{(\w+):\w+\}", r"[^/]+", route.path.rstrip("/") or "/")
                found.append(Route(route.path, re.compile(f"^{regex}/?$")))
    return sorted(found, key=lambda r: (r.path.count("{"), -len(r.path)))


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)

    def check(self, page: Any, label: str, *, latin: bool, targets: bool) -> None:
        result = page.evaluate(CHECK_PAGE, AXE_TAGS) if page.evaluate("typeof axe") != "undefined" else None
        if result is None:
            page.evaluate(AXE_JS.read_text())
            result = page.evaluate(CHECK_PAGE, AXE_TAGS)
        self.problems += [f"{label}: axe {v}" for v in result["violations"]]
        if result["scrolls"]:
            self.problems.append(f"{label}: scrolls sideways at {page.viewport_size['width']} px: {result['wide']}")
        if targets and result["small"]:
            self.problems.append(f"{label}: tap targets under 44 px: {result['small'][:3]}")
        if latin:
            found = LATIN_WORD.findall(result["text"])  # a receipt code may draw no digit: data, not a word
            words = sorted({w for w in found if w not in LATIN_ALLOWED and not receipts.is_receipt(w)})
            if words:
                self.problems.append(f"{label}: English on a Chinese page: {words}")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    commands = [
        (["demo"], ""),
        (["user", "create", "a11y-admin", "--role", "admin"], PASSWORD),
        (["user", "create", "a11y-second", "--role", "admin"], PASSWORD),
    ]
    folder = tmp_path_factory.mktemp("pages")
    with prepared_server(folder, commands) as base:
        yield base, folder


def same_site_links(page: Any, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    return [
        h.split("#")[0] for h in hrefs if h.startswith(base) and not urlsplit(h).path.startswith(("/lang/", "/size/"))
    ]


def minping(folder: Path, *args: str) -> str:
    """Run the command on the server's data folder (as `prepared_server` set it up) and return what it printed."""
    env = clean_environment() | {"MINPING_DATA_DIR": str(folder / "data")}
    return subprocess.run([str(MINPING), *args], env=env, check=True, capture_output=True, text=True).stdout


def sign_in(context: Any, base: str, username: str) -> Any:
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    return page


def make_pages_nothing_in_the_demo_has(browser: Any, admin: Any, base: str, folder: Path) -> None:
    """An answer in quarantine, an invitation batch to print, a paper sheet keyed twice with different
    answers (to reconcile), and an appeal the first admin may decide."""
    page = sign_in(admin, base, "a11y-admin")
    resident = browser.new_page()
    links = minping(folder, "links", "--campaign", "community-services-2026").splitlines()
    for line in links[:1]:  # every rating the same in a few seconds: the answer waits in quarantine
        resident.goto(base + "/q/" + line.split("/q/")[1].split()[0])
        for _ in range(8):  # the form is paged: 下一页 until its last page's 提交
            resident.eval_on_selector_all("input[type=radio]", FIRST_OF_EACH)
            resident.click("main form button[type=submit]")  # the first button: forward, or submit
            resident.wait_for_load_state()
            if "/thanks" in resident.url:
                break
    resident.close()
    assert "1 newly quarantined" in minping(folder, "flags", "community-services-2026")
    page.goto(base + "/staff/campaigns/community-services-2026")
    page.click("form[action$='/invitations'] button[type=submit]")
    page.goto(base + "/staff/campaigns/community-services-2026")
    page.click("form[action$='/paper'] button[type=submit]")  # a run of paper sheets: their labels
    serial = page.locator(".code").first.inner_text()
    for username, rating in (("a11y-admin", 0), ("a11y-second", -1)):
        context = admin if username == "a11y-admin" else browser.new_context()
        keyer = page if context is admin else sign_in(context, base, username)
        keyer.goto(base + "/staff/entries")
        keyer.locator("td a", has_text="纸质问卷录入").first.click()
        keyer.fill("#f-_sheet", serial)
        keyer.locator("input[type=radio]").nth(rating).check()
        keyer.click("main form button[type=submit]")
        if context is not admin:
            keyer.goto(base + "/staff/cases?show=new")
            keyer.goto(base + first_link(keyer, r"/staff/cases/\d+"))
            keyer.fill("form[action$='/appeal'] textarea", "居民说点错了")
            keyer.click("form[action$='/appeal'] button[type=submit]")
            context.close()
    page.close()


def first_link(page: Any, path: str) -> str:
    """The first link on the page to a path matching the regular expression `path`."""
    hrefs = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
    return next(h for h in hrefs if re.fullmatch(path, h))


def confirmation_pages(page: Any, base: str, findings: Findings, lang: str) -> None:
    """The confirmation pages a post shows rather than a link (closing a case, deciding an appeal,
    excluding an answer), asked for and never confirmed, so every language sees the same ones."""
    page.goto(base + "/staff/appeals")
    case = base + first_link(page, r"/staff/cases/\d+")
    steps = [
        ("form[action$='/state']", lambda: page.select_option("#to", "explained")),
        ("form[action$='/decision']", lambda: page.check("input[name=outcome][value=uphold]")),
    ]
    for form, choose in steps:
        page.goto(case)
        choose()
        page.fill(f"{form} textarea", "已核实")
        page.click(f"{form} button[type=submit]")
        findings.check(page, f"{lang} confirm {form}", latin=lang != "en", targets=True)
    page.goto(base + "/staff/quarantine")
    page.goto(base + first_link(page, r"/staff/quarantine/\d+"))
    page.fill("#reason", "同一设备短时间内重复提交")
    page.click("button[name=decision][value=exclude]")
    findings.check(page, f"{lang} confirm exclusion", latin=lang != "en", targets=True)


def crawl(context: Any, base: str, routes: list[Route], seeds: list[str]) -> None:
    """Follow same-site links from `seeds` until every route has a URL or nothing new is reachable."""
    queue, seen = list(seeds), set()
    while queue:
        url = queue.pop(0)
        path = urlsplit(url).path
        route = next((r for r in routes if r.pattern.match(path)), None)
        if url in seen or (route is not None and route.url is not None and route.url != url):
            continue
        seen.add(url)
        answer = context.request.get(url, max_redirects=0)
        if "text/html" not in answer.headers.get("content-type", ""):
            continue
        if route is not None:
            route.url = url
        page = context.new_page()
        page.goto(url)
        queue += same_site_links(page, base)
        page.close()


def test_every_page_is_accessible_fits_a_phone_and_is_in_one_language(site):
    base, folder = site
    routes = html_routes()
    assert len(routes) > 30
    findings = Findings()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        admin = browser.new_context(viewport=PHONE)
        make_pages_nothing_in_the_demo_has(browser, admin, base, folder)
        crawl(admin, base, routes, [base + "/", base + "/staff/", base + "/r?code=ABCDEFGH", base + "/no-such-page"])
        missing = [r.path for r in routes if r.url is None and r.path not in RESIDENT_FLOW]
        assert missing == [], f"HTML routes no page links to: {missing}"
        # The admin's sign-in, not its device: each language's resident below is a phone of its own.
        session = [c for c in admin.cookies() if not c["name"].startswith(DEVICE_COOKIE_PREFIX)]

        for lang in ("zh", "en", "zh-Hant"):
            context = browser.new_context(viewport=PHONE)
            context.add_cookies([*session, {"name": "lang", "value": lang, "url": base}])
            page = context.new_page()
            for route in routes:
                if route.url is not None:
                    answer = page.goto(route.url)
                    if answer is not None and answer.status >= 500:  # an error page passes axe: say so
                        findings.problems.append(f"{lang} {route.url}: HTTP {answer.status}")
                    findings.check(page, f"{lang} {route.url}", latin=lang != "en", targets=True)
            confirmation_pages(page, base, findings, lang)
            resident_flow(page, base, routes, findings, lang)
            context.close()
        large_type_at_200_percent(browser, base, routes, findings, session)
        browser.close()
    assert findings.problems == [], "\n".join(findings.problems)


def large_type_at_200_percent(browser: Any, base: str, routes: list[Route], findings: Findings, session: Any) -> None:
    """大字版 with the browser's text at 200 % (32 px): every resident page in Chinese and in English (whose long
    words must wrap too); and the staff pages the note describes, on a phone at the usual size."""
    resident = [
        r.url for r in routes if r.url and not urlsplit(r.url).path.startswith(("/staff", "/reports", "/assess"))
    ]
    form = next(r.url for r in routes if r.path == "/q/{token:str}" and r.url)
    context = browser.new_context(viewport=PHONE)
    context.add_cookies([{"name": "size", "value": "large", "url": base}])
    page = context.new_page()
    page.goto(form)  # at the browser's own text size the header is one row of 44 px switches
    assert page.evaluate("document.querySelector('header.bar').getBoundingClientRect().height") <= 50
    page.context.new_cdp_session(page).send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
    for url in resident:
        page.goto(url)
        findings.check(page, f"large 200% {url}", latin=True, targets=True)
    context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    for url in resident:
        page.goto(url)
        findings.check(page, f"large 200% en {url}", latin=False, targets=True)
    context.clear_cookies()
    context.add_cookies([{"name": "size", "value": "large", "url": base}])
    page.goto(form)
    assert (
        page.evaluate("getComputedStyle(document.querySelector('legend')).fontSize") == "49.5px"
    )  # 32 × 1.375 × 1.125
    page.screenshot(path=SHOTS / "large-form-360.png")
    context.close()
    context = browser.new_context(viewport=PHONE)
    context.add_cookies(session)
    page = context.new_page()
    for name, path in (("confirm-seal", "/assessments/demo-2026/close"), ("cases-phone", "/staff/cases")):
        page.goto(base + path)
        page.screenshot(path=SHOTS / f"{name}.png")
    context.close()


# Resident pages reached by answering rather than by a link: the thank-you page.
RESIDENT_FLOW = ("/q/{token:str}/thanks",)


def resident_flow(page: Any, base: str, routes: list[Route], findings: Findings, lang: str) -> None:
    """A refused submission (nothing answered, the browser's own checks off) and then a saved one."""
    form = next(r.url for r in routes if r.path == "/q/{token:str}" and r.url)
    page.goto(form)
    page.eval_on_selector("main form", "f => f.noValidate = true")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#fix-these")  # the refused page, not the form the click left
    findings.check(page, f"{lang} refused {form}", latin=lang != "en", targets=True)
    assert page.evaluate("document.activeElement.id") == "fix-these", "focus is not on the list of what to fix"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"refused-{lang}.png")
    page.eval_on_selector_all("input[type=radio]", FIRST_OF_EACH)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/thanks*")
    findings.check(page, f"{lang} {page.url}", latin=lang != "en", targets=True)
