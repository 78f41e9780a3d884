"""What staff may see of a resident: times to the hour, free text with phone and ID-card numbers masked.

Every staff page, export and API that shows a response goes through these two functions, so no
screen or file holds more than another (issue 5: "exports never hold more than staff pages show").
"""

from __future__ import annotations

import re
from datetime import datetime

from survey_app import phones

# Mainland mobile and landline numbers (survey_app/phones.py) and resident ID numbers, 18 characters
# (17 digits and a digit or X) or the old cards' 15 digits, as people write them: digits split by
# spaces, dashes, dots or brackets (up to 3 of them), with +86 or 0086, in full-width characters from
# a Chinese input method, or in Chinese numerals (一三八…, 幺 for 1 as numbers are read aloud). The text
# is folded first, one character to one so that the spans found are spans of the text as written;
# NFKC would also fold other characters the resident wrote. tests/test_masking_table.py is the table.
_FOLD = str.maketrans(
    "０１２３４５６７８９Ｘｘ－—–‐．（）＋\u3000〇零一二三四五六七八九幺",
    "0123456789Xx----.()+ 00123456789" + "1",
)
_SEP = r"[ \-.()]{1,3}"
_COUNTRY = r"(?:\(?(?:\+|00)86\)?[ \-]?)"
_ID_CARD = re.compile(rf"(?<![\dXx])\d{{6}}(?:(?:{_SEP})?\d){{11}}(?:{_SEP})?[\dXx](?![\dXx])")
_OLD_ID_CARD = re.compile(rf"(?<!\d)\d{{6}}(?:(?:{_SEP})?\d){{9}}(?![\dXx])")
_MOBILE = re.compile(rf"(?<!\d){_COUNTRY}?{phones.mobile_pattern(_SEP)}(?!\d)")
_LANDLINE = re.compile(
    rf"(?<![\d(]){phones.landline_pattern(_SEP)}(?!\d)"
    rf"|{_COUNTRY}{phones.landline_pattern(_SEP, international=True)}(?!\d)"
)
PATTERNS = (_ID_CARD, _OLD_ID_CARD, _MOBILE, _LANDLINE)
MASK = "＊＊＊"


def mask_text(text: str) -> str:
    """`text` with ID-card, mobile and landline numbers replaced by ＊＊＊, the rest as written."""
    # Folding maps one character to one, so spans found in the folded text are spans of `text`.
    folded = text.translate(_FOLD)
    # Longest first where two start together: an ID number also holds what looks like a phone number.
    spans = sorted((m.span() for pattern in PATTERNS for m in pattern.finditer(folded)), key=lambda s: (s[0], -s[1]))
    parts, last = [], 0
    for start, end in spans:
        if start >= last:
            parts += [text[last:start], MASK]
            last = end
    return "".join(parts) + text[last:]


def to_hour(moment: datetime | None) -> datetime | None:
    """`moment` truncated to the hour: staff see when, not the exact minute that could identify a resident."""
    return None if moment is None else moment.replace(minute=0, second=0, microsecond=0)
