"""QR images decode back to the link's public URL; the poster carries everything a printout needs."""

from __future__ import annotations

import io
import re

import pytest
import resvg_py
import zxingcpp
from bs4 import BeautifulSoup
from PIL import Image

from survey_app import qrcodes


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
