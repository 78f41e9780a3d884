"""A real browser prints a sealed league table to PDF: A4 pages, every page of the tables repeats the
table header, every unit is in the text, and the methodology appendix starts on its own page. An admin
opens a new period from the list page with JavaScript turned off.

Chromium (Debian's, driven by Playwright) renders `minping serve` on loopback with the demo city.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.test_browser import CHROMIUM, SHOTS, playwright, prepared_server

pytestmark = pytest.mark.browser  # its own SQLite folder: the suite's database does not matter
PASSWORD = "an assessor's long password"
HEADER = "区间图"  # a column heading found nowhere else: on every page that shows table rows


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("league")
    commands = [
        (["demo"], ""),
        (["user", "create", "kaohe", "--role", "assessor"], PASSWORD),
        (["user", "create", "chuangjian", "--role", "admin"], PASSWORD),
        (["assessment", "create", "y2026", "--scheme", "civilized-city-2026", "--title", "2026 年度考核"], ""),
        (["assessment", "close", "y2026"], ""),
    ]
    with prepared_server(folder, commands) as base:
        yield base, folder


def pdf_pages(path) -> list[str]:
    """The text of each page (pdftotext separates pages with form feeds)."""
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)
    assert (round(float(size[1])), round(float(size[2]))) == (842, 595)  # A4 landscape
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:count]
    assert len(pages) == count
    return pages


def test_assessor_prints_the_league_table_to_pdf(server):
    base, folder = server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/assessments/")
        page.fill("#username", "kaohe")
        page.fill("#password", PASSWORD)
        page.click("main form button[type=submit]")
        page.click("text=2026 年度考核")
        assert page.url.endswith("/assessments/y2026")
        assert "已封存：第 1 号快照" in page.inner_text("main")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "league-table.png", full_page=True)
        units = [name.split(" ")[0] for name in page.locator("table.league tbody td:nth-child(2)").all_inner_texts()]
        pdf = folder / "league.pdf"
        page.emulate_media(media="print")
        page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=False)
        browser.close()
    pages = pdf_pages(pdf)
    assert len(units) == 30 + 15
    # 45 rows of 8.5 pt text on A4 landscape: the two tables take three pages, then the appendix
    # (the methods, which issues 13 and 16 lengthened: channel rules, bounded intervals, letters).
    tables = [page for page in pages if HEADER in page]  # the header row repeats on every table page
    appendix = pages[len(tables) :]
    assert len(tables) == 3 and pages[:3] == tables
    assert appendix and appendix[0].lstrip().startswith("方法说明") and not any(HEADER in a for a in appendix)
    flat = re.sub(r"\s+", "", "".join(tables))
    assert all(name in flat for name in units)
    assert "民评" not in "".join(pages)  # the site's header bar is not printed


def test_admin_opens_a_period_with_javascript_off(server):
    base, _folder = server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900}).new_page()
        page.goto(base + "/assessments/")
        page.fill("#username", "chuangjian")
        page.fill("#password", PASSWORD)
        page.click("main form button[type=submit]")
        page.click("text=新建考核期")
        assert page.url.endswith("/assessments/new")
        page.fill("#title", "网页新建的考核期")
        page.fill("#slug", "web-2026")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "assessment-new.png", full_page=True)
        page.click("text=创建考核期")  # the demo has one campaign per questionnaire: each is preselected
        assert page.url.endswith("/assessments/web-2026")
        assert "网页新建的考核期" in page.inner_text("h1") and "开放中" in page.inner_text("main")
        browser.close()
