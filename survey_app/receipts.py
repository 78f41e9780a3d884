"""Receipt codes: what a resident keeps to follow their answer (and its bad-rating case) without an account.

8 characters of a 31-symbol alphabet that avoids 0/O and 1/I/L, so a resident can read one out over
the phone: 31⁸ ≈ 8.5 × 10¹¹ codes. Invitation codes use the same alphabet, longer; a link's short code
(what a poster prints for typing, survey_app/campaigns.py) is one of these, printed as two groups of four.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def new() -> str:
    """A fresh random receipt code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def is_receipt(code: str) -> bool:
    """Whether `code` has the shape of a receipt (as stored: upper case, no spaces)."""
    return len(code) == LENGTH and set(code) <= set(ALPHABET)


def clean(text: str) -> str | None:
    """The receipt as typed, in the stored shape (upper case, no spaces), or None when it cannot be one."""
    code = "".join(text.split()).upper()
    return code if is_receipt(code) else None
