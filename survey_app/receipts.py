"""Receipt codes: what a resident keeps to follow their answer (and its bad-rating case) without an account.

8 characters of a 31-symbol alphabet that avoids 0/O and 1/I/L, so a resident can read one out over
the phone: 31⁸ ≈ 8.5 × 10¹¹ codes. Invitation codes use the same alphabet, longer; a link's short code
(what a poster prints for typing, survey_app/campaigns.py) is one of these, printed as two groups of four.

Staff never see a receipt (`staff_reference` is what exports and the API carry), and a call-back number
is left only with the `callback_token` minted with the receipt for the resident's thank-you page: a
receipt alone, whoever holds it, cannot leave or change the number a unit calls back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from survey_app import parsing
from survey_app.settings import get_settings

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
# Long enough to leave a number after reading the thank-you page on a slow phone, short enough that a
# thank-you address found later in a shared phone's history no longer works.
CALLBACK_TOKEN_TTL_S = 2 * 3600
STAFF_REFERENCE_CHARS = 12  # 48 bits of HMAC: unique enough to join exports, useless to look a receipt up


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


def _mac(purpose: str, *parts: object) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, "|".join([purpose, *map(str, parts)]).encode(), hashlib.sha256).hexdigest()


def callback_token(receipt: str, now: float | None = None) -> str:
    """The token the thank-you page carries: when it was minted, and a signature binding it to the receipt."""
    issued = int(now if now is not None else time.time())
    return f"{issued}.{_mac('callback', receipt, issued)[:32]}"


def callback_token_valid(receipt: str, token: str, now: float | None = None) -> bool:
    """Whether `token` was minted for this receipt within CALLBACK_TOKEN_TTL_S (and not in the future)."""
    issued, _, signature = token.partition(".")
    minted = parsing.integer(issued)  # any text: "²" is a digit to isdigit() and a ValueError to int()
    if minted is None or len(signature) != 32 or not signature.isascii():
        return False
    age = (now if now is not None else time.time()) - minted
    expected = _mac("callback", receipt, minted)[:32]
    return 0 <= age <= CALLBACK_TOKEN_TTL_S and hmac.compare_digest(signature.encode(), expected.encode())


def staff_reference(receipt: str) -> str:
    """A keyed hash standing for a receipt where staff see responses (exports, the API): stable, so rows can
    be matched across downloads, but no way back to the code that follows the resident's case."""
    return _mac("staff", receipt)[:STAFF_REFERENCE_CHARS]


def hint(receipt: str) -> str:
    """The last two characters, as staff may see them: enough to match a resident's call, not to look one up."""
    return receipt[-2:]
