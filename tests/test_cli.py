"""The `minping` command as a user runs it: demo, links, and one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import time

import httpx

from survey_app import demo
from survey_app.tables import Response
from tests import rows
from tests.conftest import MINPING
from tests.servers import clean_environment, free_port


def test_demo_city_links_and_report(cli):
    made = cli("demo")
    assert made.returncode == 0, made.stderr
    counts = dict(line.split("\t") for line in made.stdout.splitlines())
    assert {slug.rsplit("-", 1)[0] for slug in counts} == {
        "community-services",
        "safe-community",
        "urban-village",
        "department-conduct",
        "window-rating",
    }
    assert 3000 <= sum(int(c.split()[0]) for c in counts.values()) <= 10000

    links = cli("links").stdout.splitlines()
    url, unit, campaign = links[0].split("\t")
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/q/[A-Za-z0-9_-]{24}", url)
    assert campaign in counts and unit.startswith("331102-")
    assert len(links) == 30 + 30 + 8 + 15 + 7  # one link per unit of each campaign
    only = cli("links", "--campaign", campaign).stdout.splitlines()
    assert only and all(line.endswith("\t" + campaign) for line in only)

    report = json.loads(cli("report", campaign, "--format", "json").stdout)
    sizes = sorted(u["responses"] for u in report["units"])
    assert sizes[0] < 10 and any(u["scores"][0]["small_sample"] for u in report["units"])
    assert any(not u["scores"][0]["suppressed"] for u in report["units"])
    again = cli("demo")
    assert (
        again.returncode == 1
        and again.stderr.strip() == "Error: the database already has campaigns; the demo needs an empty one"
    )


def test_demo_answers_are_the_same_for_the_same_seed(run, portal, demo_city):
    async def fingerprint() -> str:
        rows = await Response.select(Response.answers, Response.duration_s).order_by(Response.id).output(load_json=True)
        return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()

    first = run(fingerprint)  # the session's demo city, built with the default seed
    portal.call(rows.delete_all)
    run(demo.build, seed=demo.DEFAULT_SEED)
    assert run(fingerprint) == first


def test_links_prints_the_configured_public_origin(cli, world):
    out = cli("links", env={"MINPING_PUBLIC_BASE_URL": "https://pj.lishui.example/"}).stdout
    assert out.splitlines()[0].startswith("https://pj.lishui.example/q/")


def test_unknown_campaign_and_bad_settings_fail_with_one_line(cli, world):
    unknown = cli("links", "--campaign", "nope")
    assert unknown.returncode == 1 and unknown.stderr == "Error: no campaign 'nope'\n"
    bad_url = cli("links", env={"MINPING_DATABASE_URL": "mysql://x"})
    assert bad_url.returncode == 1
    assert bad_url.stderr == (
        "Error: MINPING_DATABASE_URL must start with sqlite:/// or postgresql://, got 'mysql://x'\n"
    )


def test_serve_demo_on_a_fresh_folder_serves_the_demo_and_prints_accounts(tmp_path):
    """The README's run command, on an empty folder: the demo city is created and served."""
    port = free_port()
    env = clean_environment()
    proc = subprocess.Popen(
        [str(MINPING), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 90
        while time.time() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert proc.poll() is None, proc.communicate()[1]
        accounts = (tmp_path / "minping-data" / "demo-accounts.txt").read_text().split()
        assert accounts[0::2] == ["admin", "pinggu", "wanxiang"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_serve_refuses_a_proxy_that_is_no_address(cli):
    result = cli("serve", "--forwarded-allow-ips", "10.0.0.1,proxy.example")
    assert result.returncode == 2 and "--forwarded-allow-ips names 'proxy.example'" in result.stderr
