"""What staff may see of a resident: times to the hour, free text with phone and ID-card numbers masked.

Every staff page, export and API that shows a response goes through these two functions, so no
screen or file holds more than another (issue 5: "exports never hold more than staff pages show").
"""

from __future__ import annotations

import re
from datetime import datetime

from survey_app import phones

# Mainland mobile and landline numbers (survey_app/phones.py) and 18-character resident ID numbers
# (17 digits + digit or X), tolerating spaces or dashes inside, which people type to make numbers
# readable. Full-width digits are folded first (NFKC would also fold other characters the resident
# wrote, so only digits, X and dashes are mapped, one to one).
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ－", "0123456789Xx-")
_ID_CARD = re.compile(r"(?<!\d)\d{6}(?:[ -]?\d){11}[ -]?[\dXx](?![\dXx])")
_MOBILE = re.compile(rf"(?<!\d)(?:\+?86[ -]?)?{phones.mobile_pattern('[ -]')}(?!\d)")
_LANDLINE = re.compile(rf"(?<!\d){phones.landline_pattern('[ -]')}(?!\d)")
MASK = "＊＊＊"


def mask_text(text: str) -> str:
    """`text` with ID-card, mobile and landline numbers replaced by ＊＊＊, the rest as written."""
    # Folding maps one character to one, so spans found in the folded text are spans of `text`.
    folded = text.translate(_FULL_WIDTH)
    spans = sorted(m.span() for pattern in (_ID_CARD, _MOBILE, _LANDLINE) for m in pattern.finditer(folded))
    parts, last = [], 0
    for start, end in spans:
        if start >= last:  # an ID number also contains what looks like a phone number
            parts += [text[last:start], MASK]
            last = end
    return "".join(parts) + text[last:]


def to_hour(moment: datetime | None) -> datetime | None:
    """`moment` truncated to the hour: staff see when, not the exact minute that could identify a resident."""
    return None if moment is None else moment.replace(minute=0, second=0, microsecond=0)
