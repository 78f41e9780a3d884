"""The one CSV writer: every CSV file Minping produces (downloads and `minping report --format csv`)
is written here, with each cell defused.

A cell whose text starts with = + - @ tab or CR runs as a formula when the file is opened in Excel
or LibreOffice (CSV injection, OWASP); unit names, labels and residents' text can start so. Such a
cell gets a leading apostrophe, which spreadsheets show as nothing. Numbers are passed as numbers
(or, in the scores file, as text of values that are never negative), so they are never touched.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

Cell = str | int | float | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # Excel needs it to read UTF-8 (and so Chinese) correctly


def defuse(cell: Cell) -> Cell:
    """Text that a spreadsheet would run as a formula, with a leading apostrophe; other cells as they are."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def text(columns: Sequence[Cell], rows: Iterable[Sequence[Cell]], *, line_end: str = "\r\n") -> str:
    """The table as CSV text (empty cells for None), every cell defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow([defuse(c) for c in columns])
    for row in rows:
        writer.writerow(["" if c is None else defuse(c) for c in row])
    return out.getvalue()


def download(columns: Sequence[Cell], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A CSV file to download: UTF-8 with a byte-order mark, CRLF line ends."""
    return (BOM + text(columns, rows)).encode("utf-8")
