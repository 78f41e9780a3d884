"""Security headers on every kind of response, and a CSP our own pages satisfy."""

from __future__ import annotations

import re

import pytest

from survey_app.tables import Role


@pytest.mark.parametrize("path", ["/", "/q/{token}", "/q/{token}/qr.png", "/q/not-a-real-token-at-all", "/login"])
def test_headers_on_public_responses(client, world, path):
    r = client.get(path.format(token=world.token_a))
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert "unsafe-inline" not in csp
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "server" not in r.headers


def test_every_inline_style_carries_the_responses_nonce(client, world, staff):
    staff.as_role(Role.admin)
    for path in (f"/q/{world.token_a}", f"/q/{world.token_a}/poster", "/staff/", "/reports/window-rating-test"):
        r = client.get(path)
        nonce = re.search(r"style-src 'nonce-([^']+)'", r.headers["content-security-policy"])[1]
        assert re.findall(r"<style[^>]*>", r.text) == [f'<style nonce="{nonce}">']
        assert " style=" not in r.text  # style attributes would be blocked


def test_nonces_differ_between_responses(client, world):
    first, second = (client.get("/").headers["content-security-policy"] for _ in range(2))
    assert first != second


def test_form_and_staff_pages_are_not_cached_but_qr_images_are(client, world):
    assert client.get(f"/q/{world.token_a}").headers["cache-control"] == "no-store"
    assert client.get(f"/q/{world.token_a}/qr.svg").headers["cache-control"] == "public, max-age=86400"
