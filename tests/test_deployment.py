"""The production recipe: the image carries everything the app reads, compose wires the four services,
nginx passes the client's address the safe way, and the package metadata matches the LICENSE."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_image_carries_what_the_app_reads_and_serves_two_workers():
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE))
    # settings.py reads templates/, questionnaires/ and schemes/ beside the package in a checkout.
    assert {"survey_app", "analysis", "templates", "questionnaires", "schemes"} <= copied
    assert "--require-hashes -r requirements/app.txt" in dockerfile
    assert "postgresql-client" in dockerfile  # pg_dump for `minping backup`
    assert re.search(r"^USER minping$", dockerfile, re.MULTILINE)
    assert '"--workers", "2"' in dockerfile.splitlines()[-1]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not {"templates", "questionnaires", "schemes", "survey_app"} & set(ignored)


def test_compose_wires_app_database_redis_and_nginx():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"app", "db", "redis", "nginx"}
    app = services["app"]["environment"]
    assert (
        app["MINPING_DATABASE_URL"].startswith("postgresql://minping:")
        and "@db:5432/minping" in app["MINPING_DATABASE_URL"]
    )
    assert app["MINPING_REDIS_URL"] == "redis://redis:6379/0"
    for required in ("MINPING_SECRET_KEY", "MINPING_PUBLIC_BASE_URL"):
        assert app[required].startswith(f"${{{required}:?")  # compose refuses to start without it
    assert "ports" not in services["app"]  # only nginx reaches it, so trusting any forwarder means trusting nginx
    assert app["MINPING_FORWARDED_ALLOW_IPS"] == "*"
    assert services["nginx"]["ports"] == ["80:80", "443:443"]
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_nginx_replaces_the_forwarded_address():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf  # appending would let a client choose its address
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "server app:8000;" in conf


def test_the_systemd_unit_serves_behind_a_local_proxy():
    unit = (ROOT / "deploy" / "minping.service").read_text()
    assert re.search(r"^ExecStart=\S*minping serve --host 127\.0\.0\.1 .*--workers 2$", unit, re.MULTILINE)
    assert "Environment=MINPING_FORWARDED_ALLOW_IPS=127.0.0.1" in unit
    assert "User=minping" in unit and "ProtectSystem=strict" in unit


def test_the_license_file_matches_the_metadata():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    for field in ("description", "readme", "requires-python", "authors", "classifiers", "keywords"):
        assert project[field], field


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_config_validates(tmp_path):
    env = tmp_path / ".env"
    env.write_text((ROOT / "deploy" / "env.example").read_text())
    done = subprocess.run(
        ["docker-compose", "--env-file", str(env), "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
