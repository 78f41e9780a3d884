"""A real browser walks the worker's day: sign in, create a campaign for a subtree, open it, print its
posters, answer one poster's form on a phone-sized screen, and see the progress count rise.

It drives Debian's Chromium with Playwright against a real `minping serve` on loopback, with its own
SQLite data folder (the UI is the same on both databases; the database paths are covered elsewhere).
Screenshots go to MINPING_SCREENSHOT_DIR (default: test-screenshots/, which git ignores).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import MINPING, ROOT
from tests.servers import clean_environment, serving

pytestmark = pytest.mark.browser  # its own SQLite folder: the suite's database does not matter
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("MINPING_SCREENSHOT_DIR", ROOT / "test-screenshots"))
PASSWORD = "a worker's long password"

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser test (.ci/run installs it)")
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)


@contextlib.contextmanager
def prepared_server(folder: Path, commands: list[tuple[list[str], str]]) -> Iterator[str]:
    """Run `minping` commands (args, stdin) on a fresh data folder, then serve it on loopback; yields the base URL."""
    env = {**clean_environment(), "MINPING_DATA_DIR": str(folder / "data")}
    for args, stdin in commands:
        subprocess.run([str(MINPING), *args], env=env, input=stdin, check=True, capture_output=True, text=True)
    with serving(folder / "data", env) as server:
        yield server.url


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    commands = [(["demo"], ""), (["user", "create", "sheng", "--role", "worker", "--unit", "331102-01"], PASSWORD)]
    with prepared_server(tmp_path_factory.mktemp("browser"), commands) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def test_worker_runs_a_campaign_and_sees_a_residents_answer(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    desk = browser.new_page(viewport={"width": 1280, "height": 900})
    desk.goto(server + "/staff/")
    assert "/login" in desk.url
    desk.fill("#username", "sheng")
    desk.fill("#password", PASSWORD)
    desk.click("main form button[type=submit]")
    assert desk.url.endswith("/staff/") or desk.url.endswith("/staff")

    desk.click("text=新建评议活动")
    desk.select_option(
        "#questionnaire", label=desk.locator("#questionnaire option", has_text="window-rating").first.inner_text()
    )
    desk.fill("#title", "万象街道窗口服务评价")
    desk.fill("#slug", "wanxiang-window")
    desk.fill("#opens", date.today().isoformat())
    desk.fill("#closes", (date.today() + timedelta(days=30)).isoformat())
    desk.select_option("#root", label=desk.locator("#root option", has_text="331102-01)").first.inner_text())
    desk.select_option("#kind", "community")
    desk.screenshot(path=SHOTS / "1-new-campaign.png", full_page=True)
    desk.click("main form button[type=submit]")
    desk.wait_for_url("**/staff/campaigns/wanxiang-window")
    assert desk.locator("tbody tr").count() == 5  # the street's five communities
    desk.click("text=开始评议")
    assert "进行中" in desk.inner_text("main")

    desk.click("text=打印全部海报")
    desk.wait_for_url("**/posters")  # count() does not wait for the navigation the click started
    assert desk.locator(".sheet").count() == 5
    desk.screenshot(path=SHOTS / "2-posters.png")
    printed_url = desk.locator(".sheet .url").first.inner_text().split("\n")[-1].strip()
    assert printed_url.startswith(server + "/k/")  # the short address to type (the QR code has the token's)

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(printed_url.lower())  # typed as a resident might
    assert "/q/" in phone.url
    for name in ("overall", "efficiency", "level", "attitude"):
        phone.locator(f"input[name={name}]").first.check()
    phone.screenshot(path=SHOTS / "3-phone-form.png", full_page=True)
    phone.click("main form button[type=submit]")
    receipt = phone.inner_text(".receipt")
    assert len(receipt) == 8
    phone.screenshot(path=SHOTS / "4-phone-thanks.png")

    desk.goto(server + "/staff/campaigns/wanxiang-window")
    first = desk.locator("tbody tr").first
    assert first.locator("td.num").nth(2).inner_text() == "1"  # completed
    desk.screenshot(path=SHOTS / "5-progress.png", full_page=True)
