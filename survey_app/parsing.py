"""Total readers of numbers a client writes (in a path, a query, a form field, a token): any text
gives a number or None, never an exception.

`int()` is too generous for that: it reads `"١٢"` (Arabic-Indic digits), `"1_000"` and `" 12 "`, and
`str.isdigit()` accepts `"²"`, which `int()` then refuses. And a number may be beyond what the
database holds (SQLite raises OverflowError above 2⁶³ − 1), where it names no row.
"""

from __future__ import annotations

# What SQLite's INTEGER and PostgreSQL's BIGINT hold: any number a client writes is read within it.
DB_INT_MIN, DB_INT_MAX = -(2**63), 2**63 - 1
_MAX_DIGITS = len(str(DB_INT_MAX))
# Row ids are Piccolo Serial columns, 4 bytes in PostgreSQL: a larger id is a DataError there (a 500),
# so an id a client names is read within that range, where it can name a row.
ID_MIN, ID_MAX = -(2**31), 2**31 - 1


def integer(value: object) -> int | None:
    """`value` as an integer when its text is ASCII digits (with an optional minus sign, and spaces
    around) within the database's range; None otherwise."""
    text = str(value).strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdecimal()) or len(digits) > _MAX_DIGITS:
        return None
    number = int(text)
    return number if DB_INT_MIN <= number <= DB_INT_MAX else None


def row_id(value: object) -> int | None:
    """`value` as a row id (an integer that fits PostgreSQL's 4-byte id columns), or None."""
    number = integer(value)
    return number if number is not None and ID_MIN <= number <= ID_MAX else None
