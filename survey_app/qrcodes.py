"""QR images of public links; the only module that knows the QR library."""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.image.pure
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

# Level M survives a crease or a smudge on a printed poster; H would make the code denser for
# little gain. border=4 is the quiet zone the standard requires.
_OPTIONS = {"error_correction": ERROR_CORRECT_M, "border": 4}


@lru_cache(maxsize=256)
def svg(url: str) -> bytes:
    """An SVG (one path, scales to any print size) encoding `url`."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, **_OPTIONS)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


@lru_cache(maxsize=256)
def png(url: str, box_size: int = 10) -> bytes:
    """A PNG encoding `url` (pure Python; Pillow is not needed)."""
    image = qrcode.make(url, image_factory=qrcode.image.pure.PyPNGImage, box_size=box_size, **_OPTIONS)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
