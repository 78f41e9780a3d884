"""Signatures on what the server hands a browser (form tokens, device cookies), and the total reading
of what comes back: any text at all gives a value or a refusal (None), never an exception.

What comes back may be text of any alphabet, and `hmac.compare_digest` raises on non-ASCII `str`;
so only ASCII is read (numbers through survey_app/parsing.py), and signatures are compared as bytes.
"""

from __future__ import annotations

import hashlib
import hmac

from survey_app.settings import get_settings

SIGNATURE_CHARS = 32  # 128 bits of HMAC-SHA256, as hex


def signature(purpose: str, *parts: object) -> str:
    """The HMAC of `purpose|part|part…` under the secret key, as hex."""
    message = "|".join([purpose, *map(str, parts)]).encode()
    key = get_settings().secret_key.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def signed(given: str, purpose: str, *parts: object) -> bool:
    """Whether `given` is the signature of these parts; false for any other text, whatever its characters.
    What we sign is ASCII (tokens, ids, numbers), so parts in any other alphabet are forged as well."""
    if not (given.isascii() and all(str(part).isascii() for part in parts)):
        return False
    return hmac.compare_digest(given.encode(), signature(purpose, *parts).encode())
