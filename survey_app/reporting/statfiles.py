"""SPSS (.sav) and Stata (.dta) files of a campaign's responses, with variable and value labels (pyreadstat).

One row per response, one variable per answer (a multiple choice: one 0/1 variable per option).
Names are safe in both programs: letters, digits and underscores, starting with a letter, at most
32 characters, no SPSS reserved word (`reasons:legal` becomes `reasons_legal`); `variables` says
which item (and option) each name holds, and the codebook file written beside the data keeps the
original ids. Variable labels are the question texts; value labels the scale levels and options.
"Don't know" (`dk`) is a declared missing value: user-missing 99 in SPSS, extended missing `.a`
in Stata, so neither counts it in a mean. Times are the hour of submission on the city's clock.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from survey_app.questionnaires.format import DONT_KNOW, YES_NO, Questionnaire, localise
from survey_app.reporting.exports import ResponseRecord

SPSS_DONT_KNOW = 99  # above every scale's levels (at most 11)
STATA_DONT_KNOW = "a"  # Stata's extended missing value .a
MAX_NAME = 32  # Stata's limit (SPSS allows 64)
SPSS_RESERVED = {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"}
FORMATS = ("sav", "dta")
# Longest variable label each format takes, in UTF-8 bytes: Stata 80, SPSS 256 (longer ones are cut
# with "…"; the codebook written beside the file has the full question).
LABEL_BYTES = {"sav": 256, "dta": 80}
VALUE_LABEL_BYTES = {"sav": 120, "dta": 32000}


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, whole characters only, ending in "…" when cut."""
    if len(text.encode()) <= limit:
        return text
    while len((text + "…").encode()) > limit:
        text = text[:-1]
    return text + "…"


@dataclass
class Variable:
    name: str
    label: str
    source: str  # the export column it comes from: an item id, `item:option`, or a record field
    numeric: bool
    values: list[Any] = field(default_factory=list)
    value_labels: dict[Any, str] = field(default_factory=dict)
    dont_know: bool = False  # holds DONT_KNOW where the resident said "don't know"


def safe_name(raw: str, taken: set[str]) -> str:
    """A name SPSS and Stata both accept, unlike any in `taken` (case-insensitively); added to `taken`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", raw).strip("_") or "v"
    if not name[0].isalpha():
        name = "v_" + name
    if name.lower() in SPSS_RESERVED:
        name += "_"
    name = name[:MAX_NAME]
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{name[: MAX_NAME - len(str(n)) - 1]}_{n}"
    taken.add(candidate.lower())
    return candidate


def variables(q: Questionnaire, records: Sequence[ResponseRecord], lang: str) -> list[Variable]:
    """The variables of the file, values in row order."""
    taken: set[str] = set()

    def var(source: str, label: str, numeric: bool) -> Variable:
        return Variable(safe_name(source, taken), label, source, numeric)

    fixed = [
        var("response_ref", "答卷编号" if lang == "zh" else "Response reference", False),
        var("unit_code", "单位代码" if lang == "zh" else "Unit code", False),
        var("unit_name", "单位" if lang == "zh" else "Unit", False),
        var("channel", "渠道" if lang == "zh" else "Channel", False),
        var("status", "状态" if lang == "zh" else "Status", False),
        var("submitted_hour", "提交时间（整点）" if lang == "zh" else "Submitted (hour)", False),
        var("duration_s", "用时（秒）" if lang == "zh" else "Duration (seconds)", True),
    ]
    for r in records:
        hour = r.submitted_hour.replace(tzinfo=None) if r.submitted_hour else None
        shown = (r.response_ref, r.unit_code, r.unit_name, r.channel, r.status, hour, r.duration_s)
        for v, value in zip(fixed, shown, strict=True):
            v.values.append(value if value is not None or v.numeric else "")
    result = list(fixed)
    for item in q.items:
        question = localise(item.text, lang)
        answers = [next((a.value for a in r.answers if a.item == item.id), None) for r in records]
        if item.type == "multi":
            for option in item.options or []:
                v = var(f"{item.id}:{option.value}", f"{question}: {localise(option.label, lang)}", True)
                v.values = [None if a is None else int(isinstance(a, list) and option.value in a) for a in answers]
                v.value_labels = {0: "未选" if lang == "zh" else "Not chosen", 1: "选中" if lang == "zh" else "Chosen"}
                result.append(v)
            continue
        v = var(item.id, question, item.type not in ("text", "longtext"))
        if item.type == "rating":
            v.value_labels = {k: localise(t, lang) for k, t in q.labels_of(item).items() if k != DONT_KNOW}
            v.dont_know = bool(item.dont_know)
            v.values = answers
        elif item.type == "yesno":
            v.value_labels = {1: localise(YES_NO[True], lang), 0: localise(YES_NO[False], lang)}
            v.values = [None if a is None else int(bool(a)) for a in answers]
        elif item.type == "choice":
            codes = {o.value: n for n, o in enumerate(item.options or [], start=1)}
            v.value_labels = {n: localise(o.label, lang) for n, o in enumerate(item.options or [], start=1)}
            v.values = [None if a is None else codes.get(str(a)) for a in answers]
        elif item.type == "number":
            v.values = answers
        else:
            v.values = ["" if a is None else str(a) for a in answers]
        result.append(v)
    return result


def write(fmt: str, q: Questionnaire, records: Sequence[ResponseRecord], lang: str, path: Path) -> list[Variable]:
    """Write the .sav or .dta file; return its variables (for the codebook written beside it)."""
    import pandas as pd
    import pyreadstat

    assert fmt in FORMATS, fmt
    found = variables(q, records, lang)
    dont_know = SPSS_DONT_KNOW if fmt == "sav" else STATA_DONT_KNOW
    columns: dict[str, Any] = {}
    value_labels: dict[str, dict[Any, str]] = {}
    missing: dict[str, list[Any]] = {}
    for v in found:
        values = [dont_know if v.dont_know and x == DONT_KNOW else x for x in v.values]
        if v.source == "submitted_hour":
            columns[v.name] = pd.Series(v.values, dtype="datetime64[ns]")  # naive local hours
        elif v.numeric:
            kind = object if v.dont_know and fmt == "dta" else float
            columns[v.name] = pd.Series([float("nan") if x is None else x for x in values], dtype=kind)
        else:
            columns[v.name] = pd.Series([str(x) for x in values], dtype=object)
        if v.value_labels:
            value_labels[v.name] = {k: fit(t, VALUE_LABEL_BYTES[fmt]) for k, t in v.value_labels.items()}
        if v.dont_know:
            dk_label = localise(q.scales[q.item(v.source).scale or ""].dont_know_label, lang)
            value_labels.setdefault(v.name, {})[dont_know] = fit(dk_label, VALUE_LABEL_BYTES[fmt])
            missing[v.name] = [dont_know]
    frame = pd.DataFrame(columns)
    labels: dict[str, str | None] = {v.name: fit(v.label, LABEL_BYTES[fmt]) for v in found}
    if fmt == "sav":
        pyreadstat.write_sav(
            frame, str(path), column_labels=labels, variable_value_labels=value_labels, missing_ranges=missing
        )
    else:
        pyreadstat.write_dta(
            frame,
            str(path),
            column_labels=labels,
            variable_value_labels=value_labels,
            missing_user_values=missing,
            version=15,  # Stata 15+ reads UTF-8 labels
        )
    return found


def to_bytes(fmt: str, q: Questionnaire, records: Sequence[ResponseRecord], lang: str) -> bytes:
    """The file `write` makes, as bytes (pyreadstat writes only to a path): for a download."""
    with tempfile.TemporaryDirectory(prefix="minping-export-") as folder:
        path = Path(folder) / f"responses.{fmt}"
        write(fmt, q, records, lang, path)
        return path.read_bytes()
