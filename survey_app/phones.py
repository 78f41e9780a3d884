"""Mainland China phone numbers: what a mobile and a landline number look like, in one place.

A mobile number is 1[3-9] and 9 more digits. A landline number is an area code (010 and 02x for the
largest cities, 0 and 3 digits elsewhere, e.g. Lishui's 0578) and a 7–8 digit number that does not
start with 0. Either may carry the country code (+86 or 0086). The call-back form stores numbers in
one shape (`normalise`); masking finds them as people write them (survey_app/privacy.py).
"""

from __future__ import annotations

import re
import unicodedata

THREE_DIGIT_AREAS = ("010", "020", "021", "022", "023", "024", "025", "027", "028", "029")


def mobile_pattern(separator: str) -> str:
    """A regex for a mobile number whose digits may each be split by one `separator` (a regex; "" for none)."""
    gap = f"(?:{separator})?" if separator else ""
    return rf"1[3-9]\d(?:{gap}\d){{8}}"


_THREE = "|".join(THREE_DIGIT_AREAS)
_AREA = rf"(?:{_THREE}|(?!{_THREE})0\d{{3}})"
# After +86 the area code loses its leading 0: +86 578 2123456 is 0578-2123456.
_THREE_INTL = "|".join(area[1:] for area in THREE_DIGIT_AREAS)
_AREA_INTL = rf"(?:{_THREE_INTL}|(?!{_THREE_INTL})[1-9]\d{{2}})"


def landline_pattern(separator: str, *, international: bool = False) -> str:
    """A regex for an area code (in brackets or not) and a landline number whose digits may each be
    split by one `separator` (a regex; "" for none); `international`: the area code as after +86."""
    gap = f"(?:{separator})?" if separator else ""
    area = _AREA_INTL if international else _AREA
    return rf"(?:\({area}\)|{area}){gap}[1-9](?:{gap}\d){{6,7}}"


_MOBILE = re.compile(mobile_pattern(""))
_LANDLINE = re.compile(rf"(?P<area>{_AREA})(?P<number>[1-9]\d{{6,7}})")


def normalise(text: str) -> str | None:
    """The number in `text` as stored (mobile as 13712345678, landline as 0578-2123456), or None.

    Full-width digits, spaces, dashes, brackets and a +86/0086 prefix are what people add; they go.
    """
    digits = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", text))
    digits = re.sub(r"^(\+86|0086)", "", digits)
    if _MOBILE.fullmatch(digits):
        return digits
    if landline := _LANDLINE.fullmatch(digits):
        return f"{landline['area']}-{landline['number']}"
    return None
