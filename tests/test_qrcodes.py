"""QR images decode back to the link's public URL; the poster carries everything a printout needs."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
import resvg_py
import zxingcpp
from bs4 import BeautifulSoup
from litestar.testing import TestClient
from PIL import Image

from survey_app import counters, db, links, qrcodes
from survey_app.app import create_app
from survey_app.settings import get_settings


def decode_png(data: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def decode_svg(data: bytes) -> list[str]:
    # resvg needs pixel sizes; the SVG is drawn in millimetres (one module each) for print.
    svg = re.sub(r'(width|height)="(\d+)mm"', lambda m: f'{m[1]}="{int(m[2]) * 10}"', data.decode())
    image = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg)))).convert("RGBA")
    page = Image.new("RGBA", image.size, "white")  # the path has no background: print it on white
    page.alpha_composite(image)
    return [r.text for r in zxingcpp.read_barcodes(page.convert("L"))]


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_each_link_image_decodes_to_its_url(client, world, kind):
    for token in (world.token_a, world.token_b):
        r = client.get(f"/q/{token}/qr.{kind}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith({"png": "image/png", "svg": "image/svg+xml"}[kind])
        decode = decode_png if kind == "png" else decode_svg
        assert decode(r.content) == [f"http://testserver.local/q/{token}"]


def test_configured_public_origin_is_what_the_code_encodes(monkeypatch):
    url = "https://minping.lishui.example/q/abcdefghijklmnopqrstuvwx"
    assert decode_png(qrcodes.png(url)) == [url]
    assert decode_svg(qrcodes.svg(url)) == [url]


def test_unknown_link_has_no_image(client, world):
    assert client.get("/q/not-a-real-token-at-all/qr.png").status_code == 404


def test_poster_shows_title_unit_instructions_code_and_spelled_out_url(client, world):
    r = client.get(f"/q/{world.token_a}/poster")
    assert r.status_code == 200
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.h1.text == "窗口服务评价"
    assert soup.select_one(".unit").text == "大洋社区"
    assert soup.select_one(".qr svg") is not None
    typed = soup.select_one(".url a")  # a short address to type; on screen it opens the form itself
    assert re.fullmatch(r"http://testserver\.local/k/[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", typed.text)
    assert typed["href"] == f"http://testserver.local/q/{world.token_a}"
    assert "@page{size:A4" in r.text.replace(" ", "")
    assert "扫描" in soup.select_one(".steps").text


@pytest.mark.parametrize("path", ["/q/{token}/qr.png", "/q/{token}/qr.svg", "/q/{token}/poster", "/q/{token}", "/"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "testserver.local.evil.example", "[::2]:8000"])
def test_without_a_public_origin_a_foreign_host_is_refused(client, world, path, host):
    """Issue 12: `Host: evil.example` put http://evil.example/q/… into posters and publicly cached images."""
    r = client.get(path.format(token=world.token_a), headers={"host": host})
    assert r.status_code == 400 and "evil.example" not in r.text


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8000", "localhost", "LOCALHOST:8000", "[::1]:8000", "127.3.2.1", "pj.localhost", "testserver.local"],
)
def test_loopback_and_allowed_hosts_are_served_and_encoded(client, world, host):
    r = client.get(f"/q/{world.token_a}/qr.png", headers={"host": host})
    assert r.status_code == 200 and decode_png(r.content) == [f"http://{host}/q/{world.token_a}"]


def test_a_revoked_links_images_are_no_longer_served(client, run, world):
    run(links.revoke, world.token_a, "test")
    for image in ("qr.png", "qr.svg", "poster"):
        r = client.get(f"/q/{world.token_a}/{image}")
        assert r.status_code == 410 and not r.headers["content-type"].startswith("image/")
    assert client.get(f"/q/{world.token_b}/qr.png").status_code == 200


@pytest.fixture
def public_origin_client(monkeypatch, portal) -> Iterator[TestClient]:
    """An app configured with MINPING_PUBLIC_BASE_URL (sharing the session's pool and counters)."""
    monkeypatch.setenv("MINPING_PUBLIC_BASE_URL", "https://pj.lishui.example")
    get_settings.cache_clear()
    try:
        app = create_app()
        app._lifespan_managers = [m for m in app._lifespan_managers if m not in (db.lifespan, counters.lifespan)]
        client = TestClient(app, base_url="http://testserver.local")
        client.blocking_portal = portal
        with client:
            yield client
    finally:
        monkeypatch.delenv("MINPING_PUBLIC_BASE_URL")
        get_settings.cache_clear()


def test_with_a_public_origin_every_code_carries_it_whatever_the_host(public_origin_client, world):
    for host in ("evil.example", "testserver.local"):
        r = public_origin_client.get(f"/q/{world.token_a}/qr.png", headers={"host": host})
        assert r.status_code == 200 and decode_png(r.content) == [f"https://pj.lishui.example/q/{world.token_a}"]
        poster = public_origin_client.get(f"/q/{world.token_a}/poster", headers={"host": host})
        assert "evil.example" not in poster.text and "https://pj.lishui.example/q/" in poster.text
